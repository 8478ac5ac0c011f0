"""Usage-plan buckets shared through Redis, so every process and machine of the same credentials draws from one.

Without shared state each worker process mirrors the platform's bucket on its own and learns its
share of the plan from 429s (:mod:`.ratelimit`). With a store, the bucket itself lives in Redis:
one hash per (credentials, operation), named by fingerprints (:func:`.tokens.fingerprint`), holding
only ``tokens``, ``updated`` and the plan's ``rate``/``burst``; never a token or a secret. A Lua
script refills it on Redis's own clock (``TIME``, so the workers' clocks need not agree) and hands
out a reservation in one round trip: every caller gets the next free slot of the plan, so N workers
queue one interval apart instead of colliding.

A rate the platform reports on an answer is written to the hash and wins over the published plan
the other workers still believe in, so one worker's first answer paces them all.

The store is an optimisation, never a dependency of a call: if Redis cannot be reached the limiter
logs one WARNING, uses the process's own buckets, and tries the store again a minute later. The
``redis`` client is an optional extra (``pip install 'airflow-provider-spapi[redis]'``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from airflow_provider_spapi.core.config import FieldError
from airflow_provider_spapi.core.ratelimit import CLIENT_LAG, RateLimiter, WaitTooLong
from airflow_provider_spapi.core.tokens import fingerprint

log = logging.getLogger(__name__)

SCHEMES = ("redis", "rediss")
KEY_PREFIX = "airflow-provider-spapi:bucket:"
# A bucket nobody touched for this long is full again anyway: Redis forgets it.
KEY_TTL_SECONDS = 3600
# Seconds to wait for Redis before falling back, and before trying it again after a failure.
STORE_TIMEOUT = 1.0
STORE_RETRY_AFTER = 60.0

# KEYS[1] the bucket; ARGV: op ("reserve", "drain", "plan"), rate, burst, lag, ttl.
# Floats go back as strings: Redis would truncate a Lua number to an integer.
BUCKET_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local op, rate, burst, lag, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'rate', 'burst', 'reported')
local reported = h[5] == '1'
if reported and op ~= 'plan' then rate = tonumber(h[3]) end
local old_rate = tonumber(h[3]) or rate
-- The burst only shrinks: a 429 taught some worker that the plan holds fewer tokens than published.
if h[4] then burst = math.min(burst, tonumber(h[4])) end
local function capacity(r, b) return math.max(b - r * lag, math.min(1, b)) end
local tokens = tonumber(h[1])
if tokens == nil then
  tokens = capacity(rate, burst)
else
  tokens = math.min(capacity(old_rate, burst), tokens + math.max(0, now - tonumber(h[2])) * old_rate)
end
local result = 0
if op == 'reserve' then
  tokens = math.min(tokens, capacity(rate, burst)) - 1
  if tokens < 0 then result = -tokens / rate end
elseif op == 'drain' then
  tokens = math.min(tokens, 0)
  burst = 1
elseif op == 'plan' then
  reported = true
  tokens = math.min(tokens, capacity(rate, burst))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now), 'rate', tostring(rate),
  'burst', tostring(burst), 'reported', reported and '1' or '0')
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(result)
"""


def parse_store_url(value: Any, field_name: str = "rate_limit_store") -> str:
    """Check a ``redis://host:port/db`` URL (``rediss://`` for TLS) and that the redis client is installed.

    The URL may carry a Redis password, so it is never echoed back in the error.
    """
    parsed = urlparse(value) if isinstance(value, str) else None
    fix = "Write it as redis://host:6379/0 (rediss:// for TLS), or remove the field to keep buckets per process."
    if parsed is None or parsed.scheme not in SCHEMES or not parsed.hostname:
        raise FieldError(field_name, "must be a redis:// or rediss:// URL with a host", fix)
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise FieldError(field_name, "has a port that is not a number", fix) from None
    database = parsed.path.strip("/")
    if database and not database.isdigit():
        raise FieldError(field_name, f"names database {database!r}; Redis databases are numbers", fix)
    try:
        import redis  # noqa: F401
    except ImportError:
        raise FieldError(
            field_name, "needs the redis client, which is not installed", "pip install 'airflow-provider-spapi[redis]'"
        ) from None
    return value


