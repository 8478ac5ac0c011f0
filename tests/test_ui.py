"""The ``spapi`` connection form as Airflow's UIs render it, and the provider as Airflow registers it.

Airflow 3: a real ``airflow api-server`` (simple auth manager, everyone admin) answers
``GET /ui/connections/hook_meta``, the endpoint the React UI builds the connection form from.
Airflow 2.x: the Flask UI builds the form from the hook's ``get_connection_form_widgets()`` and
``get_ui_field_behaviour()``, collected by ``ProvidersManager``. On both: ``airflow providers list``
shows the package, and ``get_provider_info()`` is valid against the schema Airflow ships.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import airflow
import jsonschema
import pytest
import requests

from airflow_provider_spapi import get_provider_info
from airflow_provider_spapi._compat import AIRFLOW_V_3
from airflow_provider_spapi.hooks.spapi import SpApiHook

pytestmark = pytest.mark.airflow

airflow_3_only = pytest.mark.skipif(not AIRFLOW_V_3, reason="Airflow 3's API server and React UI")
airflow_2_only = pytest.mark.skipif(AIRFLOW_V_3, reason="Airflow 2's Flask UI and ProvidersManager form widgets")

AIRFLOW_PACKAGE = Path(airflow.__file__).resolve().parent
HOOK_NAME = "Amazon Selling Partner API"
# SPEC.md's connection table: every extra field, and which of them are secrets.
EXTRA_FIELDS = (
    "refresh_token",
    "region",
    "sandbox",
    "endpoint",
    "lwa_endpoint",
    "marketplace_ids",
    "app_type",
    "refresh_token_issued_at",
    "client_secret_expires_at",
    "expiry_warning_days",
    "rate_limit_store",
)
SECRET_EXTRA_FIELDS = ("refresh_token",)
REGIONS = ["na", "eu", "fe"]
API_SERVER_STARTUP_TIMEOUT = 180.0


# -- on every Airflow version -------------------------------------------------------------------


def test_provider_info_is_valid_against_airflows_schema() -> None:
    info = get_provider_info()
    jsonschema.validate(info, json.loads((AIRFLOW_PACKAGE / "provider_info.schema.json").read_text()))
    # Airflow 3.2+ also describes conn-fields / ui-field-behaviour, in the provider.yaml schema: check them against it too.
    yaml_schema_file = AIRFLOW_PACKAGE / "provider.yaml.schema.json"
    if yaml_schema_file.exists():
        connection_types = json.loads(yaml_schema_file.read_text())["properties"]["connection-types"]
        if "conn-fields" in json.dumps(connection_types):
            jsonschema.validate(info["connection-types"], connection_types)
    connection_type = next(entry for entry in info["connection-types"] if entry["connection-type"] == "spapi")
    assert connection_type["hook-class-name"] == "airflow_provider_spapi.hooks.spapi.SpApiHook"
    assert connection_type["hook-name"] == HOOK_NAME
    assert set(EXTRA_FIELDS) <= set(connection_type["conn-fields"])


def test_ui_field_behaviour_is_valid_against_airflows_schema() -> None:
    """Airflow 2 validates the hook's field behaviour against this schema and drops the form if it fails."""
    schema = json.loads((AIRFLOW_PACKAGE / "customized_form_field_behaviours.schema.json").read_text())
    jsonschema.validate(SpApiHook.get_ui_field_behaviour(), schema)


def test_airflow_providers_list_shows_the_package(airflow_db: Path) -> None:
    env = os.environ.copy()
    if not AIRFLOW_V_3:  # Airflow 2 refuses LocalExecutor on SQLite, and its CLI logs the refusal to stdout
        env["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    start = result.stdout.find('[{"package_name"')
    assert start >= 0, result.stdout[-3000:]
    table, _ = json.JSONDecoder().raw_decode(result.stdout[start:])
    providers = {provider["package_name"]: provider for provider in table}
    assert "airflow-provider-spapi" in providers, sorted(providers)
    from airflow_provider_spapi import __version__

    assert providers["airflow-provider-spapi"]["version"] == __version__


# -- Airflow 3: the API server's hook_meta ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers; every wait is bounded."""
    for sig, timeout in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)


