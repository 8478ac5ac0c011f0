"""Settlement reports: the ones Amazon makes on its own schedule, found and downloaded without a report id.

Nobody requests a settlement report: Amazon creates ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE`` at
the end of each settlement period (every 14 days, or daily with daily disbursements) and the seller
has to find it. ``SpApiLatestReportSensor`` waits until one exists (each poke is one getReports
call), then ``SpApiScheduledReportOperator`` lists every DONE settlement report created in the run's
data interval (getReports with ``reportTypes``, ``processingStatuses=DONE``, ``createdSince``,
``createdUntil``; further pages with ``nextToken`` alone) and streams each to its own file.

Why this shape:

* ``created_since``/``created_until`` are the data interval, so each report is fetched by exactly one
  run and a re-run fetches the same reports to the same paths: idempotent, with no state to keep.
  ``catchup=True`` (up to Amazon's 90 days of retention) would backfill the missed days.
* ``mode="all_new"`` downloads them all (a 14-day settlement and a reserve adjustment may land on the
  same day); ``output_path`` holds ``{report_id}``. ``mode="latest"`` takes only the newest.
* ``output_format="jsonl"``: one JSON object per row, keyed by the header, decoded to UTF-8 from the
  marketplace's encoding (Amazon's European flat files are often Cp1252), ready for a warehouse load.
  ``"utf8"`` keeps the tab-separated file but re-encodes it; ``"raw"`` (default) keeps Amazon's bytes.
* getReports allows 0.0222 requests/s (burst 10): one call a poke, so ``poke_interval`` is minutes and
  ``mode="reschedule"`` frees the worker between pokes in production.

Connection: ``spapi_default``. Output: ``$SPAPI_EXAMPLE_OUTPUT`` (default ``/tmp/spapi-example-output``)
``/settlements/<report id>.jsonl``.
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

from airflow_provider_spapi.operators.scheduled_reports import SpApiScheduledReportOperator
from airflow_provider_spapi.sensors.reports import SpApiLatestReportSensor

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
POLL_INTERVAL = float(os.environ.get("SPAPI_EXAMPLE_POLL_INTERVAL", "600"))
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE"

with DAG(
    dag_id="example_spapi_settlement_reports",
    description="Every settlement report Amazon created in the data interval, as JSON lines",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    wait_for_settlement = SpApiLatestReportSensor(
        task_id="wait_for_settlement",
        report_type=SETTLEMENT,
        created_since="{{ data_interval_start }}",
        poke_interval=POLL_INTERVAL,
        timeout=timedelta(hours=20).total_seconds(),
        soft_fail=True,  # no settlement that day (a 14-day cycle): skip, do not fail
    )
    download_settlements = SpApiScheduledReportOperator(
        task_id="download_settlements",
        report_type=SETTLEMENT,
        created_since="{{ data_interval_start }}",
        created_until="{{ data_interval_end }}",
        mode="all_new",
        output_path=OUTPUT + "/settlements/{report_id}.jsonl",
        output_format="jsonl",
    )
    wait_for_settlement >> download_settlements
