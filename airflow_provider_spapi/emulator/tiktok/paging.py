"""Opaque page tokens bound to the query they page through. They always contain ``+`` and ``/`` (standard base64)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

# Three bytes that encode as "++//": every token carries both characters a careless client mangles.
_MARK = b"\xfb\xef\xff"


def digest(query: Any) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:12]


def make_token(query_digest: str, offset: int) -> str:
    return base64.b64encode(_MARK + f"{query_digest}:{offset}".encode()).decode()


def read_token(token: str, query_digest: str) -> int | None:
    """The offset a token stands for, or None when it is malformed or belongs to another query."""
    try:
        raw = base64.b64decode(token.encode(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_MARK):
        return None
    owner, _, offset = raw[len(_MARK) :].decode(errors="replace").partition(":")
    return int(offset) if owner == query_digest and offset.isdigit() else None


def page(items: list[Any], query: Any, page_size: int, token: str | None) -> tuple[list[Any], str] | None:
    """One page of ``items`` and the next token ("" on the last page); None when ``token`` is not valid here."""
    key = digest(query)
    offset = 0
    if token:
        found = read_token(token, key)
        if found is None:
            return None
        offset = found
    end = offset + page_size
    return items[offset:end], (make_token(key, end) if end < len(items) else "")
