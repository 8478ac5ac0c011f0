"""When to try a call again, and how long to wait first.

A call is retried on 429, 500, 502, 503, 504, connection errors and read timeouts, never on other
4xx, and never on a transport fault that retrying cannot fix (TLS, proxy, a malformed URL). A call
that is not idempotent (a feed submission, a paid label) is retried only when the request surely
did not take effect: it never left (connection refused, connect timeout) or the server said it
refused it (429, 503 with ``Retry-After``). After a read timeout, a 5xx or a connection dropped
mid-answer it may have been applied, so it fails at once with an error (code ``OutcomeUnknown``)
saying what to check before sending it again. The policy is bounded twice (attempts and total seconds, both settable on the connection) and
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
import urllib3

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


#: The error code of a non-idempotent call that failed after it may have been applied.
OUTCOME_UNKNOWN = "OutcomeUnknown"


class Retryable(Exception):
    """Raised inside an attempt to ask for another one. ``reason`` is safe to log (no token, no body).

    ``paced`` says the next attempt already waits for its turn (the caller's rate limiter has just
    emptied its bucket), so no backoff is added; everything else backs off. ``may_have_applied``
    says the server may have acted on the request (it was sent and no clear refusal came back):
    only idempotent calls are retried then.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        paced: bool = False,
        may_have_applied: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.paced = paced
        self.may_have_applied = may_have_applied

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
    A 429, or a 503 with ``Retry-After``, is the server refusing the request before acting on it; any
    other 5xx may come after it acted.
    """
    status = response.status_code
    if status in RETRY_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        refused = status == 429 or (status == 503 and retry_after is not None)
        raise Retryable(f"{answered}HTTP {status}", status=status, retry_after=retry_after, may_have_applied=not refused)


def _never_sent(error: BaseException) -> bool:
    """Whether a requests ConnectionError happened before the request left: no connection was ever made."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return True
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = reason if isinstance(reason, BaseException) else nested or current.__cause__ or current.__context__
    return False


def transport_failure(error: requests.RequestException, target: str, errors: ErrorFamily, operation: str | None = None) -> Exception:
    """What a ``requests`` exception means for the retry loop: a :class:`Retryable`, or an error to raise at once.

    TLS and proxy failures are configuration (a CA bundle, an intercepting proxy, ``HTTPS_PROXY``) and
    do not pass with time; a malformed URL or header neither. Connection refused and connect timeouts
    never reached the server; read timeouts, resets mid-answer and broken bodies may have.
    ``target`` names what was called ("SP-API", "LWA", "document download"); no URL goes into a message
    (``requests`` puts the URL into its own text, and a pre-signed document URL is a credential).
    """
    name = type(error).__name__
    if isinstance(error, requests.exceptions.SSLError):
        return errors.config(
            f"TLS with {target} failed ({name}): the certificate could not be verified or the handshake was refused. Check the "
            "endpoint in the connection, a proxy that intercepts TLS, and REQUESTS_CA_BUNDLE; retrying will not help.",
            operation=operation,
        )
    if isinstance(error, requests.exceptions.ProxyError):
        return errors.config(
            f"The HTTP proxy refused or failed the connection to {target} ({name}). Check HTTPS_PROXY/HTTP_PROXY/NO_PROXY "
            "in the worker's environment; retrying will not help.",
            operation=operation,
        )
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return Retryable(f"{name} talking to {target}")
    if isinstance(error, requests.ConnectionError):
        return Retryable(f"{name} talking to {target}", may_have_applied=not _never_sent(error))
    if isinstance(error, (requests.Timeout, requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return Retryable(f"{name} talking to {target}", may_have_applied=True)
    return errors.config(
        f"The request to {target} could not be sent ({name}): check the endpoint URL in the connection.", operation=operation
    )


def _wait(state: tenacity.RetryCallState) -> float:
    """The pause before the next attempt: Retry-After (capped), none when paced, else jittered backoff."""
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
    idempotent: bool = True,
) -> tenacity.Retrying:
    """A tenacity loop for one logical call: ``for attempt in retrying(...): with attempt: ...``.

    ``describe`` names the call for the log line (operation, never a token), ``platform`` starts it
    ("SP-API", "TikTok Shop"); ``on_retry`` counts. With ``idempotent=False`` a :class:`Retryable`
    that ``may_have_applied`` ends the loop at once. No pause outlasts the time budget. When the
    loop ends, the last :class:`Retryable` is re-raised for the caller to translate.
    """

    def may_retry(error: BaseException) -> bool:
        return isinstance(error, Retryable) and (idempotent or not error.may_have_applied)

    def wait(state: tenacity.RetryCallState) -> float:
        return max(0.0, min(_wait(state), settings.max_retry_seconds - (state.seconds_since_start or 0.0)))

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
        retry=tenacity.retry_if_exception(may_retry),
        stop=tenacity.stop_after_attempt(settings.max_attempts) | tenacity.stop_after_delay(settings.max_retry_seconds),
        wait=wait,
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )


def outcome_unknown(error: Retryable, operation: str, errors: ErrorFamily, if_unsure: str | None = None) -> ApiError:
    """The error of a non-idempotent call that failed after it may have been applied: not retried, with what to check."""
    check = if_unsure or "Check whether it took effect (the matching get or list operation, or Seller Central) before sending it again."
    return errors.server(
        f"{error.reason}. The request reached {errors.platform} and may have been applied; it was not sent again because "
        f"repeating it is not safe. {check}",
        status=error.status,
        code=OUTCOME_UNKNOWN,
        operation=operation,
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
    idempotent: bool = True,
    if_unsure: str | None = None,
) -> T:
    """Call ``attempt`` until it returns, retrying while it raises :class:`Retryable` and the budget lasts.

    Any other exception propagates at once; an exhausted budget raises the error :func:`exhausted` builds
    from ``errors``, the family of the platform being called. ``idempotent=False`` (a call that must
    not take effect twice) stops at the first failure that may have been applied, raising
    :func:`outcome_unknown` with ``if_unsure`` as the advice.
    """
    loop = retrying(settings, describe=lambda: operation, logger=logger, platform=errors.platform, on_retry=on_retry, idempotent=idempotent)
    try:
        for state in loop:
            with state:
                return attempt()
    except Retryable as error:
        if error.may_have_applied and not idempotent:
            raise outcome_unknown(error, operation, errors, if_unsure) from None
        raise exhausted(error, operation, settings, errors) from None
    raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover
