"""TikTok Shop connection settings: parsed and validated before anything is sent.

A ``tiktok_shop`` connection is a login (app key), a password (app secret) and a JSON extra (SPEC's
table: refresh token and its expiry, an optional still-valid access token, the shop, endpoints, the
warning horizon, and the retry knobs every platform shares). :func:`parse_settings` raises
:class:`~airflow_provider_spapi.errors.TikTokShopConfigError` naming the field and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_spapi.core.config import (
    RETRY_FIELDS,
    FieldError,
    extra_fields,
    parse_datetime,
    parse_number,
    parse_retry_settings,
    parse_url,
    require_text,
)
from airflow_provider_spapi.core.retry import RetrySettings
from airflow_provider_spapi.errors import TikTokShopConfigError
from airflow_provider_spapi.tiktok import catalog

CONN_TYPE = "tiktok_shop"

#: Every key the connection's extra may hold. Anything else is a typo worth reporting.
EXTRA_FIELDS = (
    "refresh_token",
    "refresh_token_expires_at",
    "access_token",
    "access_token_expires_at",
    "shop_cipher",
    "api_endpoint",
    "auth_endpoint",
    "expiry_warning_days",
    *RETRY_FIELDS,
)
EXTRA_EXAMPLE = '{"refresh_token": "...", "refresh_token_expires_at": "2027-03-31T00:00:00Z"}'


@dataclass(frozen=True)
class TikTokShopSettings:
    """Everything a client needs to call TikTok Shop for one seller authorisation. Secrets never show in its repr."""

    app_key: str
    app_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_at: datetime | None = None
    access_token: str | None = field(default=None, repr=False)
    access_token_expires_at: datetime | None = None
    shop_cipher: str | None = None
    api_endpoint: str = field(default_factory=catalog.api_endpoint)
    auth_endpoint: str = field(default_factory=catalog.auth_endpoint)
    expiry_warning_days: int = 30
    retry: RetrySettings = field(default_factory=RetrySettings)


def parse_settings(login: str | None, password: str | None, extra: str | Mapping[str, Any] | None) -> TikTokShopSettings:
    """Validate a connection's login, password and extra, or raise TikTokShopConfigError naming the field and the fix."""
    try:
        return _parse_settings(login, password, extra)
    except FieldError as error:
        raise TikTokShopConfigError(str(error)) from None


def _optional_text(fields: Mapping[str, Any], name: str, fix: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    return require_text(value, name, f"must be a non-empty string (got a {type(value).__name__})", fix)


def _parse_settings(login: str | None, password: str | None, extra: str | Mapping[str, Any] | None) -> TikTokShopSettings:
    fields = extra_fields(extra, CONN_TYPE, EXTRA_FIELDS, EXTRA_EXAMPLE)
    app_key = require_text(
        login, "login", "(app key) is empty", "Copy the app key from TikTok Shop Partner Center > App & Service > your app."
    )
    app_secret = require_text(
        password, "password", "(app secret) is empty", "Copy the app secret from TikTok Shop Partner Center > App & Service > your app."
    )
    token_fix = "Paste the token exactly as TikTok's token endpoint returned it."
    refresh_token = _optional_text(fields, "refresh_token", token_fix)
    access_token = _optional_text(fields, "access_token", token_fix)
    access_token_expires_at = parse_datetime(fields.get("access_token_expires_at"), "access_token_expires_at", unix_seconds=True)
    if access_token and access_token_expires_at is None:
        raise FieldError(
            "access_token_expires_at",
            "is empty while access_token is set",
            "Copy access_token_expire_in from the same token answer (Unix seconds or an ISO datetime), or remove access_token.",
        )
    url_example = "https://open-api.tiktokglobalshop.com or http://127.0.0.1:8765"
    return TikTokShopSettings(
        app_key=app_key,
        app_secret=app_secret,
        refresh_token=refresh_token,
        refresh_token_expires_at=parse_datetime(fields.get("refresh_token_expires_at"), "refresh_token_expires_at", unix_seconds=True),
        access_token=access_token,
        access_token_expires_at=access_token_expires_at,
        shop_cipher=_optional_text(fields, "shop_cipher", "Copy a shop's cipher from get_authorized_shops(), or remove the field."),
        api_endpoint=parse_url(fields["api_endpoint"], "api_endpoint", url_example) if "api_endpoint" in fields else catalog.api_endpoint(),
        auth_endpoint=parse_url(fields["auth_endpoint"], "auth_endpoint", "https://auth.tiktok-shops.com")
        if "auth_endpoint" in fields
        else catalog.auth_endpoint(),
        expiry_warning_days=int(parse_number(fields.get("expiry_warning_days", 30), "expiry_warning_days", minimum=0, integer=True)),
        retry=parse_retry_settings(fields),
    )
