"""Tokens in process memory: minted once per lifetime, shared by every client of the same credentials.

An LWA access token lives an hour and LWA throttles minting, so a process should mint one per
credentials per hour, however many hooks, tasks or threads ask. :class:`TokenCache` does that:

* keys are fingerprints (SHA-256) of everything the token depends on, never a connection id alone
  (two connections with different refresh tokens never share a token) and never a secret in clear;
* a token is renewed ``refresh_margin`` before it expires, so no call goes out with a dying token;
* one mint at a time per key (single-flight): threads asking for the same key wait for the one
  that mints, while other keys mint in parallel.

Tokens live only here: never in XCom, Variables, files or logs.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


def fingerprint(*parts: str | None) -> str:
    """A stable, non-reversible name for a set of credentials, safe to use as a dict key or in a log."""
    digest = hashlib.sha256("\x00".join(part or "" for part in parts).encode("utf-8"))
    return digest.hexdigest()[:32]


def refresh_margin(lifetime: float) -> float:
    """How long before expiry a token is renewed: a tenth of its lifetime, at most five minutes."""
    return min(300.0, lifetime / 10)


@dataclass(frozen=True)
class Token:
    """A bearer token and when (on the monotonic clock) it should be renewed. The value never shows in a repr."""

    value: str = field(repr=False)
    renew_at: float
    kind: str = "access"

    def __str__(self) -> str:
        return f"<{self.kind} token>"

    def fresh(self, now: float) -> bool:
        return now < self.renew_at


def new_token(value: str, expires_in: float, kind: str, clock: Clock = time.monotonic) -> Token:
    """A token that lives ``expires_in`` seconds from now, renewed ``refresh_margin`` before that."""
    return Token(value=value, renew_at=clock() + expires_in - refresh_margin(expires_in), kind=kind)


class TokenCache:
    """A thread-safe, single-flight cache of tokens by fingerprint."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[str, Token] = {}
        self._mint_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _mint_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._mint_locks.setdefault(key, threading.Lock())

    def _cached(self, key: str) -> Token | None:
        token = self._tokens.get(key)
        return token if token is not None and token.fresh(self._clock()) else None

    def get(self, key: str, mint: Callable[[], Token]) -> tuple[Token, bool]:
        """The cached token for ``key``, minting it with ``mint`` if missing or due; returns (token, minted)."""
        token = self._cached(key)
        if token is not None:
            return token, False
        with self._mint_lock(key):
            # Another thread may have minted while this one waited for the lock.
            token = self._cached(key)
            if token is not None:
                return token, False
            token = mint()
            with self._lock:
                self._prune()
                self._tokens[key] = token
            return token, True

    def _prune(self) -> None:
        """Drop tokens past renewal (RDTs for one-off document paths would otherwise pile up). Caller holds the lock."""
        now = self._clock()
        for stale in [key for key, token in self._tokens.items() if not token.fresh(now)]:
            del self._tokens[stale]

    def invalidate(self, key: str, token: Token | None = None) -> None:
        """Forget ``key``'s token (only if it is still ``token``, so a fresh one another thread minted survives)."""
        with self._lock:
            if token is None or self._tokens.get(key) is token:
                self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"<TokenCache of {len(self._tokens)} tokens>"


#: The process-wide cache every hook shares.
shared_token_cache = TokenCache()
