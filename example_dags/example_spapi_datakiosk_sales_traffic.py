"""Yesterday's sales and traffic by ASIN from Data Kiosk, as JSON lines in storage.

``SpApiDataKioskOperator`` submits a GraphQL query to Data Kiosk (createQuery), waits in the
triggerer until Amazon has run it, then streams the result document to ``output_path``: one JSON
object per line, here one per child ASIN and day. A large result comes in pages; the operator
follows ``pagination.nextToken`` and writes every page into the same file. XCom gets
``{"query_ids", "document_ids", "path", "records", "bytes"}``, never the data.

* The query asks ``analytics_salesAndTraffic_2024_04_24.salesAndTrafficByAsin`` for the data
  interval (``CronDataIntervalTimetable("@daily")``: the previous day) in one marketplace (the
  ``marketplace_id`` param), aggregated by child ASIN; the query is a Jinja template like any
  templated field. Amazon publishes the dataset's fields in the Data Kiosk schema explorer; a query
  must stay under 8,000 characters.
* No sales that day: Data Kiosk answers DONE without a document; the task succeeds with
  ``records == 0`` and an empty file. A query Amazon cannot run (FATAL) fails the task with Amazon's
  error message.
* ``deferrable=True``: no worker slot is held while Data Kiosk works (minutes, sometimes more).
  ``SPAPI_EXAMPLE_POLL_INTERVAL`` overrides ``poll_interval`` (the bundled emulator finishes after 2 polls).
* createQuery allows about one call a minute (burst 15): one query per day and marketplace is
  comfortable; backfilling many days at once waits for its turn rather than failing.

Output: ``$SPAPI_EXAMPLE_OUTPUT`` (default ``/tmp/spapi-example-output``)``/datakiosk/<date>/sales_traffic_by_asin.jsonl``,
or an object-storage URL such as ``s3://bucket/datakiosk/{{ ds }}/sales_traffic.jsonl``.
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

from airflow_provider_spapi.operators.datakiosk import SpApiDataKioskOperator

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
POLL_INTERVAL = float(os.environ.get("SPAPI_EXAMPLE_POLL_INTERVAL", "60"))

SALES_AND_TRAFFIC_BY_ASIN = """
query SalesAndTrafficByAsin {
  analytics_salesAndTraffic_2024_04_24 {
    salesAndTrafficByAsin(
      startDate: "{{ data_interval_start | ds }}"
      endDate: "{{ data_interval_start | ds }}"
      aggregateBy: CHILD
      marketplaceIds: ["{{ params.marketplace_id }}"]
    ) {
      startDate
      endDate
      marketplaceId
      parentAsin
      childAsin
      sales {
        orderedProductSales { amount currencyCode }
        totalOrderItems
        unitsOrdered
      }
      traffic {
        pageViews
        sessions
        buyBoxPercentage
        unitSessionPercentage
      }
    }
  }
}
""".strip()

with DAG(
    dag_id="example_spapi_datakiosk_sales_traffic",
    description="Yesterday's sales and traffic by child ASIN (Data Kiosk), deferrable, all pages in one JSON-lines file",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["spapi", "example", "datakiosk"],
    params={"marketplace_id": "ATVPDKIKX0DER"},  # amazon.com; a manual run can pick another
    doc_md=__doc__,
) as dag:
    sales_traffic_by_asin = SpApiDataKioskOperator(
        task_id="sales_traffic_by_asin",
        spapi_conn_id="spapi_default",
        query=SALES_AND_TRAFFIC_BY_ASIN,
        output_path=OUTPUT + "/datakiosk/{{ data_interval_start | ds }}/sales_traffic_by_asin.jsonl",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2),
    )
