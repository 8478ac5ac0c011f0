"""The emulator's own token bucket per (app key, API path): TikTok's per-app, per-API QPS."""

from __future__ import annotations

import threading
import time


class Bucket:
    """``burst`` tokens refilled at ``rate`` a second; starts full."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, max(burst, 1.0)
        self.tokens = self.burst
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Buckets:
    """Buckets created full on first use; changing the plan starts them all afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._plan = (0.0, 0.0)

    def allow(self, app_key: str, api: str, rate: float, burst: float) -> bool:
        """Take a token, or say no. ``rate <= 0`` turns throttling off."""
        if rate <= 0:
            return True
        with self._lock:
            if (rate, burst) != self._plan:
                self._buckets.clear()
                self._plan = (rate, burst)
            bucket = self._buckets.setdefault((app_key, api), Bucket(rate, burst))
            return bucket.take()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