@pytest.fixture(scope="module")
def api_server(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``airflow api-server`` on a free port of 127.0.0.1 over the session's SQLite database; yields its base URL."""
    if not AIRFLOW_V_3:
        pytest.skip("Airflow 2 has no api-server")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = os.environ.copy()
    env.update(
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",  # no login: every request is an admin's
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(64),
        # Airflow 3.0 passes an unset issuer to PyJWT, which recent PyJWT refuses ("Issuer (iss) must be a string").
        AIRFLOW__API_AUTH__JWT_ISSUER="airflow-provider-spapi-tests",
    )
    log_path = tmp_path_factory.mktemp("api-server") / "api-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            # One worker: the form is the same from each, and four would start four Airflows.
            [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that _stop reaches any worker it forks
        )
        try:
            deadline = time.monotonic() + API_SERVER_STARTUP_TIMEOUT
            while True:
                if process.poll() is not None:
                    pytest.fail(f"airflow api-server exited with {process.returncode}:\n{log_path.read_text()[-5000:]}")
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"airflow api-server did not answer within {API_SERVER_STARTUP_TIMEOUT:g}s:\n{log_path.read_text()[-5000:]}"
                    )
                time.sleep(0.5)
            yield base_url
        finally:
            _stop(process)


@pytest.fixture(scope="module")
def hook_meta(api_server: str) -> dict[str, Any]:
    """The ``spapi`` entry of ``GET /ui/connections/hook_meta``.

    Airflow 3.0 and 3.2+ treat every request as an admin's in all-admins mode; 3.1 only hands out an
    admin token (``GET /auth/token``) to send as a bearer token.
    """
    headers = {}
    token = requests.get(f"{api_server}/auth/token", timeout=60)
    if token.status_code == 201:
        headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    response = requests.get(f"{api_server}/ui/connections/hook_meta", headers=headers, timeout=60)
    assert response.status_code == 200, response.text[:2000]
    entries = {entry["connection_type"]: entry for entry in response.json()}
    assert "spapi" in entries, sorted(entries)
    return dict(entries["spapi"])


@airflow_3_only
def test_hook_meta_names_the_connection_type(hook_meta: dict[str, Any]) -> None:
    assert hook_meta["hook_name"] == HOOK_NAME
    assert hook_meta["hook_class_name"] == "airflow_provider_spapi.hooks.spapi.SpApiHook"


@airflow_3_only
def test_hook_meta_hides_host_port_schema_and_relabels_login_and_password(hook_meta: dict[str, Any]) -> None:
    standard = hook_meta["standard_fields"]
    for hidden in ("host", "port", "url_schema"):  # url_schema is the connection's schema field
        assert standard[hidden] is not None and standard[hidden]["hidden"] is True, hidden
    assert standard["login"]["hidden"] is False
    assert standard["login"]["title"] == "LWA client ID"
    assert standard["password"]["hidden"] is False
    assert standard["password"]["title"] == "LWA client secret"


@airflow_3_only
def test_hook_meta_has_every_extra_field_of_the_spec(hook_meta: dict[str, Any]) -> None:
    extra = hook_meta["extra_fields"]
    missing = [name for name in EXTRA_FIELDS if name not in extra]
    assert not missing, f"missing from the form: {missing}"
    for name in EXTRA_FIELDS:
        assert extra[name]["schema"].get("title"), f"{name} has no label"
        assert extra[name].get("description"), f"{name} has no help text"
    assert "boolean" in extra["sandbox"]["schema"]["type"]
    assert "integer" in extra["expiry_warning_days"]["schema"]["type"]
    assert extra["expiry_warning_days"]["value"] == 30


@airflow_3_only
def test_hook_meta_renders_secrets_as_password_fields(hook_meta: dict[str, Any]) -> None:
    for name in SECRET_EXTRA_FIELDS:
        assert hook_meta["extra_fields"][name]["schema"].get("format") == "password", name
    not_secret = [name for name in EXTRA_FIELDS if name not in SECRET_EXTRA_FIELDS]
    assert all(hook_meta["extra_fields"][name]["schema"].get("format") != "password" for name in not_secret)


@airflow_3_only
def test_hook_meta_region_is_a_dropdown(hook_meta: dict[str, Any]) -> None:
    region = hook_meta["extra_fields"]["region"]
    assert region["schema"]["enum"] == REGIONS
    assert region["value"] == "na"


