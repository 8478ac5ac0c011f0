"""The notification-driven DAG under real Airflow services: emulator -> SQS (moto_server) -> triggerer -> scheduler -> task.

``example_spapi_report_events`` is scheduled by an ``Asset`` whose ``AssetWatcher`` runs a
``MessageQueueTrigger`` on SQS. This test proves the whole chain with no shortcut: the emulator
finishes a report of a subscribed seller and sends Amazon's ``REPORT_PROCESSING_FINISHED`` to a queue
of a real ``moto_server``; ``airflow triggerer`` (watching the queue) turns the message into an asset
event; ``airflow scheduler`` creates an ``asset_triggered`` run; the LocalExecutor's task, talking to
``airflow api-server``'s execution API, downloads the announced report from the emulator to storage.
``airflow dag-processor`` parses the dags folder, which holds only that example DAG.

Everything runs in a private Airflow home on SQLite (Airflow 3 accepts the LocalExecutor on SQLite;
the SequentialExecutor is gone). Ports are free ports of 127.0.0.1. The emulator runs in this
process; the Airflow services reach it over HTTP through ``AIRFLOW_CONN_SPAPI_DEFAULT`` and reach
moto through ``AIRFLOW_CONN_AWS_DEFAULT`` (dummy keys, ``endpoint_url``).

Needs Airflow 3 with ``AssetWatcher``, the ``notifications`` extra (Amazon and common-messaging
providers) and ``moto_server`` (``test`` extra); skipped otherwise, e.g. on Airflow 2.11.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from sqs_fixture import free_port, queue_fixture, sqs_call, sqs_server_fixture, subscribed  # noqa: F401 - fixtures

from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.documents import report_content
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.spapi import workflows

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "example_spapi_report_events"
ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"  # one of the example's REPORT_TYPES
PAUSED = "SELECT is_paused FROM dag WHERE dag_id = ?"
# Seconds for the whole chain, from starting the services to the run's success (about 70 s on 2 idle cores).
DEADLINE = float(os.environ.get("SPAPI_E2E_DEADLINE", "300"))


# Skipped (with the reason) where the example DAG falls back to its hourly, sensor-based form; before
# any fixture starts a server.
try:
    from airflow.sdk import AssetWatcher  # noqa: F401
except ImportError:
    pytest.skip("needs Airflow 3 with AssetWatcher (the example DAG is hourly without it)", allow_module_level=True)
pytest.importorskip("airflow.providers.common.messaging.triggers.msg_queue", reason="needs the notifications extra")
pytest.importorskip("airflow.providers.amazon.aws.triggers.sqs", reason="needs the notifications extra")


class AirflowServices:
    """Airflow's CLI services as subprocesses of one private home; each in its own process group, logged to a file."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def run(self, *args: str, timeout: float = 120) -> str:
        """One ``airflow`` CLI command to completion; its output (fails the test with it if the command fails)."""
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, name: str, *args: str) -> None:
        with self.log(name).open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"airflow {name} exited with {process.returncode}"

    def stop(self) -> None:
        """SIGTERM each service's process group (its workers too), then SIGKILL what is left after 2 s (the home is thrown away)."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 2
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for process in self.processes.values():  # children left in a group whose leader exited
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def tails(self, lines: int = 60) -> str:
        out = []
        for name in self.processes:
            text = self.log(name).read_text(errors="replace").splitlines() if self.log(name).exists() else []
            out.append(f"----- airflow {name} (last {lines} lines) -----\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


@contextmanager
def airflow_services(home: Path, env: dict[str, str]) -> Iterator[AirflowServices]:
    services = AirflowServices(home, env)
    failed = False
    try:
        yield services
    except BaseException:
        failed = True
        raise
    finally:
        services.stop()
        if failed:
            print(services.tails())  # pytest shows it with the failure


def airflow_env(home: Path, emu: Emulator, sqs_server: str, queue_url: str, output: Path) -> dict[str, str]:
    """The environment of every Airflow service: the private home, the executor, the connections, the example's settings."""
    api_port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "PYTEST"))}
    dags = home / "dags"
    dags.mkdir(parents=True)
    shutil.copy(REPO / "example_dags" / f"{DAG_ID}.py", dags)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "PYTHONUNBUFFERED": "1",  # the logs are current when a failure prints them
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            # One signing key for every service, so the api-server accepts the tokens the scheduler issues tasks.
            "AIRFLOW__API_AUTH__JWT_SECRET": "spapi-e2e-test-only-jwt-signing-key",
            # Unpaused from its first parse, as `airflow dags unpause` would leave it, without that command's
            # 10-15 s start and a reparse (the watcher of a paused DAG's asset is registered at the next parse).
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW_CONN_SPAPI_DEFAULT": emu.connection_json(),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "login": "testing",
                    "password": "testing",
                    "extra": {"endpoint_url": sqs_server, "region_name": "us-east-1"},
                }
            ),
            "SPAPI_EXAMPLE_SQS_QUEUE_URL": queue_url,
            "SPAPI_EXAMPLE_SQS_WAITER_DELAY": "1",
            "SPAPI_EXAMPLE_OUTPUT": str(output),
        }
    )
    return env


