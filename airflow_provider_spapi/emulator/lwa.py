"""Login with Amazon: the application credentials the emulator knows, and its token endpoint.

``POST /auth/o2/token`` accepts the same keys form-encoded (Amazon's samples) or as JSON (its
Java and PHP SDKs) and answers as LWA does:

* ``refresh_token`` → a seller access token and the *same* refresh token;
* ``client_credentials`` with ``scope`` (several joined by a space) → a grantless access token;
* ``authorization_code`` with ``code`` and ``redirect_uri`` → a seller access token and a *new*
  refresh token; a code works once, within five minutes.

Errors are ``{"error", "error_description"}``: ``invalid_request`` (400) for a missing parameter,
``invalid_client`` (401) for a wrong or expired client secret, ``invalid_grant`` (400) for an
unknown, revoked or foreign refresh token or code, ``unsupported_grant_type`` and ``invalid_scope``
(400). Every answer carries ``Cache-Control: no-store``.

A rotated client secret (``rotateApplicationClientSecret``) is recorded here: the new secret works
at once and the old one keeps working for seven days.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from urllib.parse import parse_qs

from airflow_provider_spapi.emulator import seed
from airflow_provider_spapi.emulator.auth import Grant, TokenStore
from airflow_provider_spapi.emulator.counters import Counters
from airflow_provider_spapi.emulator.model import operations
from airflow_provider_spapi.emulator.responses import Request, Response, lwa_error

OLD_SECRET_GRACE = 7 * 86_400.0
SECRET_LIFETIME = 180 * 86_400.0
INVALID_CLIENT = "Client authentication failed"


@cache
def grantless_scopes() -> frozenset[str]:
    """The scopes a client-credentials grant may ask for: those of the grantless operations of the models."""
    return frozenset(op.grantless_scope for op in operations() if op.grantless_scope)


@dataclass
class ClientSecret:
    value: str
    expires_at: float | None  # None: until rotated


@dataclass
class Client:
    client_id: str
    secrets: list[ClientSecret]
    secret_expired: bool = False


@dataclass
class RefreshGrant:
    token: str
    client_id: str
    selling_partner_id: str
    revoked: bool = False


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    selling_partner_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass(frozen=True)
class Rotation:
    client_id: str
    new_secret: str
    new_secret_expires_at: float
    old_secret_expires_at: float


@dataclass
class Credentials:
    """Clients, refresh tokens and authorization codes; thread-safe."""

    clients: dict[str, Client] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def seeded(cls, now: float | None = None) -> Credentials:
        """The seeded application, its sellers' refresh tokens, the revoked token and the one-time code."""
        now = time.time() if now is None else now
        creds = cls()
        creds.clients[seed.CLIENT_ID] = Client(seed.CLIENT_ID, [ClientSecret(seed.CLIENT_SECRET, None)])
        for seller in seed.SELLERS:
            creds.refresh_tokens[seller.refresh_token] = RefreshGrant(seller.refresh_token, seed.CLIENT_ID, seller.selling_partner_id)
        creds.refresh_tokens[seed.REVOKED_REFRESH_TOKEN] = RefreshGrant(
            seed.REVOKED_REFRESH_TOKEN, seed.CLIENT_ID, seed.SELLING_PARTNER_ID, revoked=True
        )
        creds.codes[seed.AUTHORIZATION_CODE] = AuthorizationCode(
            seed.AUTHORIZATION_CODE, seed.CLIENT_ID, seed.SELLING_PARTNER_ID, seed.REDIRECT_URI, now + seed.AUTHORIZATION_CODE_TTL
        )
        return creds

    def authenticate_client(self, client_id: str, client_secret: str, now: float) -> bool:
        with self.lock:
            client = self.clients.get(client_id)
            if client is None or client.secret_expired:
                return False
            return any(
                secrets.compare_digest(s.value, client_secret) and (s.expires_at is None or now < s.expires_at) for s in client.secrets
            )

    def register(self, client_id: str, client_secret: str, refresh_token: str | None, selling_partner_id: str) -> None:
        """Add a client (or another secret of a known one) and optionally a refresh token for a seller."""
        with self.lock:
            client = self.clients.setdefault(client_id, Client(client_id, []))
            if not any(s.value == client_secret for s in client.secrets):
                client.secrets.append(ClientSecret(client_secret, None))
            if refresh_token:
                self.refresh_tokens[refresh_token] = RefreshGrant(refresh_token, client_id, selling_partner_id)

    def revoke(self, refresh_token: str, client_id: str = seed.CLIENT_ID, selling_partner_id: str = seed.SELLING_PARTNER_ID) -> None:
        """Later refresh grants with this token answer ``invalid_grant`` (an unknown token is recorded as revoked)."""
        with self.lock:
            grant = self.refresh_tokens.setdefault(refresh_token, RefreshGrant(refresh_token, client_id, selling_partner_id))
            grant.revoked = True

    def expire_secret(self, client_id: str) -> bool:
        with self.lock:
            client = self.clients.get(client_id)
            if client is None:
                return False
            client.secret_expired = True
            return True

    def rotate_secret(self, client_id: str, now: float) -> Rotation:
        """A new secret for ``client_id``; every current secret keeps working for seven more days at most."""
        with self.lock:
            client = self.clients[client_id]
            old_expiry = now + OLD_SECRET_GRACE
            for old in client.secrets:
                old.expires_at = old_expiry if old.expires_at is None else min(old.expires_at, old_expiry)
            new = ClientSecret("amzn1.oa2-cs.v1." + secrets.token_hex(32), now + SECRET_LIFETIME)
            client.secrets.append(new)
            client.secret_expired = False
            return Rotation(client_id, new.value, now + SECRET_LIFETIME, old_expiry)

    def new_code(self, client_id: str, selling_partner_id: str, redirect_uri: str, now: float) -> str:
        code = "AN" + secrets.token_hex(10).upper()
        with self.lock:
            self.codes[code] = AuthorizationCode(code, client_id, selling_partner_id, redirect_uri, now + seed.AUTHORIZATION_CODE_TTL)
        return code

    def refresh_grant(self, refresh_token: str, client_id: str) -> RefreshGrant | None:
        with self.lock:
            grant = self.refresh_tokens.get(refresh_token)
            if grant is None or grant.revoked or grant.client_id != client_id:
                return None
            return grant

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, now: float) -> RefreshGrant | None:
        """Exchange a code once for a new refresh token of its seller."""
        with self.lock:
            entry = self.codes.get(code)
            if entry is None or entry.used or now >= entry.expires_at or entry.client_id != client_id or entry.redirect_uri != redirect_uri:
                return None
            entry.used = True
            token = "Atzr|IwEB" + secrets.token_urlsafe(60)
            grant = self.refresh_tokens[token] = RefreshGrant(token, client_id, entry.selling_partner_id)
            return grant


