"""When Amazon's credentials die, computed from dates no API tells us.

A public (Appstore) app's refresh token stops working 365 days after the seller authorised the app;
Amazon emails the seller 30 days ahead and no API returns the date, so the connection records when
the seller authorised (``refresh_token_issued_at``). Private apps' refresh tokens never expire. LWA
client secrets expire 180 days after they are issued (``client_secret_expires_at``). Pipelines that
do not track these learn about them at 3 a.m. from ``invalid_grant`` or ``invalid_client``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow_provider_spapi.core.expiry import ExpiryStatus, due, expiry_status
from airflow_provider_spapi.spapi.settings import SpApiSettings

REFRESH_TOKEN_LIFETIME = timedelta(days=365)
CLIENT_SECRET_LIFETIME = timedelta(days=180)

REFRESH_TOKEN_FIX = (
    "Ask the seller to re-authorise the app in Seller Central (or self-authorise a private app), store the new refresh "
    "token in the connection and set refresh_token_issued_at to that day; "
    "`python -m airflow_provider_spapi.credentials reauthorize` does both."
)
CLIENT_SECRET_FIX = (
    "Rotate the LWA client secret (SpApiRotateClientSecretOperator, or Solution Provider Portal), store the new secret "
    "as the connection's password and set client_secret_expires_at to its new expiry."
)


def credential_expiries(settings: SpApiSettings, now: datetime | None = None) -> list[ExpiryStatus]:
    """Every credential whose expiry the connection lets us know, warned of or not."""
    now = now or datetime.now(timezone.utc)
    statuses: list[ExpiryStatus] = []
    if settings.app_type == "public" and settings.refresh_token and settings.refresh_token_issued_at is not None:
        expires_at = settings.refresh_token_issued_at + REFRESH_TOKEN_LIFETIME
        statuses.append(expiry_status("refresh_token", "LWA refresh token", expires_at, REFRESH_TOKEN_FIX, now))
    if settings.client_secret_expires_at is not None:
        statuses.append(expiry_status("client_secret", "LWA client secret", settings.client_secret_expires_at, CLIENT_SECRET_FIX, now))
    return statuses


def due_warnings(settings: SpApiSettings, now: datetime | None = None) -> list[ExpiryStatus]:
    """The credentials that expire within ``expiry_warning_days`` or have expired."""
    return due(credential_expiries(settings, now), settings.expiry_warning_days)
