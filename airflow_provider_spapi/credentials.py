"""Store renewed credentials in an ``spapi`` connection, so the expiry clocks restart.

    python -m airflow_provider_spapi.credentials reauthorize --conn-id spapi_default --code <spapi_oauth_code>
    python -m airflow_provider_spapi.credentials store-secret --conn-id spapi_default --notification notification.json

``reauthorize`` exchanges the website workflow's ``spapi_oauth_code`` (valid five minutes) for the
seller's new refresh token and stores it with ``refresh_token_issued_at`` set to today: the 365-day
clock of a public app restarts. ``store-secret`` reads an ``APPLICATION_OAUTH_CLIENT_NEW_SECRET``
notification (the JSON Amazon sends to your SQS queue after a rotation) and stores the new client
secret as the connection's password with ``client_secret_expires_at`` from the notification.

Both update the connection in Airflow's metadata database. A connection kept in an environment
variable or a secrets backend cannot be updated from here: pass ``--json-file PATH`` to write the
updated connection (mode 0600) for you to load there. Neither command prints a secret.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_provider_spapi.core.config import parse_datetime
from airflow_provider_spapi.errors import SpApiConfigError, SpApiError
from airflow_provider_spapi.spapi.client import SpApiClient
from airflow_provider_spapi.spapi.settings import parse_settings


@dataclass(frozen=True)
class StoredConnection:
    """The fields of a connection this command reads, and whether the metadata database holds it."""

    login: str | None
    password: str | None = field(repr=False)
    extra: dict[str, Any] = field(repr=False)
    in_database: bool


def read_connection(conn_id: str) -> StoredConnection:
    """The connection from the metadata database (read directly: a CLI is no task), else from env vars or a secrets backend."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    from airflow_provider_spapi._compat import BaseHook

    with create_session() as session:
        stored = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        if stored is not None:
            return StoredConnection(stored.login, stored.password, dict(stored.extra_dejson or {}), in_database=True)
    found = BaseHook.get_connection(conn_id)
    return StoredConnection(found.login, found.password, dict(found.extra_dejson or {}), in_database=False)


def update_connection(
    conn_id: str, *, password: str | None = None, extra: dict[str, Any] | None = None, json_file: Path | None = None
) -> str:
    """Merge ``extra`` into the connection's extra (and set ``password``), in the database or in ``json_file``."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    if json_file is not None:
        current = read_connection(conn_id)
        document = {
            "conn_type": "spapi",
            "login": current.login,
            "password": password if password is not None else current.password,
            "extra": {**current.extra, **(extra or {})},
        }
        json_file.touch(mode=0o600, exist_ok=True)
        os.chmod(json_file, 0o600)
        json_file.write_text(json.dumps(document, indent=2), encoding="utf-8")
        return f"wrote the updated connection to {json_file} (mode 0600); load it into your secrets backend"

    with create_session() as session:
        connection = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        if connection is None:
            raise SpApiConfigError(
                f"Connection '{conn_id}' is not in Airflow's metadata database (an environment variable or a secrets backend "
                "holds it). Pass --json-file PATH to write the updated connection, then load it there."
            )
        merged = {**(connection.extra_dejson or {}), **(extra or {})}
        connection.set_extra(json.dumps(merged))
        if password is not None:
            connection.set_password(password)
        session.merge(connection)
    return f"updated connection '{conn_id}' in the metadata database"


def reauthorize(conn_id: str, code: str, redirect_uri: str, json_file: Path | None) -> str:
    current = read_connection(conn_id)
    client = SpApiClient(parse_settings(current.login, current.password, current.extra))
    refresh_token = client.exchange_authorization_code(code, redirect_uri)
    today = datetime.now(timezone.utc).date().isoformat()
    where = update_connection(conn_id, extra={"refresh_token": refresh_token, "refresh_token_issued_at": today}, json_file=json_file)
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
    where = update_connection(conn_id, password=str(payload["newClientSecret"]), extra=extra, json_file=json_file)
    until = f"; it expires {expires_at.date().isoformat()}" if expires_at else ""
    return f"Stored the new LWA client secret: {where}{until}. The old secret keeps working for 7 days."


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
    args = parser.parse_args(argv)
    try:
        if args.command == "reauthorize":
            print(reauthorize(args.conn_id, args.code, args.redirect_uri, args.json_file))
        else:
            text = sys.stdin.read() if args.notification == "-" else Path(args.notification).read_text(encoding="utf-8")
            print(store_secret(args.conn_id, json.loads(text), args.json_file))
    except (SpApiError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
