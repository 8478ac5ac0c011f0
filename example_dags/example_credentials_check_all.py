"""One daily credentials check over every platform: SP-API and TikTok Shop, one notifier for both.

Refresh tokens die on a schedule: an SP-API public app's 365 days after the seller authorised it
(a date the connection records, since no API tells it), a TikTok Shop one on the date TikTok
returns with every token (``refresh_token_expires_at``, stored by the credentials CLI and by the
hook when TikTok rotates the token). Each check:

* warns (task log, and every notifier) ``expiry_warning_days`` ahead (connection extra, default 30);
* fails once a credential has expired, with the fix (SP-API: ``python -m airflow_provider_spapi.credentials
  reauthorize``; TikTok Shop: the seller authorises the app again, then ``... credentials tiktok-authorize``);
* pushes ``{"refresh_token_days_left", ..., "warnings"}`` to XCom. Neither calls the platforms.

Notifiers get the context with the warnings under ``credential_warnings`` (both platforms) and the
platform's own key (``spapi_credential_warnings``, ``tiktok_shop_credential_warnings``), so a single
``SlackNotifier(text="{{ credential_warnings | join(' ') }}")`` serves every task.

Connections: ``SPAPI_EXAMPLE_CREDENTIAL_CONN_IDS`` (default ``spapi_default``) and
``TIKTOK_EXAMPLE_CREDENTIAL_CONN_IDS`` (default ``tiktok_shop_default``), comma-separated.
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
from airflow_provider_spapi.operators.tiktok_shop import TikTokShopCredentialsCheckOperator

log = logging.getLogger(__name__)


def conn_ids(variable: str, default: str) -> list[str]:
    return [conn_id.strip() for conn_id in os.environ.get(variable, default).split(",") if conn_id.strip()]


def log_credential_warnings(context: Any) -> None:
    """The simplest notifier, the same for both platforms: one log line per warning (swap in Slack, SMTP, ...)."""
    task_id = context["ti"].task_id if "ti" in context else "?"
    for warning in context["credential_warnings"]:
        log.warning("[%s] credential warning: %s", task_id, warning)


with DAG(
    dag_id="example_credentials_check_all",
    description="Warn before an SP-API or TikTok Shop refresh token expires; fail once one has",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["spapi", "tiktok_shop", "example"],
    doc_md=__doc__,
) as dag:
    for conn_id in conn_ids("SPAPI_EXAMPLE_CREDENTIAL_CONN_IDS", "spapi_default"):
        SpApiCredentialsCheckOperator(task_id=f"check_{conn_id}", spapi_conn_id=conn_id, notifiers=[log_credential_warnings])
    for conn_id in conn_ids("TIKTOK_EXAMPLE_CREDENTIAL_CONN_IDS", "tiktok_shop_default"):
        TikTokShopCredentialsCheckOperator(task_id=f"check_{conn_id}", tiktok_shop_conn_id=conn_id, notifiers=[log_credential_warnings])
