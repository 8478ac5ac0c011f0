"""Credential lifecycle: expiry warnings, the check operator and its notifiers, secret rotation, and the credentials CLI."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pendulum
import pytest
from dagrun import run_dag, state_of

from airflow_provider_spapi import credentials as credentials_cli
from airflow_provider_spapi._compat import AIRFLOW_V_3, BaseNotifier
from airflow_provider_spapi.core.config import parse_datetime
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.errors import SpApiAuthError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.credentials import SpApiCredentialsCheckOperator, SpApiRotateClientSecretOperator
from airflow_provider_spapi.spapi.client import SpApiClient
from airflow_provider_spapi.spapi.expiry import due_warnings
from airflow_provider_spapi.spapi.settings import SpApiSettings, parse_settings

if AIRFLOW_V_3:
    from airflow.sdk import DAG
else:  # Airflow 2.11
    from airflow import DAG

pytestmark = pytest.mark.airflow

ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"
NOTIFIED: list[tuple[str, list[str]]] = []


def days_ago(days: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).date().isoformat()


def in_days(days: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).isoformat()


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def xcom_of(dag_run: Any, task_id: str) -> Any:
    """The return value of ``task_id`` from the metadata DB (SQLite, JSON text on Airflow 3, JSON bytes on 2)."""
    import sqlite3

    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as db:
        (value,) = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = 'return_value'",
            (dag_run.dag_id, dag_run.run_id, task_id),
        ).fetchone()
    return json.loads(value.decode() if isinstance(value, bytes) else value)


def dag_with(dag_id: str, operator: Any) -> Any:
    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False) as dag:
        dag.add_task(operator)
    return dag


def unique_conn_id(prefix: str) -> str:
    """A connection id no other test (or earlier hook in this process) has used: the once-per-process warning is keyed on it."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class RecordingNotifier(BaseNotifier):
    """A real BaseNotifier: its template field is rendered with the task context, warnings included."""

    template_fields = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def notify(self, context: Any) -> None:
        NOTIFIED.append((self.message, list(context["spapi_credential_warnings"])))


# -- expiry warnings --------------------------------------------------------------------------------


def test_340_days_after_authorisation_warns_with_25_days_left(airflow_db: Path, emu: Emulator, spapi_conn: Any) -> None:
    conn_id = spapi_conn(unique_conn_id("spapi_340"), refresh_token_issued_at=days_ago(340))

    warnings = SpApiHook(conn_id).check_credentials_expiry()
    assert len(warnings) == 1
    assert "refresh token" in warnings[0] and "in 25 days" in warnings[0]
    assert "re-authorise" in warnings[0]

    dag_run = run_dag(dag_with("test_cred_340_days", SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=conn_id)))
    assert state_of(dag_run, "check") == "success"
    result = xcom_of(dag_run, "check")
    assert result["refresh_token_days_left"] == 25
    assert result["client_secret_days_left"] is None
    assert result["warnings"] == warnings
    assert emu.counters()["requests"] == {}  # the check needs no call to Amazon


def test_370_days_after_authorisation_fails_naming_reauthorisation(airflow_db: Path, emu: Emulator, spapi_conn: Any) -> None:
    conn_id = spapi_conn(unique_conn_id("spapi_370"), refresh_token_issued_at=days_ago(370))

    with pytest.raises(SpApiAuthError) as failure:
        SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=conn_id).execute({})
    message = str(failure.value)
    assert "expired" in message and "5 days ago" in message
    assert "re-authorise" in message
    assert "credentials reauthorize" in message
    assert seed.REFRESH_TOKEN not in message and seed.CLIENT_SECRET not in message

    dag_run = run_dag(dag_with("test_cred_370_days", SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=conn_id)))
    assert state_of(dag_run, "check") == "failed"


def test_expired_credential_can_be_only_reported(emu: Emulator, spapi_conn: Any) -> None:
    conn_id = spapi_conn(unique_conn_id("spapi_370_soft"), refresh_token_issued_at=days_ago(370))

    result = SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=conn_id, fail_on_expired=False).execute({})

    assert result["refresh_token_days_left"] == -5
    assert "expired" in result["warnings"][0]


def test_private_app_gets_no_refresh_token_warning(emu: Emulator, spapi_conn: Any) -> None:
    conn_id = spapi_conn(unique_conn_id("spapi_private"), app_type="private", refresh_token_issued_at=days_ago(400))

    assert SpApiHook(conn_id).check_credentials_expiry() == []
    result = SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=conn_id).execute({})
    assert result == {"refresh_token_days_left": None, "client_secret_days_left": None, "warnings": []}


