"""Upload a JSON listings feed, wait for Amazon to process it, and keep the processing report.

1. ``build_feed`` writes a small ``JSON_LISTINGS_FEED`` (inventory updates for three SKUs) to a
   file and returns its path. In a real DAG this is where your catalogue or stock system comes in.
2. ``upload_feed`` (``SpApiFeedOperator``): createFeedDocument, upload the file to the pre-signed
   URL, createFeed, wait (deferrable: in the triggerer), then fetch the processing report to
   ``output_path``. XCom gets ``{"feed_id", "document_id", "path", "summary"}`` where ``summary`` is
   the report's ``messagesProcessed``, ``messagesAccepted``, ``messagesInvalid``, ``errors``,
   ``warnings``. A report that counts errors fails the task (``fail_on_errors=True``, the default);
   set it to False to succeed and inspect the report downstream.

The feed's ``header.sellerId`` is the seller's merchant token: set ``SPAPI_EXAMPLE_SELLER_ID``.
``SPAPI_EXAMPLE_POLL_INTERVAL`` overrides the 60 s between getFeed polls. Files go under
``$SPAPI_EXAMPLE_OUTPUT`` (default ``/tmp/spapi-example-output``)``/feed/<ds>/``.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_spapi.operators.feeds import SpApiFeedOperator

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
POLL_INTERVAL = float(os.environ.get("SPAPI_EXAMPLE_POLL_INTERVAL", "60"))
SELLER_ID = os.environ.get("SPAPI_EXAMPLE_SELLER_ID", "A1EMULATORSLR1")
STOCK = {"EMU-SKU-0001": 25, "EMU-SKU-0002": 0, "EMU-SKU-0003": 140}

with DAG(
    dag_id="example_spapi_feed_upload",
    description="JSON_LISTINGS_FEED inventory update with SpApiFeedOperator (deferrable), keeping the processing report",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def build_feed(ds: str | None = None) -> str:
        """Write the feed file; returns its path (XCom carries the path, not the content)."""
        messages = [
            {
                "messageId": number,
                "sku": sku,
                "operationType": "PATCH",
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "replace",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
                    }
                ],
            }
            for number, (sku, quantity) in enumerate(sorted(STOCK.items()), 1)
        ]
        feed = {"header": {"sellerId": SELLER_ID, "version": "2.0", "issueLocale": "en_US"}, "messages": messages}
        path = Path(OUTPUT) / "feed" / str(ds) / "inventory_feed.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(feed, indent=2), encoding="utf-8")
        return str(path)

    upload_feed = SpApiFeedOperator(
        task_id="upload_feed",
        spapi_conn_id="spapi_default",
        feed_type="JSON_LISTINGS_FEED",
        input_path=build_feed(),  # the XCom of build_feed: the file's path
        content_type="application/json; charset=UTF-8",
        output_path=OUTPUT + "/feed/{{ ds }}/processing_report.json",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2),
        fail_on_errors=True,
    )
