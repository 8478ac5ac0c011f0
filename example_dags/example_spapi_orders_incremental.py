"""Incremental orders that catch updates: Orders API 2026-01-01 ``searchOrders`` by ``lastUpdated`` windows.

Each run fetches every order *created or changed* in its data interval (``lastUpdatedAfter`` =
``data_interval_start``, ``lastUpdatedBefore`` = ``data_interval_end``), every page of it, and writes
the orders as JSON lines (one order a line) to a file named after the interval. XCom gets only
``{"path", "pages", "records", "last_updated_after", "last_updated_before"}``.

Why ``lastUpdated`` and not ``createdAfter``: an order shipped, cancelled or refunded after the day
it was created is never seen again by a ``createdAfter`` window. A ``lastUpdated`` window returns it
once for each window in which it changed, so load with an upsert on ``orderId`` keeping the newest
``lastUpdatedTime``; nothing is missed and nothing needs a second pass.

* ``CronDataIntervalTimetable("@hourly")`` gives each run the previous hour on every Airflow version.
  Re-running a run fetches the same window into the same file: the task is idempotent.
* High-watermark: on Airflow 3.3+ the ``watermark_asset`` state store keeps how far the task got;
  after a gap (the DAG paused, runs failed, ``catchup=False`` skipped hours) the next run starts from
  the watermark instead of its own interval, so no update is lost. On Airflow 2.11 to 3.2 the data
  interval alone decides (set ``catchup=True`` to fill gaps).
* Amazon wants ``lastUpdatedBefore`` at least two minutes in the past; the operator clamps it.
* The arithmetic: ``searchOrders`` allows 0.0056 requests/s with a burst of 20 (per seller and app),
  100 orders a page. An hour with 2,000 changed orders is 20 pages: the burst, seconds. A window of
  10,000 changed orders is 100 pages: 20 at once, then 80 at one per 1/0.0056 = 179 s, about
  80 x 179 s = 4 hours. Hourly windows keep each run inside the burst for most sellers; a backfill
  of weeks belongs to the report (``example_spapi_orders_backfill``), not to ``searchOrders``.
  ``SPAPI_EXAMPLE_PAGE_SIZE`` overrides the page size (the demo uses 10 to show pagination).

Connection: ``spapi_default``. Output: ``$SPAPI_EXAMPLE_OUTPUT`` (default ``/tmp/spapi-example-output``)
``/orders_incremental/<interval start date>/orders_<interval start>.jsonl``.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, Asset, CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.datasets import Dataset as Asset
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_spapi.operators.orders import SpApiIncrementalOrdersOperator

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
MARKETPLACE_IDS = ["ATVPDKIKX0DER"]  # Amazon.com (US); list every marketplace you sell in
PAGE_SIZE = int(os.environ.get("SPAPI_EXAMPLE_PAGE_SIZE", "100"))
ORDERS = Asset(uri="spapi://orders/ATVPDKIKX0DER")  # holds the watermark on Airflow 3.3+

with DAG(
    dag_id="example_spapi_orders_incremental",
    description="Orders created or updated in each data interval (searchOrders lastUpdated windows)",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),  # data interval = the previous hour
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one run at a time shares the seller's searchOrders usage plan, and the watermark
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    search_orders = SpApiIncrementalOrdersOperator(
        task_id="search_orders",
        spapi_conn_id="spapi_default",
        marketplace_ids=MARKETPLACE_IDS,
        included_data=["FULFILLMENT", "PROCEEDS"],
        page_size=PAGE_SIZE,
        watermark_asset=ORDERS,
        output_path=OUTPUT + "/orders_incremental/{{ data_interval_start | ds }}/orders_{{ data_interval_start | ts_nodash }}.jsonl",
    )
