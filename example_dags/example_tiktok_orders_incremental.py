"""Incremental TikTok Shop orders: every order updated in the data interval, to JSON lines.

Each run searches the orders whose ``update_time`` falls in ``[data_interval_start,
data_interval_end)`` (``POST /order/202309/orders/search``, body ``update_time_ge`` /
``update_time_lt`` in Unix seconds), follows ``next_page_token`` through every page, and writes
one page's ``data`` per line to a file named after the interval. XCom gets only ``{"path",
"pages", "records"}``.

Why this shape:

* ``update_time``, not ``create_time``: an order changes after it is placed (paid, shipped,
  cancelled), and a warehouse wants every change. Loading by order id (upsert) makes overlapping
  windows harmless.
* ``CronDataIntervalTimetable("@daily")`` gives each run the previous day as its interval on every
  Airflow version; re-running a past run fetches exactly its day again and overwrites its file.
* Orders hold buyers' personal data (names, addresses, phone numbers): ``TikTokShopOperator``
  refuses to run such a call without ``output_path``, and keeps its request body out of the
  metadata database's rendered fields. The file is where that data belongs; XCom and logs never
  see it.
* ``render_template_as_native_obj`` makes ``{{ data_interval_start.int_timestamp }}`` an integer,
  as TikTok expects, instead of a string.
* TikTok publishes no rate limits; the hook adapts to 429 / ``36009002`` and retries.

Connection: ``tiktok_shop_default`` (conn type ``tiktok_shop``; the shop is the connection's
``shop_cipher``, or the only shop of the authorisation). Output: ``$SPAPI_EXAMPLE_OUTPUT`` (default
``/tmp/spapi-example-output``)``/tiktok_orders/<interval start date>/orders_<interval start>.jsonl``.
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

from airflow_provider_spapi.operators.tiktok_shop import TikTokShopOperator

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
PAGE_SIZE = int(os.environ.get("SPAPI_EXAMPLE_PAGE_SIZE", "100"))  # TikTok allows at most 100

with DAG(
    dag_id="example_tiktok_orders_incremental",
    description="TikTok Shop orders updated in each data interval, via /order/202309/orders/search",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),  # data interval = the previous day
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    render_template_as_native_obj=True,
    tags=["tiktok_shop", "example"],
    doc_md=__doc__,
) as dag:
    search_orders = TikTokShopOperator(
        task_id="search_orders",
        tiktok_shop_conn_id="tiktok_shop_default",
        method="POST",
        path="/order/202309/orders/search",
        query_params={"sort_field": "update_time", "sort_order": "ASC"},
        body={
            "update_time_ge": "{{ data_interval_start.int_timestamp }}",
            "update_time_lt": "{{ data_interval_end.int_timestamp }}",
        },
        paginate=True,
        page_size=PAGE_SIZE,
        output_path=OUTPUT + "/tiktok_orders/{{ data_interval_start | ds }}/orders_{{ data_interval_start | ts_nodash }}.jsonl",
    )
