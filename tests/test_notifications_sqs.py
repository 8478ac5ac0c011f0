"""Notifications end to end against a real local SQS server (``moto_server``): setup, delivery, the queue trigger, the download.

Delivery is tested for each processing notification the emulator sends: reports, feeds, Data Kiosk queries.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqs_fixture import ACCOUNT, queue_fixture, receive_bodies, sqs_server_fixture, subscribed  # noqa: F401 - fixtures

from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.datakiosk import error_content, page_content
from airflow_provider_spapi.emulator.documents import report_content
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.notifications import SpApiCreateDestinationOperator, SpApiSubscribeOperator
from airflow_provider_spapi.spapi import notifications, report_files, workflows

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"


@pytest.mark.airflow
def test_setup_operators_are_grantless_then_seller_scoped_and_idempotent(emu: Emulator, spapi_conn: Any) -> None:
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:spapi-setup"
    first = SpApiCreateDestinationOperator(task_id="d", sqs_arn=arn).execute({})
    again = SpApiCreateDestinationOperator(task_id="d", sqs_arn=arn).execute({})
    sub = SpApiSubscribeOperator(task_id="s", notification_type="REPORT_PROCESSING_FINISHED", destination_id=first).execute({})
    sub_again = SpApiSubscribeOperator(task_id="s", notification_type="REPORT_PROCESSING_FINISHED", destination_id=first).execute({})

    assert first == again and sub == sub_again
    (destination,) = emu.state.notifications_api.destinations[seed.CLIENT_ID].values()
    assert destination["resource"] == {"sqs": {"arn": arn}}
    assert (
        emu.state.notifications_api.subscriptions[(seed.CLIENT_ID, seed.SELLING_PARTNER_ID, "REPORT_PROCESSING_FINISHED")]["subscriptionId"]
        == sub
    )
    grants = emu.counters()["lwa"]
    assert any("client_credentials" in key for key in grants)  # the destination calls were grantless


@pytest.mark.airflow
def test_bad_setup_arguments_fail_before_any_request(emu: Emulator, spapi_conn: Any) -> None:
    with pytest.raises(SpApiConfigError, match="sqs_arn"):
        SpApiCreateDestinationOperator(task_id="d", sqs_arn="https://sqs.us-east-1.amazonaws.com/1/q").execute({})
    with pytest.raises(SpApiConfigError, match="notification_type"):
        SpApiSubscribeOperator(task_id="s", notification_type="report finished", destination_id="x").execute({})
    assert emu.counters()["requests"] == {}


@pytest.mark.airflow
def test_emulator_delivers_report_processing_finished_to_a_real_sqs_queue(
    emu: Emulator, spapi_conn: Any, queue: tuple[str, str], sqs_server: str, tmp_path: Path
) -> None:
    queue_url, arn = queue
    subscribed(emu, sqs_server, arn)
    client = SpApiHook().client

    report_id = workflows.create_report(client, LISTINGS)  # nobody polls it: the notification says when it is done
    bodies = receive_bodies(queue_url, 1)

    assert emu.state.sqs_publisher.errors == []
    (notification,) = notifications.notifications_in(bodies)
    assert notification.notification_type == "REPORT_PROCESSING_FINISHED"
    (finished,) = notifications.finished_reports([notification])
    assert finished["report_id"] == report_id and finished["report_type"] == LISTINGS
    saved = report_files.save_reports(client, [finished], lambda rid: tmp_path / f"{rid}.tsv")
    assert (tmp_path / f"{report_id}.tsv").read_bytes() == b"".join(report_content(LISTINGS, report_id, 20_000))
    assert saved[0]["bytes"] == 20_000
    assert sum(count for key, count in emu.counters()["requests"].items() if key.endswith(".getReport")) == 0


@pytest.mark.airflow
def test_the_message_queue_trigger_on_sqs_drives_the_example_dags_download(
    emu: Emulator, spapi_conn: Any, queue: tuple[str, str], sqs_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The AssetWatcher's trigger (common-messaging ``MessageQueueTrigger``, SQS via the Amazon provider) against the real queue."""
    msg_queue = pytest.importorskip("airflow.providers.common.messaging.triggers.msg_queue", reason="needs the notifications extra")
    pytest.importorskip("airflow.providers.amazon.aws.triggers.sqs", reason="needs the notifications extra")
    queue_url, arn = queue
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_MOTO",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": sqs_server, "region_name": "us-east-1"},
            }
        ),
    )
    monkeypatch.setenv("SPAPI_EXAMPLE_OUTPUT", str(tmp_path))
    subscribed(emu, sqs_server, arn)
    client = SpApiHook().client
    report_ids = {workflows.create_report(client, "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL") for _ in range(2)}
    trigger = msg_queue.MessageQueueTrigger(
        scheme="sqs", sqs_queue=queue_url, aws_conn_id="aws_moto", region_name="us-east-1", waiter_delay=1, max_messages=10
    )

    async def events_until(count: int) -> list[Any]:
        payloads: list[Any] = []
        async for event in trigger.run():
            payloads.append(event.payload)
            if sum(len(notifications.sqs_bodies(p)) for p in payloads) >= count:
                return payloads
        return payloads

    payloads = asyncio.run(asyncio.wait_for(events_until(len(report_ids)), timeout=60))

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "example_dags"))
    import example_spapi_report_events as example

    # What the scheduler hands the DAG run: asset events whose extra holds the trigger's payload.
    context = {"triggering_asset_events": {"asset": [SimpleNamespace(extra={"from_trigger": True, "payload": p}) for p in payloads]}}
    announced = example.announced_reports(context)
    assert announced is not None
    assert {report["report_id"] for report in announced} == report_ids
    saved = report_files.save_reports(client, announced, lambda rid: tmp_path / f"{rid}.jsonl", output_format="jsonl")
    for item in saved:
        lines = (tmp_path / f"{item['report_id']}.jsonl").read_text().splitlines()
        assert item["rows"] == len(lines) > 0 and "amazon-order-id" in json.loads(lines[0])
    assert example.announced_reports({"triggering_asset_events": {}}) is None  # a manual run falls back to getReports


