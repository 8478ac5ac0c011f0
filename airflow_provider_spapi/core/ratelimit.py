"""Token buckets: a platform's usage plans, mirrored on the client so that calls wait instead of failing.

A rate-limited platform throttles each operation per account and application with a token bucket:
``rate`` tokens a second refill a bucket that holds ``burst``. The fastest a client can go is that
refill rate, so the client keeps a bucket of its own per (credentials, operation) and waits for a
token before it sends. The plan it mirrors comes, best first, from a rate the platform reports on
its answers (:meth:`RateLimiter.observe_limit_header`), the platform's published default, or, for an
operation with neither, an adaptive guess.

A 429 says the platform's bucket was empty. Either the mirror ran a little ahead (network jitter),
or someone else spends the same bucket: another worker process with the same credentials, which
this process cannot see. N such processes that each send at ``rate / N`` share the plan fairly and
together run at its ceiling; the limiter learns that share from what it observes, without talking
to the other processes:

* *decrease*: once per interval of the rate in force (the 429s of one overloaded moment are one
  signal, not many), a 429 moves the rate to :data:`HEADROOM` times the rate at which this process's
  recent calls got through (its rate times the share of its last :data:`OUTCOME_SAMPLES` calls that
  passed): that is the share of the plan it demonstrably gets, and the headroom keeps the plan busy.
  One step multiplies the rate by a factor between :data:`DECREASE_MIN` and :data:`DECREASE_MAX`:
  a lone jitter 429 costs a few slower calls, a storm of them cannot collapse the rate;
* *increase*: each success raises the rate by a tenth of itself plus a hundredth of the plan, up to
  the plan's ceiling: a process whose neighbours finished has the whole plan back within a few dozen
  calls, while N processes probing together overshoot the plan only slightly;
* *no bursts while sharing*: after a 429 the mirror holds one token, so a process never fires its
  whole burst into a bucket someone else is draining;
* *first contact*: a 429 before any call of this process got through says nothing about the rate
  (the published plan may be far below the account's, which only a successful answer reports), so
  the rate stays and the retry comes within :data:`FIRST_CONTACT_PROBE` seconds, then
  :data:`PROBE_GROWTH` times longer on each further 429, instead of one interval of an unconfirmed plan.

The rate never leaves ``[MIN_RATE, MAX_RATE]``. Processes that must not collide at all share their
buckets through a store instead (:mod:`.ratestore`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

# An operation with no published plan starts here and adapts.
UNKNOWN_PLAN_RATE = 5.0
UNKNOWN_PLAN_BURST = 5.0
# How far (seconds) the client's mirror of a bucket runs behind the platform's, to absorb network jitter.
CLIENT_LAG = 0.05
# Bounds of the adaptive rate, in requests per second.
MIN_RATE = 0.001
MAX_RATE = 1000.0
# Each success adds this fraction of the current rate, and a hundredth of the plan, up to the plan's ceiling.
INCREASE = 0.1
INCREASE_OF_PLAN = 0.01
# How many recent calls measure the share of them that gets through.
OUTCOME_SAMPLES = 8
# After a 429 the rate aims this far above the rate at which calls got through, so that the plan stays busy.
HEADROOM = 1.25
# One decrease multiplies the rate by a factor between these two.
DECREASE_MIN = 0.5
DECREASE_MAX = 0.7
# The first retry after a 429 on a plan no call has yet got through waits at most this long (then doubles).
FIRST_CONTACT_PROBE = 2.0
PROBE_GROWTH = 1.5


class TokenBucket:
    """A thread-safe token bucket of ``burst`` tokens refilled at ``rate`` tokens per second. Starts full.

    ``lag`` (seconds) keeps the bucket that far behind an identical bucket on the server: it holds at
    most ``burst - rate * lag`` tokens. A client mirroring the platform's bucket uses it to absorb
    network jitter (a request that left on time but arrived early would otherwise find the server's
    bucket a few milliseconds short of its next token).
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

    def drain(self, within: float | None = None) -> None:
        """Empty the bucket: the server said it is empty (429), so the next token comes after one refill.

        ``within`` (seconds) brings that next token forward when a whole refill interval is longer.
        """
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)
            if within is not None:
                self._tokens = max(self._tokens, 1.0 - within * self._rate)

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
    ceiling: float | None  # the plan's rate when the platform told us (header or published plan); None when adaptive
    from_header: bool = False
    last_decrease: float | None = None  # clock time the rate last went down
    got_through: bool = False  # has any call of this process passed the platform's bucket?
    first_contact_429s: int = 0  # 429s in a row before the first call got through
    outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=OUTCOME_SAMPLES))  # recent calls: True = passed

    def passed_fraction(self) -> float:
        """The share of this process's recent calls that passed: its rate times this is the rate its calls get through at."""
        # Counted as if one more call had passed: a single 429 is weak evidence, a run of them strong.
        return (sum(self.outcomes) + 1) / (len(self.outcomes) + 1)