def query(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the metadata DB as the services write it (a busy SQLite is retried, not a failure)."""
    for _ in range(20):
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "no such table" not in str(error):
                raise
            time.sleep(0.2)
    raise AssertionError(f"the metadata DB stayed locked: {sql}")


def wait_for(what: str, services: AirflowServices, check: Any, deadline: float) -> Any:
    """Poll ``check()`` until it answers something truthy; fail naming ``what`` at the deadline or when a service died."""
    while True:
        services.check_alive()
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what} (the services' logs follow)")
        time.sleep(0.5)


def served_rows(report_type: str, report_id: str, size: int) -> list[dict[str, str]]:
    """The rows of the document the emulator serves for the report, read with the standard library's csv module."""
    text = b"".join(report_content(report_type, report_id, size)).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def test_a_report_notification_in_sqs_triggers_a_dag_run_that_downloads_the_report(
    emu: Emulator, spapi_conn: Any, sqs_server: str, queue: tuple[str, str], tmp_path: Path
) -> None:
    queue_url, arn = queue
    home, output = tmp_path / "airflow-home", tmp_path / "output"
    env = airflow_env(home, emu, sqs_server, queue_url, output)
    database = home / "airflow.db"
    subscribed(emu, sqs_server, arn)  # the seller's REPORT_PROCESSING_FINISHED goes to the moto queue
    deadline = time.monotonic() + DEADLINE

    with airflow_services(home, env) as airflow:
        airflow.run("db", "migrate")
        airflow.start("dag-processor", "dag-processor")
        airflow.start(
            "api-server", "api-server", "--apps", "execution", "--host", "127.0.0.1", "--port", env["AIRFLOW__API__PORT"], "--workers", "1"
        )
        # No log servers (they would listen on fixed ports of every interface): the logs are files in the home.
        airflow.start("scheduler", "scheduler", "--skip-serve-logs")
        airflow.start("triggerer", "triggerer", "--skip-serve-logs")

        ((paused,),) = wait_for("the DAG to be parsed", airflow, lambda: query(database, PAUSED, DAG_ID), deadline)
        assert not paused  # created unpaused; only then does the DAG processor register the asset's watcher
        wait_for(
            "the AssetWatcher's trigger to be registered",
            airflow,
            lambda: query(database, "SELECT 1 FROM asset_watcher WHERE name = ?", "spapi_report_notifications_sqs"),
            deadline,
        )

        # The seller's report: the emulator processes it in the background (nobody polls) and notifies SQS.
        report_id = workflows.create_report(SpApiHook().client, ORDERS)

        def finished_run() -> tuple[Any, ...] | None:
            runs = query(database, "SELECT id, run_type, state FROM dag_run WHERE dag_id = ?", DAG_ID)
            return next((run for run in runs if run[2] in ("success", "failed")), None)

        run_pk, run_type, state = wait_for("a finished DAG run", airflow, finished_run, deadline)
        assert emu.state.sqs_publisher.errors == []
        assert state == "success", f"the run ended {state}"
        assert run_type == "asset_triggered"
        events = query(
            database, "SELECT e.extra FROM asset_event e JOIN dagrun_asset_event r ON r.event_id = e.id WHERE r.dag_run_id = ?", run_pk
        )
        assert any(report_id in str(extra) for (extra,) in events), events  # the triggering event carries the SQS message
        ((returned,),) = query(
            database,
            "SELECT value FROM xcom WHERE dag_run_id = ? AND task_id = ? AND key = 'return_value'",
            run_pk,
            "download_finished_reports",
        )

    attributes = sqs_call(queue_url, Action="GetQueueAttributes", **{"AttributeName.1": "All"})
    for counter in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"):
        assert f"<Name>{counter}</Name><Value>0</Value>" in attributes, attributes  # the watcher deleted what it received
    result = json.loads(returned)
    assert result["source"] == "notifications" and result["event_driven"] is True  # not the getReports fallback
    assert [saved["report_id"] for saved in result["reports"]] == [report_id]
    job = emu.state.reports_api.book.get(report_id, seed.SELLING_PARTNER_ID, "Report")
    lines = (output / "report_events" / f"{report_id}.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == served_rows(ORDERS, report_id, job.extra["size"])
    assert sum(count for key, count in emu.counters()["requests"].items() if key.endswith(".getReport")) == 0
