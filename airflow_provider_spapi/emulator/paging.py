"""Opaque, tamper-evident pagination tokens (``NextToken``, ``nextToken``, ``paginationToken``).

A token carries the query it continues (filters and position) as signed JSON, so a page request
with a token needs nothing else, and a token that was garbled, truncated or made up is recognised
and refused (400 ``InvalidInput``) instead of silently restarting the listing. The key derives from
the seed, so tokens are stable across restarts of the same emulator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

_MAC_BYTES = 12


class Pager:
    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"spapi-emulator-paging:{seed}".encode()).digest()

    def encode(self, state: dict[str, Any]) -> str:
        data = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, data, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(mac + data).decode().rstrip("=")

    def decode(self, token: str, kind: str) -> dict[str, Any] | None:
        """The state inside ``token`` if it is genuine and of ``kind`` (a token of getReports is no getOrders token)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            return None
        mac, data = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        if not hmac.compare_digest(mac, hmac.new(self._key, data, hashlib.sha256).digest()[:_MAC_BYTES]):
            return None
        try:
            state = json.loads(data)
        except ValueError:
            return None
        if not isinstance(state, dict) or state.get("kind") != kind:
            return None
        return state
