"""The credentials CLI for TikTok Shop: authorise a shop, store a token pair, refresh and store; nothing secret printed.

Every command runs against the session's emulator and a real metadata database (or a ``--json-file`` for
a connection kept in an environment variable); the stored connection is then used by a real client.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_spapi import credentials
from airflow_provider_spapi.emulator import Emulator
from airflow_provider_spapi.emulator.tiktok import seed
from airflow_provider_spapi.tiktok.client import TikTokShopClient
from airflow_provider_spapi.tiktok.grants import shared_grants
from airflow_provider_spapi.tiktok.settings import parse_settings

pytestmark = pytest.mark.airflow

TOKEN_PREFIXES = ("ROW_emuAccess", "ROW_emuRefresh")


@pytest.fixture
def tt(emu: Emulator) -> Iterator[Emulator]:
    """The session's emulator, reset, with the process's TikTok grants forgotten too."""
    shared_grants.clear()
    yield emu
    shared_grants.clear()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def metadata_connection(conn_id: str, extra: dict[str, Any], conn_type: str = "tiktok_shop") -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        connection = Connection(conn_id=conn_id, conn_type=conn_type, login=seed.APP_KEY, password=seed.APP_SECRET, extra=json.dumps(extra))
        session.add(connection)


def stored_extra(conn_id: str) -> dict[str, Any]:
    return credentials.read_connection(conn_id).extra


def client_of(conn_id: str) -> TikTokShopClient:
    """A client from the connection as stored (on Airflow 3 a hook outside a task cannot read the metadata DB)."""
    stored = credentials.read_connection(conn_id)
    return TikTokShopClient(parse_settings(stored.login, stored.password, stored.extra))


def endpoints(emulator: Emulator) -> dict[str, str]:
    return {"api_endpoint": emulator.url, "auth_endpoint": emulator.url}


def token_grants(emulator: Emulator) -> dict[str, int]:
    return dict(emulator.tiktok.counters.snapshot()["token"])


def leaked(text: str) -> list[str]:
    return [marker for marker in (seed.APP_SECRET, seed.REFRESH_TOKEN, *TOKEN_PREFIXES) if marker in text]


def same_fernet_key(env: dict[str, str]) -> dict[str, str]:
    from airflow.configuration import conf

    env["AIRFLOW__CORE__FERNET_KEY"] = conf.get("core", "fernet_key", fallback="") or ""
    return env


def test_tiktok_authorize_stores_the_token_pair_in_the_metadata_db(airflow_db: Path, tt: Emulator) -> None:
    conn_id = unique("tiktok_db_authorize")
    metadata_connection(conn_id, endpoints(tt))

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_spapi.credentials",
            "tiktok-authorize",
            "--conn-id",
            conn_id,
            "--code",
            tt.tiktok.new_authorization_code(),
        ],
        capture_output=True,
        text=True,
        env=same_fernet_key(os.environ.copy()),
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    extra = stored_extra(conn_id)
    assert extra["refresh_token"].startswith("ROW_emuRefresh") and extra["access_token"].startswith("ROW_emuAccess")
    refresh_expiry = datetime.fromisoformat(extra["refresh_token_expires_at"])
    access_expiry = datetime.fromisoformat(extra["access_token_expires_at"])
    now = datetime.now(timezone.utc)
    assert now + timedelta(days=364) < refresh_expiry < now + timedelta(days=366)  # the emulator's 365-day authorisation
    assert now + timedelta(days=6) < access_expiry < now + timedelta(days=8)
    assert f"The refresh token expires on {refresh_expiry:%Y-%m-%d}" in completed.stdout
    assert leaked(completed.stdout + completed.stderr) == []
    assert token_grants(tt) == {"get": 1, "refresh": 0}
    # The stored pair works as stored: the access token serves calls with no refresh.
    assert client_of(conn_id).authorized_shops()[0]["cipher"] == seed.SHOPS[0].cipher
    assert token_grants(tt) == {"get": 1, "refresh": 0}


def test_tiktok_authorize_writes_a_json_file_for_an_env_var_connection(
    tt: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], airflow_db: Path
) -> None:
    conn_id = unique("tiktok_env_authorize")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", tt.tiktok_connection_json(refresh_token=None))
    exported = tmp_path / "connection.json"

    code = credentials.main(
        ["tiktok-authorize", "--conn-id", conn_id, "--code", tt.tiktok.new_authorization_code(), "--json-file", str(exported)]
    )

    output = capsys.readouterr()
    assert code == 0, output.err
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    document = json.loads(exported.read_text())
    assert document["conn_type"] == "tiktok_shop" and document["login"] == seed.APP_KEY
    assert {"refresh_token", "refresh_token_expires_at", "access_token", "access_token_expires_at", "api_endpoint"} <= set(
        document["extra"]
    )
    assert f"wrote the updated connection to {exported}" in output.out
    assert leaked(output.out + output.err) == []


def test_tiktok_store_tokens_reads_tiktoks_answer_from_stdin(
    airflow_db: Path, tt: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pair obtained elsewhere (TikTok's token answer, ``*_expire_in`` as Unix seconds) is stored without a call."""
    import io

    conn_id = unique("tiktok_db_store")
    metadata_connection(conn_id, endpoints(tt))
    refresh_expire_in = int((datetime.now(timezone.utc) + timedelta(days=300)).timestamp())
    answer = {
        "code": 0,
        "message": "success",
        "data": {
            "access_token": "ROW_emuAccess-pasted",
            "access_token_expire_in": int((datetime.now(timezone.utc) + timedelta(days=7)).timestamp()),
            "refresh_token": "ROW_emuRefresh-pasted",
            "refresh_token_expire_in": refresh_expire_in,
            "open_id": "x",
            "seller_name": "y",
        },
    }
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(answer)))

    code = credentials.main(["tiktok-store-tokens", "--conn-id", conn_id, "--tokens", "-"])

    output = capsys.readouterr()
    assert code == 0, output.err
    extra = stored_extra(conn_id)
    assert (extra["refresh_token"], extra["access_token"]) == ("ROW_emuRefresh-pasted", "ROW_emuAccess-pasted")
    assert datetime.fromisoformat(extra["refresh_token_expires_at"]).timestamp() == refresh_expire_in
    assert "open_id" not in extra and "seller_name" not in extra
    assert leaked(output.out + output.err) == []
    assert token_grants(tt) == {"get": 0, "refresh": 0}


