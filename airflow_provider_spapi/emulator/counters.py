"""What the emulator has seen, for tests to assert on: token mints, calls, throttles, faults, downloads.

``GET /_emulator/counters`` (or ``Emulator.counters()``) returns::

    {"lwa": {"refresh_token": n, "client_credentials": n, "authorization_code": n},
     "lwa_by_scope": {scope: n}, "rdt": n, "requests": {operation_key: n},
     "throttled": {operation_key: n}, "faults": {kind: n}, "rotations": n,
     "document_downloads": n, "document_uploads": n}

``lwa`` and ``rdt`` count tokens actually issued (a refused grant is not a mint); ``requests``
counts every call routed to an operation, whatever its answer; ``throttled`` counts the 429s of the
usage-plan buckets (a 429 injected by a fault counts under ``faults``).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

GRANT_TYPES = ("refresh_token", "client_credentials", "authorization_code")


class Counters:
    """Thread-safe counters; ``snapshot`` returns a deep copy safe to serialise."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._data = {
                "lwa": dict.fromkeys(GRANT_TYPES, 0),
                "lwa_by_scope": {},
                "rdt": 0,
                "requests": {},
                "throttled": {},
                "faults": {},
                "rotations": 0,
                "document_downloads": 0,
                "document_uploads": 0,
            }

    def add(self, name: str, key: str | None = None, amount: int = 1) -> None:
        """Add to a plain counter (``rdt``) or to one key of a counter map (``requests``, ``getOrders``)."""
        with self._lock:
            if key is None:
                self._data[name] += amount
            else:
                table = self._data[name]
                table[key] = table.get(key, 0) + amount

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._data)
