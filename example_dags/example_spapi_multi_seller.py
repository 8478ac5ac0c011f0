"""One DAG for many sellers: fan out over seller connections with dynamic task mapping.

An agency or aggregator app holds one ``spapi`` connection per seller (same LWA client id and
secret, each seller's own refresh token). ``seller_connections`` reads their ids at run time, from
the Airflow Variable ``spapi_seller_conn_ids`` (a JSON list, e.g. set with
``AIRFLOW_VAR_SPAPI_SELLER_CONN_IDS='["spapi_seller_1", "spapi_seller_2"]'``), falling back to
``["spapi_seller_1", "spapi_seller_2", "spapi_seller_3"]``. Reading it in a task, not at the top of
the file, keeps DAG parsing free of database calls and lets a new seller join without a deploy.
``SpApiOperator.partial(...).expand(spapi_conn_id=...)`` then makes one ``search_orders`` task
instance per seller, and ``summarise`` collects their counts.

Usage plans and pools: Amazon's usage plans are token buckets per *selling partner and
application*. Sellers do not share them, so different sellers can run in parallel; two tasks of
the same seller do share one bucket. The hook's rate limiter keeps one process within the plan,
but it cannot see another worker's calls. The rule that keeps every worker within a seller's plan:
at most one running task per seller (per operation family), i.e. **one Airflow pool per seller with
one slot** (``airflow pools set spapi_seller_1 1 "SP-API seller 1"``) and every task of that seller
in it. A mapped task has one pool for all its instances (``pool`` is a ``partial`` argument and
cannot be expanded), so:

* mapped (this DAG): give the mapped task a pool sized to how many sellers may run at once and
  ``max_active_tis_per_dagrun``; each instance serves a different seller, and ``max_active_runs=1``
  keeps two runs from calling for the same seller together;
* strict per-seller pools, when several DAGs call for the same seller::

      for conn_id in ["spapi_seller_1", "spapi_seller_2", "spapi_seller_3"]:
          SpApiOperator(task_id=f"search_orders_{conn_id}", spapi_conn_id=conn_id, pool=conn_id, ...)

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
        max_active_tis_per_dagrun=4,  # at most 4 sellers at a time
        # pool="spapi_sellers",  # one pool for the mapped task (see the module docstring for per-seller pools)
    ).expand(spapi_conn_id=conn_ids)

    @task
    def summarise(conn_ids: list[str], results: list[dict[str, Any]]) -> dict[str, int]:
        """Orders per seller connection (mapped results come back in map-index order, the order of conn_ids)."""
        counts = {conn_id: int(result["records"]) for conn_id, result in zip(conn_ids, list(results), strict=True)}
        for conn_id, count in counts.items():
            log.info("%s: %d order(s)", conn_id, count)
        return counts

    summarise(conn_ids, search_orders.output)
