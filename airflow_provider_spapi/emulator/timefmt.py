"""ISO 8601 in and out, the way SP-API writes and accepts it."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from airflow_provider_spapi.emulator.responses import ApiError

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: str, name: str) -> datetime:
    """``2025-01-01``, ``2025-01-01T00:00:00Z``, ``…+02:00``, ``….123Z``; a naive value is UTC. Bad input is a 400."""
    text = value.strip().replace(" ", "+")  # a '+' left unencoded in a query string arrives as a space
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat wants exactly 3 or 6 fraction digits.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "InvalidInput", f"{name} is not a valid ISO 8601 date-time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso_z(moment: datetime) -> str:
    """``2025-01-01T00:00:00Z`` (Orders)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(moment: datetime) -> str:
    """``2025-01-01T00:00:00+00:00`` (Reports, Feeds)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
