"""When to try a call again, and how long to wait first.

A call is retried on 429, 500, 502, 503, 504, connection errors and read timeouts, never on other
4xx. The policy is bounded twice (attempts and total seconds, both settable on the connection) and
waits with exponential backoff and full jitter, or as long as ``Retry-After`` asks. A 429 from
a rate-limited platform call adds no backoff of its own: the client's rate limiter has just halved its rate and emptied
its bucket, so the next attempt already waits for the next token (``paced``). Calls without a
limiter (LWA, document URLs) back off. The retry loop itself is tenacity's, which Airflow already
depends on.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests
import tenacity

from airflow_provider_spapi.core.errors import ApiError, ErrorFamily

T = TypeVar("T")


@dataclass(frozen=True)
class RetrySettings:
    """How hard a call tries before it gives up: attempts and total seconds bound it, timeouts bound each try."""

    max_attempts: int = 8
    max_retry_seconds: float = 300.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0

# Exponential backoff with full jitter: a random wait between 0 and min(BACKOFF_MAX, BACKOFF_INITIAL * 2**attempt).
_backoff = tenacity.wait_random_exponential(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX)


class LoggerLike(Protocol):
    """The logging calls the core makes: a ``logging.Logger`` or Airflow's task logger both fit."""

    def info(self, msg: Any, /, *args: Any) -> Any: ...

    def warning(self, msg: Any, /, *args: Any) -> Any: ...


class Retryable(Exception):
    """Raised inside an attempt to ask for another one. ``reason`` is safe to log (no token, no body).

    ``paced`` says the next attempt already waits for its turn (the caller's rate limiter has just
    emptied its bucket), so no backoff is added; everything else backs off.
    """

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None, paced: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.paced = paced

    @property
    def throttled(self) -> bool:
        return self.status == 429


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def raise_if_retryable(response: requests.Response, answered: str = "") -> None:
    """Ask for another attempt when the status is one that may pass (429, 500, 502, 503, 504), honouring Retry-After.

    ``answered`` starts the logged reason, e.g. ``"LWA answered "``: the reason reads "LWA answered HTTP 503".
    """
    if response.status_code in RETRY_STATUSES:
        raise Retryable(
            f"{answered}HTTP {response.status_code}",
            status=response.status_code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )


def _wait(state: tenacity.RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, Retryable):
        if error.retry_after is not None:
            return min(error.retry_after, BACKOFF_MAX * 4)
        if error.paced:
            return 0.0
    return float(_backoff(state))


def retrying(
    settings: RetrySettings,
    *,
    describe: Callable[[], str],
    logger: LoggerLike,
    platform: str,
    on_retry: Callable[[Retryable], None] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> tenacity.Retrying:
    """A tenacity loop for one logical call: ``for attempt in retrying(...): with attempt: ...``.

    ``describe`` names the call for the log line (operation, never a token), ``platform`` starts it
    ("SP-API", "TikTok Shop"); ``on_retry`` counts. When the budget runs out, the last
    :class:`Retryable` is re-raised for the caller to translate.
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Retryable):
            if on_retry is not None:
                on_retry(error)
            wait = state.next_action.sleep if state.next_action else 0.0
            logger.info(
                "%s %s: %s; retry %d of %d in %.2fs",
                platform,
                describe(),
                error.reason,
                state.attempt_number,
                settings.max_attempts - 1,
                wait,
            )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Retryable),
        stop=tenacity.stop_after_attempt(settings.max_attempts) | tenacity.stop_after_delay(settings.max_retry_seconds),
        wait=_wait,
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )


def exhausted(error: Retryable, operation: str, settings: RetrySettings, errors: ErrorFamily) -> ApiError:
    """The error to raise when every retry the policy allows has failed, saying what to change."""
    budget = f"after {settings.max_attempts} attempts or {settings.max_retry_seconds:g}s"
    if error.throttled:
        return errors.throttled(
            f"still throttled (HTTP 429) {budget}. Other processes are spending these credentials' usage plan: set the "
            "connection's rate_limit_store (a redis:// URL) so that every worker draws from one shared bucket and waits "
            "instead of colliding, or run fewer tasks for this seller and operation at once (max_active_tis_per_dag), "
            "or raise max_attempts/max_retry_seconds in the connection.",
            status=429,
            code=errors.throttled_code,
            operation=operation,
        )
    return errors.server(
        f"{error.reason} {budget}. {errors.platform} or the network is failing; the task can be retried later.",
        status=error.status,
        operation=operation,
    )


def run_with_retries(
    attempt: Callable[[], T],
    settings: RetrySettings,
    *,
    operation: str,
    logger: LoggerLike,
    errors: ErrorFamily,
    on_retry: Callable[[Retryable], None] | None = None,
) -> T:
    """Call ``attempt`` until it returns, retrying while it raises :class:`Retryable` and the budget lasts.

    Any other exception propagates at once; an exhausted budget raises the error :func:`exhausted` builds
    from ``errors``, the family of the platform being called.
    """
    try:
        for state in retrying(settings, describe=lambda: operation, logger=logger, platform=errors.platform, on_retry=on_retry):
            with state:
                return attempt()
    except Retryable as error:
        raise exhausted(error, operation, settings, errors) from None
    raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover
