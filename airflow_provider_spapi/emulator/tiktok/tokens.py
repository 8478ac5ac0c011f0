"""Authorisations and tokens on the emulator's side: auth codes, refresh tokens, access tokens, with absolute expiries."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from airflow_provider_spapi.emulator.tiktok import facts, seed

AUTH_CODE_LIFETIME = 30 * 60


@dataclass
class Authorisation:
    """A seller's authorisation of the app: its current refresh token and when it dies (absolute Unix seconds)."""

    app_key: str
    refresh_token: str
    refresh_expires_at: int
    open_id: str
    seller_name: str
    revoked: bool = False


@dataclass
class AccessToken:
    authorisation: Authorisation
    expires_at: int
    expired: bool = False


class Refusal(Exception):
    """A token-endpoint or API refusal with TikTok's code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _token(prefix: str) -> str:
    # Real tokens are opaque base64-ish text; keep a '+' and a '/' in ours so clients must encode them.
    return f"{prefix}{secrets.token_urlsafe(18)}+{secrets.token_urlsafe(6)}/{secrets.token_urlsafe(6)}"


class TokenStore:
    """Thread-safe tokens of one app (the seeded one)."""

    def __init__(self, refresh_token_lifetime: int) -> None:
        self._lock = threading.Lock()
        self.app_key, self.app_secret = seed.APP_KEY, seed.APP_SECRET
        self._by_refresh: dict[str, Authorisation] = {}
        self._access: dict[str, AccessToken] = {}
        self._codes: dict[str, int] = {}
        self._by_refresh[seed.REFRESH_TOKEN] = Authorisation(
            seed.APP_KEY, seed.REFRESH_TOKEN, int(time.time()) + refresh_token_lifetime, seed.OPEN_ID, seed.SELLER_NAME
        )

    def check_app(self, app_key: str | None, app_secret: str | None = None, *, secret_required: bool = False) -> None:
        if app_key != self.app_key:
            raise Refusal(facts.BAD_REQUEST, "Invalid app_key.")
        if secret_required and app_secret != self.app_secret:
            raise Refusal(facts.BAD_REQUEST, "Invalid app_secret.")

    def new_auth_code(self) -> str:
        code = "emu-code-" + secrets.token_urlsafe(12)
        with self._lock:
            self._codes[code] = int(time.time()) + AUTH_CODE_LIFETIME
        return code

    def _issue(self, authorisation: Authorisation, lifetime: int) -> tuple[str, int]:
        value = _token("ROW_emuAccess")
        expires_at = int(time.time()) + lifetime
        self._access[value] = AccessToken(authorisation, expires_at)
        return value, expires_at

    def exchange(self, code: str, access_lifetime: int, refresh_lifetime: int) -> tuple[Authorisation, str, int]:
        with self._lock:
            expires = self._codes.pop(code, None)
            if expires is None or expires < time.time():
                raise Refusal(facts.INVALID_AUTH_CODE, "The auth code is invalid or expired.")
            number = len(self._by_refresh) + 1
            authorisation = Authorisation(
                self.app_key, _token("ROW_emuRefresh"), int(time.time()) + refresh_lifetime, f"emu-open-id-{number:04d}", seed.SELLER_NAME
            )
            self._by_refresh[authorisation.refresh_token] = authorisation
            return (authorisation, *self._issue(authorisation, access_lifetime))

    def refresh(self, refresh_token: str, access_lifetime: int, refresh_lifetime: int, rotate: bool) -> tuple[Authorisation, str, int]:
        """A new access token; with ``rotate`` a new refresh token too, and the old one stops working."""
        with self._lock:
            authorisation = self._by_refresh.get(refresh_token)
            if authorisation is None or authorisation.revoked:
                raise Refusal(facts.NO_AUTHORISATION, "No authorisation record for this refresh token.")
            if authorisation.refresh_expires_at < time.time():
                raise Refusal(facts.REFRESH_TOKEN_EXPIRED, "The refresh token has expired.")
            if rotate:
                del self._by_refresh[refresh_token]
                authorisation.refresh_token = _token("ROW_emuRefresh")
                authorisation.refresh_expires_at = int(time.time()) + refresh_lifetime
                self._by_refresh[authorisation.refresh_token] = authorisation
            return (authorisation, *self._issue(authorisation, access_lifetime))

    def authenticate(self, value: str | None) -> Authorisation:
        with self._lock:
            token = self._access.get(value or "")
        if token is None or token.authorisation.revoked:
            raise Refusal(facts.INVALID_TOKEN, "Invalid access token.")
        if token.expired or token.expires_at <= time.time():
            raise Refusal(facts.EXPIRED_TOKEN, "Access token is expired, please refresh it.")
        return token.authorisation

    def expire_access_tokens(self) -> int:
        with self._lock:
            for token in self._access.values():
                token.expired = True
            return len(self._access)

    def revoke(self, refresh_token: str) -> bool:
        with self._lock:
            authorisation = self._by_refresh.get(refresh_token)
            if authorisation is not None:
                authorisation.revoked = True
            return authorisation is not None

    def expire_refresh_token(self, refresh_token: str) -> bool:
        with self._lock:
            authorisation = self._by_refresh.get(refresh_token)
            if authorisation is not None:
                authorisation.refresh_expires_at = int(time.time()) - 1
            return authorisation is not None
