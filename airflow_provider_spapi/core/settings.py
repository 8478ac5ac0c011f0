"""Connection settings: parsed and validated before anything is sent.

An ``spapi`` connection is a login (LWA client id), a password (LWA client secret) and a JSON extra
(see the README's connection table). :func:`parse_settings` turns those three into an immutable
:class:`SpApiSettings`, or raises :class:`~airflow_provider_spapi.errors.SpApiConfigError` naming
the field and the fix. Nothing here imports Airflow, so the same validation serves the hook, the
tests and any other caller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Literal
from urllib.parse import urlparse

import pendulum

from airflow_provider_spapi.core import catalog
from airflow_provider_spapi.errors import SpApiConfigError

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
)


@dataclass(frozen=True)
class RetrySettings:
    """How hard a call tries before it gives up: attempts and total seconds bound it, timeouts bound each try."""

    max_attempts: int = 8
    max_retry_seconds: float = 300.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


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

    @property
    def base_url(self) -> str:
        """Where SP-API calls go: the override if set, else the region's (sandbox) host."""
        if self.endpoint:
            return self.endpoint.rstrip("/")
        region = catalog.regions()[self.region]
        return region.sandbox_endpoint if self.sandbox else region.endpoint


def _fail(field_name: str, problem: str, fix: str) -> SpApiConfigError:
    return SpApiConfigError(f"Connection field '{field_name}' {problem}. {fix}")


def parse_extra(extra: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The connection's extra as a dict: accepts a JSON object string, a mapping, or nothing."""
    if extra is None or extra == "":
        return {}
    if isinstance(extra, Mapping):
        return dict(extra)
    try:
        parsed = json.loads(extra)
    except (TypeError, ValueError):
        raise _fail(
            "extra", "is not valid JSON", 'Write it as a JSON object, e.g. {"refresh_token": "Atzr|...", "region": "na"}.'
        ) from None
    if not isinstance(parsed, dict):
        raise _fail("extra", f"is JSON of type {type(parsed).__name__}, not an object", 'Write it as a JSON object, e.g. {"region": "na"}.')
    return parsed


def parse_datetime(value: Any, field_name: str) -> datetime | None:
    """An ISO date or datetime (naive means UTC) as an aware UTC datetime; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed: Any = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = pendulum.parse(value.strip(), strict=True, exact=True)
        except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError):
            parsed = None
        if isinstance(parsed, pendulum.Date) and not isinstance(parsed, datetime):
            parsed = datetime(parsed.year, parsed.month, parsed.day)
        if not isinstance(parsed, datetime):
            raise _fail(
                field_name,
                f"is not an ISO date or datetime (got {value!r})",
                "Use a date like 2026-03-31 or a datetime like 2026-03-31T09:00:00Z.",
            )
    else:
        raise _fail(field_name, f"must be an ISO date string, not {type(value).__name__}", "Use a date like 2026-03-31.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(parsed.timestamp(), tz=timezone.utc)


def _parse_bool(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", "yes", "no", ""}:
        return value.strip().lower() in {"true", "1", "yes"}
    raise _fail(field_name, f"must be true or false (got {value!r})", "Tick or untick the box, or write true/false in the extra.")


def _parse_number(value: Any, field_name: str, *, minimum: float, integer: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= minimum or (integer and not number.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise _fail(
            field_name, f"must be {kind} of at least {minimum:g} (got {value!r})", f"Set it to {kind}, or remove it to use the default."
        )
    return number


def _parse_url(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or urlparse(value).scheme not in {"http", "https"} or not urlparse(value).netloc:
        raise _fail(
            field_name,
            f"must be an http(s) URL (got {value!r})",
            "Write the full URL, e.g. https://sellingpartnerapi-na.amazon.com or http://127.0.0.1:8765.",
        )
    return value.rstrip("/")


def parse_marketplace_ids(value: Any, field_name: str = "marketplace_ids") -> tuple[str, ...]:
    """A list, or a comma-separated string, of marketplace ids."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        raise _fail(
            field_name,
            f"must be a list of strings or a comma-separated string (got {value!r})",
            'Write e.g. ["ATVPDKIKX0DER"] or "ATVPDKIKX0DER,A2EUQ1WTGCTBG2".',
        )
    if not all(items):
        raise _fail(field_name, f"has an empty marketplace id (got {value!r})", "Remove the stray comma.")
    return tuple(items)


