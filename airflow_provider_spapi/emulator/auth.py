"""Access tokens and Restricted Data Tokens: what each token authorises, and whether it covers a call.

Three kinds of token reach SP-API:

* a seller token (``Atza|…`` from a refresh-token or authorization-code grant) acts for one
  selling partner through one application;
* a grantless token (``Atza|…`` from a client-credentials grant) acts for the application alone,
  within its scopes, and only on grantless operations;
* an RDT (``Atz.sprdt|…`` from ``createRestrictedDataToken``) acts for the seller of the token that
  minted it, and only on the restricted resources it lists (method plus a specific or generic path).

Every token has an expiry; ``expire_all`` makes every issued token answer "expired" at once.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from airflow_provider_spapi.emulator.model import Operation, template_covers
from airflow_provider_spapi.emulator.responses import ApiError

GrantKind = Literal["seller", "grantless", "rdt"]

DENIED = "Access to requested resource is denied."
MISSING = "Access token is missing in the request header."
INVALID = "The access token you provided is revoked, malformed or invalid."
EXPIRED = "The access token you provided has expired."


@dataclass(frozen=True)
class RestrictedResource:
    method: str
    path: str
    data_elements: tuple[str, ...] = ()

    def covers(self, method: str, path: str) -> bool:
        return self.method == method.upper() and template_covers(self.path, path)


@dataclass
class Grant:
    """What one token authorises."""

    kind: GrantKind
    client_id: str
    selling_partner_id: str | None
    expires_at: float
    scopes: frozenset[str] = frozenset()
    resources: tuple[RestrictedResource, ...] = ()
    expired: bool = field(default=False)

    @property
    def principal(self) -> str:
        """Whose usage plans a call spends: the seller's (through this application) or the application's."""
        if self.selling_partner_id is None:
            return f"app:{self.client_id}"
        return f"seller:{self.client_id}:{self.selling_partner_id}"

    def is_expired(self, now: float) -> bool:
        return self.expired or now >= self.expires_at

    def data_elements_for(self, method: str, path: str) -> frozenset[str]:
        """The PII elements this RDT unlocks for (method, path): the union over the resources covering it."""
        return frozenset(e for r in self.resources if r.covers(method, path) for e in r.data_elements)

    def covers(self, method: str, path: str, *, exact: bool = False) -> bool:
        if exact:
            return any(r.method == method.upper() and r.path == path for r in self.resources)
        return any(r.covers(method, path) for r in self.resources)


class TokenStore:
    """Issued tokens by value. Tokens are random; the store is the only place that knows what they mean."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def issue(self, grant: Grant) -> str:
        prefix = "Atz.sprdt|" if grant.kind == "rdt" else "Atza|"
        token = prefix + "IwEB" + secrets.token_urlsafe(60)
        with self._lock:
            self._forget_long_expired()
            self._grants[token] = grant
        return token

    def lookup(self, token: str) -> Grant | None:
        with self._lock:
            return self._grants.get(token)

    def issued(self) -> list[str]:
        """Every token value issued and not yet forgotten: leak tests search logs and XCom for them."""
        with self._lock:
            return list(self._grants)

    def expire_all(self) -> int:
        with self._lock:
            for grant in self._grants.values():
                grant.expired = True
            return len(self._grants)

    def clear(self) -> None:
        with self._lock:
            self._grants.clear()

    def _forget_long_expired(self) -> None:
        # Keep expired tokens a day (they answer "expired", not "invalid"), then let them go.
        if len(self._grants) < 10_000:
            return
        cutoff = time.time() - 86_400
        for token in [t for t, g in self._grants.items() if g.expires_at < cutoff]:
            del self._grants[token]


def authenticate(store: TokenStore, header: str | None, now: float) -> Grant:
    """The grant behind an ``x-amz-access-token`` header, or a 403 saying why not."""
    if not header:
        raise ApiError(403, "Unauthorized", DENIED, MISSING)
    grant = store.lookup(header.strip())
    if grant is None:
        raise ApiError(403, "Unauthorized", DENIED, INVALID)
    if grant.is_expired(now):
        raise ApiError(403, "Unauthorized", DENIED, EXPIRED)
    return grant


def authorize(grant: Grant, operation: Operation, method: str, path: str) -> frozenset[str]:
    """Check the token may call ``operation`` on ``path``; return the PII data elements it unlocks.

    Raises a 403 ``Unauthorized`` for a seller token on a grantless operation (or the reverse), an
    RDT on a resource it does not list, or a plain token on an always-restricted operation.
    Report documents of restricted report types are checked by the reports handler, which knows
    the report type.
    """
    if operation.grantless_scope is not None:
        if grant.kind != "grantless":
            raise ApiError(
                403,
                "Unauthorized",
                DENIED,
                f"{operation.name} is a grantless operation: call it with a token from a client_credentials grant.",
            )
        if operation.grantless_scope not in grant.scopes:
            raise ApiError(403, "Unauthorized", DENIED, f"The access token does not have the scope {operation.grantless_scope}.")
        return frozenset()
    if grant.kind == "grantless":
        raise ApiError(403, "Unauthorized", DENIED, f"{operation.name} needs the selling partner's authorisation, not a grantless token.")
    if grant.kind == "rdt":
        if not grant.covers(method, path):
            raise ApiError(403, "Unauthorized", DENIED, "The Restricted Data Token does not cover this resource.")
        return grant.data_elements_for(method, path)
    if operation.restricted == "always":
        raise ApiError(403, "Unauthorized", DENIED, f"{operation.name} returns restricted data: call it with a Restricted Data Token.")
    return frozenset()
