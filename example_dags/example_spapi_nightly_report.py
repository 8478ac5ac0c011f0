"""A nightly report, requested, waited for in the triggerer, and streamed to storage.

``SpApiReportOperator`` calls createReport for the previous day, waits until Amazon has built the
report, then getReportDocument and streams the (GZIP) document to ``output_path``, decompressed,
atomically (a truncated download is retried and never leaves a file that looks complete). XCom
gets ``{"report_id", "document_id", "path", "bytes", "status"}``, never the content.

* ``deferrable=True`` hands the wait (minutes to hours at Amazon) to the triggerer, so no worker
  slot is held while Amazon works. Run ``airflow triggerer`` (``airflow dags test`` and
  ``dag.test()`` run the trigger inline).
* ``poll_interval``: seconds between getReport calls while deferred; 60 is plenty for a nightly
  report. ``SPAPI_EXAMPLE_POLL_INTERVAL`` overrides it (the bundled emulator finishes after 2 polls).
* ``CronDataIntervalTimetable("@daily")`` makes the data interval the previous day on every Airflow
  version, and ``data_start_time``/``data_end_time`` take it from there.
* A report with no data for the period ends CANCELLED at Amazon: the task is skipped by default
  (``on_cancelled="skip"``; or ``"succeed"`` / ``"fail"``).
* Report types whose documents hold PII (e.g. ``GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING``) get a
  Restricted Data Token automatically; keep their output on storage fit for PII.

``output_path`` may also be an object-storage URL (``s3://bucket/spapi/{{ ds }}/orders.tsv``) with
the matching Airflow provider installed. Here: ``$SPAPI_EXAMPLE_OUTPUT`` (default
``/tmp/spapi-example-output``)``/nightly_report/<interval start date>/all_orders.tsv``.
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
    dag_id="example_spapi_nightly_report",
    description="Yesterday's orders report (GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL), deferrable",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    all_orders_report = SpApiReportOperator(
        task_id="all_orders_report",
        spapi_conn_id="spapi_default",
        report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
        marketplace_ids=None,  # None: the connection's marketplace_ids
        data_start_time="{{ data_interval_start }}",
        data_end_time="{{ data_interval_end }}",
        output_path=OUTPUT + "/nightly_report/{{ data_interval_start | ds }}/all_orders.tsv",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=4),
        on_cancelled="skip",
    )
