"""The newest token pair the process holds for each seller authorisation, shared by every client.

TikTok's refresh answer may carry a new refresh token, and whether the old one keeps working is
unsettled. So the process never goes back to the connection's refresh token once it holds a newer
one: each authorisation (app key + the refresh token the connection started from, fingerprinted)
has one :class:`Grant` here, updated the moment a refresh answers. A rotated refresh token becomes a
second name of the same grant, so a connection that has since stored the new token (the hook persists
it) finds the same grant and the same cached access token. Tokens stay in process memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Grant:
    """One authorisation's newest refresh token and its expiry, the access tokens TikTok refused, the shops it covers.

    ``key`` is the fingerprint the grant was first known by: what cached access tokens are filed under.
    """

    key: str
    refresh_token: str | None = field(repr=False)
    refresh_token_expires_at: datetime | None
    refused: set[str] = field(default_factory=set, repr=False)  # fingerprints of access tokens TikTok called expired
    shops: list[dict[str, Any]] | None = field(default=None, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class GrantRegistry:
    """Thread-safe map of fingerprint → :class:`Grant`; a grant is created from the first connection that names it."""

    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def get(self, key: str, refresh_token: str | None, expires_at: datetime | None) -> Grant:
        with self._lock:
            grant = self._grants.get(key)
            if grant is None:
                grant = self._grants[key] = Grant(key=key, refresh_token=refresh_token, refresh_token_expires_at=expires_at)
            return grant

    def alias(self, key: str, grant: Grant) -> None:
        """Let ``key`` (the fingerprint of a rotated refresh token) name ``grant`` too."""
        with self._lock:
            self._grants.setdefault(key, grant)

    def clear(self) -> None:
        """Forget every grant (tests; a process that changed credentials wholesale)."""
        with self._lock:
            self._grants.clear()

    def __repr__(self) -> str:
        return f"<GrantRegistry of {len(self._grants)} authorisations>"


#: The process-wide registry every client shares.
shared_grants = GrantRegistry()
