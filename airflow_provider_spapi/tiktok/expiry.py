"""When TikTok Shop credentials die: the refresh token's expiry is a known date, returned with every token.

Unlike Amazon's, nothing is estimated here: ``refresh_token_expires_at`` is TikTok's own
``refresh_token_expire_in``. Past it the seller must authorise the app again (TikTok also warns by
webhook from 30 days before). The access token is renewed by itself and is not reported.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow_provider_spapi.core.expiry import ExpiryStatus, due, expiry_status
from airflow_provider_spapi.tiktok import catalog
from airflow_provider_spapi.tiktok.settings import TikTokShopSettings


def credential_expiries(
    settings: TikTokShopSettings, now: datetime | None = None, *, refresh_token_expires_at: datetime | None = None
) -> list[ExpiryStatus]:
    """Every credential whose expiry is known. ``refresh_token_expires_at`` overrides the connection's (a newer pair)."""
    now = now or datetime.now(timezone.utc)
    expires_at = refresh_token_expires_at or settings.refresh_token_expires_at
    if not settings.refresh_token or expires_at is None:
        return []
    return [expiry_status("refresh_token", "TikTok Shop refresh token", expires_at, catalog.reauthorise_fix(), now)]


def due_warnings(
    settings: TikTokShopSettings, now: datetime | None = None, *, refresh_token_expires_at: datetime | None = None
) -> list[ExpiryStatus]:
    """The credentials that expire within ``expiry_warning_days`` or have expired."""
    return due(credential_expiries(settings, now, refresh_token_expires_at=refresh_token_expires_at), settings.expiry_warning_days)
