"""The records inside an API page: the one list a list operation returns, found the same way on both platforms.

SP-API v0 wraps results in ``payload`` (``{"payload": {"Orders": [...], "NextToken": ...}}``), newer
SP-API versions return them bare (``{"orders": [...], "pagination": ...}``, ``{"reports": [...]}``)
and TikTok Shop in ``data`` (``{"code": 0, "data": {"orders": [...], "next_page_token": ...}}``).
:func:`page_records` unwraps the envelope and takes the first list it finds; a page that is one
object (getOrder) is one record. ``key`` (a dotted path such as ``payload.Orders``) names the list
when the first one is not the right one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Envelope keys around a result: SP-API v0's ``payload``, TikTok Shop's ``data``.
ENVELOPES = ("payload", "data")


def _at(page: Any, key: str) -> Any:
    value = page
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def page_records(page: Any, key: str | None = None) -> list[Any]:
    """The records of one page (see the module doc); ``[]`` for an empty page."""
    if key:
        value = _at(page, key)
        return list(value) if isinstance(value, list) else ([] if value is None else [value])
    result = page
    while isinstance(result, Mapping):
        envelope = next((name for name in ENVELOPES if name in result), None)
        if envelope is None:
            break
        result = result[envelope]
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping):
        for value in result.values():
            if isinstance(value, list):
                return value
    return [result] if result else []