BAD_COMMANDS = {
    "a spent auth code": (["tiktok-authorize", "--code", "emu-code-never-issued"], "36004004"),
    "a token document without refresh_token": (["tiktok-store-tokens", "--tokens", "{tokens}"], "'refresh_token'"),
}


@pytest.mark.parametrize("case", sorted(BAD_COMMANDS))
def test_bad_cli_input_changes_nothing_and_names_the_problem(
    airflow_db: Path, tt: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    conn_id = unique("tiktok_db_bad")
    metadata_connection(conn_id, {"refresh_token": seed.REFRESH_TOKEN, **endpoints(tt)})
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"data": {"access_token": "ROW_emuAccess-x", "access_token_expire_in": 1900000000}}))
    arguments, expected = BAD_COMMANDS[case]

    code = credentials.main([argument.replace("{tokens}", str(tokens)) for argument in arguments] + ["--conn-id", conn_id])

    output = capsys.readouterr()
    assert code == 1
    assert expected in output.err
    assert stored_extra(conn_id) == {"refresh_token": seed.REFRESH_TOKEN, **endpoints(tt)}
    assert leaked(output.out + output.err) == []


def test_tiktok_commands_refuse_a_connection_of_another_type_before_any_call(
    airflow_db: Path, tt: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    conn_id = unique("spapi_not_tiktok")
    metadata_connection(conn_id, {"refresh_token": "Atzr|x"}, conn_type="spapi")

    code = credentials.main(["tiktok-refresh", "--conn-id", conn_id])

    assert code == 1
    assert "'spapi' connection, not 'tiktok_shop'" in capsys.readouterr().err
    assert token_grants(tt) == {"get": 0, "refresh": 0}


def test_tiktok_refresh_without_a_refresh_token_names_the_fix(airflow_db: Path, tt: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    conn_id = unique("tiktok_db_no_refresh")
    metadata_connection(conn_id, endpoints(tt))

    code = credentials.main(["tiktok-refresh", "--conn-id", conn_id])

    assert code == 1
    assert "tiktok-authorize --code" in capsys.readouterr().err
    assert token_grants(tt) == {"get": 0, "refresh": 0}
