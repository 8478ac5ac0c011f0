"""The TikTok Shop client: one call in, the envelope's ``data`` out, with everything that makes that hard done inside.

For every call :class:`TikTokShopClient` takes the access token (the connection's own while it is
valid, else one refresh per lifetime for the whole process), adds ``app_key``, a fresh
``timestamp`` and ``shop_cipher`` (shop-scoped paths only), signs the exact bytes it sends
(:mod:`.signing`), waits for the shared rate limiter and absorbs what can be absorbed: throttling
(HTTP 429 or ``36009002``: TikTok publishes no plan, so the bucket adapts), 5xx, resets and timeouts
(backoff; each attempt re-signed, since the timestamp changes) and an expired access token
(``105002``, or ``105001`` for a token TikTok no longer knows: one refresh, one retry). What is left raises a
:class:`~airflow_provider_spapi.errors.TikTokShopError` with TikTok's code, message and request id.

Nothing here imports Airflow: the hook hands the client its logger, the secrets masker
(``on_token``) and where to persist a rotated refresh token (``on_refresh_token``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import requests

from airflow_provider_spapi import __version__
from airflow_provider_spapi.core.paging import follow_pages
from airflow_provider_spapi.core.ratelimit import RateLimiter, shared_rate_limiter
from airflow_provider_spapi.core.retry import LoggerLike, Retryable, parse_retry_after, raise_if_retryable, run_with_retries
from airflow_provider_spapi.core.session import HttpSession
from airflow_provider_spapi.core.stats import ClientStats
from airflow_provider_spapi.core.tokens import Token, TokenCache, fingerprint, new_token, shared_token_cache
from airflow_provider_spapi.errors import (
    TIKTOK_SHOP_ERRORS,
    TikTokShopAuthError,
    TikTokShopClientError,
    TikTokShopConfigError,
    TikTokShopError,
    TikTokShopServerError,
    TikTokShopThrottledError,
)
from airflow_provider_spapi.tiktok import catalog
from airflow_provider_spapi.tiktok.auth import TikTokAuth, TokenPair
from airflow_provider_spapi.tiktok.grants import Grant, GrantRegistry, shared_grants
from airflow_provider_spapi.tiktok.settings import TikTokShopSettings
from airflow_provider_spapi.tiktok.signing import encode_body, encode_query, sign

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-spapi/{__version__} (TikTok Shop)"
CONTENT_TYPE = "application/json"
#: Query parameters the client sets itself; a caller passing one gets an error instead of a silent override.
RESERVED_PARAMS = ("app_key", "timestamp", "sign", "shop_cipher", "access_token")

_ERROR_CLASSES: dict[str, type[TikTokShopError]] = {
    "auth": TikTokShopAuthError,
    "config": TikTokShopConfigError,
    "throttled": TikTokShopThrottledError,
    "client": TikTokShopClientError,
    "server": TikTokShopServerError,
}


def error_for(body: Mapping[str, Any], status: int, operation: str) -> TikTokShopError:
    """The error for an answer with a non-zero ``code``: the class and fix the facts give that code, TikTok's words first."""
    code = str(body.get("code"))
    message = str(body.get("message") or "request failed")
    known = catalog.error_code(code)
    if known is not None:
        error_class, text = _ERROR_CLASSES[known.error_class], f"{message}. {known.fix}"
        if known.kind == "reauthorise":
            text += " " + catalog.reauthorise_fix()
    else:
        error_class, text = (TikTokShopServerError if status >= 500 else TikTokShopClientError), message
    return error_class(text, status=status, code=code, request_id=_text(body.get("request_id")), operation=operation)


def _text(value: Any) -> str | None:
    return str(value) if value else None


def check_path(path: str) -> None:
    """Refuse a path without its leading slash or with a query before anything is sent."""
    if not isinstance(path, str) or not path.startswith("/") or "?" in path:
        raise TikTokShopConfigError(
            f"Argument 'path' must start with '/' and carry no query, like /order/202309/orders/search (got {path!r}); "
            "pass query parameters as params."
        )


