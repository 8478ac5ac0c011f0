"""Set up SP-API notifications to an SQS queue: the destination once, then a subscription per seller and type.

Run once (manually) per application and queue, and again whenever a seller is added: both steps are
idempotent (an existing destination for the queue and an existing subscription are returned).

1. ``SpApiCreateDestinationOperator``: grantless ``POST /notifications/v1/destinations`` (scope
   ``sellingpartnerapi::notifications``) with the queue's ARN. The queue's access policy must allow
   Amazon's principal ``arn:aws:iam::437568002678:root`` to ``sqs:SendMessage`` and
   ``sqs:GetQueueAttributes``.
2. ``SpApiSubscribeOperator``: ``POST /notifications/v1/subscriptions/REPORT_PROCESSING_FINISHED`` with
   the seller's token, once per seller connection (map it over your sellers with ``.expand``).

From then on Amazon sends a message to the queue whenever one of the seller's reports finishes, and
``example_spapi_report_events`` (scheduled by the queue) downloads it.

Connection: ``spapi_default``. Queue: ``$SPAPI_EXAMPLE_SQS_ARN`` (default a placeholder ARN).
"""

from __future__ import annotations

import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_spapi.operators.notifications import SpApiCreateDestinationOperator, SpApiSubscribeOperator

SQS_ARN = os.environ.get("SPAPI_EXAMPLE_SQS_ARN", "arn:aws:sqs:us-east-1:123456789012:spapi-notifications")

with DAG(
    dag_id="example_spapi_notifications_setup",
    description="SQS destination and REPORT_PROCESSING_FINISHED subscription (run once, idempotent)",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    destination = SpApiCreateDestinationOperator(task_id="create_destination", sqs_arn=SQS_ARN, name="spapi-notifications")
    SpApiSubscribeOperator(
        task_id="subscribe_report_finished", notification_type="REPORT_PROCESSING_FINISHED", destination_id=destination.output
    )
