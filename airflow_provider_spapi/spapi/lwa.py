"""Login with Amazon: the token endpoint, its three grants, and what its errors mean for the person on call.

* refresh-token grant: the seller's refresh token becomes an access token (``Atza|``, one hour);
* client-credentials grant with a ``scope``: a grantless token, for calls no seller authorises;
* authorization-code grant: the ``spapi_oauth_code`` of the website workflow becomes a new refresh token.

The body is form-encoded as Amazon's own samples send it. The client secret and refresh token go
into that body and nowhere else: not into a log line, an exception or a repr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from airflow_provider_spapi.core.retry import LoggerLike, Retryable, RetrySettings, raise_if_retryable, run_with_retries, transport_failure
from airflow_provider_spapi.core.tokens import Token, new_token
from airflow_provider_spapi.errors import SPAPI_ERRORS, SpApiAuthError, SpApiClientError, SpApiConfigError, SpApiError, SpApiServerError
from airflow_provider_spapi.spapi.settings import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX

log = logging.getLogger(__name__)

REAUTHORISE = (
    "Re-authorise the app: the seller opens your app's authorisation link in Seller Central (or you self-authorise a "
    "private app), then store the new refresh token in the connection's refresh_token field and set "
    "refresh_token_issued_at to today (see the README's credential lifecycle section)."
)
ROTATE_SECRET = (
    "Check the connection's password holds the current LWA client secret of this client id; secrets expire 180 days "
    "after they are issued. Rotate it in Solution Provider Portal (or with SpApiRotateClientSecretOperator) and update "
    "the connection's password and client_secret_expires_at."
)

#: LWA's error codes, with the error class to raise and the fix to print.
LWA_ERRORS: dict[str, tuple[type[SpApiError], str]] = {
    "invalid_grant": (
        SpApiAuthError,
        "LWA refused the refresh token or authorisation code: it is revoked, expired (public apps: 365 days after "
        "authorisation) or belongs to another app. " + REAUTHORISE,
    ),
    "invalid_client": (SpApiAuthError, "LWA refused the client id or secret (wrong, or expired). " + ROTATE_SECRET),
    "unauthorized_client": (
        SpApiAuthError,
        "This LWA client may not use that grant type; check the app is an SP-API app and the client id is the app's.",
    ),
    "access_denied": (SpApiAuthError, "The seller or Amazon denied the authorisation. " + REAUTHORISE),
    "invalid_scope": (
        SpApiClientError,
        "LWA does not know that scope. Grantless scopes are sellingpartnerapi::notifications and "
        "sellingpartnerapi::client_credential:rotation.",
    ),
    "invalid_request": (
        SpApiClientError,
        "LWA says a required parameter is missing: for seller calls set refresh_token in the connection's extra.",
    ),
    "unsupported_grant_type": (SpApiClientError, "LWA does not support that grant type."),
}


@dataclass(frozen=True)
class LwaResult:
    """What the token endpoint returned: the token and, for the authorization-code grant, the new refresh token."""

    token: Token
    refresh_token: str | None = None

    def __repr__(self) -> str:
        return f"LwaResult(token={self.token!r}, refresh_token={'<redacted>' if self.refresh_token else None})"


def _error(response: requests.Response, grant: str) -> SpApiError:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    code = str(body.get("error", "")) if isinstance(body, dict) else ""
    error_class, fix = LWA_ERRORS.get(
        code, (SpApiAuthError if response.status_code in (400, 401, 403) else SpApiError, "LWA refused the request.")
    )
    return error_class(
        f"LWA {grant} grant failed: {fix}",
        status=response.status_code,
        code=code or None,
        request_id=response.headers.get("x-amzn-RequestId"),
        operation="LWA token",
    )


class LwaClient:
    """Mints tokens at one LWA token URL with one session, retrying LWA's transient faults."""

    def __init__(
        self,
        session: requests.Session,
        token_url: str,
        retry: RetrySettings,
        *,
        logger: LoggerLike = log,
        on_retry: Callable[[Retryable], None] | None = None,
    ) -> None:
        self.session = session
        self.token_url = token_url
        self.retry = retry
        self.logger = logger
        self.on_retry = on_retry

    def __repr__(self) -> str:
        return f"LwaClient(token_url={self.token_url!r})"

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> Token:
        """An access token for the seller who granted ``refresh_token``."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, "client_secret": client_secret}
        return self._post(form, "refresh_token").token

    def client_credentials(self, client_id: str, client_secret: str, scope: str) -> Token:
        """A grantless token for ``scope`` (several scopes are joined by a space)."""
        form = {"grant_type": "client_credentials", "scope": scope, "client_id": client_id, "client_secret": client_secret}
        return self._post(form, "client_credentials").token

    def authorization_code(self, client_id: str, client_secret: str, code: str, redirect_uri: str) -> LwaResult:
        """Exchange the website workflow's ``spapi_oauth_code`` (valid 5 minutes) for a refresh token."""
        if not code:
            raise SpApiConfigError("Argument 'code' is empty. Pass the spapi_oauth_code Amazon appended to your redirect URI.")
        if not redirect_uri:
            raise SpApiConfigError("Argument 'redirect_uri' is empty. Pass the redirect URI the authorisation used; LWA checks it.")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        result = self._post(form, "authorization_code")
        if not result.refresh_token or not result.refresh_token.startswith(REFRESH_TOKEN_PREFIX):
            raise SpApiAuthError("LWA returned no refresh token for the authorisation code.", operation="LWA token")
        return result

    def _post(self, form: dict[str, str], grant: str) -> LwaResult:
        return run_with_retries(
            lambda: self._post_once(form, grant),
            self.retry,
            operation=f"LWA {grant}",
            logger=self.logger,
            errors=SPAPI_ERRORS,
            on_retry=self.on_retry,
        )

    def _post_once(self, form: dict[str, str], grant: str) -> LwaResult:
        try:
            response = self.session.post(
                self.token_url,
                data=form,
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                timeout=(self.retry.connect_timeout, self.retry.read_timeout),
            )
        except requests.RequestException as exc:
            raise transport_failure(exc, "LWA", SPAPI_ERRORS) from None
        raise_if_retryable(response, "LWA answered ")
        if response.status_code != 200:
            raise _error(response, grant)
        try:
            body = response.json()
            value = body["access_token"]
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise SpApiServerError("LWA answered 200 without an access token.", status=200, operation="LWA token") from None
        if not isinstance(value, str) or not value.startswith(ACCESS_TOKEN_PREFIX):
            raise SpApiServerError(
                f"LWA returned a token that does not start with {ACCESS_TOKEN_PREFIX}.", status=200, operation="LWA token"
            )
        kind = "grantless" if grant == "client_credentials" else "access"
        return LwaResult(token=new_token(value, expires_in, kind), refresh_token=body.get("refresh_token"))
