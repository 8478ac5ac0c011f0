"""Scheduled reports (settlements): found with getReports and downloaded without a report id, against the emulator."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dagrun import run_dag, state_of
from test_operators import one_task_dag, requests_to, xcom_of

from airflow_provider_spapi._compat import AirflowSensorTimeout
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.scheduled_reports import SETTLEMENT_TYPES, settlement_content
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.scheduled_reports import SpApiScheduledReportOperator
from airflow_provider_spapi.sensors.reports import SpApiLatestReportSensor
from airflow_provider_spapi.spapi import scheduled_reports, workflows
from airflow_provider_spapi.triggers.processing import SpApiLatestReportTrigger

SETTLEMENT = SETTLEMENT_TYPES[0]
EU_SELLER = seed.SELLERS[2]


def now() -> datetime:
    return datetime.now(timezone.utc)


def expected_document(emu: Emulator, report_id: str) -> bytes:
    """The bytes the emulator serves for a settlement report, rebuilt from its job."""
    job = emu.state.reports_api.book.get(report_id, seed.SELLING_PARTNER_ID, "Report")
    seller = emu.state.seller(job.owner)
    start = datetime.fromisoformat(job.extra["dataStartTime"])
    orders = emu.state.book.orders(job.owner)
    settlement_id = str(10_000_000_000 + int(report_id) % 10_000_000_000)
    return b"".join(settlement_content(settlement_id, seller, orders, start, job.created_time))


def test_every_page_is_followed_with_next_token_alone_oldest_first(emu: Emulator, spapi_conn: Any) -> None:
    emu.state.scheduled_reports.schedule(timedelta(hours=12))  # 2 a day: 180 in Amazon's 90 days, two pages of 100
    client = SpApiHook().client

    found = scheduled_reports.find_done_reports(client, SETTLEMENT, created_since=now() - timedelta(days=89, hours=23))

    assert 170 <= len(found) <= 181
    assert requests_to(emu, "getReports") == 2  # the second page came with nextToken alone (the emulator refuses it otherwise)
    times = [report.created_time for report in found]
    assert times == sorted(times)
    assert all(report.report_type == SETTLEMENT and report.document_id for report in found)
    settlements = [job for job in emu.state.reports_api.book.owned_by(seed.SELLING_PARTNER_ID) if job.job_type == SETTLEMENT]
    assert {report.report_id for report in found} == {job.job_id for job in settlements if job.created_time >= times[0]}


def test_a_report_that_appears_later_is_found_by_the_next_look(emu: Emulator, spapi_conn: Any) -> None:
    client = SpApiHook().client
    since = now()
    assert scheduled_reports.find_done_reports(client, SETTLEMENT, created_since=since) == []

    report_id = emu.state.scheduled_reports.publish(seed.SELLING_PARTNER_ID)

    found = scheduled_reports.find_done_reports(client, SETTLEMENT, created_since=since)
    assert [report.report_id for report in found] == [report_id]
    # Another type, or a window that ended before it, does not see it.
    assert scheduled_reports.find_done_reports(client, SETTLEMENT_TYPES[1], created_since=since) == []
    assert scheduled_reports.find_done_reports(client, SETTLEMENT, created_since=since - timedelta(hours=1), created_until=since) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"report_type": ""}, "report_type"),
        ({"report_type": "A,B"}, "report_type"),
        ({"created_since": "yesterday"}, "created_since"),
        ({"created_until": "2020-01-01T00:00:00Z"}, "created_until"),
        ({"marketplace_ids": [3]}, "marketplace_ids"),
    ],
)
def test_bad_arguments_fail_before_any_request(emu: Emulator, spapi_conn: Any, kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"report_type": SETTLEMENT, "created_since": "2026-01-01T00:00:00Z", **kwargs}
    report_type = arguments.pop("report_type")

    with pytest.raises(SpApiConfigError, match=message):
        scheduled_reports.find_done_reports(SpApiHook().client, report_type, **arguments)
    assert emu.counters()["requests"] == {}


# -- through Airflow ---------------------------------------------------------------------------------


@pytest.mark.airflow
def test_latest_mode_downloads_the_newest_settlement(airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    since = (now() - timedelta(days=3)).isoformat()
    dag = one_task_dag(
        "test_scheduled_latest",
        lambda: SpApiScheduledReportOperator(
            task_id="latest", report_type=SETTLEMENT, created_since=since, output_path=str(tmp_path / "latest.tsv")
        ),
    )

    dag_run = run_dag(dag)

    assert state_of(dag_run, "latest") == "success"
    result = xcom_of(airflow_db, dag_run, "latest")
    newest = max(
        (job for job in emu.state.reports_api.book.owned_by(seed.SELLING_PARTNER_ID) if job.job_type == SETTLEMENT),
        key=lambda job: job.created_time,
    )
    assert result["count"] == 1
    assert [item["report_id"] for item in result["reports"]] == [newest.job_id]
    assert (tmp_path / "latest.tsv").read_bytes() == expected_document(emu, newest.job_id)
    assert requests_to(emu, "createReport") == 0


@pytest.mark.airflow
def test_all_new_mode_writes_one_file_per_report_and_reruns_write_the_same(
    airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path
) -> None:
    since, until = now() - timedelta(days=3, hours=12), now()
    make = lambda: SpApiScheduledReportOperator(  # noqa: E731
        task_id="all_new",
        report_type=SETTLEMENT,
        created_since=since.isoformat(),
        created_until=until.isoformat(),
        mode="all_new",
        output_path=str(tmp_path / "settlements" / "{report_id}.tsv"),
    )

    first = xcom_of(airflow_db, run_dag(one_task_dag("test_scheduled_all_new", make)), "all_new")
    files = sorted(path.name for path in (tmp_path / "settlements").iterdir())
    second = xcom_of(airflow_db, run_dag(one_task_dag("test_scheduled_all_new_again", make)), "all_new")

    assert first["count"] in (3, 4)  # one a day at 06:00 UTC
    assert files == sorted(f"{item['report_id']}.tsv" for item in first["reports"])
    assert [item["created_time"] for item in first["reports"]] == sorted(item["created_time"] for item in first["reports"])
    for item in first["reports"]:
        assert Path(item["path"]).read_bytes() == expected_document(emu, item["report_id"])
    assert second["reports"] == first["reports"]  # idempotent: the same window finds the same reports, same paths


@pytest.mark.airflow
def test_no_report_in_the_window_skips_or_succeeds_empty(airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    since = now().isoformat()
    skip = one_task_dag(
        "test_scheduled_none_skip",
        lambda: SpApiScheduledReportOperator(task_id="none", report_type=SETTLEMENT, created_since=since, output_path=str(tmp_path / "x")),
    )
    empty = one_task_dag(
        "test_scheduled_none_empty",
        lambda: SpApiScheduledReportOperator(
            task_id="none", report_type=SETTLEMENT, created_since=since, output_path=str(tmp_path / "x"), on_none="succeed"
        ),
    )

    assert state_of(run_dag(skip), "none") == "skipped"
    run = run_dag(empty)
    assert state_of(run, "none") == "success"
    assert xcom_of(airflow_db, run, "none") == {"reports": [], "count": 0, "bytes": 0}
    assert not (tmp_path / "x").exists()


@pytest.mark.airflow
def test_all_new_without_a_report_id_field_fails_before_any_request(emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    operator = SpApiScheduledReportOperator(
        task_id="bad", report_type=SETTLEMENT, created_since="2026-01-01", mode="all_new", output_path=str(tmp_path / "one.tsv")
    )

    with pytest.raises(SpApiConfigError, match=r"\{report_id\}"):
        operator.execute({})
    assert emu.counters()["requests"] == {}
    with pytest.raises(SpApiConfigError, match="mode"):
        SpApiScheduledReportOperator(task_id="bad2", report_type=SETTLEMENT, created_since="2026-01-01", mode="every", output_path="x")


@pytest.mark.airflow
def test_latest_report_sensor_waits_until_one_appears(emu: Emulator, spapi_conn: Any) -> None:
    sensor = SpApiLatestReportSensor(task_id="wait", report_type=SETTLEMENT, created_since=now().isoformat())

    assert sensor.poke({}) is False
    report_id = emu.state.scheduled_reports.publish(seed.SELLING_PARTNER_ID)
    outcome = sensor.poke({})

    assert outcome.is_done is True
    assert outcome.xcom_value["report_id"] == report_id
    assert outcome.xcom_value["document_id"].startswith("amzn1.spdoc.")


def test_european_settlements_are_cp1252_as_amazon_sends_them(emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    conn_id = spapi_conn("spapi_eu", refresh_token=EU_SELLER.refresh_token, marketplace_ids=list(EU_SELLER.marketplace_ids))
    client = SpApiHook(conn_id).client
    found = scheduled_reports.find_done_reports(client, SETTLEMENT, created_since=now() - timedelta(days=2))

    workflows.download(client, "report", found[-1].document_id, tmp_path / "eu.tsv")
    raw = (tmp_path / "eu.tsv").read_bytes()

    assert "Verkaufsgebühr".encode("cp1252") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


class PokeCountingSensor(SpApiLatestReportSensor):
    """The sensor, counting its own pokes: deferred, it pokes once and the trigger does the rest."""

    pokes = 0

    def poke(self, context: Any) -> Any:
        type(self).pokes += 1
        return super().poke(context)


@pytest.mark.airflow
def test_deferrable_latest_report_sensor_waits_in_the_trigger_until_one_appears(airflow_db: Path, emu: Emulator, spapi_conn: Any) -> None:
    since = now()
    dag = one_task_dag(
        "test_latest_report_sensor_deferred",
        lambda: PokeCountingSensor(
            task_id="wait", report_type=SETTLEMENT, created_since=since.isoformat(), deferrable=True, poke_interval=0.2, timeout=120
        ),
    )
    PokeCountingSensor.pokes = 0

    # The report appears only after the worker's first look found nothing: the trigger's polls must find it.
    def publish_after_the_first_look() -> None:
        deadline = time.monotonic() + 60
        while requests_to(emu, "getReports") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # that look's answer is long sent
        emu.state.scheduled_reports.publish(seed.SELLING_PARTNER_ID)

    publisher = threading.Thread(target=publish_after_the_first_look)
    publisher.start()
    try:
        run = run_dag(dag)
    finally:
        publisher.join()

    assert state_of(run, "wait") == "success"
    (published,) = [job for job in emu.state.reports_api.book.owned_by(seed.SELLING_PARTNER_ID) if job.created_time >= since]
    assert xcom_of(airflow_db, run, "wait")["report_id"] == published.job_id
    assert PokeCountingSensor.pokes == 1  # the worker's one look...
    assert requests_to(emu, "getReports") >= 2  # ...and the trigger's polls, which found it


def test_latest_report_trigger_round_trips_and_times_out_into_a_sensor_timeout(emu: Emulator, spapi_conn: Any) -> None:
    since = now().isoformat()
    trigger = SpApiLatestReportTrigger(
        SETTLEMENT, since, "spapi_default", marketplace_ids=[seed.MARKETPLACE_ID_US], poll_interval=0.05, deadline=time.time() + 0.3,
        try_number=1,
    )  # fmt: skip
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_spapi.triggers.processing.SpApiLatestReportTrigger"
    assert SpApiLatestReportTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert kwargs["marketplace_ids"] == [seed.MARKETPLACE_ID_US]

    async def first_event() -> Any:
        async for event in SpApiLatestReportTrigger(**kwargs).run():
            return event.payload

    event = asyncio.run(first_event())

    assert (event["event"], event["kind"], event["job_id"], event["try_number"]) == ("timeout", "latest_report", SETTLEMENT, 1)
    sensor = SpApiLatestReportSensor(task_id="wait", report_type=SETTLEMENT, created_since=since, deferrable=True)
    with pytest.raises(AirflowSensorTimeout, match=SETTLEMENT):
        sensor.execute_complete({}, event)


def test_deferrable_latest_report_sensor_checks_its_arguments_before_deferring(emu: Emulator, spapi_conn: Any) -> None:
    sensor = SpApiLatestReportSensor(task_id="wait", report_type=SETTLEMENT, created_since="yesterday-ish", deferrable=True)

    with pytest.raises(SpApiConfigError, match="created_since"):
        sensor.execute({})
    assert emu.counters()["requests"] == {}