def _where(url: str) -> str:
    """host:port/db of a store URL, for log lines: never the password it may hold."""
    parsed = urlparse(url)
    return f"{parsed.hostname}:{parsed.port or 6379}{parsed.path or '/0'}"


class StoreRateLimiter(RateLimiter):
    """A :class:`.RateLimiter` whose buckets live in Redis; its own buckets are the fallback.

    The local bookkeeping (the plan's ceiling, the rate learned from 429s for plans nobody
    reported) still runs in this process: it decides the rate and burst each reservation asks for.
    """

    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(clock=clock, sleep=sleep)
        import redis

        self.url = url
        self._where = _where(url)
        self._redis = redis.Redis.from_url(url, socket_timeout=STORE_TIMEOUT, socket_connect_timeout=STORE_TIMEOUT)
        self._script = self._redis.register_script(BUCKET_SCRIPT)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._down_until: float | None = None
        self._warned = False
        self._state_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StoreRateLimiter({self._where!r})"

    def _key(self, principal: str, operation: str) -> str:
        return KEY_PREFIX + fingerprint(principal, operation)

    def _run(self, op: str, principal: str, operation: str, rate: float, burst: float) -> float | None:
        """One script call; None when the store is down (then the caller uses the local bucket)."""
        if self._down_until is not None and self._clock() < self._down_until:
            return None
        try:
            answer = self._script(keys=[self._key(principal, operation)], args=[op, rate, burst, CLIENT_LAG, KEY_TTL_SECONDS])
        except self._errors as error:
            with self._state_lock:
                self._down_until = self._clock() + STORE_RETRY_AFTER
                if not self._warned:
                    self._warned = True
                    log.warning(
                        "Rate-limit store %s is unreachable (%s): each process keeps its own usage-plan buckets until it is back",
                        self._where,
                        type(error).__name__,
                    )
            return None
        if self._down_until is not None:
            with self._state_lock:
                self._down_until, self._warned = None, False
                log.info("Rate-limit store %s is reachable again", self._where)
        return float(answer)

    def _asked_plan(self, principal: str, operation: str, rate: float | None, burst: float | None) -> tuple[float, float]:
        """The rate and burst to ask the store for: the reported plan if any, else what this process has learned."""
        plan = self._plan(principal, operation, rate, burst)
        if plan.from_header and plan.ceiling is not None:
            return plan.ceiling, plan.bucket.burst
        return plan.bucket.rate, plan.bucket.burst

    def acquire(self, principal: str, operation: str, rate: float | None, burst: float | None, *, max_wait: float = math.inf) -> float:
        """Reserve the next token of the shared bucket and wait for it (the local bucket while the store is down).

        A wait longer than ``max_wait`` raises :class:`WaitTooLong`; the reservation it made is not handed
        back (the script has no refund), which only makes the other workers a token's worth more careful.
        """
        asked_rate, asked_burst = self._asked_plan(principal, operation, rate, burst)
        wait = self._run("reserve", principal, operation, asked_rate, asked_burst)
        if wait is None:
            return super().acquire(principal, operation, rate, burst, max_wait=max_wait)
        cap = self._first_contact_wait(principal, operation)
        if cap is not None:
            wait = min(wait, cap)  # nobody has confirmed the plan yet: see ratelimit's first-contact rule
        if wait > max_wait:
            raise WaitTooLong(wait)
        if wait > 0:
            self._sleep(wait)
        return wait

    def observe_limit_header(self, principal: str, operation: str, header: str | None) -> None:
        super().observe_limit_header(principal, operation, header)
        plan = self._plans.get((principal, operation))
        if plan is not None and plan.from_header and plan.ceiling is not None:
            self._run("plan", principal, operation, plan.ceiling, plan.bucket.burst)

    def record_throttled(self, principal: str, operation: str) -> float:
        rate = super().record_throttled(principal, operation)
        plan = self._plans.get((principal, operation))
        if plan is not None:
            self._run("drain", principal, operation, *self._asked_plan(principal, operation, None, None))
        return rate


_limiters: dict[str, StoreRateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(url: str) -> StoreRateLimiter:
    """The process-wide limiter of one store URL (one connection pool per store, shared by every client)."""
    with _limiters_lock:
        limiter = _limiters.get(url)
        if limiter is None:
            limiter = _limiters[url] = StoreRateLimiter(url)
        return limiter
