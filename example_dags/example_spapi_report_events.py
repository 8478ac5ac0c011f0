"""Event-driven reports: a DAG scheduled by Amazon's ``REPORT_PROCESSING_FINISHED`` notifications in SQS.

Instead of polling getReport, let Amazon say when a report is done. With the destination and
subscription of ``example_spapi_notifications_setup`` in place, Amazon sends a message to the SQS
queue each time one of the seller's reports finishes. On Airflow 3 an ``Asset`` with an
``AssetWatcher`` on a ``MessageQueueTrigger`` (common-messaging provider, ``scheme="sqs"`` through
the Amazon provider) watches the queue in the triggerer; each batch of messages becomes an asset
event and a run of this DAG. The task reads the notifications from ``triggering_asset_events`` and
downloads each DONE report of the wanted types (here the settlement and order reports) as JSON lines,
one file per report id, so a redelivered message rewrites the same file.

Install the extras for the event-driven form: ``pip install 'airflow-provider-spapi[notifications]'``
(``apache-airflow-providers-amazon`` and ``apache-airflow-providers-common-messaging``), set the
``aws_default`` connection, and run the triggerer.

Without them (and on Airflow 2.11, which has no AssetWatcher) the same file defines the sensor-based
equivalent: an hourly DAG whose task, finding no triggering events, lists the DONE reports of the
wanted types created in its data interval (getReports, as ``SpApiLatestReportSensor`` does) and
downloads them the same way. That is also what a manual run (``airflow dags test``) does.

Queue: ``$SPAPI_EXAMPLE_SQS_QUEUE_URL``. Output: ``$SPAPI_EXAMPLE_OUTPUT``
(default ``/tmp/spapi-example-output``)``/report_events/<report id>.jsonl``. The triggerer asks the
queue for messages every ``$SPAPI_EXAMPLE_SQS_WAITER_DELAY`` seconds (default 30: a report's
notification is not urgent, and each poll is an SQS request you pay for); the end-to-end test sets 1.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, CronDataIntervalTimetable, get_current_context, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.operators.python import get_current_context
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.base import storage_path
from airflow_provider_spapi.spapi import notifications, report_files, scheduled_reports

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
QUEUE_URL = os.environ.get("SPAPI_EXAMPLE_SQS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/spapi-notifications")
WAITER_DELAY = int(os.environ.get("SPAPI_EXAMPLE_SQS_WAITER_DELAY", "30"))
REPORT_TYPES = ["GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE", "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"]

schedule: Any
try:  # the event-driven form: Airflow 3 with the common-messaging and Amazon providers
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
    from airflow.sdk import Asset, AssetWatcher

    trigger = MessageQueueTrigger(scheme="sqs", sqs_queue=QUEUE_URL, aws_conn_id="aws_default", waiter_delay=WAITER_DELAY)
    schedule = [Asset("spapi_report_notifications", watchers=[AssetWatcher(name="spapi_report_notifications_sqs", trigger=trigger)])]
    EVENT_DRIVEN = True
except ImportError:  # the sensor-based equivalent
    schedule = CronDataIntervalTimetable("@hourly", timezone="UTC")
    EVENT_DRIVEN = False


def announced_reports(context: Any) -> list[dict[str, Any]] | None:
    """The DONE reports the triggering SQS messages announce, or None when the run was not triggered by any."""
    events = context.get("triggering_asset_events") or {}
    extras = [event.extra for asset_events in events.values() for event in asset_events]
    if not extras:
        return None
    return notifications.finished_reports(notifications.notifications_in(notifications.asset_event_bodies(extras)), REPORT_TYPES)


with DAG(
    dag_id="example_spapi_report_events",
    description="Download each report Amazon announces in SQS (REPORT_PROCESSING_FINISHED); hourly getReports otherwise",
    schedule=schedule,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def download_finished_reports() -> dict[str, Any]:
        context = get_current_context()
        client = SpApiHook("spapi_default").client
        reports = announced_reports(context)
        source = "notifications"
        if reports is None:  # no event: a manual run, or the sensor-based form
            source = "getReports"
            start, end = context.get("data_interval_start"), context.get("data_interval_end")
            since = start if start and end and end > start else pendulum.now("UTC").subtract(days=1)
            reports = [
                found.to_xcom()
                for report_type in REPORT_TYPES
                for found in scheduled_reports.select(
                    scheduled_reports.find_done_reports(client, report_type, created_since=since), "latest"
                )
            ]
        saved = report_files.save_reports(
            client, reports, lambda report_id: storage_path(f"{OUTPUT}/report_events/{report_id}.jsonl"), output_format="jsonl"
        )
        return {"source": source, "event_driven": EVENT_DRIVEN, "reports": saved}

    download_finished_reports()