def test_client_secret_expiring_in_10_days_warns(emu: Emulator, spapi_conn: Any) -> None:
    conn_id = spapi_conn(unique_conn_id("spapi_secret"), client_secret_expires_at=in_days(10))

    warnings = SpApiHook(conn_id).check_credentials_expiry()
    assert len(warnings) == 1
    assert "client secret" in warnings[0] and "in 10 days" in warnings[0]
    assert "Rotate" in warnings[0]
    result = SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=conn_id).execute({})
    assert result["client_secret_days_left"] == 10
    assert result["warnings"] == warnings


def test_expiry_warning_days_moves_the_warning_earlier(emu: Emulator, spapi_conn: Any) -> None:
    default = spapi_conn(unique_conn_id("spapi_300"), refresh_token_issued_at=days_ago(300))
    early = spapi_conn(unique_conn_id("spapi_300_90"), refresh_token_issued_at=days_ago(300), expiry_warning_days=90)

    assert SpApiHook(default).check_credentials_expiry() == []  # 65 days left, 30-day window
    warnings = SpApiHook(early).check_credentials_expiry()
    assert len(warnings) == 1 and "in 65 days" in warnings[0]
    assert SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=default).execute({})["warnings"] == []
    assert SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=early).execute({})["warnings"] == warnings


# -- notifiers --------------------------------------------------------------------------------------


def test_notifiers_are_called_with_the_context_and_the_warnings(airflow_db: Path, emu: Emulator, spapi_conn: Any) -> None:
    conn_id = spapi_conn(unique_conn_id("spapi_notify"), refresh_token_issued_at=days_ago(340))
    seen: list[dict[str, Any]] = []
    NOTIFIED.clear()

    def record(context: Any) -> None:
        seen.append({"task_id": context["ti"].task_id, "warnings": list(context["spapi_credential_warnings"])})

    operator = SpApiCredentialsCheckOperator(
        task_id="check",
        spapi_conn_id=conn_id,
        notifiers=[record, RecordingNotifier("{{ spapi_credential_warnings | length }} warning(s) from {{ ti.task_id }}")],
    )
    dag_run = run_dag(dag_with("test_cred_notifiers", operator))

    assert state_of(dag_run, "check") == "success"
    assert len(seen) == 1
    assert seen[0]["task_id"] == "check"
    assert len(seen[0]["warnings"]) == 1 and "in 25 days" in seen[0]["warnings"][0]
    assert [("1 warning(s) from check", seen[0]["warnings"])] == NOTIFIED


def test_notifiers_are_not_called_without_a_warning(emu: Emulator, spapi_conn: Any) -> None:
    conn_id = spapi_conn(unique_conn_id("spapi_fresh"), refresh_token_issued_at=days_ago(10))
    calls: list[Any] = []

    SpApiCredentialsCheckOperator(task_id="check", spapi_conn_id=conn_id, notifiers=[calls.append]).execute({})

    assert calls == []


