"""Server-side usage plans: one token bucket per (selling partner or application, operation), as Amazon does.

The plan of an operation is, first match wins: a ``usage_plans`` override by operation key
(``ordersV0.getOrders``), then by operation name (``getOrders``); otherwise Amazon's published
default from the catalog, or 5 requests/s burst 5 for an operation that publishes none, multiplied
(rate and burst) by ``rate_scale``. Overrides are taken as given, not scaled. A burst never drops
below one request, so a small ``rate_scale`` slows an operation down without blocking it.

Changing the plans (``rate_scale``, ``usage_plans``) starts every bucket afresh, full.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_spapi.core.ratelimit import UNKNOWN_PLAN_BURST, UNKNOWN_PLAN_RATE, Clock, TokenBucket
from airflow_provider_spapi.spapi.catalog import Operation


@dataclass(frozen=True)
class Decision:
    """The bucket's answer: allowed or not, and the plan's rate for ``x-amzn-RateLimit-Limit``."""

    allowed: bool
    rate: float
    retry_in: float


def format_rate(rate: float) -> str:
    """``0.0167`` stays ``0.0167``, ``2.0`` becomes ``2.0``: the header Amazon sends is a decimal string."""
    text = f"{rate:.6g}"
    return text if any(c in text for c in ".e") else f"{text}.0"


class Throttler:
    """Token buckets keyed by (principal, operation key), created full on first use."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._scale = 1.0
        self._overrides: dict[str, tuple[float, float]] = {}

    def configure(self, rate_scale: float, usage_plans: Mapping[str, tuple[float, float]]) -> None:
        with self._lock:
            if rate_scale != self._scale or dict(usage_plans) != self._overrides:
                self._buckets.clear()
            self._scale = rate_scale
            self._overrides = dict(usage_plans)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def plan(self, operation: Operation) -> tuple[float, float]:
        """(rate, burst) in force for ``operation``."""
        override = self._overrides.get(operation.key) or self._overrides.get(operation.name)
        if override is not None:
            return override
        rate = operation.rate if operation.rate is not None else UNKNOWN_PLAN_RATE
        burst = operation.burst if operation.burst is not None else UNKNOWN_PLAN_BURST
        return rate * self._scale, max(burst * self._scale, 1.0)

    def acquire(self, principal: str, operation: Operation) -> Decision:
        """Take one token of the caller's bucket for ``operation``, or report how long until one is there."""
        with self._lock:
            rate, burst = self.plan(operation)
            key = (principal, operation.key)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(rate, burst, self._clock)
        wait = bucket.try_acquire()
        return Decision(allowed=wait == 0.0, rate=rate, retry_in=wait)