def parse_settings(login: str | None, password: str | None, extra: str | Mapping[str, Any] | None) -> SpApiSettings:
    """Validate a connection's login, password and extra into settings, or raise naming the field and the fix."""
    # Older Airflow 2 forms stored custom fields as extra__<conn_type>__<name>; forms store a blank field as "" or null.
    fields = {key.removeprefix("extra__spapi__"): value for key, value in parse_extra(extra).items() if value is not None and value != ""}
    unknown = sorted(set(fields) - set(EXTRA_FIELDS))
    if unknown:
        raise _fail(
            unknown[0], "is not a known extra field", f"Remove it or correct the spelling; known fields: {', '.join(EXTRA_FIELDS)}."
        )

    if not isinstance(login, str) or not login.strip():
        raise _fail(
            "login",
            "(LWA client ID) is empty",
            "Copy the LWA client ID (amzn1.application-oa2-client.…) from Solution Provider Portal > Develop Apps > View.",
        )
    if not isinstance(password, str) or not password.strip():
        raise _fail(
            "password", "(LWA client secret) is empty", "Copy the LWA client secret from Solution Provider Portal > Develop Apps > View."
        )

    refresh_token = fields.get("refresh_token") or None
    if refresh_token is not None and (not isinstance(refresh_token, str) or not refresh_token.startswith(REFRESH_TOKEN_PREFIX)):
        raise _fail(
            "refresh_token",
            f"does not start with '{REFRESH_TOKEN_PREFIX}'",
            "Paste the seller's LWA refresh token (it starts with Atzr|); an access token (Atza|) expires within the hour.",
        )

    region = fields.get("region") or "na"
    if not isinstance(region, str) or region.lower() not in catalog.regions():
        raise _fail(
            "region", f"is {region!r}, not one of {', '.join(catalog.regions())}", "Use na (North America), eu (Europe) or fe (Far East)."
        )

    app_type: AppType = fields.get("app_type") or "public"
    if app_type not in ("public", "private"):
        raise _fail(
            "app_type", f"is {app_type!r}", "Use public (Appstore apps: refresh tokens expire after 365 days) or private (self-authorised)."
        )

    retry_defaults = RetrySettings()
    retry = RetrySettings(
        max_attempts=int(_parse_number(fields.get("max_attempts", retry_defaults.max_attempts), "max_attempts", minimum=1, integer=True)),
        max_retry_seconds=_parse_number(fields.get("max_retry_seconds", retry_defaults.max_retry_seconds), "max_retry_seconds", minimum=0),
        connect_timeout=_parse_number(fields.get("connect_timeout", retry_defaults.connect_timeout), "connect_timeout", minimum=0.001),
        read_timeout=_parse_number(fields.get("read_timeout", retry_defaults.read_timeout), "read_timeout", minimum=0.001),
    )

    return SpApiSettings(
        client_id=login.strip(),
        client_secret=password.strip(),
        refresh_token=refresh_token,
        region=region.lower(),
        sandbox=_parse_bool(fields.get("sandbox", False), "sandbox"),
        endpoint=_parse_url(fields["endpoint"], "endpoint") if fields.get("endpoint") else "",
        lwa_endpoint=_parse_url(fields["lwa_endpoint"], "lwa_endpoint") if fields.get("lwa_endpoint") else catalog.lwa_endpoint(),
        marketplace_ids=parse_marketplace_ids(fields.get("marketplace_ids")),
        app_type=app_type,
        refresh_token_issued_at=parse_datetime(fields.get("refresh_token_issued_at"), "refresh_token_issued_at"),
        client_secret_expires_at=parse_datetime(fields.get("client_secret_expires_at"), "client_secret_expires_at"),
        expiry_warning_days=int(_parse_number(fields.get("expiry_warning_days", 30), "expiry_warning_days", minimum=0, integer=True)),
        retry=retry,
    )
