"""Token buckets: Amazon's usage plans, mirrored on the client so that calls wait instead of failing.

SP-API throttles each operation per selling partner and application with a token bucket: ``rate``
tokens a second refill a bucket that holds ``burst``. The fastest a client can go is that refill
rate, so the client keeps a bucket of its own per (credentials, operation) and waits for a token
before it sends. The plan it mirrors comes, best first, from the ``x-amzn-RateLimit-Limit`` header
(a seller may have a higher plan), Amazon's published default (see :mod:`.catalog`), or, for an
operation with neither, an adaptive guess. A 429 means the guess was too high (or other workers
share the bucket): the rate is halved and climbs back additively while calls succeed (AIMD).

The emulator enforces Amazon's side with the same :class:`TokenBucket`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

# An operation Amazon publishes no plan for starts here and adapts.
UNKNOWN_PLAN_RATE = 5.0
UNKNOWN_PLAN_BURST = 5.0
# How far (seconds) the client's mirror of a bucket runs behind Amazon's, to absorb network jitter.
CLIENT_LAG = 0.05
# Bounds of the adaptive rate, in requests per second.
MIN_RATE = 0.001
MAX_RATE = 1000.0


class TokenBucket:
    """A thread-safe token bucket of ``burst`` tokens refilled at ``rate`` tokens per second. Starts full.

    ``lag`` (seconds) keeps the bucket that far behind an identical bucket on the server: it holds at
    most ``burst - rate * lag`` tokens. A client mirroring Amazon's bucket uses it to absorb network
    jitter (a request that left on time but arrived early would otherwise find the server's bucket
    a few milliseconds short of its next token).
    """

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic, lag: float = 0.0) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError(f"a token bucket needs a positive rate and burst, got rate={rate} burst={burst}")
        self._rate = float(rate)
        self._burst = float(burst)
        self._lag = lag
        self._tokens = self._capacity()
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def _capacity(self) -> float:
        # Never below one token: at high rates the lag is worth more tokens than the burst holds.
        return max(self._burst - self._rate * self._lag, min(1.0, self._burst))

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._burst

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity(), self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def try_acquire(self) -> float:
        """Take a token if one is there and return 0.0; otherwise take nothing and return the seconds until one is."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self._rate

    def reserve(self, max_wait: float = math.inf) -> float:
        """Take a token now, borrowing against the refill if need be, and return how long to wait before using it.

        Borrowing queues concurrent callers fairly: each one's wait is one refill interval after the
        previous caller's, so N threads never all wake up for the same token. A wait longer than
        ``max_wait`` takes nothing (the returned wait says how long it would have been).
        """
        with self._lock:
            self._refill()
            wait = max(0.0, 1.0 - self._tokens) / self._rate
            if wait > max_wait:
                return wait
            self._tokens -= 1.0
            return wait

    def drain(self) -> None:
        """Empty the bucket: the server said it is empty (429), so the next token comes after one refill."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)

    def set_plan(self, rate: float, burst: float | None = None) -> None:
        """Change the refill rate (and size); tokens already in the bucket stay, capped at the new size."""
        with self._lock:
            self._refill()
            if not math.isnan(rate):  # NaN would stop the bucket from ever waiting again
                self._rate = min(max(float(rate), MIN_RATE), MAX_RATE)
            if burst is not None:
                self._burst = max(float(burst), 1.0)
            self._tokens = min(self._tokens, self._capacity())


class WaitTooLong(Exception):
    """The next token of a bucket is further away than the caller may wait; ``wait`` says how far (seconds)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the next token is {wait:.1f}s away")
        self.wait = wait


@dataclass
class _Plan:
    """What the client believes about one (credentials, operation) bucket."""

    bucket: TokenBucket
    ceiling: float | None  # the plan's rate when Amazon told us (header or model); None when adaptive
    from_header: bool = False
    last_throttled: float | None = None  # clock time of the last 429


