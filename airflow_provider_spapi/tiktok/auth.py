"""TikTok Shop's token endpoint: an auth code becomes a token pair, a refresh token a fresh pair.

Both calls are ``GET`` with the app secret in the query string, unsigned, and answer success as
``code == 0`` in the body whatever the HTTP status. Their URLs are therefore never logged nor put
in an exception: ``requests``' own exceptions name the URL, so they are caught and replaced by a
message built without it, and urllib3's DEBUG line for each request (which prints the path with its
query) has the query of token paths cut off by :class:`TokenUrlFilter`. The two ``*_expire_in``
fields are absolute Unix timestamps, not durations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import requests

from airflow_provider_spapi.core.retry import LoggerLike, Retryable, RetrySettings, raise_if_retryable, run_with_retries
from airflow_provider_spapi.errors import (
    TIKTOK_SHOP_ERRORS,
    TikTokShopAuthError,
    TikTokShopConfigError,
    TikTokShopError,
    TikTokShopServerError,
)
from airflow_provider_spapi.tiktok import catalog

log = logging.getLogger(__name__)

Grant = Literal["get", "refresh"]


class TokenUrlFilter(logging.Filter):
    """Cuts the query (app secret, refresh token, auth code) off token-endpoint URLs in urllib3's log records."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        super().__init__()
        self.paths = paths

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str) and "?" in value and any(path in value for path in self.paths):
            return value.split("?", 1)[0] + "?<redacted>"
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(arg) for arg in record.args)
        record.msg = self._redact(record.msg)
        return True


def _guard_urllib3_log() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(existing, TokenUrlFilter) for existing in logger.filters):
        logger.addFilter(TokenUrlFilter((catalog.token_path("get"), catalog.token_path("refresh"))))


_guard_urllib3_log()


@dataclass(frozen=True)
class TokenPair:
    """One answer of the token endpoint. Tokens never show in a repr."""

    access_token: str = field(repr=False)
    access_token_expires_at: datetime
    refresh_token: str = field(repr=False)
    refresh_token_expires_at: datetime | None
    open_id: str | None = None
    seller_name: str | None = None


def _timestamp(value: Any) -> datetime | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc) if seconds > 0 else None


def _error(body: dict[str, Any], status: int, operation: str) -> TikTokShopError:
    code = str(body.get("code"))
    known = catalog.error_code(code)
    message = str(body.get("message") or "refused")
    if known is not None and known.kind == "reauthorise":
        text = f"{message}. {known.fix} {catalog.reauthorise_fix()}"
    else:
        text = (
            f"{message}. TikTok refused the token request: check that the connection's login and password hold this app's "
            "app key and app secret, and that the refresh token belongs to this app."
        )
    return TikTokShopAuthError(text, status=status, code=code, request_id=body.get("request_id"), operation=operation)


class TikTokAuth:
    """Calls ``/api/v2/token/get`` and ``/api/v2/token/refresh`` at one auth host, retrying transient faults."""

    def __init__(
        self,
        session: requests.Session,
        auth_endpoint: str,
        retry: RetrySettings,
        *,
        logger: LoggerLike = log,
        on_retry: Callable[[Retryable], None] | None = None,
    ) -> None:
        self.session = session
        self.auth_endpoint = auth_endpoint.rstrip("/")
        self.retry = retry
        self.logger = logger
        self.on_retry = on_retry

    def __repr__(self) -> str:
        return f"TikTokAuth(auth_endpoint={self.auth_endpoint!r})"

    def exchange(self, app_key: str, app_secret: str, auth_code: str) -> TokenPair:
        """Trade the auth code TikTok sent to the redirect URL (single use, 30 minutes) for the seller's token pair."""
        if not isinstance(auth_code, str) or not auth_code.strip():
            raise TikTokShopConfigError(
                "Argument 'auth_code' is empty. Pass the code TikTok appended to the app's redirect URL after the seller authorised it."
            )
        return self._call("get", {"app_key": app_key, "app_secret": app_secret, "auth_code": auth_code.strip()})

    def refresh(self, app_key: str, app_secret: str, refresh_token: str) -> TokenPair:
        """A fresh access token (and possibly a new refresh token) for the seller who granted ``refresh_token``."""
        return self._call("refresh", {"app_key": app_key, "app_secret": app_secret, "refresh_token": refresh_token})

    def _call(self, grant: Grant, params: dict[str, str]) -> TokenPair:
        operation = f"TikTok Shop token {grant}"
        query = {**params, "grant_type": catalog.grant_type(grant)}
        url = self.auth_endpoint + catalog.token_path(grant)
        return run_with_retries(
            lambda: self._once(url, query, operation),
            self.retry,
            operation=operation,
            logger=self.logger,
            errors=TIKTOK_SHOP_ERRORS,
            on_retry=self.on_retry,
        )

    def _once(self, url: str, query: dict[str, str], operation: str) -> TokenPair:
        failure: str | None = None
        try:
            response = self.session.get(url, params=query, timeout=(self.retry.connect_timeout, self.retry.read_timeout))
        except (requests.ConnectionError, requests.Timeout) as exc:
            failure = type(exc).__name__
        except requests.RequestException as exc:  # an unusable URL: its text would carry the secret
            failure = f"!{type(exc).__name__}"
        if failure is not None:  # raised outside the except block, so no exception naming the URL hangs on it
            if failure.startswith("!"):
                raise TikTokShopConfigError(
                    f"Connection field 'auth_endpoint' could not be used ({failure[1:]}). Write the full URL, e.g. https://auth.tiktok-shops.com."
                )
            raise Retryable(f"TikTok's token endpoint unreachable ({failure})")
        raise_if_retryable(response, "TikTok's token endpoint answered ")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TikTokShopServerError(
                f"answered HTTP {response.status_code} with a body that is not a JSON object.",
                status=response.status_code,
                operation=operation,
            )
        if body.get("code") != 0:
            raise _error(body, response.status_code, operation)
        data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
        access, refresh = data.get("access_token"), data.get("refresh_token")
        access_expires = _timestamp(data.get("access_token_expire_in"))
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh or access_expires is None:
            raise TikTokShopServerError(
                "answered code 0 without access_token, access_token_expire_in and refresh_token.",
                status=response.status_code,
                request_id=body.get("request_id"),
                operation=operation,
            )
        return TokenPair(
            access_token=access,
            access_token_expires_at=access_expires,
            refresh_token=refresh,
            refresh_token_expires_at=_timestamp(data.get("refresh_token_expire_in")),
            open_id=data.get("open_id"),
            seller_name=data.get("seller_name"),
        )