def _form(request: Request) -> dict[str, str] | None:
    """The token request's parameters, from a form-encoded or a JSON body; None when the body is unreadable."""
    content_type = (request.header("content-type") or "").lower()
    text = request.body.decode("utf-8", "replace")
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        return {str(k): str(v) for k, v in data.items() if v is not None}
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _missing(name: str) -> Response:
    return lwa_error(400, "invalid_request", f"The request is missing a required parameter : {name}")


def _invalid_grant(name: str) -> Response:
    return lwa_error(
        400, "invalid_grant", f"The request has an invalid grant parameter : {name}. User may have revoked or didn't grant the permission."
    )


def token_endpoint(request: Request, credentials: Credentials, tokens: TokenStore, expires_in: int, counters: Counters) -> Response:
    """``POST /auth/o2/token``."""
    now = time.time()
    form = _form(request)
    if form is None:
        return lwa_error(400, "invalid_request", "The request body could not be parsed.")
    grant_type = form.get("grant_type")
    if not grant_type:
        return _missing("grant_type")
    if grant_type not in ("refresh_token", "client_credentials", "authorization_code"):
        return lwa_error(
            400, "unsupported_grant_type", f"The authorization grant type is not supported by the authorization server : {grant_type}"
        )
    for name in ("client_id", "client_secret"):
        if not form.get(name):
            return _missing(name)
    client_id = form["client_id"]
    if not credentials.authenticate_client(client_id, form["client_secret"], now):
        return lwa_error(401, "invalid_client", INVALID_CLIENT)

    body: dict[str, object]
    if grant_type == "refresh_token":
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            return _missing("refresh_token")
        refresh = credentials.refresh_grant(refresh_token, client_id)
        if refresh is None:
            return _invalid_grant("refresh_token")
        access = tokens.issue(Grant("seller", client_id, refresh.selling_partner_id, now + expires_in))
        body = {"access_token": access, "refresh_token": refresh.token, "token_type": "bearer", "expires_in": expires_in}
    elif grant_type == "client_credentials":
        scope = form.get("scope", "").strip()
        if not scope:
            return _missing("scope")
        scopes = frozenset(scope.split())
        if not scopes <= grantless_scopes():
            return lwa_error(400, "invalid_scope", "The request has an invalid parameter : scope")
        access = tokens.issue(Grant("grantless", client_id, None, now + expires_in, scopes=scopes))
        for one in sorted(scopes):
            counters.add("lwa_by_scope", one)
        body = {"access_token": access, "token_type": "bearer", "expires_in": expires_in}
    else:
        for name in ("code", "redirect_uri"):
            if not form.get(name):
                return _missing(name)
        refresh = credentials.redeem_code(form["code"], client_id, form["redirect_uri"], now)
        if refresh is None:
            return _invalid_grant("code")
        access = tokens.issue(Grant("seller", client_id, refresh.selling_partner_id, now + expires_in))
        body = {"access_token": access, "refresh_token": refresh.token, "token_type": "bearer", "expires_in": expires_in}
    counters.add("lwa", grant_type)
    return Response.json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def rotation_notification(rotation: Rotation) -> dict[str, object]:
    """The ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` notification Amazon sends after a rotation."""
    now = datetime.now(timezone.utc)

    def iso(ts: float) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return {
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "2023-12-13",
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "payload": {
            "applicationOAuthClientNewSecret": {
                "clientId": rotation.client_id,
                "newClientSecret": rotation.new_secret,
                "newClientSecretExpiryTime": iso(rotation.new_secret_expires_at),
                "oldClientSecretExpiryTime": iso(rotation.old_secret_expires_at),
            }
        },
        "notificationMetadata": {
            "applicationId": seed.APPLICATION_ID,
            "subscriptionId": "emulator-application-subscription",
            "publishTime": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "notificationId": secrets.token_hex(16),
        },
    }
