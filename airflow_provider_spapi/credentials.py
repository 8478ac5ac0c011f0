"""Store renewed credentials in an ``spapi`` or ``tiktok_shop`` connection, so the expiry clocks restart.

    python -m airflow_provider_spapi.credentials reauthorize --conn-id spapi_default --code <spapi_oauth_code>
    python -m airflow_provider_spapi.credentials store-secret --conn-id spapi_default --notification notification.json
    python -m airflow_provider_spapi.credentials tiktok-authorize --conn-id tiktok_shop_default --code <auth code>
    python -m airflow_provider_spapi.credentials tiktok-refresh --conn-id tiktok_shop_default
    python -m airflow_provider_spapi.credentials tiktok-store-tokens --conn-id tiktok_shop_default --tokens answer.json

``reauthorize`` exchanges the website workflow's ``spapi_oauth_code`` (valid five minutes) for the
seller's new refresh token and stores it with ``refresh_token_issued_at`` set to today: the 365-day
clock of a public app restarts. ``store-secret`` reads an ``APPLICATION_OAUTH_CLIENT_NEW_SECRET``
notification (the JSON Amazon sends to your SQS queue after a rotation) and stores the new client
secret as the connection's password with ``client_secret_expires_at`` from the notification.

For TikTok Shop, ``tiktok-authorize`` exchanges the auth code TikTok appends to the app's redirect
URL (single use, valid 30 minutes) and stores the token pair: ``refresh_token`` with
``refresh_token_expires_at`` (a date TikTok states) and ``access_token`` with
``access_token_expires_at``. ``tiktok-refresh`` refreshes once with the stored refresh token and
stores the pair TikTok answers: the command a hook's warning names when TikTok rotated the refresh
token in a task that could not store it. ``tiktok-store-tokens`` stores a pair obtained elsewhere
(TikTok's token answer as JSON, from a file or standard input, never the command line).

Both update the connection in Airflow's metadata database. A connection kept in an environment
variable or a secrets backend cannot be updated from here: pass ``--json-file PATH`` to write the
updated connection (mode 0600) for you to load there. No command prints a secret or a token.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_provider_spapi.core.config import parse_datetime
from airflow_provider_spapi.errors import SpApiConfigError, SpApiError, TikTokShopConfigError, TikTokShopError
from airflow_provider_spapi.hooks.connection_store import StoredConnection, read_connection, update_connection
from airflow_provider_spapi.spapi.client import SpApiClient
from airflow_provider_spapi.spapi.settings import parse_settings
from airflow_provider_spapi.tiktok import settings as tiktok_settings
from airflow_provider_spapi.tiktok.auth import TokenPair
from airflow_provider_spapi.tiktok.client import TikTokShopClient

__all__ = ["StoredConnection", "main", "read_connection", "update_connection"]


def reauthorize(conn_id: str, code: str, redirect_uri: str, json_file: Path | None) -> str:
    current = read_connection(conn_id)
    client = SpApiClient(parse_settings(current.login, current.password, current.extra))
    refresh_token = client.exchange_authorization_code(code, redirect_uri)
    today = datetime.now(timezone.utc).date().isoformat()
    where = update_connection(
        conn_id, extra={"refresh_token": refresh_token, "refresh_token_issued_at": today}, json_file=json_file, error=SpApiConfigError
    )
    return f"Stored the seller's new refresh token: {where}. refresh_token_issued_at is now {today}; the 365-day clock restarts."


def store_secret(conn_id: str, notification: dict[str, Any], json_file: Path | None) -> str:
    payload = notification.get("payload", notification).get("applicationOAuthClientNewSecret")
    if not isinstance(payload, dict) or not payload.get("newClientSecret"):
        raise SpApiConfigError(
            "The notification has no payload.applicationOAuthClientNewSecret.newClientSecret; "
            "pass the APPLICATION_OAUTH_CLIENT_NEW_SECRET JSON."
        )
    login = read_connection(conn_id).login
    if payload.get("clientId") and payload["clientId"] != login:
        raise SpApiConfigError(
            f"The notification is for another client id than connection '{conn_id}' (its login); pick the matching connection."
        )
    expires_at = parse_datetime(payload.get("newClientSecretExpiryTime"), "newClientSecretExpiryTime")
    extra = {"client_secret_expires_at": expires_at.isoformat()} if expires_at else {}
    where = update_connection(conn_id, password=str(payload["newClientSecret"]), extra=extra, json_file=json_file, error=SpApiConfigError)
    until = f"; it expires {expires_at.date().isoformat()}" if expires_at else ""
    return f"Stored the new LWA client secret: {where}{until}. The old secret keeps working for 7 days."


# -- TikTok Shop ------------------------------------------------------------------------------------


def _tiktok_connection(conn_id: str) -> tuple[StoredConnection, TikTokShopClient]:
    """The ``tiktok_shop`` connection and a client for it; a connection of another type is refused before any call."""
    current = read_connection(conn_id)
    if current.conn_type not in (None, tiktok_settings.CONN_TYPE):
        raise TikTokShopConfigError(
            f"Connection '{conn_id}' is a {current.conn_type!r} connection, not {tiktok_settings.CONN_TYPE!r}; pass the TikTok Shop one."
        )
    return current, TikTokShopClient(tiktok_settings.parse_settings(current.login, current.password, current.extra))


def _pair_fields(pair: TokenPair) -> dict[str, Any]:
    return {
        "refresh_token": pair.refresh_token,
        "refresh_token_expires_at": pair.refresh_token_expires_at.isoformat() if pair.refresh_token_expires_at else None,
        "access_token": pair.access_token,
        "access_token_expires_at": pair.access_token_expires_at.isoformat(),
    }


def store_token_pair(conn_id: str, pair: TokenPair, json_file: Path | None, current: StoredConnection | None = None) -> str:
    """Write the pair into the connection's extra (checked as the hook would read it first); say where and until when."""
    current = current or read_connection(conn_id)
    fields = _pair_fields(pair)
    tiktok_settings.parse_settings(current.login, current.password, {**current.extra, **fields})
    missing = "Pass --json-file PATH to write the updated connection, then load it into the backend that holds it."
    where = update_connection(conn_id, extra=fields, json_file=json_file, missing_fix=missing, error=TikTokShopConfigError)
    refresh_until = f"{pair.refresh_token_expires_at:%Y-%m-%d}" if pair.refresh_token_expires_at else "an unknown date"
    return (
        f"Stored the TikTok Shop token pair: {where}. The refresh token expires on {refresh_until}; "
        f"the access token on {pair.access_token_expires_at:%Y-%m-%d %H:%M} UTC (then the hook refreshes it)."
    )


