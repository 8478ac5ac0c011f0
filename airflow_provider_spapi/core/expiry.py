"""When credentials die, computed from dates no API tells us.

A public (Appstore) app's refresh token stops working 365 days after the seller authorised the app;
Amazon emails the seller 30 days ahead and no API returns the date, so the connection records when
the seller authorised (``refresh_token_issued_at``). Private apps' refresh tokens never expire. LWA
client secrets expire 180 days after they are issued (``client_secret_expires_at``). Pipelines that
do not track these learn about them at 3 a.m. from ``invalid_grant`` or ``invalid_client``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from airflow_provider_spapi.core.settings import SpApiSettings

REFRESH_TOKEN_LIFETIME = timedelta(days=365)
CLIENT_SECRET_LIFETIME = timedelta(days=180)

Credential = Literal["refresh_token", "client_secret"]

FIXES: dict[Credential, str] = {
    "refresh_token": (
        "Ask the seller to re-authorise the app in Seller Central (or self-authorise a private app), store the new refresh "
        "token in the connection and set refresh_token_issued_at to that day; "
        "`python -m airflow_provider_spapi.credentials reauthorize` does both."
    ),
    "client_secret": (
        "Rotate the LWA client secret (SpApiRotateClientSecretOperator, or Solution Provider Portal), store the new secret "
        "as the connection's password and set client_secret_expires_at to its new expiry."
    ),
}
NAMES: dict[Credential, str] = {"refresh_token": "LWA refresh token", "client_secret": "LWA client secret"}


@dataclass(frozen=True)
class ExpiryStatus:
    """One credential's expiry: when, and how many whole days are left (negative once expired)."""

    credential: Credential
    expires_at: datetime
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    def message(self) -> str:
        """A warning that names the credential, the date and the days left, then the fix."""
        when = self.expires_at.strftime("%Y-%m-%d")
        if self.expired:
            state = f"expired on {when} ({-self.days_left} days ago)"
        elif self.days_left == 0:
            state = f"expires today ({when})"
        else:
            state = f"expires on {when}, in {self.days_left} days"
        return f"The {NAMES[self.credential]} {state}. {FIXES[self.credential]}"


def credential_expiries(settings: SpApiSettings, now: datetime | None = None) -> list[ExpiryStatus]:
    """Every credential whose expiry the connection lets us know, warned of or not."""
    now = now or datetime.now(timezone.utc)
    known: list[tuple[Credential, datetime]] = []
    if settings.app_type == "public" and settings.refresh_token and settings.refresh_token_issued_at is not None:
        known.append(("refresh_token", settings.refresh_token_issued_at + REFRESH_TOKEN_LIFETIME))
    if settings.client_secret_expires_at is not None:
        known.append(("client_secret", settings.client_secret_expires_at))
    return [ExpiryStatus(credential, expires_at, _days_left(expires_at, now)) for credential, expires_at in known]


def _days_left(expires_at: datetime, now: datetime) -> int:
    """Calendar days (UTC) until ``expires_at``: 0 when it expires later today, negative once it has expired."""
    if expires_at > now:
        return (expires_at.date() - now.date()).days
    return -max(1, (now.date() - expires_at.date()).days)


def due_warnings(settings: SpApiSettings, now: datetime | None = None) -> list[ExpiryStatus]:
    """The credentials that expire within ``expiry_warning_days`` or have expired."""
    return [status for status in credential_expiries(settings, now) if status.days_left <= settings.expiry_warning_days]
