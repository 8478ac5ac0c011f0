"""Orders v0 with buyer info and shipping addresses (Restricted Data Tokens), for sellers still on v0.

Amazon deprecated the Orders v0 read operations and asks integrators to move to Orders API
2026-01-01 by 2027-03-27 (see ``example_spapi_orders_incremental``); until then many pipelines
need v0's personal data. This DAG shows how to handle it without leaking it:

1. ``get_orders``: ``getOrders`` with ``data_elements=["buyerInfo", "shippingAddress"]``. The hook
   gets a Restricted Data Token (RDT) for that call. Restricted results (PII) never go to XCom: the
   operator refuses to run without ``output_path`` and pushes only ``{"path", "pages", "records"}``.
2. ``get_addresses``: reads the order ids from that file and calls ``getOrderAddress``
   (``/orders/v0/orders/{orderId}/address``, restricted) for each. The hook asks for one RDT for the
   generic path, which covers every order for its hour, instead of one per order. The addresses go to
   a file next to the orders (written atomically: a failed run leaves no half file); XCom carries the
   path and counts only.

Keep the output folder on storage with the access controls PII needs (and a retention policy):
``$SPAPI_EXAMPLE_OUTPUT`` (default ``/tmp/spapi-example-output``)``/orders_v0/<interval start date>/``.

Usage plans: getOrders 0.0167 requests/s (burst 20), getOrderAddress 0.5/s (burst 30). The hook
waits for them; the address loop of a busy day therefore takes a while, by design.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, CronDataIntervalTimetable, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_spapi.operators.spapi import SpApiOperator

OUTPUT = os.environ.get("SPAPI_EXAMPLE_OUTPUT", "/tmp/spapi-example-output")
MARKETPLACE_IDS = ["ATVPDKIKX0DER"]  # Amazon.com (US)
SPAPI_CONN_ID = "spapi_default"

with DAG(
    dag_id="example_spapi_orders_v0_with_addresses",
    description="Orders v0 getOrders with buyer info and addresses (RDT), then getOrderAddress per order, to files",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),  # data interval = the previous day
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    get_orders = SpApiOperator(
        task_id="get_orders",
        spapi_conn_id=SPAPI_CONN_ID,
        method="GET",
        path="/orders/v0/orders",
        query_params={
            "MarketplaceIds": MARKETPLACE_IDS,
            "CreatedAfter": "{{ data_interval_start }}",
            "CreatedBefore": "{{ data_interval_end }}",
            "MaxResultsPerPage": 100,
        },
        data_elements=["buyerInfo", "shippingAddress"],  # → a Restricted Data Token; PII in the result
        paginate=True,
        output_path=OUTPUT + "/orders_v0/{{ data_interval_start | ds }}/orders.jsonl",
    )

    @task
    def get_addresses(orders: dict[str, Any], spapi_conn_id: str = SPAPI_CONN_ID) -> dict[str, Any]:
        """getOrderAddress for every order in the orders file; returns the addresses file's path and counts."""
        from airflow_provider_spapi.core.storage import atomic_write
        from airflow_provider_spapi.hooks.spapi import SpApiHook

        source = Path(orders["path"])
        order_ids: list[str] = []
        with source.open(encoding="utf-8") as pages:
            for line in pages:
                order_ids.extend(order["AmazonOrderId"] for order in json.loads(line)["payload"].get("Orders", []))
        hook = SpApiHook(spapi_conn_id)
        target = source.with_name("addresses.jsonl")
        with atomic_write(target) as handle:
            for order_id in order_ids:
                # restricted=None: the catalog knows getOrderAddress is restricted, so the hook uses an RDT.
                body = hook.request("GET", f"/orders/v0/orders/{order_id}/address")
                handle.write(json.dumps(body["payload"], ensure_ascii=False).encode("utf-8") + b"\n")
        hook.log_stats()
        return {"path": str(target), "orders": len(order_ids), "addresses": len(order_ids)}

    get_addresses(get_orders.output)
