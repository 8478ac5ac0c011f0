"""Every example DAG parses, runs green with ``dag.test()`` against the emulator, and keeps PII out of XCom."""

from __future__ import annotations

import io
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_spapi.core.ratelimit import shared_rate_limiter
from airflow_provider_spapi.core.tokens import shared_token_cache
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.datakiosk import page_content
from airflow_provider_spapi.emulator.documents import report_content

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parent.parent
DAGS_FOLDER = REPO / "example_dags"
DAG_IDS = sorted(path.stem for path in DAGS_FOLDER.glob("example_spapi_*.py"))
SELLER_CONN_IDS = ["spapi_seller_1", "spapi_seller_2", "spapi_seller_3"]


# Sentinel credentials: the DAGs run with these (registered with the emulator for the seeded sellers), so the
# security scan below can search every log, the console and the XCom table for them.
SENTINEL_CLIENT_ID = "amzn1.application-oa2-client.sentinel0001"
SENTINEL_SECRET = "amzn1.oa2-cs.v1.SENTINEL-SECRET-5b7d1e9f3a"
SENTINEL_REFRESH_TOKENS = [f"Atzr|SENTINEL-REFRESH-{index}-c8e2a6f0d4" for index in range(len(seed.SELLERS))]


def sentinel_connection(emulator: Emulator, refresh_token: str, marketplace_ids: list[str], **extra: Any) -> str:
    return emulator.connection_json(
        login=SENTINEL_CLIENT_ID, password=SENTINEL_SECRET, refresh_token=refresh_token, marketplace_ids=marketplace_ids, **extra
    )


def load_dagbag() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.11 to 3.1
        from airflow.models import DagBag

        return DagBag(str(DAGS_FOLDER), include_examples=False)
    return DagBag(str(DAGS_FOLDER))


def task_states(dag_run: Any) -> dict[str, str]:
    return {
        f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: str(ti.state).rsplit(".", 1)[-1].lower()
        for ti in dag_run.get_task_instances()
    }


