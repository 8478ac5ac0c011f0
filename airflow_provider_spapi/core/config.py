"""Parsing connection fields, for every platform: each parser names the field and the fix when it refuses.

The parsers raise :class:`FieldError`, a plain ``ValueError``; each platform's settings module turns it
into its own configuration error (``SpApiConfigError``, ``TikTokShopConfigError``) at one place, so
the messages read the same on both platforms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlparse

import pendulum

from airflow_provider_spapi.core.retry import RetrySettings


class FieldError(ValueError):
    """A connection field that cannot be used. ``str()`` is the whole message: the field, the problem, the fix."""

    def __init__(self, field_name: str, problem: str, fix: str) -> None:
        self.field_name = field_name
        super().__init__(f"Connection field '{field_name}' {problem}. {fix}")


def parse_extra(extra: str | Mapping[str, Any] | None, example: str = '{"region": "na"}') -> dict[str, Any]:
    """The connection's extra as a dict: accepts a JSON object string, a mapping, or nothing."""
    if extra is None or extra == "":
        return {}
    if isinstance(extra, Mapping):
        return dict(extra)
    try:
        parsed = json.loads(extra)
    except (TypeError, ValueError):
        raise FieldError("extra", "is not valid JSON", f"Write it as a JSON object, e.g. {example}.") from None
    if not isinstance(parsed, dict):
        raise FieldError("extra", f"is JSON of type {type(parsed).__name__}, not an object", f"Write it as a JSON object, e.g. {example}.")
    return parsed


def extra_fields(extra: str | Mapping[str, Any] | None, conn_type: str, known: tuple[str, ...], example: str) -> dict[str, Any]:
    """The extra's non-empty fields, refusing unknown keys.

    Older Airflow 2 forms stored custom fields as ``extra__<conn_type>__<name>``; forms store a blank field
    as "" or null, which counts as absent.
    """
    prefix = f"extra__{conn_type}__"
    fields = {key.removeprefix(prefix): value for key, value in parse_extra(extra, example).items() if value is not None and value != ""}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise FieldError(unknown[0], "is not a known extra field", f"Remove it or correct the spelling; known fields: {', '.join(known)}.")
    return fields


def parse_datetime(value: Any, field_name: str, *, unix_seconds: bool = False) -> datetime | None:
    """An ISO date or datetime (naive means UTC) as an aware UTC datetime; None when empty.

    With ``unix_seconds`` a number (or a string of digits) is read as a Unix timestamp, as TikTok returns
    expiries; elsewhere a number is refused, since ``12345`` is far likelier a typo than a date in 1970.
    """
    if value is None or value == "":
        return None
    if unix_seconds and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    if isinstance(value, datetime):
        parsed: Any = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if unix_seconds and text.isdigit():
            return datetime.fromtimestamp(int(text), tz=timezone.utc)
        try:
            parsed = pendulum.parse(text, strict=True, exact=True)
        except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError):
            parsed = None
        if isinstance(parsed, pendulum.Date) and not isinstance(parsed, datetime):
            parsed = datetime(parsed.year, parsed.month, parsed.day)
        if not isinstance(parsed, datetime):
            raise FieldError(
                field_name,
                f"is not an ISO date or datetime (got {value!r})",
                "Use a date like 2026-03-31 or a datetime like 2026-03-31T09:00:00Z.",
            )
    else:
        raise FieldError(field_name, f"must be an ISO date string, not {type(value).__name__}", "Use a date like 2026-03-31.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(parsed.timestamp(), tz=timezone.utc)


def parse_bool(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", "yes", "no", ""}:
        return value.strip().lower() in {"true", "1", "yes"}
    raise FieldError(field_name, f"must be true or false (got {value!r})", "Tick or untick the box, or write true/false in the extra.")


def parse_number(value: Any, field_name: str, *, minimum: float, integer: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= minimum or (integer and not number.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise FieldError(
            field_name, f"must be {kind} of at least {minimum:g} (got {value!r})", f"Set it to {kind}, or remove it to use the default."
        )
    return number


def parse_url(value: Any, field_name: str, example: str) -> str:
    if not isinstance(value, str) or urlparse(value).scheme not in {"http", "https"} or not urlparse(value).netloc:
        raise FieldError(field_name, f"must be an http(s) URL (got {value!r})", f"Write the full URL, e.g. {example}.")
    return value.rstrip("/")


def require_text(value: Any, field_name: str, problem: str, fix: str) -> str:
    """A non-empty string, stripped; else the field's error."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field_name, problem, fix)
    return value.strip()


#: The extra fields of the retry policy, the same on every platform's connection.
RETRY_FIELDS = ("max_attempts", "max_retry_seconds", "connect_timeout", "read_timeout")


def parse_retry_settings(fields: Mapping[str, Any]) -> RetrySettings:
    """The retry policy's four extra fields, each defaulting to :class:`RetrySettings`'s value."""
    defaults = RetrySettings()
    return RetrySettings(
        max_attempts=int(parse_number(fields.get("max_attempts", defaults.max_attempts), "max_attempts", minimum=1, integer=True)),
        max_retry_seconds=parse_number(fields.get("max_retry_seconds", defaults.max_retry_seconds), "max_retry_seconds", minimum=0),
        connect_timeout=parse_number(fields.get("connect_timeout", defaults.connect_timeout), "connect_timeout", minimum=0.001),
        read_timeout=parse_number(fields.get("read_timeout", defaults.read_timeout), "read_timeout", minimum=0.001),
    )
