"""Backfilling orders by last update with a report, for sellers whose volume ``searchOrders`` cannot page.

``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL`` holds every order (one row per order item)
created or changed in ``[dataStartTime, dataEndTime]``: the same selection as a ``searchOrders``
``lastUpdated`` window, in one document. ``SpApiReportOperator`` requests it per data interval,
waits in the triggerer, and writes it as JSON lines (``output_format="jsonl"``, one object per row
keyed by the header, decoded to UTF-8), ready for the same upsert as the incremental DAG.

The arithmetic, for 10,000 changed orders:

* ``searchOrders``: 0.0056 requests/s, burst 20, 100 orders a page: 100 pages, 20 at once and then one
  every 179 s, so 80 x 179 s = about 4 hours per 10,000 orders, and the hourly incremental DAG shares
  that usage plan meanwhile. A 90-day backfill of a seller with 10,000 orders a day: 15 days of paging.
* The report: createReport 0.0167/s (burst 15), getReport 2/s, getReportDocument 0.0167/s (burst 15):
  three calls plus the polls per window, whatever the volume. Amazon builds it in minutes; one report
  covers up to 30 days, so 90 days is 3 reports, well within the burst.

Run it as a backfill over the days to load, e.g. on Airflow 3::

    airflow backfill create --dag-id example_spapi_orders_backfill --from-date 2026-01-01 --to-date 2026-01-31

(Airflow 2.11: ``airflow dags backfill -s 2026-01-01 -e 2026-01-31 example_spapi_orders_backfill``.)
Each run covers one day; re-running a day overwrites its file (idempotent). A daily window keeps
reports small; Amazon accepts up to 30 days in one report if you prefer fewer, larger ones.

Connection: ``spapi_default``. Output: ``$SPAPI_EXAMPLE_OUTPUT`` (default ``/tmp/spapi-example-output``)
``/orders_backfill/<interval start date>.jsonl``.
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

from airflow_provider_spapi.operators.reports import SpApiReportOperator

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
POLL_INTERVAL = float(os.environ.get("SPAPI_EXAMPLE_POLL_INTERVAL", "60"))

with DAG(
    dag_id="example_spapi_orders_backfill",
    description="Orders by last update, one report per day: the backfill path for high-volume sellers",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,  # backfill explicitly (airflow backfill create), not on unpause
    max_active_runs=3,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    orders_by_last_update = SpApiReportOperator(
        task_id="orders_by_last_update",
        report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        data_start_time="{{ data_interval_start }}",
        data_end_time="{{ data_interval_end }}",
        output_path=OUTPUT + "/orders_backfill/{{ data_interval_start | ds }}.jsonl",
        output_format="jsonl",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2),
    )