def decode(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return json.loads(value) if isinstance(value, str) else value


class Runs:
    """The example DAGs' runs, their output folder and the metadata DB, shared by this module's tests."""

    def __init__(self, home: Path, output: Path, emulator: Emulator) -> None:
        self.home, self.output, self.emulator = home, output, emulator
        self.dag_runs: dict[str, Any] = {}
        self.dagbag: Any = None
        self.counters: dict[str, Any] = {}
        self.console = ""  # everything the runs printed or logged in this process
        self.issued_tokens: list[str] = []  # every access token and RDT the emulator issued during the runs

    def xcom_rows(self) -> list[tuple[str, str, int, str, Any]]:
        """Every XCom (any key) of this module's runs: (dag_id, task_id, map_index, key, value)."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute("SELECT dag_id, run_id, task_id, map_index, key, value FROM xcom").fetchall()
        return [
            (dag_id, task_id, map_index, key, value)
            for dag_id, run_id, task_id, map_index, key, value in rows
            if dag_id in self.dag_runs and run_id == self.dag_runs[dag_id].run_id
        ]

    def xcom(self, dag_id: str, task_id: str, map_index: int = -1) -> Any:
        """The task's return value."""
        for row_dag, row_task, row_index, key, value in self.xcom_rows():
            if (row_dag, row_task, row_index, key) == (dag_id, task_id, map_index, "return_value"):
                return decode(value)
        raise AssertionError(f"no XCom for {dag_id}.{task_id}[{map_index}]")


@pytest.fixture(scope="module")
def runs(airflow_db: Path, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Run every example DAG once with the environment the DAGs read (as tools/demo.py sets it)."""
    output = tmp_path_factory.mktemp("example-output")
    emulator.reset()
    shared_token_cache.clear()
    shared_rate_limiter.clear()
    issued = (datetime.now(timezone.utc) - timedelta(days=340)).date().isoformat()
    result = Runs(airflow_db, output, emulator)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPAPI_EXAMPLE_OUTPUT", str(output))
        env.setenv("SPAPI_EXAMPLE_POLL_INTERVAL", "0.2")
        env.setenv("SPAPI_EXAMPLE_PAGE_SIZE", "10")
        env.setenv("SPAPI_EXAMPLE_SELLER_ID", seed.SELLING_PARTNER_ID)
        env.delenv("AIRFLOW_VAR_SPAPI_SELLER_CONN_IDS", raising=False)
        for refresh_token, seller in zip(SENTINEL_REFRESH_TOKENS, seed.SELLERS, strict=True):
            emulator.register(SENTINEL_CLIENT_ID, SENTINEL_SECRET, refresh_token, seller.selling_partner_id)
        env.setenv(
            "AIRFLOW_CONN_SPAPI_DEFAULT",
            sentinel_connection(emulator, SENTINEL_REFRESH_TOKENS[0], [seed.MARKETPLACE_ID_US], refresh_token_issued_at=issued),
        )
        for conn_id, refresh_token, seller in zip(SELLER_CONN_IDS, SENTINEL_REFRESH_TOKENS, seed.SELLERS, strict=True):
            env.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", sentinel_connection(emulator, refresh_token, list(seller.marketplace_ids)))
        result.dagbag = load_dagbag()  # parsed now: the DAG files read SPAPI_EXAMPLE_* at import
        with capture_console() as console:
            for dag_id in DAG_IDS:
                dag = result.dagbag.dags[dag_id]
                for task in dag.tasks:
                    task.retries = 0  # a failure fails now, instead of dag.test() waiting out the retry_delay
                result.dag_runs[dag_id] = dag.test()
        result.console = console.getvalue()
        result.counters = emulator.counters()
        result.issued_tokens = emulator.state.tokens.issued()
    yield result
    emulator.reset()


@contextmanager
def capture_console() -> Iterator[io.StringIO]:
    """What the DAG runs print (Airflow 3's structlog task logs go to stdout) and log through ``logging`` (Airflow 2)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with redirect_stdout(buffer), redirect_stderr(buffer):
            yield buffer
    finally:
        root.removeHandler(handler)


#: Airflow 3.0's Task SDK logs every request a task sends its supervisor at DEBUG, ``mask_secret``'s
#: ``MaskSecret(value=...)`` included, and ``dag.test()`` prints that line (Airflow's own connection
#: lookups send the password the same way). That echo is Airflow 3.0's, fixed in 3.1; the scans below
#: drop exactly those lines on 3.0 and search everything else.
_AIRFLOW_30_MASK_ECHO = re.compile(r"^.*Sending request\s+msg=MaskSecret\(value=.*$", re.MULTILINE)


def scannable_console(text: str) -> str:
    """The console as the leak scans read it: all of it, less Airflow 3.0's echo of ``MaskSecret`` requests."""
    from airflow import __version__ as airflow_version

    return _AIRFLOW_30_MASK_ECHO.sub("", text) if airflow_version.startswith("3.0.") else text


def test_every_example_dag_loads_without_import_errors() -> None:
    dagbag = load_dagbag()

    assert dagbag.import_errors == {}
    assert sorted(dag_id for dag_id in dagbag.dags if dag_id.startswith("example_spapi_")) == DAG_IDS  # TikTok's: test_tiktok_airflow
    assert len(DAG_IDS) == 12
    for dag_id, dag in ((dag_id, dagbag.dags[dag_id]) for dag_id in DAG_IDS):
        assert {"spapi", "example"} <= set(dag.tags), dag_id
        assert dag.catchup is False, dag_id
        assert dag.start_date is not None, dag_id
        assert (dag.doc_md or "").strip(), f"{dag_id} has no documentation"


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_example_dag_runs_green(runs: Runs, dag_id: str) -> None:
    dag_run = runs.dag_runs[dag_id]

    states = task_states(dag_run)
    assert states, f"{dag_id} ran no task"
    assert set(states.values()) == {"success"}, states
    assert str(dag_run.state).rsplit(".", 1)[-1].lower() == "success"


def test_incremental_orders_cover_the_data_interval_by_last_update(runs: Runs) -> None:
    result = runs.xcom("example_spapi_orders_incremental", "search_orders")
    dag_run = runs.dag_runs["example_spapi_orders_incremental"]
    start, end = dag_run.data_interval_start, dag_run.data_interval_end

    assert end - start == timedelta(hours=1)  # CronDataIntervalTimetable: a real interval on every version
    assert result["last_updated_after"] == start.isoformat()
    orders = [json.loads(line) for line in Path(result["path"]).read_text().splitlines()]  # one order a line
    before = datetime.fromisoformat(result["last_updated_before"])
    expected = sorted(
        (
            o
            for o in runs.emulator.state.book.orders(seed.SELLING_PARTNER_ID)
            if start <= o.last_update_date <= before and o.marketplace_id == seed.MARKETPLACE_ID_US
        ),
        key=lambda o: (o.last_update_date, o.order_id),
    )
    assert [order["orderId"] for order in orders] == [o.order_id for o in expected]
    assert result["records"] == len(expected) and result["pages"] == len(expected) // 10 + 1  # SPAPI_EXAMPLE_PAGE_SIZE=10
    assert Path(result["path"]).is_relative_to(runs.output)


def test_orders_backfill_report_is_json_lines(runs: Runs) -> None:
    result = runs.xcom("example_spapi_orders_backfill", "orders_by_last_update")
    rows = [json.loads(line) for line in Path(result["path"]).read_text("utf-8").splitlines()]
    expected = report_content("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL", result["report_id"], 20_000)
    lines = b"".join(expected).decode().splitlines()

    assert result["output_format"] == "jsonl" and result["rows"] == len(rows) == len(lines) - 1
    assert rows[0] == dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=True))


def test_settlement_reports_are_found_without_a_report_id(runs: Runs) -> None:
    found = runs.xcom("example_spapi_settlement_reports", "wait_for_settlement")
    result = runs.xcom("example_spapi_settlement_reports", "download_settlements")
    dag_run = runs.dag_runs["example_spapi_settlement_reports"]

    assert result["count"] == 1  # one settlement a day (06:00 UTC) in the emulator; the interval is yesterday
    (report,) = result["reports"]
    assert datetime.fromisoformat(found["created_time"]) >= dag_run.data_interval_start  # the newest since the interval began
    assert dag_run.data_interval_start <= datetime.fromisoformat(report["created_time"]) <= dag_run.data_interval_end
    assert Path(report["path"]) == runs.output / "settlements" / f"{report['report_id']}.jsonl"
    rows = [json.loads(line) for line in Path(report["path"]).read_text("utf-8").splitlines()]
    assert report["rows"] == len(rows) and report["output_format"] == "jsonl"
    assert rows[0]["settlement-start-date"] and rows[0]["total-amount"]  # Amazon's summary row, keyed by the header
    assert {row["transaction-type"] for row in rows[1:]} <= {"Order"}


def test_notifications_setup_subscribes_and_report_events_downloads(runs: Runs) -> None:
    destination_id = runs.xcom("example_spapi_notifications_setup", "create_destination")
    subscription_id = runs.xcom("example_spapi_notifications_setup", "subscribe_report_finished")
    result = runs.xcom("example_spapi_report_events", "download_finished_reports")

    assert destination_id and subscription_id
    assert result["source"] == "getReports"  # dag.test(): no triggering asset events, so the polling fallback
    backfill = runs.xcom("example_spapi_orders_backfill", "orders_by_last_update")
    # The newest DONE report of each wanted type in the window: the backfill DAG's, made minutes before.
    assert backfill["report_id"] in {item["report_id"] for item in result["reports"]}
    assert {item["report_type"] for item in result["reports"]} <= {
        "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE",
        "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
    }
    for item in result["reports"]:
        assert Path(item["path"]).parent == runs.output / "report_events"
        assert item["rows"] == len(Path(item["path"]).read_text("utf-8").splitlines())
    # The setup's subscription made the emulator announce the backfill DAG's report (no SQS endpoint in this run: recorded only).
    sent = [n for n in runs.emulator.notifications() if n.get("notificationType") == "REPORT_PROCESSING_FINISHED"]
    assert backfill["report_id"] in {n["payload"]["reportProcessingFinishedNotification"]["reportId"] for n in sent}


def test_v0_orders_and_addresses_are_in_files_and_xcom_has_counts(runs: Runs) -> None:
    orders = runs.xcom("example_spapi_orders_v0_with_addresses", "get_orders")
    addresses = runs.xcom("example_spapi_orders_v0_with_addresses", "get_addresses")

    assert set(orders) == {"path", "pages", "records"}
    assert set(addresses) == {"path", "orders", "addresses"}
    assert orders["records"] == addresses["orders"] == addresses["addresses"] > 0
    lines = Path(addresses["path"]).read_text().splitlines()
    assert len(lines) == addresses["addresses"]
    assert all("AddressLine1" in json.loads(line)["ShippingAddress"] for line in lines)
    # One RDT for getOrders with its data elements, one for the generic getOrderAddress path.
    assert runs.counters["rdt"] == 2


def test_nightly_report_is_the_emulators_document(runs: Runs) -> None:
    result = runs.xcom("example_spapi_nightly_report", "all_orders_report")

    content = Path(result["path"]).read_bytes()
    expected = b"".join(report_content("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", result["report_id"], 20_000))
    assert content == expected
    assert result["bytes"] == len(content)
    assert result["status"] == "DONE"


def test_datakiosk_sales_traffic_has_every_page_of_the_interval(runs: Runs) -> None:
    dag_id = "example_spapi_datakiosk_sales_traffic"
    result = runs.xcom(dag_id, "sales_traffic_by_asin")
    day = runs.dag_runs[dag_id].data_interval_start.strftime("%Y-%m-%d")
    template = runs.dagbag.dags[dag_id].get_task("sales_traffic_by_asin").query
    query = template.replace("{{ data_interval_start | ds }}", day).replace("{{ params.marketplace_id }}", seed.MARKETPLACE_ID_US)

    # The emulator's default: two pages of five records, the second asked for with the first's nextToken.
    assert [job.extra["query"] for job in runs.emulator.state.data_kiosk_api.book.owned_by(seed.SELLING_PARTNER_ID)] == [query, query]
    assert f'startDate: "{day}"' in query and "salesAndTrafficByAsin" in query
    assert Path(result["path"]).read_bytes() == page_content(query, 1, 5) + page_content(query, 2, 5)
    assert result["records"] == 10
    assert len(result["query_ids"]) == len(result["document_ids"]) == 2
    assert Path(result["path"]).is_relative_to(runs.output)


def test_feed_upload_keeps_the_processing_report(runs: Runs) -> None:
    result = runs.xcom("example_spapi_feed_upload", "upload_feed")

    assert result["summary"] == {"errors": 0, "warnings": 0, "messagesProcessed": 3, "messagesAccepted": 3, "messagesInvalid": 0}
    assert json.loads(Path(result["path"]).read_text())["header"]["feedId"] == result["feed_id"]


def test_notifications_call_is_grantless(runs: Runs) -> None:
    assert runs.xcom("example_spapi_notifications_grantless", "get_destinations") == {"payload": []}
    assert runs.xcom("example_spapi_notifications_grantless", "count_destinations") == 0
    assert runs.counters["lwa_by_scope"].get("sellingpartnerapi::notifications") == 1


def test_multi_seller_fans_out_one_task_per_seller_connection(runs: Runs) -> None:
    dag_run = runs.dag_runs["example_spapi_multi_seller"]
    counts = runs.xcom("example_spapi_multi_seller", "summarise")

    assert sorted(key for key in task_states(dag_run) if key.startswith("search_orders[")) == [f"search_orders[{i}]" for i in range(3)]
    assert list(counts) == SELLER_CONN_IDS
    for index, conn_id in enumerate(SELLER_CONN_IDS):
        result = runs.xcom("example_spapi_multi_seller", "search_orders", index)
        assert Path(result["path"]).name == f"{conn_id}.jsonl"
        lines = Path(result["path"]).read_text().splitlines()
        assert sum(len(json.loads(line)["orders"]) for line in lines) == result["records"] == counts[conn_id]
    seller_ids = {page_order["salesChannel"]["marketplaceId"] for page_order in _orders_of(runs, "spapi_seller_3")}
    assert seller_ids <= set(seed.SELLERS[2].marketplace_ids)  # seller 3's own (EU) orders


def _orders_of(runs: Runs, conn_id: str) -> list[dict[str, Any]]:
    index = SELLER_CONN_IDS.index(conn_id)
    path = Path(runs.xcom("example_spapi_multi_seller", "search_orders", index)["path"])
    return [order for line in path.read_text().splitlines() for order in json.loads(line)["orders"]]


def test_credentials_check_warns_25_days_ahead(runs: Runs) -> None:
    result = runs.xcom("example_spapi_credentials_check", "check_spapi_default")

    assert result["refresh_token_days_left"] == 25
    assert len(result["warnings"]) == 1
    assert "25 days" in result["warnings"][0]
    assert "re-authorise" in result["warnings"][0]


def test_no_pii_in_xcom_or_rendered_fields(runs: Runs) -> None:
    rows = runs.xcom_rows()

    assert {dag_id for dag_id, *_ in rows} == set(DAG_IDS)  # every example DAG pushed something
    leaks = [(dag_id, task_id, key) for dag_id, task_id, _, key, value in rows if "PII" in str(decode(value))]
    assert leaks == []
    with sqlite3.connect(runs.home / "airflow.db") as db:
        rendered = db.execute("SELECT dag_id, task_id, rendered_fields FROM rendered_task_instance_fields").fetchall()
    assert [(dag_id, task_id) for dag_id, task_id, fields in rendered if dag_id in DAG_IDS and "PII" in str(fields)] == []


def test_restricted_outputs_on_disk_do_hold_pii(runs: Runs) -> None:
    """The PII scan above is not vacuous: the data it would find is real, and it is on disk where it belongs."""
    orders = Path(runs.xcom("example_spapi_orders_v0_with_addresses", "get_orders")["path"])
    addresses = Path(runs.xcom("example_spapi_orders_v0_with_addresses", "get_addresses")["path"])

    assert "PII" in orders.read_text()
    assert all("PII" in line for line in addresses.read_text().splitlines())
    # ... and the outputs of non-restricted operations hold none.
    for path in runs.output.rglob("*"):
        if path.is_file() and "orders_v0" not in path.parts:
            assert "PII" not in path.read_text(errors="replace"), path
    # No partial files were left behind by the atomic writes.
    assert [path for path in runs.output.rglob("*.partial")] == []


def test_no_secret_or_minted_token_in_logs_console_or_xcom(runs: Runs) -> None:
    """Security scan: the sentinel credentials and every token minted during the runs appear nowhere they could leak."""
    secrets = [SENTINEL_SECRET, *SENTINEL_REFRESH_TOKENS, *runs.issued_tokens]
    assert len(runs.issued_tokens) >= 5  # LWA tokens, grantless tokens and RDTs were minted and are searched for
    assert any(token.startswith("Atz.sprdt|") for token in runs.issued_tokens)
    assert "SP-API usage:" in runs.console  # the capture saw the tasks' logs, so an empty scan is not vacuous

    logs = runs.home / "logs"
    log_files = [path for path in logs.rglob("*") if path.is_file()] if logs.exists() else []
    with sqlite3.connect(runs.home / "airflow.db") as db:
        tables = {
            "xcom": " ".join(str(value) for (value,) in db.execute("SELECT value FROM xcom")),
            "rendered_task_instance_fields": " ".join(
                str(row) for row in db.execute("SELECT rendered_fields FROM rendered_task_instance_fields")
            ),
        }
    places = {"console": scannable_console(runs.console), **tables, **{str(path): path.read_text(errors="replace") for path in log_files}}

    leaks = [(place, secret[:12] + "…") for place, text in places.items() for secret in secrets if secret in text]
    assert leaks == []
