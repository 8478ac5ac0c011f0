"""What a client did, counted for the end-of-task log line. No tokens in here."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields


@dataclass
class ClientStats:
    """What a client did, for the end-of-task log line: calls, retries, waits and mints. No tokens in here."""

    calls: int = 0
    pages: int = 0
    retries: int = 0
    throttled: int = 0
    throttle_waits: int = 0
    throttle_wait_seconds: float = 0.0
    tokens_minted: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            values = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "_lock"}
        values["throttle_wait_seconds"] = round(values["throttle_wait_seconds"], 3)
        return values