def tiktok_authorize(conn_id: str, auth_code: str, json_file: Path | None) -> str:
    """Exchange the auth code TikTok appended to the redirect URL (single use, 30 minutes) and store the pair."""
    current, client = _tiktok_connection(conn_id)
    pair = client.auth.exchange(client.settings.app_key, client.settings.app_secret, auth_code)
    return store_token_pair(conn_id, pair, json_file, current)


def tiktok_refresh(conn_id: str, json_file: Path | None) -> str:
    """Refresh once with the connection's refresh token and store the pair TikTok answers (the new refresh token, if any)."""
    current, client = _tiktok_connection(conn_id)
    if not client.settings.refresh_token:
        raise TikTokShopConfigError(
            f"Connection '{conn_id}' has no refresh_token to refresh with. Authorise the app and run tiktok-authorize --code CODE."
        )
    pair = client.auth.refresh(client.settings.app_key, client.settings.app_secret, client.settings.refresh_token)
    return store_token_pair(conn_id, pair, json_file, current)


def token_pair_from(document: Mapping[str, Any]) -> TokenPair:
    """A pair from TikTok's token answer (the envelope or its ``data``: ``*_expire_in`` are Unix seconds) or the extra's own names."""
    data = document.get("data", document)
    if not isinstance(data, Mapping):
        raise TikTokShopConfigError("The token document's 'data' is not an object; pass TikTok's token answer or its data.")
    values: dict[str, Any] = {}
    for name in ("refresh_token", "access_token"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise TikTokShopConfigError(f"The token document has no '{name}'; pass the JSON TikTok's /api/v2/token/get answered.")
        values[name] = value.strip()
        when = data.get(f"{name}_expires_at", data.get(f"{name}_expire_in"))
        values[f"{name}_expires_at"] = parse_datetime(when, f"{name}_expire_in", unix_seconds=True)
    if values["access_token_expires_at"] is None:
        raise TikTokShopConfigError("The token document has no 'access_token_expire_in'; pass the whole token answer.")
    return TokenPair(**values)


def tiktok_store_tokens(conn_id: str, document: Mapping[str, Any], json_file: Path | None) -> str:
    """Store a pair obtained elsewhere (TikTok's token answer as JSON), without calling TikTok."""
    return store_token_pair(conn_id, token_pair_from(document), json_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_spapi.credentials", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    reauth = commands.add_parser("reauthorize", help="exchange an spapi_oauth_code for a new refresh token and store it")
    reauth.add_argument("--conn-id", default="spapi_default")
    reauth.add_argument("--code", required=True, help="the spapi_oauth_code Amazon appended to your redirect URI")
    reauth.add_argument("--redirect-uri", required=True, help="the redirect URI the authorisation used (LWA checks it matches)")
    reauth.add_argument("--json-file", type=Path, help="write the updated connection here instead of the database")
    secret = commands.add_parser("store-secret", help="store the client secret of an APPLICATION_OAUTH_CLIENT_NEW_SECRET notification")
    secret.add_argument("--conn-id", default="spapi_default")
    secret.add_argument("--notification", required=True, help="the notification JSON file, or - for standard input")
    secret.add_argument("--json-file", type=Path, help="write the updated connection here instead of the database")
    authorize = commands.add_parser("tiktok-authorize", help="exchange a TikTok Shop auth code and store the token pair")
    authorize.add_argument("--conn-id", default="tiktok_shop_default")
    authorize.add_argument("--code", required=True, help="the code TikTok appended to the app's redirect URL (single use, 30 minutes)")
    refresh = commands.add_parser("tiktok-refresh", help="refresh the TikTok Shop tokens once and store the pair TikTok answers")
    refresh.add_argument("--conn-id", default="tiktok_shop_default")
    tokens = commands.add_parser("tiktok-store-tokens", help="store a TikTok Shop token pair from TikTok's token answer (JSON)")
    tokens.add_argument("--conn-id", default="tiktok_shop_default")
    tokens.add_argument("--tokens", required=True, help="the token answer's JSON file, or - for standard input (never the command line)")
    for command in (authorize, refresh, tokens):
        command.add_argument("--json-file", type=Path, help="write the updated connection here instead of the database")
    args = parser.parse_args(argv)
    try:
        if args.command == "reauthorize":
            print(reauthorize(args.conn_id, args.code, args.redirect_uri, args.json_file))
        elif args.command == "store-secret":
            print(store_secret(args.conn_id, json.loads(_read(args.notification)), args.json_file))
        elif args.command == "tiktok-authorize":
            print(tiktok_authorize(args.conn_id, args.code, args.json_file))
        elif args.command == "tiktok-refresh":
            print(tiktok_refresh(args.conn_id, args.json_file))
        else:
            print(tiktok_store_tokens(args.conn_id, json.loads(_read(args.tokens)), args.json_file))
    except (SpApiError, TikTokShopError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _read(source: str) -> str:
    return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
