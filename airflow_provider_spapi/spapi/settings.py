"""Connection settings: parsed and validated before anything is sent.

An ``spapi`` connection is a login (LWA client id), a password (LWA client secret) and a JSON extra
(see the README's connection table). :func:`parse_settings` turns those three into an immutable
:class:`SpApiSettings`, or raises :class:`~airflow_provider_spapi.errors.SpApiConfigError` naming
the field and the fix. Nothing here imports Airflow, so the same validation serves the hook, the
tests and any other caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from airflow_provider_spapi.core.config import (
    FieldError,
    extra_fields,
    parse_bool,
    parse_datetime,
    parse_number,
    parse_retry_settings,
    parse_url,
    require_text,
)
from airflow_provider_spapi.core.ratestore import parse_store_url
from airflow_provider_spapi.core.retry import RetrySettings
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.spapi import catalog

AppType = Literal["public", "private"]

ACCESS_TOKEN_PREFIX = "Atza|"
REFRESH_TOKEN_PREFIX = "Atzr|"

#: Every key the connection's extra may hold. Anything else is a typo worth reporting.
EXTRA_FIELDS = (
    "refresh_token",
    "region",
    "sandbox",
    "endpoint",
    "lwa_endpoint",
    "marketplace_ids",
    "app_type",
    "refresh_token_issued_at",
    "client_secret_expires_at",
    "expiry_warning_days",
    "max_attempts",
    "max_retry_seconds",
    "connect_timeout",
    "read_timeout",
    "rate_limit_store",
)


@dataclass(frozen=True)
class SpApiSettings:
    """Everything a client needs to call SP-API for one seller (or one app, grantless). Secrets never show in its repr."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    region: str = "na"
    sandbox: bool = False
    endpoint: str = ""
    lwa_endpoint: str = field(default_factory=catalog.lwa_endpoint)
    marketplace_ids: tuple[str, ...] = ()
    app_type: AppType = "public"
    refresh_token_issued_at: datetime | None = None
    client_secret_expires_at: datetime | None = None
    expiry_warning_days: int = 30
    retry: RetrySettings = field(default_factory=RetrySettings)
    # A redis:// URL may hold the store's password: kept out of the repr.
    rate_limit_store: str | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """Where SP-API calls go: the override if set, else the region's (sandbox) host."""
        if self.endpoint:
            return self.endpoint.rstrip("/")
        region = catalog.regions()[self.region]
        return region.sandbox_endpoint if self.sandbox else region.endpoint


def parse_marketplace_ids(value: Any, field_name: str = "marketplace_ids") -> tuple[str, ...]:
    """A list, or a comma-separated string, of marketplace ids; SpApiConfigError naming ``field_name`` otherwise."""
    try:
        return _marketplace_ids(value, field_name)
    except FieldError as error:
        raise SpApiConfigError(str(error)) from None


def _marketplace_ids(value: Any, field_name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        raise FieldError(
            field_name,
            f"must be a list of strings or a comma-separated string (got {value!r})",
            'Write e.g. ["ATVPDKIKX0DER"] or "ATVPDKIKX0DER,A2EUQ1WTGCTBG2".',
        )
    if not all(items):
        raise FieldError(field_name, f"has an empty marketplace id (got {value!r})", "Remove the stray comma.")
    return tuple(items)


def parse_settings(login: str | None, password: str | None, extra: str | Mapping[str, Any] | None) -> SpApiSettings:
    """Validate a connection's login, password and extra into settings, or raise SpApiConfigError naming the field and the fix."""
    try:
        return _parse_settings(login, password, extra)
    except FieldError as error:
        raise SpApiConfigError(str(error)) from None


def _parse_settings(login: str | None, password: str | None, extra: str | Mapping[str, Any] | None) -> SpApiSettings:
    fields = extra_fields(extra, "spapi", EXTRA_FIELDS, '{"refresh_token": "Atzr|...", "region": "na"}')
    client_id = require_text(
        login,
        "login",
        "(LWA client ID) is empty",
        "Copy the LWA client ID (amzn1.application-oa2-client.…) from Solution Provider Portal > Develop Apps > View.",
    )
    client_secret = require_text(
        password,
        "password",
        "(LWA client secret) is empty",
        "Copy the LWA client secret from Solution Provider Portal > Develop Apps > View.",
    )

    refresh_token = fields.get("refresh_token") or None
    if refresh_token is not None and (not isinstance(refresh_token, str) or not refresh_token.startswith(REFRESH_TOKEN_PREFIX)):
        raise FieldError(
            "refresh_token",
            f"does not start with '{REFRESH_TOKEN_PREFIX}'",
            "Paste the seller's LWA refresh token (it starts with Atzr|); an access token (Atza|) expires within the hour.",
        )

    region = fields.get("region") or "na"
    if not isinstance(region, str) or region.lower() not in catalog.regions():
        raise FieldError(
            "region", f"is {region!r}, not one of {', '.join(catalog.regions())}", "Use na (North America), eu (Europe) or fe (Far East)."
        )

    app_type: AppType = fields.get("app_type") or "public"
    if app_type not in ("public", "private"):
        raise FieldError(
            "app_type", f"is {app_type!r}", "Use public (Appstore apps: refresh tokens expire after 365 days) or private (self-authorised)."
        )

    url_example = "https://sellingpartnerapi-na.amazon.com or http://127.0.0.1:8765"
    return SpApiSettings(
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        region=region.lower(),
        sandbox=parse_bool(fields.get("sandbox", False), "sandbox"),
        endpoint=parse_url(fields["endpoint"], "endpoint", url_example) if fields.get("endpoint") else "",
        lwa_endpoint=parse_url(fields["lwa_endpoint"], "lwa_endpoint", url_example)
        if fields.get("lwa_endpoint")
        else catalog.lwa_endpoint(),
        marketplace_ids=_marketplace_ids(fields.get("marketplace_ids"), "marketplace_ids"),
        app_type=app_type,
        refresh_token_issued_at=parse_datetime(fields.get("refresh_token_issued_at"), "refresh_token_issued_at"),
        client_secret_expires_at=parse_datetime(fields.get("client_secret_expires_at"), "client_secret_expires_at"),
        expiry_warning_days=int(parse_number(fields.get("expiry_warning_days", 30), "expiry_warning_days", minimum=0, integer=True)),
        retry=parse_retry_settings(fields),
        rate_limit_store=parse_store_url(fields["rate_limit_store"]) if fields.get("rate_limit_store") else None,
    )
