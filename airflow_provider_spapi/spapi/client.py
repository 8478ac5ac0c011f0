"""The SP-API client: one call in, the decoded JSON out, with everything that makes that hard done inside.

For every call :class:`SpApiClient` waits for a token of the operation's usage-plan bucket
(:mod:`.ratelimit`, never longer than the call's remaining retry budget), then takes the access
token the operation's authorization model needs (:func:`authorization_for`; after the wait, so it
cannot expire during it), sends, and absorbs what can be absorbed: 429s (the bucket halves and
waits), 5xx, resets and timeouts (backoff and retry, :mod:`.retry`; for an operation the catalog
marks not idempotent, only failures that surely did not reach Amazon), and an access token that
expired under it (dropped, minted again once). What is left raises an
:class:`~airflow_provider_spapi.errors.SpApiError`.

Nothing here imports Airflow: the hook builds a client from a connection and hands it its logger
and the secrets masker (``on_token``).
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Literal

import requests

from airflow_provider_spapi import __version__
from airflow_provider_spapi.core.paging import follow_pages
from airflow_provider_spapi.core.ratelimit import RateLimiter, WaitTooLong, shared_rate_limiter
from airflow_provider_spapi.core.ratestore import limiter_for
from airflow_provider_spapi.core.retry import (
    LoggerLike,
    Retryable,
    parse_retry_after,
    raise_if_retryable,
    run_with_retries,
    transport_failure,
)
from airflow_provider_spapi.core.session import HttpSession
from airflow_provider_spapi.core.stats import ClientStats
from airflow_provider_spapi.core.tokens import Token, TokenCache, fingerprint, new_token, shared_token_cache
from airflow_provider_spapi.errors import (
    SPAPI_ERRORS,
    SpApiAuthError,
    SpApiClientError,
    SpApiConfigError,
    SpApiError,
    SpApiServerError,
    SpApiThrottledError,
)
from airflow_provider_spapi.spapi import catalog
from airflow_provider_spapi.spapi.lwa import LwaClient, LwaResult
from airflow_provider_spapi.spapi.settings import SpApiSettings

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-spapi/{__version__} (Language=Python/{platform.python_version()}; Platform={platform.system()})"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
RDT_MAX_RESOURCES = 50
# Amazon's 403 details for a token it no longer accepts: "The access token you provided has expired." or
# "... is revoked, malformed or invalid." Either way one fresh mint may fix it (and a revoked grant then says so).
STALE_TOKEN_HINT = "access token you provided"


@dataclass(frozen=True)
class Authorization:
    """Which token a call needs: the seller's LWA token, a grantless token for ``scope``, or an RDT for ``rdt_path``."""

    kind: Literal["lwa", "grantless", "rdt"]
    scope: str | None = None
    rdt_path: str | None = None
    data_elements: tuple[str, ...] = ()


def authorization_for(
    method: str,
    path: str,
    operation: catalog.Operation | None,
    *,
    data_elements: Sequence[str] | None = None,
    restricted: bool | None = None,
    grantless_scope: str | None = None,
) -> Authorization:
    """Pick the authorization model for a call (SPEC: grantless scope, else RDT, else LWA), validating the arguments.

    ``grantless_scope`` defaults to the scope Amazon documents for a grantless operation. An RDT names
    the generic path (``/orders/v0/orders/{orderId}/address``) where Amazon allows it, so one token
    covers every order for its hour; getReportDocument needs the specific path.
    """
    scope = grantless_scope or (operation.grantless_scope if operation else None)
    if scope:
        if data_elements or restricted:
            raise SpApiConfigError(
                f"Arguments 'grantless_scope' and 'data_elements'/'restricted' exclude each other: {method} {path} is grantless."
            )
        return Authorization(kind="grantless", scope=scope)
    elements: tuple[str, ...] = ()
    if data_elements:
        if isinstance(data_elements, str) or not all(isinstance(element, str) for element in data_elements):
            raise SpApiConfigError(f"Argument 'data_elements' must be a list of strings such as ['buyerInfo'], not {data_elements!r}.")
        elements = tuple(sorted(set(data_elements)))
        allowed = operation.data_elements if operation else ()
        unknown = [element for element in elements if element not in allowed]
        if unknown:
            fix = (
                f"this operation accepts {', '.join(allowed)}"
                if allowed
                else "only getOrders, getOrder and getOrderItems of Orders v0 take data elements"
            )
            raise SpApiConfigError(
                f"Argument 'data_elements' has {', '.join(unknown)} for {method} {path}: {fix}. Remove them or call another operation."
            )
    if restricted is False and elements:
        raise SpApiConfigError("Argument 'restricted' is False but 'data_elements' asks for restricted data: drop one of them.")
    needs_rdt = bool(elements) or restricted is True or (restricted is None and operation is not None and operation.restricted == "always")
    if not needs_rdt:
        return Authorization(kind="lwa")
    generic = operation is not None and catalog.rdt_accepts_generic_path(operation)
    return Authorization(kind="rdt", rdt_path=operation.path if operation and generic else path, data_elements=elements)