class TikTokShopClient:
    """Calls TikTok Shop for one seller authorisation. Thread-safe; tokens, grants and rate limits are shared process-wide."""

    def __init__(
        self,
        settings: TikTokShopSettings,
        *,
        session: requests.Session | None = None,
        token_cache: TokenCache = shared_token_cache,
        rate_limiter: RateLimiter = shared_rate_limiter,
        grants: GrantRegistry = shared_grants,
        logger: LoggerLike = log,
        on_token: Callable[[str], None] | None = None,
        on_refresh_token: Callable[[str, datetime | None], None] | None = None,
    ) -> None:
        self.settings = settings
        self.session = session or HttpSession()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": CONTENT_TYPE})
        self.token_cache = token_cache
        self.rate_limiter = rate_limiter
        self.logger = logger
        self.on_token = on_token
        self.on_refresh_token = on_refresh_token
        self.stats = ClientStats()
        self.auth = TikTokAuth(self.session, settings.auth_endpoint, settings.retry, logger=logger, on_retry=self._count_retry)
        # One authorisation: the app and the refresh token the connection started from (never a secret in clear).
        self._grants = grants
        self._grant: Grant = grants.get(self._grant_key(settings.refresh_token), settings.refresh_token, settings.refresh_token_expires_at)
        # Tokens also depend on the secret: a connection only ever gets a token it could mint itself.
        self._token_key = fingerprint(self._grant.key, settings.app_secret, "access")
        # TikTok's QPS is per app and API.
        self._principal = fingerprint(settings.api_endpoint, settings.app_key)

    def __repr__(self) -> str:
        return f"TikTokShopClient(api_endpoint={self.settings.api_endpoint!r}, app_key={self.settings.app_key!r})"

    # -- tokens ---------------------------------------------------------------------------------

    def _grant_key(self, refresh_token: str | None) -> str:
        return fingerprint(self.settings.auth_endpoint, self.settings.app_key, refresh_token)

    def _count_retry(self, error: Retryable) -> None:
        self.stats.add(retries=1)

    def _received(self, value: str) -> None:
        if self.on_token is not None:
            self.on_token(value)

    @property
    def refresh_token_expires_at(self) -> datetime | None:
        """When the newest refresh token this process holds for the authorisation dies (TikTok says so with every token)."""
        return self._grant.refresh_token_expires_at

    def _stored_token(self) -> Token | None:
        """The connection's access token while it is valid and TikTok has not refused it."""
        settings = self.settings
        if not settings.access_token or settings.access_token_expires_at is None:
            return None
        if fingerprint(settings.access_token) in self._grant.refused:
            return None
        token = new_token(settings.access_token, settings.access_token_expires_at.timestamp() - time.time(), "access")
        return token if token.fresh(time.monotonic()) else None

    def _mint(self) -> Token:
        stored = self._stored_token()
        if stored is not None:
            self._received(stored.value)
            return stored
        grant = self._grant
        with grant.lock:
            if not grant.refresh_token:
                raise TikTokShopConfigError(
                    "Connection field 'refresh_token' is empty and there is no valid access_token. Set refresh_token in the "
                    "connection's extra (exchange_authorization_code() returns it after the seller authorises the app)."
                )
            pair = self.auth.refresh(self.settings.app_key, self.settings.app_secret, grant.refresh_token)
            self._received(pair.access_token)
            self.stats.add(tokens_minted=1)
            self._adopt(grant, pair)
        return new_token(pair.access_token, pair.access_token_expires_at.timestamp() - time.time(), "access")

    def _adopt(self, grant: Grant, pair: TokenPair) -> None:
        """Keep the newest pair; tell ``on_refresh_token`` when the refresh token changed, so it is not lost. Caller holds the lock."""
        if pair.refresh_token_expires_at is not None:
            grant.refresh_token_expires_at = pair.refresh_token_expires_at
        if pair.refresh_token == grant.refresh_token:
            return
        self._received(pair.refresh_token)
        grant.refresh_token = pair.refresh_token
        self._grants.alias(self._grant_key(pair.refresh_token), grant)
        self.logger.info("TikTok Shop returned a new refresh token; the process uses it from now on")
        if self.on_refresh_token is not None:
            self.on_refresh_token(pair.refresh_token, grant.refresh_token_expires_at)
        else:
            self.logger.warning(
                "TikTok Shop rotated the refresh token and nothing persists it: store the new one in the connection "
                "(the hook does this), or the next process may start from a refresh token TikTok no longer accepts."
            )

    def _access_token(self) -> Token:
        return self.token_cache.get(self._token_key, self._mint)[0]

    def access_token(self) -> str:
        """The access token: the connection's own while valid, else one refresh per lifetime however many threads ask."""
        return self._access_token().value

    def _forget(self, token: Token) -> None:
        """TikTok refused ``token``: drop it from the cache and never hand out the stored one again."""
        self._grant.refused.add(fingerprint(token.value))
        self.token_cache.invalidate(self._token_key, token)

    def exchange_authorization_code(self, auth_code: str) -> dict[str, Any]:
        """Trade a seller's auth code for the new authorisation's details.

        Returns ``refresh_token``, ``refresh_token_expires_at``, ``open_id`` and ``seller_name``; the caller
        stores the refresh token (and its expiry) in the connection. Nothing here logs it.
        """
        pair = self.auth.exchange(self.settings.app_key, self.settings.app_secret, auth_code)
        self._received(pair.access_token)
        self._received(pair.refresh_token)
        self.stats.add(tokens_minted=1)
        return {
            "refresh_token": pair.refresh_token,
            "refresh_token_expires_at": pair.refresh_token_expires_at,
            "open_id": pair.open_id,
            "seller_name": pair.seller_name,
        }

    # -- shops ----------------------------------------------------------------------------------

    def authorized_shops(self) -> list[dict[str, Any]]:
        """The shops this authorisation covers (``cipher``, ``code``, ``id``, ``name``, ``region``, ``seller_type``)."""
        shops = self.request("GET", catalog.authorized_shops_path()).get("shops") or []
        self._grant.shops = [dict(shop) for shop in shops if isinstance(shop, Mapping)]
        return list(self._grant.shops)

    def shop_cipher(self) -> str:
        """The connection's ``shop_cipher``, else the only shop of the authorisation (looked up once per process)."""
        if self.settings.shop_cipher:
            return self.settings.shop_cipher
        shops = self._grant.shops if self._grant.shops is not None else self.authorized_shops()
        if len(shops) == 1 and shops[0].get("cipher"):
            return str(shops[0]["cipher"])
        if not shops:
            raise TikTokShopConfigError(
                "Connection field 'shop_cipher' is empty and the authorisation covers no shop. "
                "Ask the seller to authorise the app for a shop."
            )
        listed = ", ".join(f"{shop.get('name')} ({shop.get('region')}): {shop.get('cipher')}" for shop in shops)
        raise TikTokShopConfigError(
            f"Connection field 'shop_cipher' is empty and the authorisation covers {len(shops)} shops: {listed}. "
            "Set shop_cipher in the connection's extra (one connection per shop) or pass shop_cipher to the call."
        )

    # -- calls ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        shop_cipher: str | None = None,
    ) -> dict[str, Any]:
        """One signed call; returns the envelope's ``data`` (``{}`` when it has none)."""
        method = method.upper()
        check_path(path)
        query = encode_query(params)
        reserved = [name for name in RESERVED_PARAMS if name in query]
        if reserved:
            fix = "pass shop_cipher as its own argument" if reserved == ["shop_cipher"] else "the client sets it"
            raise TikTokShopConfigError(f"Argument 'params' holds {', '.join(reserved)}: remove it ({fix}).")
        if catalog.shop_scoped(path):
            query["shop_cipher"] = shop_cipher or self.shop_cipher()
        elif shop_cipher:
            raise TikTokShopConfigError(
                f"Argument 'shop_cipher' was given for {path}, which TikTok answers without a shop "
                "(it refuses shop_cipher there). Remove it."
            )
        return self._call(method, path, query, encode_body(json))

    def paginate(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        page_size: int = 100,
        **request_kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page's ``data``, in order, each exactly once, following ``next_page_token`` (empty on the last page).

        A failed page is retried inside :meth:`request` with the same token, so nothing is skipped or repeated.
        """
        limit = catalog.max_page_size()
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= limit:
            raise TikTokShopConfigError(f"Argument 'page_size' must be a whole number from 1 to {limit} (got {page_size!r}).")
        first = {**(params or {}), "page_size": page_size}

        def fetch(token: str | None) -> dict[str, Any]:
            page = self.request(
                method, path, params=first if token is None else {**first, "page_token": token}, json=json, **request_kwargs
            )
            self.stats.add(pages=1)
            return page

        def next_token(page: dict[str, Any]) -> str | None:
            token = page.get("next_page_token")
            return str(token) if token else None

        return follow_pages(fetch, next_token, describe=f"{method.upper()} {path}", errors=TIKTOK_SHOP_ERRORS)

    def _call(self, method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        name = catalog.operation_name(method, path)
        url = self.settings.api_endpoint + path
        refreshed = False
        self.stats.add(calls=1)

        def attempt() -> dict[str, Any]:
            nonlocal refreshed
            token = self._access_token()
            waited = self.rate_limiter.acquire(self._principal, name, None, None)
            if waited > 0:
                self.stats.add(throttle_waits=1, throttle_wait_seconds=waited)
            signed = {**query, "app_key": self.settings.app_key, "timestamp": str(int(time.time()))}
            signed["sign"] = sign(path, signed, body, self.settings.app_secret, CONTENT_TYPE)
            response = self._send(method, url, signed, body, token)
            answer = _json(response)
            code = answer.get("code") if answer is not None else None
            if response.status_code == 429 or str(code) == "36009002":
                new_rate = self.rate_limiter.record_throttled(self._principal, name)
                self.stats.add(throttled=1)
                raise Retryable(
                    f"throttled ({response.status_code} {code or ''}), rate now {new_rate:.4g}/s".replace(" )", ")"),
                    status=429,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    paced=True,
                )
            raise_if_retryable(response, "TikTok Shop answered ")
            if answer is None:
                raise TikTokShopServerError(
                    f"answered HTTP {response.status_code} with a body that is not a JSON object.",
                    status=response.status_code,
                    operation=name,
                )
            if code == 0:
                self.rate_limiter.record_success(self._principal, name)
                data = answer.get("data")
                return dict(data) if isinstance(data, Mapping) else {}
            known = catalog.error_code(code)
            if known is not None and known.refresh and not refreshed:
                refreshed = True
                self._forget(token)
                raise Retryable(f"TikTok refused the access token ({code}); refreshing it once", status=401, retry_after=0.0)
            raise error_for(answer, response.status_code, name)

        return run_with_retries(
            attempt, self.settings.retry, operation=name, logger=self.logger, errors=TIKTOK_SHOP_ERRORS, on_retry=self._count_retry
        )

    def _send(self, method: str, url: str, query: dict[str, str], body: bytes, token: Token) -> requests.Response:
        headers = {catalog.access_token_header(): token.value, "Content-Type": CONTENT_TYPE}
        failure: str | None = None
        try:
            return self.session.request(
                method,
                url,
                params=query,
                data=body or None,
                headers=headers,
                timeout=(self.settings.retry.connect_timeout, self.settings.retry.read_timeout),
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            failure = type(exc).__name__
        except requests.RequestException as exc:
            raise TikTokShopConfigError(
                f"Connection field 'api_endpoint' could not be used ({type(exc).__name__}). "
                "Write the full URL, e.g. https://open-api.tiktokglobalshop.com."
            ) from None
        raise Retryable(f"{failure} talking to TikTok Shop")


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        decoded = response.json() if response.content else None
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None
