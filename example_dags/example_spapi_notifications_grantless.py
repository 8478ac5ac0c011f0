"""A grantless call: list the application's Notifications destinations.

Some SP-API operations act for the application rather than for a seller and take a *grantless*
token (LWA ``client_credentials`` with a scope) instead of the seller's: Notifications
destinations (``sellingpartnerapi::notifications``) and client-secret rotation
(``sellingpartnerapi::client_credential:rotation``). ``SpApiOperator`` picks the grantless token
and its scope from the operation; nothing to configure. ``grantless_scope=...`` forces one for an
operation the catalog does not know. Such a connection needs no refresh token at all.

The destinations (SQS queue ARNs or EventBridge sources, no personal data) are small, so they go to
XCom, and ``count_destinations`` reports how many there are: zero means no queue receives
notifications yet, e.g. ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` after a secret rotation.
"""

from __future__ import annotations

import logging
from typing import Any

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_spapi.operators.spapi import SpApiOperator

log = logging.getLogger(__name__)

with DAG(
    dag_id="example_spapi_notifications_grantless",
    description="getDestinations with a grantless token (Notifications API)",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    get_destinations = SpApiOperator(
        task_id="get_destinations",
        spapi_conn_id="spapi_default",
        method="GET",
        path="/notifications/v1/destinations",
        # grantless_scope="sellingpartnerapi::notifications",  # implied by the operation
    )

    @task
    def count_destinations(response: dict[str, Any]) -> int:
        destinations = response.get("payload") or []
        for destination in destinations:
            log.info("Destination %s (%s): %s", destination.get("destinationId"), destination.get("name"), destination.get("resource"))
        log.info("The application has %d notification destination(s).", len(destinations))
        return len(destinations)

    count_destinations(get_destinations.output)