@airflow_3_only
def test_hook_form_renders_the_same_on_airflow_3_0_and_3_1() -> None:
    """Airflow 3.0/3.1 ignore conn-fields: they call the hook with mocked WTForms and keep what the mocks record.

    Airflow 3.3 still ships those mocks (``HookMetaService.Mock*``); replay that path here, with
    ``sys.modules`` restored afterwards, so a widget the mocks cannot turn into a field shows up.
    """
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService as Meta

    if not hasattr(Meta, "MockStringField"):  # pragma: no cover - a later Airflow dropped the legacy path
        pytest.skip("this Airflow no longer carries the mocked-WTForms form path")
    fake_modules = {
        name: mock.MagicMock()
        for name in (
            "wtforms",
            "wtforms.fields",
            "wtforms.validators",
            "flask_babel",
            "flask_appbuilder",
            "flask_appbuilder.fieldwidgets",
        )
    }
    with mock.patch.dict(sys.modules, fake_modules):
        fake_modules["wtforms"].fields = fake_modules["wtforms.fields"]
        fake_modules["wtforms"].validators = fake_modules["wtforms.validators"]
        fake_modules["flask_appbuilder"].fieldwidgets = fake_modules["flask_appbuilder.fieldwidgets"]
        with (
            mock.patch("wtforms.StringField", Meta.MockStringField),
            mock.patch("wtforms.IntegerField", Meta.MockIntegerField),
            mock.patch("wtforms.PasswordField", Meta.MockPasswordField),
            mock.patch("wtforms.BooleanField", Meta.MockBooleanField),
            mock.patch("flask_babel.lazy_gettext", lambda text: text),
            mock.patch("flask_appbuilder.fieldwidgets.BS3TextFieldWidget", Meta.MockAnyWidget),
            mock.patch("flask_appbuilder.fieldwidgets.BS3PasswordFieldWidget", Meta.MockAnyWidget),
            mock.patch("wtforms.validators.Optional", Meta.MockOptional),
            mock.patch("wtforms.validators.any_of", Meta.MockEnum),
        ):
            widgets = SpApiHook.get_connection_form_widgets()
    assert set(widgets) == set(EXTRA_FIELDS)
    schemas = {name: widget.param.dump()["schema"] for name, widget in widgets.items()}
    assert schemas["refresh_token"]["format"] == "password"
    assert schemas["region"]["enum"] == REGIONS
    assert "boolean" in schemas["sandbox"]["type"]
    assert "integer" in schemas["expiry_warning_days"]["type"]


# -- Airflow 2: the hook's form widgets, as ProvidersManager collects them ----------------------


def test_hook_declares_the_form_for_airflow_2() -> None:
    """Needs WTForms and Flask-AppBuilder, which Airflow 2 installs (Airflow 3 only with the FAB provider)."""
    wtforms = pytest.importorskip("wtforms")
    pytest.importorskip("flask_appbuilder")
    if not isinstance(wtforms, ModuleType):  # a stand-in another test or Airflow's mocked-form path left behind
        pytest.skip("WTForms is not really installed here")

    widgets = SpApiHook.get_connection_form_widgets()
    assert set(widgets) == set(EXTRA_FIELDS)
    for name in SECRET_EXTRA_FIELDS:
        assert widgets[name].field_class is wtforms.PasswordField, name
    assert widgets["sandbox"].field_class is wtforms.BooleanField
    assert widgets["expiry_warning_days"].field_class is wtforms.IntegerField
    region_choices = [v.values for v in widgets["region"].kwargs["validators"] if isinstance(v, wtforms.validators.AnyOf)]
    assert region_choices == [REGIONS]

    behaviour = SpApiHook.get_ui_field_behaviour()
    assert set(behaviour["hidden_fields"]) == {"host", "port", "schema"}
    assert behaviour["relabeling"] == {"login": "LWA client ID", "password": "LWA client secret"}


@airflow_2_only
def test_airflow_2_providers_manager_renders_the_form() -> None:
    import wtforms
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    hook = manager.hooks["spapi"]
    assert hook is not None
    assert hook.hook_name == HOOK_NAME
    assert hook.hook_class_name == "airflow_provider_spapi.hooks.spapi.SpApiHook"

    widgets = manager.connection_form_widgets
    for name in EXTRA_FIELDS:
        key = f"extra__spapi__{name}"
        assert key in widgets, key
        assert widgets[key].field_name == name
        secret = name in SECRET_EXTRA_FIELDS
        assert (widgets[key].field.field_class is wtforms.PasswordField) is secret, name
        assert widgets[key].is_sensitive is secret, name

    behaviour = manager.field_behaviours["spapi"]
    assert set(behaviour["hidden_fields"]) == {"host", "port", "schema"}
    assert behaviour["relabeling"] == {"login": "LWA client ID", "password": "LWA client secret"}