def finished_by_id(bodies: list[str], notification_type: str, id_field: str) -> dict[str, dict[str, Any]]:
    """The job part of each notification (all of ``notification_type``), by job id."""
    parsed = notifications.notifications_in(bodies)
    assert {notification.notification_type for notification in parsed} == {notification_type}
    return {str(notification.processing()[id_field]): notification.processing() for notification in parsed}


@pytest.mark.airflow
def test_emulator_delivers_feed_processing_finished_for_done_fatal_and_cancelled_feeds(
    emu: Emulator, spapi_conn: Any, queue: tuple[str, str], sqs_server: str, tmp_path: Path
) -> None:
    queue_url, arn = queue
    subscribed(emu, sqs_server, arn, ["FEED_PROCESSING_FINISHED"])
    emu.configure(feed_outcomes={"POST_FLAT_FILE_INVLOADER_DATA": "FATAL", "POST_FLAT_FILE_FULFILLMENT_DATA": "CANCELLED"})
    client = SpApiHook().client
    content = tmp_path / "feed.json"
    messages = [{"messageId": 1, "sku": "A"}, {"messageId": 2, "sku": "B", "operationType": "INVALID"}]
    content.write_text(json.dumps({"header": {"sellerId": seed.SELLING_PARTNER_ID, "version": "2.0"}, "messages": messages}))
    feed_types = ["JSON_LISTINGS_FEED", "POST_FLAT_FILE_INVLOADER_DATA", "POST_FLAT_FILE_FULFILLMENT_DATA"]
    feed_ids = {workflows.submit_feed(client, kind, content, "application/json")[0]: kind for kind in feed_types}
    report_id = workflows.create_report(client, LISTINGS)  # not subscribed to REPORT_PROCESSING_FINISHED

    finished = finished_by_id(receive_bodies(queue_url, 3), "FEED_PROCESSING_FINISHED", "feedId")

    assert emu.state.sqs_publisher.errors == []
    assert {feed_id: job["feedType"] for feed_id, job in finished.items()} == feed_ids
    done, fatal, cancelled = (finished[feed_id] for feed_id in feed_ids)
    assert (done["processingStatus"], fatal["processingStatus"], cancelled["processingStatus"]) == ("DONE", "FATAL", "CANCELLED")
    assert done["sellerId"] == seed.SELLING_PARTNER_ID and done["accountId"] == f"amzn1.merchant.o.{seed.SELLING_PARTNER_ID}"
    assert "resultFeedDocumentId" not in cancelled
    processing_report = json.loads(workflows.read_document_text(client, "feed", done["resultFeedDocumentId"]))
    assert processing_report["header"]["feedId"] == done["feedId"]
    assert processing_report["summary"]["messagesAccepted"] == 1 and processing_report["summary"]["messagesInvalid"] == 1
    assert json.loads(workflows.read_document_text(client, "feed", fatal["resultFeedDocumentId"]))["issues"][0]["code"] == "FATAL"
    requests = emu.counters()["requests"]
    assert sum(count for key, count in requests.items() if key.endswith((".getFeed", ".getReport"))) == 0
    # No subscription, no background processing: the report waits to be polled, and nothing announced it.
    assert emu.state.reports_api.book.get(report_id, seed.SELLING_PARTNER_ID, "Report").status == "IN_QUEUE"
    assert {sent["notificationType"] for sent in emu.notifications()} == {"FEED_PROCESSING_FINISHED"}