def test_hook_logs_the_expiry_warning_once_per_connection_per_process(
    emu: Emulator, spapi_conn: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    first = spapi_conn(unique_conn_id("spapi_once"), refresh_token_issued_at=days_ago(340))
    second = spapi_conn(unique_conn_id("spapi_once"), refresh_token_issued_at=days_ago(340))
    caplog.set_level(logging.WARNING)
    capsys.readouterr()

    for _ in range(3):
        hook = SpApiHook(first)
        hook.get_access_token()
    SpApiHook(second).client  # noqa: B018 - creating the client is the first use of the connection

    # Airflow 2 logs through the standard library (caplog, and its console handler); Airflow 3's task SDK
    # through structlog to stdout only. Count in each place and take the larger count: the same record may
    # show in both, but a second warning would show twice in either.
    captured = capsys.readouterr()
    sources = [caplog.text, captured.out + captured.err]
    for conn_id in (first, second):
        assert max(source.count(f"Connection {conn_id}: The LWA refresh token expires") for source in sources) == 1
    assert not any(secret in source for source in sources for secret in (seed.REFRESH_TOKEN, seed.CLIENT_SECRET))


# -- rotation and the CLI ---------------------------------------------------------------------------


def test_rotate_client_secret_operator_calls_amazon_once_with_the_rotation_scope(airflow_db: Path, emu: Emulator, spapi_conn: Any) -> None:
    dag_run = run_dag(dag_with("test_cred_rotate", SpApiRotateClientSecretOperator(task_id="rotate")))

    assert state_of(dag_run, "rotate") == "success"
    counters = emu.counters()
    assert counters["rotations"] == 1
    assert counters["lwa_by_scope"] == {ROTATION_SCOPE: 1}
    assert counters["lwa"]["refresh_token"] == 0  # grantless: no seller token involved
    (notification,) = emu.notifications()
    assert notification["notificationType"] == "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
    secret = notification["payload"]["applicationOAuthClientNewSecret"]
    assert secret["clientId"] == seed.CLIENT_ID
    assert secret["newClientSecret"].startswith("amzn1.oa2-cs.v1.")
    assert secret["newClientSecret"] != seed.CLIENT_SECRET


def same_fernet_key(env: dict[str, str]) -> dict[str, str]:
    """The key this process encrypts and decrypts connections with, so a subprocess writes what we can read."""
    from airflow.configuration import conf

    env["AIRFLOW__CORE__FERNET_KEY"] = conf.get("core", "fernet_key", fallback="") or ""
    return env


def _metadata_connection(conn_id: str, extra: dict[str, Any]) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        session.add(
            Connection(conn_id=conn_id, conn_type="spapi", login=seed.CLIENT_ID, password=seed.CLIENT_SECRET, extra=json.dumps(extra))
        )


def settings_of(conn_id: str) -> SpApiSettings:
    """A metadata-DB connection's settings, read as the CLI reads them (on Airflow 3 a hook outside a task cannot)."""
    stored = credentials_cli.read_connection(conn_id)
    return parse_settings(stored.login, stored.password, stored.extra)


def _stored(conn_id: str) -> tuple[str | None, dict[str, Any]]:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        connection = session.query(Connection).filter(Connection.conn_id == conn_id).one()
        return connection.password, dict(connection.extra_dejson)


def test_reauthorize_cli_stores_the_new_refresh_token_and_today(airflow_db: Path, emu: Emulator) -> None:
    conn_id = unique_conn_id("spapi_db_reauth")
    _metadata_connection(
        conn_id,
        {"refresh_token": seed.REFRESH_TOKEN, "endpoint": emu.url, "lwa_endpoint": emu.lwa_url, "refresh_token_issued_at": days_ago(360)},
    )
    code = emu.new_authorization_code()

    command = ["reauthorize", "--code", code["code"], "--conn-id", conn_id, "--redirect-uri", code["redirect_uri"]]
    completed = subprocess.run(
        [sys.executable, "-m", "airflow_provider_spapi.credentials", *command],
        capture_output=True,
        text=True,
        env=same_fernet_key(os.environ.copy()),
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    _, extra = _stored(conn_id)
    new_token = extra["refresh_token"]
    assert new_token.startswith("Atzr|") and new_token != seed.REFRESH_TOKEN
    assert extra["refresh_token_issued_at"] == today()
    assert new_token not in completed.stdout + completed.stderr
    assert seed.CLIENT_SECRET not in completed.stdout + completed.stderr
    assert "refresh_token_issued_at is now " + today() in completed.stdout
    assert emu.counters()["lwa"]["authorization_code"] == 1
    assert due_warnings(settings_of(conn_id)) == []  # the 365-day clock restarted


def test_store_secret_cli_stores_the_new_secret_and_its_expiry(
    airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    SpApiRotateClientSecretOperator(task_id="rotate").execute({})
    (notification,) = emu.notifications()
    new_secret = notification["payload"]["applicationOAuthClientNewSecret"]["newClientSecret"]
    expires = notification["payload"]["applicationOAuthClientNewSecret"]["newClientSecretExpiryTime"]
    path = tmp_path / "notification.json"
    path.write_text(json.dumps(notification))
    conn_id = unique_conn_id("spapi_db_secret")
    _metadata_connection(conn_id, {"refresh_token": seed.REFRESH_TOKEN, "endpoint": emu.url, "lwa_endpoint": emu.lwa_url})
    capsys.readouterr()

    code = credentials_cli.main(["store-secret", "--conn-id", conn_id, "--notification", str(path)])

    output = capsys.readouterr()
    assert code == 0, output.err
    password, extra = _stored(conn_id)
    assert password == new_secret
    assert parse_datetime(extra["client_secret_expires_at"], "client_secret_expires_at") == parse_datetime(expires, "expiry")
    assert new_secret not in output.out + output.err
    assert "Stored the new LWA client secret" in output.out
    settings = settings_of(conn_id)
    assert due_warnings(settings) == []  # 180 days ahead
    assert SpApiClient(settings).access_token().startswith("Atza|")  # the new secret works


def test_test_connection_true_on_a_good_connection_false_on_a_revoked_one(emu: Emulator, spapi_conn: Any) -> None:
    ok, message = SpApiHook().test_connection()
    assert ok is True
    assert "Connection works" in message

    revoked = spapi_conn(unique_conn_id("spapi_revoked"), refresh_token=seed.REVOKED_REFRESH_TOKEN)
    ok, message = SpApiHook(revoked).test_connection()
    assert ok is False
    assert "invalid_grant" in message
    assert "Re-authorise the app" in message  # the fix, not just the error
    assert seed.REVOKED_REFRESH_TOKEN not in message and seed.CLIENT_SECRET not in message