class RateLimiter:
    """Client-side buckets per (principal, operation), shared by every client of the same credentials in a process.

    ``principal`` is an opaque, non-secret fingerprint of the credentials (see
    :func:`.tokens.fingerprint`): usage plans belong to the account and application, so two
    hooks of the same account share buckets and two accounts never do.
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

        ``rate`` and ``burst`` are the operation's published plan, or None where it has none; they
        seed the bucket the first time the operation is seen. A wait longer than ``max_wait`` (the
        caller's remaining time budget) raises :class:`WaitTooLong` at once, taking no token.
        """
        wait = self._plan(principal, operation, rate, burst).bucket.reserve(max_wait)
        if wait > max_wait:
            raise WaitTooLong(wait)
        if wait > 0:
            self._sleep(wait)
        return wait

    def observe_limit_header(self, principal: str, operation: str, header: str | None) -> None:
        """Adopt the plan rate the platform reports in a response header (best effort: often absent).

        The reported rate becomes the ceiling. The rate in force moves to it only the first time (or
        when the plan changes): afterwards it is this process's learned share of that plan.
        """
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
        """Increase: a success raises the rate by a tenth of itself and a hundredth of the plan, up to the ceiling."""
        plan = self._plans.get((principal, operation))
        if plan is None:
            return
        plan.outcomes.append(True)
        plan.got_through = True
        plan.first_contact_429s = 0
        rate = plan.bucket.rate
        target = plan.ceiling if plan.ceiling is not None else MAX_RATE
        if rate < target:
            scale = plan.ceiling if plan.ceiling is not None else UNKNOWN_PLAN_RATE
            plan.bucket.set_plan(min(target, rate * (1 + INCREASE) + scale * INCREASE_OF_PLAN))

    def record_throttled(self, principal: str, operation: str) -> float:
        """React to a 429 and return the rate now in force.

        The bucket is emptied (the platform says its own is empty) and shrinks to one token. Once
        per interval of the rate in force, the rate moves to :data:`HEADROOM` times the rate at which
        this process's recent calls got through (bounded by :data:`DECREASE_MIN` and
        :data:`DECREASE_MAX` of itself). Before any call has got through, nothing is known about the
        rate: it stays, and the next token comes within :data:`FIRST_CONTACT_PROBE` seconds, then
        :data:`PROBE_GROWTH` times longer on each further 429.
        """
        plan = self._plans.get((principal, operation))
        if plan is None:
            return 0.0
        now = self._clock()
        plan.outcomes.append(False)
        bucket = plan.bucket
        rate = bucket.rate
        if not plan.got_through:
            plan.first_contact_429s += 1
        elif plan.last_decrease is None or now - plan.last_decrease >= 1.0 / rate:
            plan.last_decrease = now
            factor = min(max(plan.passed_fraction() * HEADROOM, DECREASE_MIN), DECREASE_MAX)
            bucket.set_plan(rate * factor)
            plan.outcomes.clear()  # the next decision rests on calls sent at the new rate
        bucket.set_plan(bucket.rate, burst=1.0)
        bucket.drain(self._first_contact_wait(principal, operation))
        return bucket.rate

    def _first_contact_wait(self, principal: str, operation: str) -> float | None:
        """How long the retry after a 429 may wait at most while no call of this plan has got through (None: no bound)."""
        plan = self._plans.get((principal, operation))
        if plan is None or plan.got_through or not plan.first_contact_429s:
            return None
        return FIRST_CONTACT_PROBE * PROBE_GROWTH ** (plan.first_contact_429s - 1)

    def clear(self) -> None:
        """Forget every bucket (tests; a process that changed credentials wholesale)."""
        with self._lock:
            self._plans.clear()

    def current_rate(self, principal: str, operation: str) -> float | None:
        plan = self._plans.get((principal, operation))
        return None if plan is None else plan.bucket.rate


#: The process-wide limiter every hook uses, so buckets are shared across hooks of the same credentials.
shared_rate_limiter = RateLimiter()
