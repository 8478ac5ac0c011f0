"""Notifications end to end against a real local SQS server (``moto_server``): setup, delivery, the queue trigger, the download."""

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