@pytest.mark.airflow
def test_emulator_delivers_data_kiosk_query_processing_finished_with_pagination_and_errors(
    emu: Emulator, spapi_conn: Any, queue: tuple[str, str], sqs_server: str, tmp_path: Path
) -> None:
    queue_url, arn = queue
    subscribed(emu, sqs_server, arn, ["DATA_KIOSK_QUERY_PROCESSING_FINISHED"])
    emu.configure(data_kiosk={"pages": 2, "records": 3})
    client = SpApiHook().client
    query = "query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByAsin { childAsin } } }"

    first_id = workflows.create_query(client, query)
    (first,) = finished_by_id(receive_bodies(queue_url, 1), "DATA_KIOSK_QUERY_PROCESSING_FINISHED", "queryId").values()
    second_id = workflows.create_query(client, query, first["pagination"]["nextToken"])
    (second,) = finished_by_id(receive_bodies(queue_url, 1), "DATA_KIOSK_QUERY_PROCESSING_FINISHED", "queryId").values()
    emu.configure(data_kiosk={"outcome": "FATAL"})
    failed_id = workflows.create_query(client, query)
    (failed,) = finished_by_id(receive_bodies(queue_url, 1), "DATA_KIOSK_QUERY_PROCESSING_FINISHED", "queryId").values()

    assert emu.state.sqs_publisher.errors == []
    assert (first["queryId"], second["queryId"], failed["queryId"]) == (first_id, second_id, failed_id)
    assert first["query"] == query and first["processingStatus"] == "DONE"
    assert first["accountId"] == f"amzn1.merchant.o.{seed.SELLING_PARTNER_ID}" and "sellerId" not in first  # Data Kiosk's payload
    assert "pagination" not in second  # the last page
    result = workflows.download_pages(client, [first["dataDocumentId"], second["dataDocumentId"]], tmp_path / "sales.jsonl")
    assert (tmp_path / "sales.jsonl").read_bytes() == page_content(query, 1, 3) + page_content(query, 2, 3)
    assert result.records == 6
    assert failed["processingStatus"] == "FATAL" and "dataDocumentId" not in failed
    assert workflows.read_document_text(client, "query", failed["errorDocumentId"]) == error_content(failed_id).decode()
    assert sum(count for key, count in emu.counters()["requests"].items() if key.endswith(".getQuery")) == 0
