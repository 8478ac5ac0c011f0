"""A daily check of the credentials' expiry dates, with a notifier, before they break a 3 a.m. run.

A public (Appstore) app's refresh token dies 365 days after the seller authorised the app, and the
LWA client secret 180 days after it was issued. No API tells you the dates, so the connection
records them (extra ``refresh_token_issued_at`` and ``client_secret_expires_at``; private apps set
``app_type: private``, whose refresh tokens never expire). ``SpApiCredentialsCheckOperator``:

* warns (task log, and every notifier) ``expiry_warning_days`` ahead (connection extra, default 30);
* fails once a credential has expired, with the fix in the message (re-authorise the app:
  ``python -m airflow_provider_spapi.credentials reauthorize``; rotate the secret:
  ``SpApiRotateClientSecretOperator`` then ``... credentials store-secret``);
* pushes ``{"refresh_token_days_left", "client_secret_days_left", "warnings"}`` to XCom.

Notifiers are called with the task context plus ``spapi_credential_warnings`` (the warning texts)
when a warning is due. Any callable taking the context works (``log_credential_warnings`` below),
and so does any Airflow ``BaseNotifier`` (Slack, SMTP, ...), for example::

    from airflow.providers.slack.notifications.slack import SlackNotifier
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    notifiers=[
        SlackNotifier(slack_conn_id="slack_default", channel="#data-alerts",
                      text="SP-API credentials: {{ spapi_credential_warnings | join(' ') }}"),
        SmtpNotifier(to="data-team@example.com", subject="SP-API credentials expire soon",
                     html_content="{{ spapi_credential_warnings | join('<br>') }}"),
    ]

Connections checked: ``SPAPI_EXAMPLE_CREDENTIAL_CONN_IDS`` (comma-separated), default ``spapi_default``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

from airflow_provider_spapi.operators.credentials import SpApiCredentialsCheckOperator

log = logging.getLogger(__name__)

CONN_IDS = [
    conn_id.strip() for conn_id in os.environ.get("SPAPI_EXAMPLE_CREDENTIAL_CONN_IDS", "spapi_default").split(",") if conn_id.strip()
]


def log_credential_warnings(context: Any) -> None:
    """The simplest notifier: one log line per warning (swap in Slack, SMTP, PagerDuty, ...)."""
    task_id = context["ti"].task_id if "ti" in context else "?"
    for warning in context["spapi_credential_warnings"]:
        log.warning("[%s] SP-API credential warning: %s", task_id, warning)


with DAG(
    dag_id="example_spapi_credentials_check",
    description="Warn (log + notifiers) before an SP-API refresh token or client secret expires; fail once expired",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["spapi", "example"],
    doc_md=__doc__,
) as dag:
    for conn_id in CONN_IDS:
        SpApiCredentialsCheckOperator(
            task_id=f"check_{conn_id}",
            spapi_conn_id=conn_id,
            notifiers=[log_credential_warnings],
            fail_on_expired=True,
        )
