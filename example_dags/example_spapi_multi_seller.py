"""One DAG for many sellers: fan out over seller connections with dynamic task mapping.

An agency or aggregator app holds one ``spapi`` connection per seller (same LWA client id and
secret, each seller's own refresh token). ``seller_connections`` reads their ids at run time, from
the Airflow Variable ``spapi_seller_conn_ids`` (a JSON list, e.g. set with
``AIRFLOW_VAR_SPAPI_SELLER_CONN_IDS='["spapi_seller_1", "spapi_seller_2"]'``), falling back to
``["spapi_seller_1", "spapi_seller_2", "spapi_seller_3"]``. Reading it in a task, not at the top of
the file, keeps DAG parsing free of database calls and lets a new seller join without a deploy.
``SpApiOperator.partial(...).expand(spapi_conn_id=...)`` then makes one ``search_orders`` task
instance per seller, and ``summarise`` collects their counts.

Usage plans: Amazon's usage plans are token buckets per *selling partner and application*. Sellers
do not share them, so the mapped instances (one seller each) run in parallel without meeting in a
bucket, and each paces itself at its seller's plan. ``max_active_tis_per_dag`` caps how many sellers
are called at once (across runs; it also bounds the worker slots this DAG takes).

When several tasks may call the same operation for the same seller at once (``max_active_runs > 1``,
a backfill, another DAG for the same sellers), give those sellers' connections a shared store,
``"rate_limit_store": "redis://redis:6379/0"`` in the extra (``pip install
'airflow-provider-spapi[redis]'``): every process then draws from one bucket per (seller, operation)
and waits instead of colliding. Without it each process learns its share from the 429s it meets.
Pools do not help here: a pool caps running task instances, not request rates, and a mapped task has
a single pool for all its instances (``pool`` is a ``partial()`` argument, never mapped).

Outputs: ``$SPAPI_EXAMPLE_OUTPUT`` (default ``/tmp/spapi-example-output``)``/multi_seller/<interval start date>/<conn_id>.jsonl``.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, CronDataIntervalTimetable, Variable, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models import Variable
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_spapi.operators.spapi import SpApiOperator

log = logging.getLogger(__name__)

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
DEFAULT_SELLER_CONN_IDS = ["spapi_seller_1", "spapi_seller_2", "spapi_seller_3"]

with DAG(
    dag_id="example_spapi_multi_seller",
    description="searchOrders for every seller connection, fanned out with dynamic task mapping",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),  # data interval = the previous day
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def seller_connections() -> list[str]:
        """The seller connection ids: Variable ``spapi_seller_conn_ids`` (JSON list), else the default three."""
        # The second positional argument is the default on Airflow 2 (default_var) and 3 (default).
        conn_ids = Variable.get("spapi_seller_conn_ids", None, deserialize_json=True) or DEFAULT_SELLER_CONN_IDS
        if not isinstance(conn_ids, list) or not all(isinstance(conn_id, str) for conn_id in conn_ids):
            raise ValueError('Variable spapi_seller_conn_ids must be a JSON list of connection ids, e.g. ["spapi_seller_1"].')
        return conn_ids

    conn_ids = seller_connections()

    search_orders = SpApiOperator.partial(
        task_id="search_orders",
        method="GET",
        path="/orders/2026-01-01/orders",
        # No marketplaceIds: each seller's orders in every marketplace it sells in.
        query_params={"createdAfter": "{{ data_interval_start }}", "createdBefore": "{{ data_interval_end }}", "maxResultsPerPage": 100},
        paginate=True,
        # Rendered per mapped instance: task.spapi_conn_id is that instance's seller connection.
        output_path=OUTPUT + "/multi_seller/{{ data_interval_start | ds }}/{{ task.spapi_conn_id }}.jsonl",
        max_active_tis_per_dag=4,  # at most 4 sellers at a time, across all runs of this DAG
    ).expand(spapi_conn_id=conn_ids)

    @task
    def summarise(conn_ids: list[str], results: list[dict[str, Any]]) -> dict[str, int]:
        """Orders per seller connection (mapped results come back in map-index order, the order of conn_ids)."""
        counts = {conn_id: int(result["records"]) for conn_id, result in zip(conn_ids, list(results), strict=True)}
        for conn_id, count in counts.items():
            log.info("%s: %d order(s)", conn_id, count)
        return counts

    summarise(conn_ids, search_orders.output)
