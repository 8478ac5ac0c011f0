"""The operators, sensor and trigger in real Airflow (``dag.test()``, SQLite) against the emulator over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG, TaskDeferred
from dagrun import run_dag, state_of

from airflow_provider_spapi._compat import AIRFLOW_V_3, AirflowSkipException
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.documents import fatal_report_content, report_content
from airflow_provider_spapi.emulator.feeds import ERROR_MARKER
from airflow_provider_spapi.errors import SpApiConfigError, SpApiError, SpApiProcessingError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.feeds import SpApiFeedOperator
from airflow_provider_spapi.operators.reports import SpApiReportOperator
from airflow_provider_spapi.operators.spapi import SpApiOperator
from airflow_provider_spapi.sensors.reports import SpApiReportSensor
from airflow_provider_spapi.triggers.processing import SpApiProcessingTrigger

try:  # the Task SDK's timetables, Airflow 3.1+
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11 and 3.0
    from airflow.timetables.interval import CronDataIntervalTimetable

pytestmark = pytest.mark.airflow

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
ADDRESS_PATH = "/orders/v0/orders/{order_id}/address"


# -- helpers ----------------------------------------------------------------------------------------


def xcom_of(home: Path, dag_run: Any, task_id: str) -> Any:
    """The task's return value as stored in the metadata DB's xcom table (JSON on every Airflow version)."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = 'return_value'",
            (dag_run.dag_id, dag_run.run_id, task_id),
        ).fetchall()
    assert rows, f"no XCom for {task_id}"
    value = rows[0][0]
    return json.loads(value.decode() if isinstance(value, bytes) else value) if isinstance(value, (str, bytes)) else value


def one_task_dag(dag_id: str, make_task: Any, **dag_kwargs: Any) -> Any:
    dag_kwargs.setdefault("schedule", None)
    with DAG(dag_id, start_date=START, catchup=False, **dag_kwargs) as dag:
        make_task()
    return dag


def expected_report(report_type: str, report_id: str, size: int = 20_000) -> bytes:
    return b"".join(report_content(report_type, report_id, size))


def requests_to(emu: Emulator, operation: str) -> int:
    return sum(count for key, count in emu.counters()["requests"].items() if key.endswith("." + operation))


@pytest.fixture
def home(airflow_db: Path) -> Path:
    return airflow_db


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "out"
    folder.mkdir()
    yield folder


def report_op(out: Path, **kwargs: Any) -> SpApiReportOperator:
    kwargs.setdefault("task_id", "report")
    kwargs.setdefault("report_type", LISTINGS)
    kwargs.setdefault("output_path", str(out / "report.tsv"))
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("poll_interval", 0.05)
    return SpApiReportOperator(**kwargs)


# -- (a) deferral ------------------------------------------------------------------------------------


def test_deferrable_report_completes_in_dag_test(home: Path, emu: Emulator, spapi_conn: Any, out: Path) -> None:
    dag = one_task_dag("test_op_deferrable_report", lambda: report_op(out, deferrable=True, poll_interval=0.1))
    dag_run = run_dag(dag)

    assert state_of(dag_run, "report") == "success"
    result = xcom_of(home, dag_run, "report")
    assert set(result) >= {"report_id", "document_id", "path", "bytes"}
    assert result["path"] == str(out / "report.tsv")
    assert result["bytes"] == 20_000
    assert (out / "report.tsv").read_bytes() == expected_report(LISTINGS, result["report_id"])
    # The wait was polled (the emulator answers IN_QUEUE/IN_PROGRESS twice before DONE).
    assert requests_to(emu, "getReport") >= 3


def test_execute_defers_with_the_trigger_whose_event_completes_the_task(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    operator = report_op(out, deferrable=True, poll_interval=0.05)

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, SpApiProcessingTrigger)
    assert deferred.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_spapi.triggers.processing.SpApiProcessingTrigger"
    assert kwargs["kind"] == "report" and kwargs["spapi_conn_id"] == "spapi_default"
    report_id = kwargs["job_id"]

    async def first_event() -> Any:
        async for event in SpApiProcessingTrigger(**kwargs).run():
            return event
        return None

    event = asyncio.run(first_event())
    assert event.payload["event"] == "finished"
    assert event.payload["status"] == "DONE"
    assert event.payload["job_id"] == report_id

    result = operator.execute_complete({}, event.payload)
    assert result["report_id"] == report_id
    assert result["document_id"] == event.payload["document_id"]
    assert result["bytes"] == 20_000
    assert Path(result["path"]).read_bytes() == expected_report(LISTINGS, report_id)


