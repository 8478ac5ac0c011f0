"""The ``sign`` query parameter of every TikTok Shop API call: a pure function of the request.

TikTok's algorithm (partner documentation, "Sign your API request"):

1. every query parameter except ``sign`` and ``access_token``, sorted by key, each as ``key + value``
   (decoded values, no separators);
2. the request path (no host, no query) in front;
3. the body exactly as sent appended, unless the content type is ``multipart/form-data``;
4. the app secret on both sides; HMAC-SHA256 keyed with the app secret, lower-case hex.

The client signs the very bytes it sends (:func:`encode_body`): JSON re-serialised with other spacing
would not match. Array values are comma-joined and an empty body adds nothing, as TikTok's official
SDK does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_spapi.tiktok import catalog

MULTIPART = "multipart/form-data"


def string_to_sign(path: str, query: Mapping[str, str], body: bytes, app_secret: str, content_type: str = "application/json") -> bytes:
    """The exact bytes that are HMAC'ed (exposed for tests and for debugging a 106001 invalid sign)."""
    skipped = catalog.unsigned_query_params()
    params = "".join(f"{key}{query[key]}" for key in sorted(query) if key not in skipped)
    payload = (path + params).encode("utf-8")
    if body and not content_type.lower().startswith(MULTIPART):
        payload += body
    secret = app_secret.encode("utf-8")
    return secret + payload + secret


def sign(path: str, query: Mapping[str, str], body: bytes, app_secret: str, content_type: str = "application/json") -> str:
    """The ``sign`` of a request: lower-case hex HMAC-SHA256 of :func:`string_to_sign`, keyed with the app secret."""
    message = string_to_sign(path, query, body, app_secret, content_type)
    return hmac.new(app_secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def encode_body(body: Any) -> bytes:
    """The bytes sent (and signed) for a JSON body: compact, UTF-8; nothing for ``None``."""
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def query_value(value: Any) -> str:
    """One query value as TikTok expects it: arrays comma-joined, booleans lower case, datetimes as Unix seconds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return str(int(aware.timestamp()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(query_value(item) for item in value)
    return str(value)


def encode_query(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as strings (None values dropped): what is both sent and signed."""
    return {key: query_value(value) for key, value in (params or {}).items() if value is not None}