def encode_query(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as SP-API wants them: arrays comma-separated, datetimes ISO 8601 in UTC, booleans lower case."""
    encoded: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            encoded[key] = ",".join(query_value(item) for item in value)
        else:
            encoded[key] = query_value(value)
    return encoded


def query_value(value: Any) -> str:
    """One value as SP-API expects it in a query or a JSON date field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def unwrap(body: Mapping[str, Any]) -> Any:
    """The result inside a response: v0 APIs wrap it in ``payload``, newer versions return it as is."""
    return body["payload"] if isinstance(body, Mapping) and "payload" in body else body


def next_page_token(body: Mapping[str, Any], key: str) -> str | None:
    """The next-page token of a response: at the top, in the v0 ``payload``, or in a ``pagination`` object."""
    for container in (body, body.get("payload"), body.get("pagination")):
        if isinstance(container, Mapping):
            token = container.get(key)
            if token:
                return str(token)
    return None


def _error_from_response(response: requests.Response, operation: str) -> SpApiError:
    """An SpApiError from Amazon's ``{"errors": [{code, message, details}]}`` body (the body is Amazon's, never ours)."""
    code, message = None, response.reason or "request failed"
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        code = first.get("code")
        message = " ".join(part for part in (first.get("message"), first.get("details")) if part) or message
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        pass
    status = response.status_code
    error_class: type[SpApiError] = SpApiClientError
    if status in (401, 403):
        error_class = SpApiAuthError
        message += (
            " Check that the app has the role this operation needs and the seller authorised it; restricted operations"
            " need a Restricted Data Token (pass data_elements or restricted=True)."
        )
    elif status >= 500:
        error_class = SpApiServerError
    return error_class(message, status=status, code=code, request_id=response.headers.get("x-amzn-RequestId"), operation=operation)


class SpApiClient:
    """Calls SP-API for one set of credentials. Thread-safe; tokens and rate limits are shared process-wide."""

    def __init__(
        self,
        settings: SpApiSettings,
        *,
        session: requests.Session | None = None,
        token_cache: TokenCache = shared_token_cache,
        rate_limiter: RateLimiter = shared_rate_limiter,
        logger: LoggerLike = log,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.session = session or HttpSession()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.token_cache = token_cache
        # A connection that names a store shares its buckets with every process of the same credentials.
        self.rate_limiter = limiter_for(settings.rate_limit_store) if settings.rate_limit_store else rate_limiter
        self.logger = logger
        self.on_token = on_token
        self.stats = ClientStats()
        self.lwa = LwaClient(self.session, settings.lwa_endpoint, settings.retry, logger=logger, on_retry=self._count_retry)
        # Usage plans belong to the selling partner and application; the secret plays no part in them.
        self._seller = fingerprint(settings.base_url, settings.client_id, settings.refresh_token)
        self._application = fingerprint(settings.base_url, settings.client_id, "grantless")
        # Tokens also depend on the secret: a connection only ever gets a token it could mint itself.
        self._credentials = fingerprint(settings.lwa_endpoint, settings.client_id, settings.client_secret, settings.refresh_token)
        # Grantless tokens belong to the application: every seller's connection of one app shares them.
        self._app_credentials = fingerprint(settings.lwa_endpoint, settings.client_id, settings.client_secret)
        self._seller_token_key = fingerprint(self._credentials, "lwa")  # looked up on every call: hashed once

    def __repr__(self) -> str:
        return f"SpApiClient(base_url={self.settings.base_url!r}, client_id={self.settings.client_id!r})"

    # -- tokens ---------------------------------------------------------------------------------

    def _count_retry(self, error: Retryable) -> None:
        self.stats.add(retries=1)

    def _minted(self, token: Token) -> Token:
        self.stats.add(tokens_minted=1)
        if self.on_token is not None:
            self.on_token(token.value)
        return token

    def _access_token_key(self, scope: str | None) -> str:
        return fingerprint(self._app_credentials, "scope", scope) if scope else self._seller_token_key

    def _access_token(self, scope: str | None = None) -> Token:
        if scope is None and not self.settings.refresh_token:
            raise SpApiConfigError(
                "Connection field 'refresh_token' is empty, and this call needs a seller's authorisation. "
                "Set refresh_token in the connection's extra, or pass grantless_scope for a grantless operation."
            )
        settings = self.settings

        def mint() -> Token:
            if scope:
                return self._minted(self.lwa.client_credentials(settings.client_id, settings.client_secret, scope))
            assert settings.refresh_token is not None
            return self._minted(self.lwa.refresh(settings.client_id, settings.client_secret, settings.refresh_token))

        return self.token_cache.get(self._access_token_key(scope), mint)[0]

    def access_token(self, scope: str | None = None) -> str:
        """The seller's LWA access token, or with ``scope`` a grantless one; minted at most once per lifetime."""
        return self._access_token(scope).value

    def _rdt_key(self, method: str, path: str, data_elements: tuple[str, ...], target_application: str | None) -> str:
        return fingerprint(self._credentials, "rdt", method, path, ",".join(data_elements), target_application)

    def _restricted_data_token(
        self, method: str, path: str, data_elements: Sequence[str] = (), target_application: str | None = None
    ) -> Token:
        method = method.upper()
        check_path(path)
        elements = tuple(sorted(set(data_elements)))

        def mint() -> Token:
            resource: dict[str, Any] = {"method": method, "path": path}
            if elements:
                resource["dataElements"] = list(elements)
            body: dict[str, Any] = {"restrictedResources": [resource]}
            if target_application:
                body["targetApplication"] = target_application
            operation = catalog.find_operation("POST", RDT_PATH)
            answer = self._call("POST", RDT_PATH, operation, Authorization(kind="lwa"), None, body)
            value = answer.get("restrictedDataToken")
            if not isinstance(value, str) or not value:
                raise SpApiServerError(
                    "createRestrictedDataToken answered without a restrictedDataToken.", operation="tokens.createRestrictedDataToken"
                )
            return self._minted(new_token(value, float(answer.get("expiresIn", 3600)), "restricted data"))

        return self.token_cache.get(self._rdt_key(method, path, elements, target_application), mint)[0]

    def restricted_data_token(
        self, method: str, path: str, data_elements: Sequence[str] | None = None, target_application: str | None = None
    ) -> str:
        """A Restricted Data Token for one resource (specific or generic path), cached until shortly before it expires."""
        return self._restricted_data_token(method, path, data_elements or (), target_application).value

    def exchange_authorization_code(self, code: str, redirect_uri: str) -> str:
        """Trade a website-workflow ``spapi_oauth_code`` for the seller's new refresh token."""
        result: LwaResult = self.lwa.authorization_code(self.settings.client_id, self.settings.client_secret, code, redirect_uri)
        self._minted(result.token)
        assert result.refresh_token is not None
        if self.on_token is not None:
            self.on_token(result.refresh_token)
        return result.refresh_token

    # -- calls ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data_elements: Sequence[str] | None = None,
        restricted: bool | None = None,
        grantless_scope: str | None = None,
    ) -> dict[str, Any]:
        """One SP-API call; returns the decoded JSON body (``{}`` for an empty one)."""
        method = method.upper()
        check_path(path)
        operation = catalog.find_operation(method, path)
        auth = authorization_for(
            method, path, operation, data_elements=data_elements, restricted=restricted, grantless_scope=grantless_scope
        )
        return self._call(method, path, operation, auth, params, json)

    def paginate(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        token_key: str = "NextToken",
        token_param: str | None = None,
        **request_kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a list operation, in order, each exactly once (see :func:`~airflow_provider_spapi.core.paging.follow_pages`).

        A failed page is retried inside :meth:`request` with the same token, so nothing is skipped or
        repeated; if it cannot be fetched, the error propagates and no later page is requested.
        ``token_key`` is the response field of the next-page token and ``token_param`` the query
        parameter that sends it back (default: the same name). Operations whose convention Amazon
        documents differently (Orders 2026-01-01 ``paginationToken``; Reports and Feeds lists, whose
        ``nextToken`` must be sent alone) are recognised from the catalog when the defaults are left.
        """
        known = catalog.pagination_for(catalog.find_operation(method, path))
        alone = False
        if known is not None and token_key == "NextToken" and token_param is None:
            token_key, token_param, alone = known.response_key, known.param, known.alone
        param = token_param or token_key
        first = dict(params or {})

        def fetch(token: str | None) -> dict[str, Any]:
            query = first if token is None else {param: token} if alone else {**first, param: token}
            page = self.request(method, path, params=query, json=json, **request_kwargs)
            self.stats.add(pages=1)
            return page

        return follow_pages(fetch, lambda page: next_page_token(page, token_key), describe=f"{method} {path}", errors=SPAPI_ERRORS)

    def _call(
        self,
        method: str,
        path: str,
        operation: catalog.Operation | None,
        auth: Authorization,
        params: Mapping[str, Any] | None,
        body: Any,
    ) -> dict[str, Any]:
        name = operation.key if operation else f"{method} {path}"
        principal = self._application if auth.kind == "grantless" else self._seller
        rate, burst = self._usage_plan(operation)
        query = encode_query(params)
        url = self.settings.base_url + path
        reminted = False
        self.stats.add(calls=1)
        deadline = time.monotonic() + self.settings.retry.max_retry_seconds

        def attempt() -> dict[str, Any]:
            nonlocal reminted
            self._wait_for_usage_plan(principal, name, rate, burst, deadline)
            token, forget = self._token_for_call(auth, method)
            response = self._send(method, url, query, body, token)
            status = response.status_code
            if status == 429:
                new_rate = self.rate_limiter.record_throttled(principal, name)
                self.stats.add(throttled=1)
                raise Retryable(
                    f"throttled (429 QuotaExceeded), rate now {new_rate:.4g}/s",
                    status=429,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    paced=True,
                )
            raise_if_retryable(response)
            # Amazon sends the header on 2xx, 400 and 404 only; its absence means nothing.
            self.rate_limiter.observe_limit_header(principal, name, response.headers.get("x-amzn-RateLimit-Limit"))
            if status == 403 and not reminted and STALE_TOKEN_HINT in response.text.lower():
                reminted = True
                forget(token)
                raise Retryable("the access token expired or was refused; minting a new one", status=403, retry_after=0.0)
            if status >= 400:
                raise _error_from_response(response, name)
            self.rate_limiter.record_success(principal, name)
            return _decode(response, name)

        return run_with_retries(
            attempt,
            self.settings.retry,
            operation=name,
            logger=self.logger,
            errors=SPAPI_ERRORS,
            on_retry=self._count_retry,
            idempotent=catalog.may_resend(method, operation),
            if_unsure=operation.if_unsure if operation else None,
        )

    def _wait_for_usage_plan(self, principal: str, name: str, rate: float | None, burst: float | None, deadline: float) -> None:
        """Wait for the bucket's next token, but never past the call's retry budget (an adaptive rate can fall to 0.001/s)."""
        remaining = max(0.0, deadline - time.monotonic())
        try:
            waited = self.rate_limiter.acquire(principal, name, rate, burst, max_wait=remaining)
        except WaitTooLong as too_long:
            raise SpApiThrottledError(
                f"the usage plan's next token is {too_long.wait:.0f}s away, beyond the {remaining:.0f}s left of this call's "
                f"retry budget (max_retry_seconds={self.settings.retry.max_retry_seconds:g}). Other work is spending these "
                "credentials' quota for this operation: run fewer such tasks at once (an Airflow pool per seller), or raise "
                "max_retry_seconds in the connection.",
                status=429,
                code=SPAPI_ERRORS.throttled_code,
                operation=name,
            ) from None
        if waited > 0:
            self.stats.add(throttle_waits=1, throttle_wait_seconds=waited)
            self.logger.info("SP-API %s: waited %.2fs for the usage plan (rate limit)", name, waited)

    def _token_for_call(self, auth: Authorization, method: str) -> tuple[Token, Callable[[Token], None]]:
        """The token ``auth`` asks for (an RDT covers the call's own method) and how to forget it once Amazon calls it expired."""
        if auth.kind == "rdt":
            assert auth.rdt_path is not None
            key = self._rdt_key(method, auth.rdt_path, auth.data_elements, None)
            token = self._restricted_data_token(method, auth.rdt_path, auth.data_elements)
            return token, lambda stale: self.token_cache.invalidate(key, stale)
        key = self._access_token_key(auth.scope)
        return self._access_token(auth.scope), lambda stale: self.token_cache.invalidate(key, stale)

    def _usage_plan(self, operation: catalog.Operation | None) -> tuple[float | None, float | None]:
        if self.settings.sandbox and not self.settings.endpoint:
            return catalog.sandbox_usage_plan()
        return (operation.rate, operation.burst) if operation else (None, None)

    def _send(self, method: str, url: str, query: dict[str, str], body: Any, token: Token) -> requests.Response:
        headers = {"x-amz-access-token": token.value}
        try:
            return self.session.request(
                method,
                url,
                params=query,
                json=body,
                headers=headers,
                timeout=(self.settings.retry.connect_timeout, self.settings.retry.read_timeout),
            )
        except requests.RequestException as exc:
            raise transport_failure(exc, "SP-API", SPAPI_ERRORS) from None


def check_path(path: str) -> None:
    """Refuse a path without its leading slash before anything is sent (a common slip in templated paths)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise SpApiConfigError(f"Argument 'path' must start with '/', like /orders/v0/orders (got {path!r}).")


def _decode(response: requests.Response, operation: str) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        decoded = response.json()
    except ValueError:
        raise SpApiServerError(
            f"answered HTTP {response.status_code} with a body that is not JSON.", status=response.status_code, operation=operation
        ) from None
    return decoded if isinstance(decoded, dict) else {"payload": decoded}