class RateLimiter:
    """Client-side buckets per (principal, operation), shared by every client of the same credentials.

    ``principal`` is an opaque, non-secret fingerprint of the credentials (see
    :func:`.tokens.fingerprint`): usage plans belong to the selling partner and application, so two
    hooks of the same seller share buckets and two sellers never do.
    """

    def __init__(self, clock: Clock = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, principal: str, operation: str, rate: float | None, burst: float | None) -> _Plan:
        key = (principal, operation)
        with self._lock:
            plan = self._plans.get(key)
            if plan is None:
                known = rate is not None and burst is not None
                bucket = TokenBucket(
                    rate if rate is not None else UNKNOWN_PLAN_RATE,
                    burst if burst is not None else UNKNOWN_PLAN_BURST,
                    self._clock,
                    lag=CLIENT_LAG,
                )
                plan = self._plans[key] = _Plan(bucket=bucket, ceiling=rate if known else None)
            return plan

    def acquire(self, principal: str, operation: str, rate: float | None, burst: float | None, *, max_wait: float = math.inf) -> float:
        """Wait for a token of this operation's bucket; return the seconds waited (0.0 when one was there).

        ``rate`` and ``burst`` are Amazon's default plan for the operation, or None where it has none;
        they seed the bucket the first time the operation is seen. A wait longer than ``max_wait``
        (the caller's remaining time budget) raises :class:`WaitTooLong` at once, taking no token.
        """
        wait = self._plan(principal, operation, rate, burst).bucket.reserve(max_wait)
        if wait > max_wait:
            raise WaitTooLong(wait)
        if wait > 0:
            self._sleep(wait)
        return wait

    def observe_limit_header(self, principal: str, operation: str, header: str | None) -> None:
        """Adopt the plan rate Amazon reports in ``x-amzn-RateLimit-Limit`` (a best-effort hint, often absent)."""
        if not header:
            return
        try:
            rate = float(header)
        except ValueError:
            return
        if not math.isfinite(rate) or rate <= 0:
            return
        plan = self._plan(principal, operation, rate, None)
        if plan.ceiling != rate or not plan.from_header:
            plan.ceiling, plan.from_header = rate, True
            plan.bucket.set_plan(rate)

    def record_success(self, principal: str, operation: str) -> None:
        """Additive increase: each success climbs a tenth of the plan back towards the ceiling (or probes up without one)."""
        plan = self._plans.get((principal, operation))
        if plan is None:
            return
        target = plan.ceiling if plan.ceiling is not None else MAX_RATE
        if plan.bucket.rate < target:
            step = (plan.ceiling if plan.ceiling is not None else UNKNOWN_PLAN_RATE) / 10
            plan.bucket.set_plan(min(target, plan.bucket.rate + step))

    def record_throttled(self, principal: str, operation: str) -> float:
        """React to a 429 and return the rate now in force.

        The bucket is emptied: Amazon says it is empty, so the next token comes one refill later. With
        a known plan, a lone 429 only means the mirror ran a little ahead (jitter), so the rate stays;
        a second 429 within one bucket's worth of time means someone else (another worker) spends the
        same bucket, and the rate halves (multiplicative decrease). Without a known plan every 429 halves.
        """
        plan = self._plans.get((principal, operation))
        if plan is None:
            return 0.0
        now = self._clock()
        bucket = plan.bucket
        recently = plan.last_throttled is not None and now - plan.last_throttled <= bucket.burst / bucket.rate
        if plan.ceiling is None or recently:
            bucket.set_plan(bucket.rate / 2)
        plan.last_throttled = now
        bucket.drain()
        return bucket.rate

    def clear(self) -> None:
        """Forget every bucket (tests; a process that changed credentials wholesale)."""
        with self._lock:
            self._plans.clear()

    def current_rate(self, principal: str, operation: str) -> float | None:
        plan = self._plans.get((principal, operation))
        return None if plan is None else plan.bucket.rate


#: The process-wide limiter every hook uses, so buckets are shared across hooks of the same credentials.
shared_rate_limiter = RateLimiter()
