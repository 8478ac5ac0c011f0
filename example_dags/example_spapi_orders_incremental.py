"""Incremental orders with the current Orders API (2026-01-01 ``searchOrders``).

Each run fetches the orders created in its data interval, every page of them, and writes them as
JSON lines (one API page per line) to a file named after the interval. XCom gets only
``{"path", "pages", "records"}``, so downstream tasks (a load into your warehouse) read the file.

Why this shape:

* ``CronDataIntervalTimetable("@daily")`` gives each run the interval ``[data_interval_start,
  data_interval_end)`` of the previous day on every Airflow version (on Airflow 3 a plain
  ``"@daily"`` or ``timedelta`` schedule gives a zero-length interval unless
  ``[scheduler] create_cron_data_intervals`` / ``create_delta_data_intervals`` are set). Re-running
  a past run fetches exactly its day again and overwrites its file: the task is idempotent.
* ``createdAfter``/``createdBefore`` come from the data interval. Amazon wants ISO 8601 and a
  ``createdBefore`` at least two minutes in the past; scheduled runs start after their interval
  ends, so both hold.
* Orders 2026-01-01 needs no Restricted Data Token and returns no buyer PII, so its pages could go
  to XCom; they still go to a file, because a busy seller's day does not belong in the metadata DB.
* ``searchOrders`` allows 0.0056 requests/s with a burst of 20 (per seller and app). The hook waits
  for the usage plan and retries throttled calls; ``maxResultsPerPage=100`` keeps the page count low
  (``SPAPI_EXAMPLE_PAGE_SIZE`` overrides it; the demo uses 10 to show pagination).

Connection: ``spapi_default`` (conn type ``spapi``). Output: ``$SPAPI_EXAMPLE_OUTPUT`` (default
``/tmp/spapi-example-output``)``/orders_incremental/<interval start date>/orders_<interval start>.jsonl``.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_spapi.operators.spapi import SpApiOperator

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
MARKETPLACE_IDS = ["ATVPDKIKX0DER"]  # Amazon.com (US); list every marketplace you sell in
PAGE_SIZE = int(os.environ.get("SPAPI_EXAMPLE_PAGE_SIZE", "100"))

with DAG(
    dag_id="example_spapi_orders_incremental",
    description="Orders created in each data interval, via Orders API 2026-01-01 searchOrders",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),  # data interval = the previous day
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one run at a time shares the seller's searchOrders usage plan
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    search_orders = SpApiOperator(
        task_id="search_orders",
        spapi_conn_id="spapi_default",
        method="GET",
        path="/orders/2026-01-01/orders",
        query_params={
            "createdAfter": "{{ data_interval_start }}",
            "createdBefore": "{{ data_interval_end }}",
            "marketplaceIds": MARKETPLACE_IDS,  # sent comma-separated
            "includedData": ["FULFILLMENT", "PROCEEDS"],
            "maxResultsPerPage": PAGE_SIZE,
        },
        paginate=True,  # follows pagination.nextToken (sent back as paginationToken)
        output_path=OUTPUT + "/orders_incremental/{{ data_interval_start | ds }}/orders_{{ data_interval_start | ts_nodash }}.jsonl",
    )
