"""`make demo`: run every example DAG against the bundled SP-API + TikTok Shop emulator and say what each fetched.

    .venv/bin/python tools/demo.py [--airflow-cli] [--dag DAG_ID ...]

1. Starts the emulator (in this process) on a free port of 127.0.0.1.
2. Creates a fresh Airflow home in ``.demo/airflow`` (SQLite, no example DAGs of Airflow's own, DAGs
   folder ``example_dags/``) and runs ``airflow db migrate``.
3. Defines the connections as environment variables: ``spapi_default`` (seller 1, authorised 340
   days ago, so the credentials check warns: 25 days left) and ``spapi_seller_1`` to
   ``spapi_seller_3``; ``tiktok_shop_default`` (the emulator's seeded TikTok Shop app and authorisation,
   refresh token expiring in 20 days, so the all-platforms credentials check warns);
   ``SPAPI_EXAMPLE_OUTPUT=.demo/output`` and ``SPAPI_EXAMPLE_POLL_INTERVAL=1``.
4. Runs every example DAG once, as ``airflow dags test <dag_id>`` does (``dag.test()``: tasks run
   in process, deferrable tasks' triggers inline), each DAG's output in ``.demo/logs/<dag_id>.log``.
   By default all DAGs run in one child process, because every Airflow 3 process pays a fixed
   start-up cost (importing Airflow, starting the in-process Execution API) of 10-20 s;
   ``--airflow-cli`` runs the literal ``airflow dags test <dag_id>`` per DAG instead (slower).
5. Prints a summary read from the files the DAGs wrote and from the XCom table.

Exits 1 naming every DAG run that failed. Prints no token, secret or personal data: counts, sizes
and paths only (the restricted files under ``.demo/output/orders_v0`` do hold the emulator's
fake PII, as they would hold real PII in production).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from airflow_provider_spapi.emulator import Emulator, seed  # noqa: E402
from airflow_provider_spapi.emulator.tiktok import seed as tiktok_seed  # noqa: E402

DEMO = REPO / ".demo"
AIRFLOW_HOME = DEMO / "airflow"
OUTPUT = DEMO / "output"
LOGS = DEMO / "logs"
DAGS_FOLDER = REPO / "example_dags"
SELLER_CONN_IDS = ["spapi_seller_1", "spapi_seller_2", "spapi_seller_3"]
AUTHORISED_DAYS_AGO = 340
TIKTOK_REFRESH_TOKEN_DAYS_LEFT = 20
# Enough seeded TikTok orders (about 30 updated a day) for the incremental DAG's day to span several pages.
TIKTOK_OPTIONS = {"orders": 2700}
# Per DAG run (tasks do not retry in the demo); the whole demo normally takes well under two minutes.
DAG_TIMEOUT = 240


def rel(path: str | Path | None) -> str:
    """A path relative to the repository when it is inside it (shorter to read)."""
    if not path:
        return "-"
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def demo_environment(emulator: Emulator) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "AIRFLOW__"))}
    issued = (datetime.now(timezone.utc) - timedelta(days=AUTHORISED_DAYS_AGO)).date().isoformat()
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "SPAPI_EXAMPLE_OUTPUT": str(OUTPUT),
            "SPAPI_EXAMPLE_POLL_INTERVAL": "1",
            "SPAPI_EXAMPLE_PAGE_SIZE": "10",
            "SPAPI_EXAMPLE_SELLER_ID": seed.SELLING_PARTNER_ID,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "AIRFLOW_CONN_SPAPI_DEFAULT": emulator.connection_json(app_type="public", refresh_token_issued_at=issued),
            "AIRFLOW_CONN_TIKTOK_SHOP_DEFAULT": emulator.tiktok_connection_json(
                refresh_token_expires_at=(datetime.now(timezone.utc) + timedelta(days=TIKTOK_REFRESH_TOKEN_DAYS_LEFT)).isoformat()
            ),
        }
    )
    for conn_id, seller in zip(SELLER_CONN_IDS, seed.SELLERS, strict=True):
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = emulator.connection_json(
            refresh_token=seller.refresh_token, marketplace_ids=list(seller.marketplace_ids)
        )
    return env


def secrets_of_the_demo() -> list[str]:
    return [
        seed.CLIENT_SECRET,
        seed.REVOKED_REFRESH_TOKEN,
        *(seller.refresh_token for seller in seed.SELLERS),
        tiktok_seed.APP_SECRET,
        tiktok_seed.REFRESH_TOKEN,
    ]


def safe_tail(log_file: Path, lines: int = 12) -> list[str]:
    """The end of a log, with anything that could be a secret or personal data withheld."""
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []
    out = []
    for line in text:
        for secret in secrets_of_the_demo():
            line = line.replace(secret, "***")
        if "PII" in line or any(marker in line for marker in ("Atza|", "Atz.sprdt|", "Atzr|", "ROW_emuAccess", "ROW_emuRefresh")):
            line = "    [line withheld: it may hold a token or personal data]"
        out.append(line[:300])
    return out


def dag_ids() -> list[str]:
    return sorted(path.stem for path in DAGS_FOLDER.glob("example_*.py"))


def short(dag_id: str) -> str:
    return dag_id.removeprefix("example_spapi_").removeprefix("example_")


def run(command: list[str], env: dict[str, str], log_file: Path, timeout: float) -> int:
    with log_file.open("wb") as log:
        try:
            return subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, cwd=REPO).returncode
        except subprocess.TimeoutExpired:
            log.write(f"\n[demo] timed out after {timeout:.0f}s\n".encode())
            return 124


class MetadataDb:
    """Read-only look at the demo's SQLite metadata database: run states and XComs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()

    def latest_run(self, dag_id: str) -> tuple[str, str] | None:
        rows = self._query("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        rows = self._query("SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
        return {f"{task}[{index}]" if index >= 0 else task: str(state) for task, index, state in rows}

    def xcoms(self, dag_id: str, run_id: str) -> dict[str, list[Any]]:
        """``task_id -> [value per map index]`` of the run's return values."""
        rows = self._query(
            "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value' ORDER BY map_index",
            (dag_id, run_id),
        )
        out: dict[str, list[Any]] = {}
        for task_id, _, value in rows:
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            decoded = value
            if isinstance(value, str):  # SQLite hands JSON numbers back as numbers already
                with suppress(ValueError):
                    decoded = json.loads(value)
            out.setdefault(task_id, []).append(decoded)
        return out


def _one(xcoms: dict[str, list[Any]], task_id: str) -> Any:
    values = xcoms.get(task_id) or [None]
    return values[0]


def count_lines(path: str | None) -> int:
    if not path or not Path(path).exists():
        return 0
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def summarise(dag_id: str, xcoms: dict[str, list[Any]]) -> str:
    """One human line per DAG: what it fetched, from its XComs and output files (never their content)."""
    name = short(dag_id)
    if dag_id == "example_tiktok_orders_incremental":
        result = _one(xcoms, "search_orders") or {}
        return (
            f"{result.get('pages', 0)} page(s), {result.get('records', 0)} TikTok Shop orders updated in the data interval "
            f"→ {rel(result.get('path'))} (buyer data on disk only)"
        )
    if dag_id == "example_spapi_orders_incremental":
        result = _one(xcoms, "search_orders") or {}
        return (
            f"{result.get('pages', 0)} page(s), {result.get('records', 0)} orders created or updated from "
            f"{result.get('last_updated_after')} to {result.get('last_updated_before')} (searchOrders lastUpdated window, "
            f"one order a line) → {rel(result.get('path'))}"
        )
    if dag_id == "example_spapi_orders_backfill":
        report = _one(xcoms, "orders_by_last_update") or {}
        return (
            f"report {report.get('report_id')} (GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL) {report.get('status')} → "
            f"{report.get('rows', 0)} rows as JSON lines → {rel(report.get('path'))}"
        )
    if dag_id == "example_spapi_orders_v0_with_addresses":
        orders = _one(xcoms, "get_orders") or {}
        addresses = _one(xcoms, "get_addresses") or {}
        return (
            f"{orders.get('pages', 0)} page(s), {orders.get('records', 0)} orders with buyer info (RDT) → {rel(orders.get('path'))}; "
            f"{addresses.get('addresses', 0)} addresses → {rel(addresses.get('path'))} (XCom: paths and counts only)"
        )
    if dag_id == "example_spapi_nightly_report":
        report = _one(xcoms, "all_orders_report") or {}
        size = Path(report["path"]).stat().st_size if report.get("path") and Path(report["path"]).exists() else 0
        return (
            f"report {report.get('report_id')} {report.get('status')} → {report.get('bytes', 0):,} bytes "
            f"({size:,} on disk) → {rel(report.get('path'))}"
        )
    if dag_id == "example_spapi_datakiosk_sales_traffic":
        result = _one(xcoms, "sales_traffic_by_asin") or {}
        return (
            f"{len(result.get('query_ids') or [])} Data Kiosk page(s), {result.get('records', 0)} sales-and-traffic records "
            f"→ {rel(result.get('path'))}"
        )
    if dag_id == "example_spapi_settlement_reports":
        found = _one(xcoms, "wait_for_settlement") or {}
        result = _one(xcoms, "download_settlements") or {}
        reports = result.get("reports") or []
        files = ", ".join(
            f"{item['report_id']} ({item.get('rows')} rows as JSON lines, decoded from {item.get('charset')})" for item in reports
        )
        return (
            f"sensor saw settlement {found.get('report_id')} (created {found.get('created_time')}); "
            f"{result.get('count', 0)} settlement report(s) downloaded without a report id: {files} → "
            f"{rel(str(Path(reports[0]['path']).parent)) if reports else '-'}"
        )
    if dag_id == "example_spapi_notifications_setup":
        return (
            f"destination {_one(xcoms, 'create_destination')} (grantless) and subscription "
            f"{_one(xcoms, 'subscribe_report_finished')} to REPORT_PROCESSING_FINISHED"
        )
    if dag_id == "example_spapi_report_events":
        result = _one(xcoms, "download_finished_reports") or {}
        reports = result.get("reports") or []
        how = "AssetWatcher on SQS" if result.get("event_driven") else "hourly polling form"
        files = ", ".join(f"{item['report_type']} {item['report_id']} ({item.get('rows')} rows)" for item in reports)
        return f"{len(reports)} report(s) from {result.get('source')} ({how}; a manual run has no queue event): {files}"
    if dag_id == "example_spapi_feed_upload":
        feed = _one(xcoms, "upload_feed") or {}
        summary = feed.get("summary") or {}
        return (
            f"feed {feed.get('feed_id')}: {summary.get('messagesProcessed', 0)} messages processed, "
            f"{summary.get('messagesAccepted', 0)} accepted, {summary.get('errors', 0)} errors → {rel(feed.get('path'))}"
        )
    if dag_id == "example_spapi_notifications_grantless":
        count = _one(xcoms, "count_destinations")
        return f"{count if count is not None else '?'} destination(s) (grantless token, scope sellingpartnerapi::notifications)"
    if dag_id == "example_spapi_multi_seller":
        counts = _one(xcoms, "summarise") or {}
        pages = sum(int(result.get("pages", 0)) for result in xcoms.get("search_orders", []) if isinstance(result, dict))
        per_seller = ", ".join(f"{conn_id.removeprefix('spapi_')} {count} orders" for conn_id, count in counts.items())
        return f"{len(counts)} sellers (mapped tasks), {pages} page(s): {per_seller}"
    if dag_id in ("example_spapi_credentials_check", "example_credentials_check_all"):
        parts = []
        for task_id, values in sorted(xcoms.items()):
            result = values[0] or {}
            days = result.get("refresh_token_days_left")
            warnings = len(result.get("warnings") or [])
            state = f"{warnings} warning(s), notifier called" if warnings else "no warning"
            refresh = f"refresh token expires in {days} days" if days is not None else "refresh token: no expiry recorded"
            parts.append(f"{task_id.removeprefix('check_')}: {refresh} ({state})")
        return "; ".join(parts) or "no result"
    return f"{name}: " + ", ".join(sorted(xcoms))


@contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Send everything this process writes to stdout/stderr (file descriptors 1 and 2) to ``log_file``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def child(wanted: list[str]) -> int:
    """Run the DAGs with ``dag.test()`` in this process (the environment is the demo's); one JSON line per DAG on stdout."""
    report = os.fdopen(os.dup(1), "w", buffering=1)
    with output_to(LOGS / "airflow-startup.log"):
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 2.11
            from airflow.models import DagBag  # type: ignore[no-redef]
        bag = DagBag(str(DAGS_FOLDER))
    for dag_id in wanted:
        began = time.monotonic()
        state = "failed"
        with output_to(LOGS / f"{dag_id}.log"):
            try:
                dag = bag.dags.get(dag_id)
                if dag is None:
                    print(f"[demo] {dag_id} is not in the DagBag: {bag.import_errors}")
                else:
                    for task in dag.tasks:
                        task.retries = 0  # fail fast: dag.test() would otherwise wait out each retry_delay
                    run = dag.test()
                    state = str(getattr(run, "state", None) or "unknown").rsplit(".", 1)[-1].lower()
            except Exception:
                traceback.print_exc()
        report.write(json.dumps({"dag_id": dag_id, "state": state, "seconds": time.monotonic() - began}) + "\n")
    return 0


def run_dags(wanted: list[str], env: dict[str, str], airflow_cli: bool) -> Iterator[tuple[str, int, float]]:
    """Run the DAGs; yields (dag_id, exit code, seconds) as each finishes."""
    if airflow_cli:
        for dag_id in wanted:
            began = time.monotonic()
            code = run([sys.executable, "-m", "airflow", "dags", "test", dag_id], env, LOGS / f"{dag_id}.log", timeout=DAG_TIMEOUT)
            yield dag_id, code, time.monotonic() - began
        return
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *(arg for dag_id in wanted for arg in ("--dag", dag_id))]
    with subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        watchdog = threading.Timer(DAG_TIMEOUT * len(wanted), process.kill)  # this child only, by its handle
        watchdog.daemon = True
        watchdog.start()
        done = set()
        for line in process.stdout:
            try:
                result = json.loads(line)
            except ValueError:
                continue
            done.add(result["dag_id"])
            yield result["dag_id"], 0 if result["state"] == "success" else 1, float(result["seconds"])
        process.wait()
        watchdog.cancel()
    for dag_id in wanted:
        if dag_id not in done:  # the child died before reaching it
            yield dag_id, process.returncode or 1, 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dag", action="append", help="run only this example DAG (repeatable)")
    parser.add_argument("--airflow-cli", action="store_true", help="run `airflow dags test <dag_id>` per DAG (slower)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    wanted = args.dag or dag_ids()
    unknown = sorted(set(wanted) - set(dag_ids()))
    if unknown:
        print(f"unknown example DAG(s): {', '.join(unknown)}; known: {', '.join(dag_ids())}", file=sys.stderr)
        return 2
    if args.child:
        return child(wanted)

    for folder in (AIRFLOW_HOME, OUTPUT, LOGS):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    with Emulator(host="127.0.0.1", port=0, tiktok=TIKTOK_OPTIONS) as emulator:
        print(
            f"SP-API + TikTok Shop emulator on {emulator.url}; Airflow home {rel(AIRFLOW_HOME)}; "
            f"outputs in {rel(OUTPUT)}; logs in {rel(LOGS)}"
        )
        env = demo_environment(emulator)
        if run([sys.executable, "-m", "airflow", "db", "migrate"], env, LOGS / "db-migrate.log", timeout=300) != 0:
            print(f"airflow db migrate failed; see {rel(LOGS / 'db-migrate.log')}", file=sys.stderr)
            for line in safe_tail(LOGS / "db-migrate.log"):
                print("   ", line, file=sys.stderr)
            return 1
        print(f"airflow db migrate: done [{time.monotonic() - started:.0f}s]")
        how = "with `airflow dags test`" if args.airflow_cli else "with dag.test() in one process"
        print(f"running {len(wanted)} example DAG(s) {how}...\n")

        db = MetadataDb(AIRFLOW_HOME / "airflow.db")
        failed: list[str] = []
        width = max(len(short(dag_id)) for dag_id in wanted)
        for dag_id, code, took in run_dags(wanted, env, args.airflow_cli):
            log_file = LOGS / f"{dag_id}.log"
            latest = db.latest_run(dag_id)
            name = short(dag_id).ljust(width)
            if code != 0 or latest is None or latest[1] != "success":
                failed.append(dag_id)
                states = db.task_states(dag_id, latest[0]) if latest else {}
                bad = ", ".join(f"{task}={state}" for task, state in sorted(states.items()) if state != "success") or "no run recorded"
                print(f"✗ {name}  FAILED ({bad}) [{took:.0f}s]; log: {rel(log_file)}")
                for line in safe_tail(log_file):
                    print("      ", line)
                continue
            print(f"✓ {name}  {summarise(dag_id, db.xcoms(dag_id, latest[0]))}  [{took:.0f}s]")
        counters = emulator.counters()
        tiktok = emulator.tiktok.counters.snapshot()

    calls = sum(counters["requests"].values())
    mints = sum(counters["lwa"].values())
    print(
        f"\nEmulator: {calls} SP-API calls, {mints} LWA token mints, {counters['rdt']} RDTs, "
        f"{sum(counters['throttled'].values())} throttled, {counters['document_downloads']} document downloads; "
        f"TikTok Shop: {sum(tiktok['requests'].values())} calls, {sum(tiktok['token'].values())} token grants, "
        f"{tiktok['throttled']} throttled. Total {time.monotonic() - started:.0f}s."
    )
    if failed:
        print(f"\n{len(failed)} DAG run(s) failed: {', '.join(failed)}. Logs in {rel(LOGS)}.", file=sys.stderr)
        return 1
    print("All example DAGs ran green.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