def test_trigger_reports_an_error_event_without_secrets(emu: Emulator, spapi_conn: Any) -> None:
    async def first_event() -> Any:
        async for event in SpApiProcessingTrigger("report", "99999999", "spapi_default", poll_interval=0.01).run():
            return event
        return None

    event = asyncio.run(first_event())
    assert event.payload["event"] == "error"
    assert "99999999" in event.payload["message"]
    assert seed.CLIENT_SECRET not in event.payload["message"]
    assert seed.REFRESH_TOKEN not in event.payload["message"]


# -- (b)-(d) document download -----------------------------------------------------------------------


def test_report_download_is_byte_identical(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    result = report_op(out, report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL").execute({})

    content = (out / "report.tsv").read_bytes()
    assert content == expected_report("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", result["report_id"])
    assert result["bytes"] == len(content) == 20_000


def test_report_streams_to_an_object_storage_path(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    """A ``scheme://`` output path goes through Airflow's ObjectStoragePath (fsspec), atomically as a local one does."""
    from airflow_provider_spapi._compat import ObjectStoragePath

    for output_path in (f"file://{out}/as-url/report.tsv", ObjectStoragePath(f"file://{out}/as-object/report.tsv")):
        result = report_op(out, output_path=output_path).execute({})
        written = Path(str(result["path"]).removeprefix("file://"))
        assert written.read_bytes() == expected_report(LISTINGS, result["report_id"])
        assert [path.name for path in written.parent.iterdir()] == ["report.tsv"]  # no partial file left


def test_truncated_download_beyond_the_retry_budget_fails_and_leaves_no_file(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    spapi_conn(max_attempts=2)
    emu.configure(faults=[{"kind": "truncate", "count": 5}])

    with pytest.raises(SpApiError):
        report_op(out).execute({})

    assert list(out.iterdir()) == []  # neither the target nor a hidden partial file
    assert emu.counters()["faults"].get("truncate") == 2


def test_truncated_download_fails_the_task_in_dag_test(home: Path, emu: Emulator, spapi_conn: Any, out: Path) -> None:
    spapi_conn(max_attempts=2)
    emu.configure(faults=[{"kind": "truncate", "count": 5}])

    dag_run = run_dag(one_task_dag("test_op_truncated_report", lambda: report_op(out)))

    assert state_of(dag_run, "report") == "failed"
    assert list(out.iterdir()) == []


def test_one_truncated_download_is_retried_and_byte_identical(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    emu.configure(faults=[{"kind": "truncate", "count": 1}])

    result = report_op(out).execute({})

    assert emu.counters()["faults"].get("truncate") == 1
    assert (out / "report.tsv").read_bytes() == expected_report(LISTINGS, result["report_id"])
    assert sorted(path.name for path in out.iterdir()) == ["report.tsv"]


def test_expired_document_url_is_absorbed_by_fetching_a_new_url(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    emu.configure(faults=[{"kind": "expired_url", "count": 1}])

    result = report_op(out).execute({})

    assert emu.counters()["faults"].get("expired_url") == 1
    assert requests_to(emu, "getReportDocument") == 2  # a fresh URL for the second attempt
    assert (out / "report.tsv").read_bytes() == expected_report(LISTINGS, result["report_id"])


# -- (e) FATAL and CANCELLED -------------------------------------------------------------------------


def test_fatal_report_fails_with_the_error_document_in_the_message(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    emu.configure(report_outcomes={LISTINGS: "FATAL"})

    with pytest.raises(SpApiProcessingError) as failure:
        report_op(out).execute({})

    report_id = re.search(r"Report (\d+)", str(failure.value)).group(1)  # type: ignore[union-attr]
    error_document = json.loads(fatal_report_content(LISTINGS, report_id))["errorDetails"]
    assert "FATAL" in str(failure.value)
    assert error_document in str(failure.value)
    assert not (out / "report.tsv").exists()


def test_cancelled_report_skips_by_default(home: Path, emu: Emulator, spapi_conn: Any, out: Path) -> None:
    emu.configure(report_outcomes={LISTINGS: "CANCELLED"})

    dag_run = run_dag(one_task_dag("test_op_cancelled_report_skip", lambda: report_op(out)))

    assert state_of(dag_run, "report") == "skipped"
    with pytest.raises(AirflowSkipException, match="CANCELLED"):
        report_op(out).execute({})


def test_cancelled_report_succeeds_without_a_file_or_fails_as_asked(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    emu.configure(report_outcomes={LISTINGS: "CANCELLED"})

    result = report_op(out, on_cancelled="succeed").execute({})
    assert result["path"] is None
    assert result["document_id"] is None
    assert result["status"] == "CANCELLED"

    with pytest.raises(SpApiProcessingError, match="CANCELLED"):
        report_op(out, on_cancelled="fail").execute({})
    assert list(out.iterdir()) == []


# -- (f) sensor --------------------------------------------------------------------------------------


def _create_report() -> str:
    from airflow_provider_spapi.spapi.workflows import create_report

    return create_report(SpApiHook().client, LISTINGS)


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "poke"])
def test_report_sensor_waits_for_done(
    home: Path, emu: Emulator, spapi_conn: Any, deferrable: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not AIRFLOW_V_3:
        # Airflow 2's sensor dependency check loads the default executor, which refuses SQLite unless sequential.
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "SequentialExecutor")
    report_id = _create_report()
    dag = one_task_dag(
        f"test_op_report_sensor_{'deferrable' if deferrable else 'poke'}",
        lambda: SpApiReportSensor(task_id="wait", report_id=report_id, deferrable=deferrable, poke_interval=0.1, timeout=60),
    )

    dag_run = run_dag(dag)

    assert state_of(dag_run, "wait") == "success"
    document_id = xcom_of(home, dag_run, "wait")
    assert isinstance(document_id, str) and document_id.startswith("amzn1.spdoc.")
    assert requests_to(emu, "getReport") >= 3


def test_report_sensor_fails_on_fatal_and_skips_on_cancelled(emu: Emulator, spapi_conn: Any) -> None:
    emu.configure(report_outcomes={LISTINGS: "FATAL"})
    fatal = _create_report()
    with pytest.raises(SpApiProcessingError, match="FATAL"):
        SpApiReportSensor(task_id="fatal", report_id=fatal, deferrable=False, poke_interval=0.05, timeout=30).execute({})

    emu.configure(report_outcomes={LISTINGS: "CANCELLED"})
    cancelled = _create_report()
    with pytest.raises(AirflowSkipException):
        SpApiReportSensor(task_id="cancelled", report_id=cancelled, deferrable=False, poke_interval=0.05, timeout=30).execute({})


# -- (g) feeds ---------------------------------------------------------------------------------------


def _write_feed(folder: Path, *, broken: bool) -> Path:
    """A two-message JSON listings feed; ``broken`` puts the emulator's error marker in the second message."""
    messages = [
        {"messageId": 1, "sku": "EMU-SKU-0001", "operationType": "PATCH", "productType": "PRODUCT", "patches": []},
        {"messageId": 2, "sku": ERROR_MARKER if broken else "EMU-SKU-0002", "operationType": "PATCH", "productType": "PRODUCT"},
    ]
    path = folder / ("broken-feed.json" if broken else "feed.json")
    path.write_text(json.dumps({"header": {"sellerId": seed.SELLING_PARTNER_ID, "version": "2.0"}, "messages": messages}))
    return path


def feed_op(feed: Path, out: Path, **kwargs: Any) -> SpApiFeedOperator:
    kwargs.setdefault("deferrable", False)
    return SpApiFeedOperator(
        task_id="feed",
        feed_type="JSON_LISTINGS_FEED",
        input_path=str(feed),
        content_type="application/json; charset=UTF-8",
        output_path=str(out / "processing_report.json"),
        poll_interval=0.05,
        **kwargs,
    )


def test_feed_with_an_error_message_fails_by_default(emu: Emulator, spapi_conn: Any, tmp_path: Path, out: Path) -> None:
    feed = _write_feed(tmp_path, broken=True)

    with pytest.raises(SpApiProcessingError, match="1 error"):
        feed_op(feed, out).execute({})
    report = json.loads((out / "processing_report.json").read_text())
    assert report["summary"]["errors"] == 1


def test_feed_with_an_error_message_succeeds_with_fail_on_errors_false(
    home: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path, out: Path
) -> None:
    feed = _write_feed(tmp_path, broken=True)

    dag_run = run_dag(one_task_dag("test_op_feed_errors_ok", lambda: feed_op(feed, out, fail_on_errors=False, deferrable=True)))

    assert state_of(dag_run, "feed") == "success"
    result = xcom_of(home, dag_run, "feed")
    assert result["summary"] == {"errors": 1, "warnings": 0, "messagesProcessed": 2, "messagesAccepted": 1, "messagesInvalid": 1}
    assert result["path"] == str(out / "processing_report.json")
    assert emu.counters()["document_uploads"] == 1


def test_clean_feed_succeeds_in_dag_test_and_broken_feed_fails_the_task(
    home: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path, out: Path
) -> None:
    good = _write_feed(tmp_path, broken=False)
    dag_run = run_dag(one_task_dag("test_op_feed_clean", lambda: feed_op(good, out, deferrable=True)))
    assert state_of(dag_run, "feed") == "success"
    assert xcom_of(home, dag_run, "feed")["summary"]["messagesAccepted"] == 2

    broken = _write_feed(tmp_path, broken=True)
    dag_run = run_dag(one_task_dag("test_op_feed_broken", lambda: feed_op(broken, out, deferrable=True)))
    assert state_of(dag_run, "feed") == "failed"


# -- (h) SpApiOperator -------------------------------------------------------------------------------


def test_restricted_operation_without_output_path_fails_before_any_request(emu: Emulator, spapi_conn: Any) -> None:
    order_id = emu.state.book.orders(seed.SELLING_PARTNER_ID)[0].order_id
    operator = SpApiOperator(task_id="address", method="GET", path=ADDRESS_PATH.format(order_id=order_id))

    with pytest.raises(SpApiConfigError, match="output_path"):
        operator.execute({})
    with pytest.raises(SpApiConfigError, match="output_path"):
        SpApiOperator(task_id="orders", method="GET", path="/orders/v0/orders", data_elements=["buyerInfo"]).execute({})

    counters = emu.counters()
    assert counters["requests"] == {}
    assert sum(counters["lwa"].values()) == 0
    assert counters["rdt"] == 0


def test_restricted_pages_go_to_a_file_once_each_and_xcom_gets_counts(home: Path, emu: Emulator, spapi_conn: Any, out: Path) -> None:
    target = out / "orders.jsonl"
    dag = one_task_dag(
        "test_op_orders_v0_pages",
        lambda: SpApiOperator(
            task_id="orders",
            method="GET",
            path="/orders/v0/orders",
            query_params={"MarketplaceIds": [seed.MARKETPLACE_ID_US], "CreatedAfter": "2000-01-01T00:00:00Z", "MaxResultsPerPage": 40},
            data_elements=["buyerInfo", "shippingAddress"],
            paginate=True,
            output_path=str(target),
        ),
    )

    dag_run = run_dag(dag)

    assert state_of(dag_run, "orders") == "success"
    pages = [json.loads(line) for line in target.read_text().splitlines()]
    order_ids = [order["AmazonOrderId"] for page in pages for order in page["payload"]["Orders"]]
    expected = [o.order_id for o in emu.state.book.orders(seed.SELLING_PARTNER_ID) if o.marketplace_id == seed.MARKETPLACE_ID_US]
    assert len(pages) > 1
    assert order_ids == expected  # every order once, in order: no page skipped or repeated
    assert "NextToken" not in pages[-1]["payload"]
    assert all("PII" in order["BuyerInfo"]["BuyerEmail"] for page in pages for order in page["payload"]["Orders"])
    result = xcom_of(home, dag_run, "orders")
    assert result == {"path": str(target), "pages": len(pages), "records": len(expected)}
    assert requests_to(emu, "getOrders") == len(pages)
    assert emu.counters()["rdt"] == 1


def test_templated_query_params_reach_the_emulator(home: Path, emu: Emulator, spapi_conn: Any, out: Path) -> None:
    dag = one_task_dag(
        "test_op_templated_query",
        lambda: SpApiOperator(
            task_id="search",
            method="GET",
            path="/orders/2026-01-01/orders",
            query_params={"createdAfter": "{{ data_interval_start }}", "createdBefore": "{{ data_interval_end }}"},
            paginate=True,
            output_path=str(out) + "/{{ data_interval_start | ds }}.jsonl",
        ),
        schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    )

    dag_run = run_dag(dag)

    assert state_of(dag_run, "search") == "success"
    start, end = pendulum.instance(dag_run.data_interval_start), pendulum.instance(dag_run.data_interval_end)
    assert end - start == pendulum.duration(days=1)
    target = out / f"{start.to_date_string()}.jsonl"
    pages = [json.loads(line) for line in target.read_text().splitlines()]
    # The emulator echoes the createdBefore it was sent, and filtered on both bounds.
    assert pages[0]["createdBefore"] == end.strftime("%Y-%m-%dT%H:%M:%SZ")
    created = [pendulum.parse(order["createdTime"]) for page in pages for order in page["orders"]]
    expected = [o for o in emu.state.book.orders(seed.SELLING_PARTNER_ID) if start <= o.purchase_date <= end]
    assert len(created) == len(expected) > 0
    assert all(start <= moment <= end for moment in created)
    assert xcom_of(home, dag_run, "search")["records"] == len(expected)


def test_large_report_is_streamed_to_the_exact_size(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    size = 20_000_000
    emu.configure(report_document_bytes=size)

    result = report_op(out).execute({})

    assert result["bytes"] == size
    assert (out / "report.tsv").stat().st_size == size
    expected = hashlib.sha256()
    for chunk in report_content(LISTINGS, result["report_id"], size):
        expected.update(chunk)
    written = hashlib.sha256()
    with (out / "report.tsv").open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            written.update(block)
    assert written.hexdigest() == expected.hexdigest()
