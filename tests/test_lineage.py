"""OpenLineage: the files a task wrote (and a feed read) reach the OpenLineage provider as datasets.

The provider's own listener runs (``dag.test()`` on Airflow 3 calls the task listeners) and writes its
events with its ``file`` transport, so these tests read what a lineage backend would receive. Skipped
where ``apache-airflow-providers-openlineage`` is not installed: it is an optional extra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import OPENLINEAGE_EVENTS
from dagrun import run_dag, state_of
from test_operators import LISTINGS, one_task_dag

from airflow_provider_spapi._compat import ObjectStoragePath
from airflow_provider_spapi.core.storage import lineage_name
from airflow_provider_spapi.emulator import Emulator
from airflow_provider_spapi.operators.feeds import SpApiFeedOperator
from airflow_provider_spapi.operators.reports import SpApiReportOperator


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("s3://bucket/reports/2026/day.tsv", ("s3://bucket", "reports/2026/day.tsv")),
        ("s3://aws_default@bucket/day.tsv", ("s3://bucket", "day.tsv")),  # the connection id is not part of the name
        ("memory://bucket/day.tsv", ("memory://bucket", "day.tsv")),
    ],
)
def test_objects_are_named_by_bucket_and_key_without_connecting(destination: str, expected: tuple[str, str]) -> None:
    # s3fs is not installed here: naming must not need the filesystem, which a resumed task may not have connected.
    assert lineage_name(ObjectStoragePath(destination)) == expected


def test_local_files_are_named_by_their_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert lineage_name(Path("out/day.tsv")) == ("file", str(tmp_path.resolve() / "out" / "day.tsv"))
    assert lineage_name(ObjectStoragePath(f"file://{tmp_path}/day.tsv")) == ("file", str(tmp_path.resolve() / "day.tsv"))


@pytest.fixture
def lineage_events(airflow_db: Path) -> Path:
    pytest.importorskip("airflow.providers.openlineage", reason="apache-airflow-providers-openlineage is an optional extra")
    return OPENLINEAGE_EVENTS


def completed_event(events: Path, job: str, run_id: str) -> dict[str, Any]:
    """The COMPLETE event of task ``job`` (``dag_id.task_id``) in DAG run ``run_id``."""
    assert events.exists(), "the OpenLineage listener wrote no event"
    lines = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    complete = [
        event
        for event in lines
        if event.get("eventType") == "COMPLETE"
        and event["job"]["name"] == job
        and event["run"]["facets"].get("airflow", {}).get("dagRun", {}).get("run_id") == run_id
    ]
    assert len(complete) == 1, f"{len(complete)} COMPLETE events for {job} in {run_id}"
    return complete[0]


def names(datasets: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(dataset["namespace"], dataset["name"]) for dataset in datasets]


@pytest.mark.airflow
def test_a_report_task_reports_the_file_it_wrote(lineage_events: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    target = tmp_path / "lineage" / "listings.tsv"
    dag = one_task_dag(
        "test_lineage_report",
        lambda: SpApiReportOperator(task_id="report", report_type=LISTINGS, output_path=str(target), deferrable=False, poll_interval=0.05),
    )

    run = run_dag(dag)

    assert state_of(run, "report") == "success"
    event = completed_event(lineage_events, "test_lineage_report.report", run.run_id)
    assert names(event["outputs"]) == [("file", str(target.resolve()))]
    assert event["inputs"] == []


@pytest.mark.airflow
def test_a_feed_task_reads_its_file_and_writes_its_processing_report(
    lineage_events: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path
) -> None:
    feed = tmp_path / "price.json"
    feed.write_text(json.dumps({"header": {"sellerId": "A1", "version": "2.0"}, "messages": []}))
    report = tmp_path / "lineage" / "processing.json"
    dag = one_task_dag(
        "test_lineage_feed",
        lambda: SpApiFeedOperator(
            task_id="feed",
            feed_type="JSON_LISTINGS_FEED",
            input_path=str(feed),
            content_type="application/json; charset=UTF-8",
            output_path=str(report),
            deferrable=False,
            poll_interval=0.05,
        ),
    )

    run = run_dag(dag)

    assert state_of(run, "feed") == "success"
    event = completed_event(lineage_events, "test_lineage_feed.feed", run.run_id)
    assert names(event["inputs"]) == [("file", str(feed.resolve()))]
    assert names(event["outputs"]) == [("file", str(report.resolve()))]
