"""Server-side usage plans: one token bucket per (selling partner or application, operation), as Amazon does.

The plan of an operation is, first match wins: a ``usage_plans`` override by operation key
(``ordersV0.getOrders``), then by operation name (``getOrders``); otherwise the default its model
publishes, or :func:`.facts.unpublished_usage_plan` for an operation that publishes none,
multiplied (rate and burst) by ``rate_scale``. Overrides are taken as given, not scaled. A burst
never drops below one request, so a small ``rate_scale`` slows an operation down without blocking it.

The sandbox mode spends separate buckets, all on Amazon's uniform sandbox plan (5/s, burst 15,
also scaled by ``rate_scale``). Changing the plans (``rate_scale``, ``usage_plans``) starts every
bucket afresh, full.

The bucket is the emulator's own, not the client's ``core.ratelimit.TokenBucket``: a mistake in
the client's arithmetic must not be mirrored by the server it is tested against.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from airflow_provider_spapi.emulator.facts import sandbox_usage_plan, unpublished_usage_plan
from airflow_provider_spapi.emulator.model import Operation

Clock = Callable[[], float]


class Bucket:
    """``burst`` tokens, refilled continuously at ``rate`` per second; starts full. Guarded by the Throttler's lock."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.level = burst
        self.checked = now

    def take(self, now: float) -> float:
        """Take one token and return 0.0, or take none and return the seconds until a whole token is there."""
        self.level = min(self.burst, self.level + (now - self.checked) * self.rate)
        self.checked = now
        if self.level >= 1.0:
            self.level -= 1.0
            return 0.0
        return (1.0 - self.level) / self.rate


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
    """Token buckets keyed by (principal, operation key, mode), created full on first use."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, bool], Bucket] = {}
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

    def plan(self, operation: Operation, *, sandbox: bool = False) -> tuple[float, float]:
        """(rate, burst) in force for ``operation``, on the production or the sandbox side."""
        if sandbox:
            rate, burst = sandbox_usage_plan()
        else:
            override = self._overrides.get(operation.key) or self._overrides.get(operation.name)
            if override is not None:
                return override
            default_rate, default_burst = unpublished_usage_plan()
            rate = operation.rate if operation.rate is not None else default_rate
            burst = operation.burst if operation.burst is not None else default_burst
        return rate * self._scale, max(burst * self._scale, 1.0)

    def acquire(self, principal: str, operation: Operation, *, sandbox: bool = False) -> Decision:
        """Take one token of the caller's bucket for ``operation``, or report how long until one is there."""
        with self._lock:
            rate, burst = self.plan(operation, sandbox=sandbox)
            key = (principal, operation.key, sandbox)
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = Bucket(rate, burst, now)
            wait = bucket.take(now)
        return Decision(allowed=wait == 0.0, rate=rate, retry_in=wait)
