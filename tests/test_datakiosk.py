"""SpApiDataKioskOperator end to end against the emulator: pages, deferral, no data, FATAL, Content-Encoding."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pendulum
import pytest
import requests
from airflow.providers.common.compat.sdk import DAG, TaskDeferred
from dagrun import run_dag, state_of

from airflow_provider_spapi.emulator import Emulator
from airflow_provider_spapi.emulator.datakiosk import error_content, page_content
from airflow_provider_spapi.errors import SpApiConfigError, SpApiProcessingError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.datakiosk import SpApiDataKioskOperator
from airflow_provider_spapi.spapi import workflows
from airflow_provider_spapi.triggers.processing import SpApiProcessingTrigger

pytestmark = pytest.mark.airflow

QUERY = """query {
  analytics_salesAndTraffic_2024_04_24 {
    salesAndTrafficByAsin(startDate: "2026-01-01" endDate: "2026-01-01" aggregateBy: CHILD marketplaceIds: ["ATVPDKIKX0DER"]) {
      childAsin sales { unitsOrdered } traffic { sessions }
    }
  }
}"""


def kiosk(tmp_path: Path, **kwargs: Any) -> SpApiDataKioskOperator:
    kwargs.setdefault("task_id", "kiosk")
    kwargs.setdefault("query", QUERY)
    kwargs.setdefault("output_path", str(tmp_path / "out" / "sales.jsonl"))
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("poll_interval", 0.05)
    return SpApiDataKioskOperator(**kwargs)


def pages(count: int, records: int, query: str = QUERY) -> bytes:
    return b"".join(page_content(query, page, records) for page in range(1, count + 1))


def requests_to(emu: Emulator, operation: str) -> int:
    return sum(count for key, count in emu.counters()["requests"].items() if key.endswith("." + operation))


def xcom_of(home: Path, dag_run: Any, task_id: str) -> Any:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = 'return_value'",
            (dag_run.dag_id, dag_run.run_id, task_id),
        ).fetchall()
    assert rows, f"no XCom for {task_id}"
    value = rows[0][0]
    return json.loads(value.decode() if isinstance(value, bytes) else value)


def test_three_pages_land_in_one_file_through_dag_test_deferred(airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    emu.configure(data_kiosk={"outcome": "DONE", "pages": 3, "records": 4})
    with DAG("test_datakiosk_pages", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=None, catchup=False) as dag:
        kiosk(tmp_path, deferrable=True, poll_interval=0.1)

    dag_run = run_dag(dag)

    assert state_of(dag_run, "kiosk") == "success"
    result = xcom_of(airflow_db, dag_run, "kiosk")
    output = tmp_path / "out" / "sales.jsonl"
    assert output.read_bytes() == pages(3, 4)
    assert result["records"] == 12 == len(output.read_text().splitlines())
    assert result["path"] == str(output)
    assert len(result["query_ids"]) == len(set(result["query_ids"])) == 3
    assert len(result["document_ids"]) == 3
    assert requests_to(emu, "createQuery") == 3  # the first page, then one per nextToken
    assert requests_to(emu, "getQuery") >= 9  # each page polled IN_QUEUE, IN_PROGRESS, DONE
    assert sorted(p.name for p in output.parent.iterdir()) == ["sales.jsonl"]


def test_each_page_defers_and_resumes_with_the_pages_before_it(emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    emu.configure(data_kiosk={"pages": 2, "records": 3})
    operator = kiosk(tmp_path, deferrable=True)

    async def first_event(trigger: SpApiProcessingTrigger) -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    with pytest.raises(TaskDeferred) as first:
        operator.execute({})
    classpath, trigger_kwargs = first.value.trigger.serialize()
    assert classpath == "airflow_provider_spapi.triggers.processing.SpApiProcessingTrigger"
    assert trigger_kwargs["kind"] == "query"
    assert first.value.method_name == "execute_complete"
    event = asyncio.run(first_event(SpApiProcessingTrigger(**trigger_kwargs)))
    assert event["status"] == "DONE" and event["next_token"]

    assert event["resume"] == {"pages": []}

    with pytest.raises(TaskDeferred) as second:
        operator.execute_complete({}, event)
    second_kwargs = second.value.trigger.serialize()[1]
    assert second_kwargs["resume"] == {"pages": [{"query_id": trigger_kwargs["job_id"], "document_id": event["document_id"]}]}
    assert not (tmp_path / "out").exists()  # nothing is written until the last page is in

    last = asyncio.run(first_event(SpApiProcessingTrigger(**second_kwargs)))
    assert last["next_token"] is None
    result = operator.execute_complete({}, last)

    assert result["query_ids"] == [trigger_kwargs["job_id"], last["job_id"]]
    assert result["records"] == 6
    assert (tmp_path / "out" / "sales.jsonl").read_bytes() == pages(2, 3)


def test_done_without_a_document_is_zero_records_not_an_error(emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    emu.configure(data_kiosk={"outcome": "NO_DATA"})

    result = kiosk(tmp_path).execute({})

    assert result["records"] == 0 and result["bytes"] == 0
    assert result["document_ids"] == []
    assert len(result["query_ids"]) == 1
    assert (tmp_path / "out" / "sales.jsonl").read_bytes() == b""
    assert requests_to(emu, "getDocument") == 0


def test_fatal_fails_with_the_error_document(emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    emu.configure(data_kiosk={"outcome": "FATAL"})

    with pytest.raises(SpApiProcessingError) as failure:
        kiosk(tmp_path).execute({})

    query_id = re.search(r"query (\d+)", str(failure.value)).group(1)  # type: ignore[union-attr]
    assert json.loads(error_content(query_id))["errorMessage"] in str(failure.value)
    assert not (tmp_path / "out").exists()


def test_a_data_kiosk_document_is_gzip_by_content_encoding_only_and_lands_byte_identical(
    emu: Emulator, spapi_conn: Any, tmp_path: Path
) -> None:
    emu.configure(data_kiosk={"pages": 1, "records": 50})

    result = kiosk(tmp_path).execute({})

    client = SpApiHook().client
    ref = workflows.document_ref(client, "query", result["document_ids"][0])
    assert ref.compression is None  # getDocument answers documentId and documentUrl only
    with requests.get(ref.url, stream=True, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        wire = response.raw.read(decode_content=False)
    assert wire[:2] == b"\x1f\x8b"
    assert int(response.headers["Content-Length"]) == len(wire)
    assert gzip.decompress(wire) == page_content(QUERY, 1, 50)
    assert (tmp_path / "out" / "sales.jsonl").read_bytes() == page_content(QUERY, 1, 50)
    again = workflows.download(client, "query", result["document_ids"][0], tmp_path / "again.jsonl")
    assert again.bytes_received == len(wire)
    assert again.bytes_written == len(page_content(QUERY, 1, 50)) == result["bytes"]


def test_a_bad_query_or_destination_fails_before_any_request(emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    with pytest.raises(SpApiConfigError, match="'query'"):
        kiosk(tmp_path, query="   ").execute({})
    with pytest.raises(SpApiConfigError, match="8000"):
        kiosk(tmp_path, query="query { " + "field " * 2000 + "}").execute({})
    with pytest.raises(SpApiConfigError, match="'output_path'"):
        kiosk(tmp_path, output_path="").execute({})

    assert requests_to(emu, "createQuery") == 0


def test_the_next_page_must_come_with_its_own_query(emu: Emulator, spapi_conn: Any) -> None:
    """The emulator, like Amazon, refuses a paginationToken sent with another query."""
    client = SpApiHook().client
    query_id = workflows.create_query(client, QUERY)
    status = workflows.processing_status(client, "query", query_id)
    while not status.finished:
        status = workflows.processing_status(client, "query", query_id)
    assert status.next_token

    from airflow_provider_spapi.errors import SpApiClientError

    with pytest.raises(SpApiClientError, match="paginationToken"):
        workflows.create_query(client, QUERY.replace("CHILD", "PARENT"), status.next_token)
