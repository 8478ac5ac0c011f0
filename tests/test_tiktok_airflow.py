"""TikTok Shop through Airflow: the hook against the emulator, the operators, the example DAGs end to end,
bad input refused before anything is sent, the connection form, refresh-token persistence, and a leak scan.

The emulator's seeded app secret and refresh token are distinctive strings, and every token it issues
starts with ``ROW_emuAccess`` / ``ROW_emuRefresh``; its orders' buyer fields carry the marker ``PII``.
The scan searches the console, the task logs, XCom and the rendered fields for all of them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pendulum
import pytest
from dagrun import run_dag, state_of
from test_example_dags import capture_console, decode, load_dagbag, scannable_console, task_states
from test_tiktok_credentials import TOKEN_PREFIXES, metadata_connection, stored_extra, unique

from airflow_provider_spapi import get_provider_info
from airflow_provider_spapi._compat import AIRFLOW_V_3
from airflow_provider_spapi.core.ratelimit import shared_rate_limiter
from airflow_provider_spapi.core.tokens import shared_token_cache
from airflow_provider_spapi.emulator import Emulator
from airflow_provider_spapi.emulator.tiktok import seed
from airflow_provider_spapi.errors import TikTokShopAuthError, TikTokShopConfigError
from airflow_provider_spapi.hooks.tiktok_shop import TikTokShopHook
from airflow_provider_spapi.operators.tiktok_shop import WITHHELD_BODY, TikTokShopCredentialsCheckOperator, TikTokShopOperator
from airflow_provider_spapi.tiktok.grants import shared_grants

if AIRFLOW_V_3:
    from airflow.sdk import DAG
else:  # Airflow 2.11
    from airflow import DAG

pytestmark = pytest.mark.airflow

ORDERS_SEARCH = "/order/202309/orders/search"
PRODUCTS_SEARCH = "/product/202309/products/search"
EXAMPLE_DAG_IDS = ["example_credentials_check_all", "example_tiktok_orders_incremental"]
# SPEC.md's tiktok_shop connection table: every extra field, and which of them are secrets.
EXTRA_FIELDS = (
    "refresh_token",
    "refresh_token_expires_at",
    "access_token",
    "access_token_expires_at",
    "shop_cipher",
    "api_endpoint",
    "auth_endpoint",
    "expiry_warning_days",
)
SECRET_EXTRA_FIELDS = ("refresh_token", "access_token")


def in_days(days: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).isoformat()


def clear_process_caches() -> None:
    shared_token_cache.clear()
    shared_rate_limiter.clear()
    shared_grants.clear()


@pytest.fixture(scope="module")
def tiktok_emulator() -> Iterator[Emulator]:
    """This module's own emulator, seeded with enough orders (about 30 updated a day) for every data interval to have pages."""
    with Emulator(host="127.0.0.1", port=0, tiktok={"orders": 2700}) as running:
        yield running


@pytest.fixture
def tt(tiktok_emulator: Emulator) -> Iterator[Emulator]:
    """The module's emulator, reset (tokens, counters, knobs), with this process's token, grant and rate caches cleared."""
    tiktok_emulator.reset()
    clear_process_caches()
    yield tiktok_emulator
    tiktok_emulator.reset()


@pytest.fixture
def tiktok_conn(tt: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Define ``tiktok_shop_default`` (and any other id) as environment-variable connections to the emulator."""

    def define(conn_id: str = "tiktok_shop_default", **extra: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", tt.tiktok_connection_json(**extra))
        return conn_id

    define()
    return define


def sent(emulator: Emulator) -> dict[str, Any]:
    """What the emulator's TikTok side received: API calls by name and token-endpoint grants."""
    counters = emulator.tiktok.counters.snapshot()
    return {"requests": counters["requests"], "token": counters["token"]}


NOTHING_SENT = {"requests": {}, "token": {"get": 0, "refresh": 0}}


def dag_with(dag_id: str, operator: Any) -> Any:
    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False) as dag:
        dag.add_task(operator)
    return dag


# -- the hook against the emulator ------------------------------------------------------------------


def test_hook_refreshes_once_and_every_hook_of_the_process_shares_the_token(tt: Emulator, tiktok_conn: Any) -> None:
    hooks = [TikTokShopHook() for _ in range(3)]

    tokens = {hook.get_access_token() for hook in hooks}
    shops = hooks[0].get_authorized_shops()
    products = hooks[1].request("POST", PRODUCTS_SEARCH, params={"page_size": 5}, json={})

    assert len(tokens) == 1 and next(iter(tokens)).startswith("ROW_emuAccess")
    assert [shop["cipher"] for shop in shops] == [seed.SHOPS[0].cipher]
    assert len(products["products"]) == 5
    assert sent(tt)["token"] == {"get": 0, "refresh": 1}  # one refresh for three hooks
    assert sent(tt)["requests"] == {"authorization.shops": 1, "product.search": 1}


def test_hook_paginates_every_order_exactly_once(tt: Emulator, tiktok_conn: Any) -> None:
    hook = TikTokShopHook()

    pages = list(hook.paginate("POST", ORDERS_SEARCH, json={}, page_size=100))

    ids = [order["id"] for page in pages for order in page["orders"]]
    assert len(ids) == len(set(ids)) == len(tt.tiktok.data[seed.SHOPS[0].cipher].orders)
    assert len(pages) == -(-len(ids) // 100)
    assert hook.stats["pages"] == len(pages)


def test_hook_uses_the_connections_own_access_token_while_it_is_valid(
    airflow_db: Path, tt: Emulator, tiktok_conn: Any, tmp_path: Path
) -> None:
    """An authorisation stored by the CLI (a token pair) needs no refresh until the access token expires."""
    from airflow_provider_spapi import credentials

    exported = tmp_path / "conn.json"
    assert credentials.main(["tiktok-authorize", "--code", tt.tiktok.new_authorization_code(), "--json-file", str(exported)]) == 0
    tiktok_conn("tiktok_shop_pair", **json.loads(exported.read_text())["extra"])

    shops = TikTokShopHook("tiktok_shop_pair").get_authorized_shops()

    assert shops and sent(tt)["token"] == {"get": 1, "refresh": 0}


def test_test_connection_true_on_a_good_connection_false_on_a_revoked_one(tt: Emulator, tiktok_conn: Any) -> None:
    ok, message = TikTokShopHook().test_connection()
    assert ok, message
    assert "1 shop(s): Emulator Shop US (US)" in message

    tt.tiktok.revoke(seed.REFRESH_TOKEN)
    clear_process_caches()
    ok, message = TikTokShopHook().test_connection()
    assert not ok
    assert "36004005" in message and "authorise" in message
    assert seed.REFRESH_TOKEN not in message and seed.APP_SECRET not in message


def test_test_connection_answers_quickly_when_tiktok_keeps_failing(tt: Emulator, tiktok_conn: Any) -> None:
    """The Test button's short retry budget: two tries, not the eight a task gets."""
    tt.tiktok.configure({"faults": [{"kind": "status", "status": 503, "path_prefix": "/api/v2/token", "count": 100}]})

    ok, message = TikTokShopHook().test_connection()

    assert not ok and "503" in message
    assert tt.tiktok.counters.snapshot()["faults"] == {"status": 2}


def test_expiry_warning_20_days_ahead_logged_once_per_process(
    tt: Emulator, tiktok_conn: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    conn_id = tiktok_conn(unique("tiktok_expiring"), refresh_token_expires_at=in_days(20))
    caplog.set_level(logging.WARNING)
    capsys.readouterr()

    for _ in range(3):
        TikTokShopHook(conn_id).get_access_token()
    warnings = TikTokShopHook(conn_id).check_credentials_expiry()

    assert len(warnings) == 1 and "in 20 days" in warnings[0] and "authorise" in warnings[0]
    captured = capsys.readouterr()
    sources = [caplog.text, captured.out + captured.err]
    assert max(source.count(f"Connection {conn_id}: The TikTok Shop refresh token expires") for source in sources) == 1


# -- the operators ----------------------------------------------------------------------------------


def test_personal_data_goes_to_the_file_and_xcom_gets_counts(airflow_db: Path, tt: Emulator, tiktok_conn: Any, tmp_path: Path) -> None:
    output = tmp_path / "orders.jsonl"
    operator = TikTokShopOperator(
        task_id="orders",
        method="POST",
        path=ORDERS_SEARCH,
        body={"order_status": "COMPLETED"},
        paginate=True,
        page_size=20,
        output_path=str(output),
    )

    dag_run = run_dag(dag_with(unique("test_tiktok_orders_file"), operator))

    assert state_of(dag_run, "orders") == "success"
    pages = [json.loads(line) for line in output.read_text().splitlines()]
    orders = [order for page in pages for order in page["orders"]]
    expected = [order for order in tt.tiktok.data[seed.SHOPS[0].cipher].orders if order["status"] == "COMPLETED"]
    assert sorted(order["id"] for order in orders) == sorted(order["id"] for order in expected)
    assert all("PII" in order["recipient_address"]["name"] for order in orders)
    with sqlite3.connect(airflow_db / "airflow.db") as db:
        (xcom,) = db.execute("SELECT value FROM xcom WHERE dag_id = ? AND task_id = 'orders'", (dag_run.dag_id,)).fetchone()
        (rendered,) = db.execute("SELECT rendered_fields FROM rendered_task_instance_fields WHERE dag_id = ?", (dag_run.dag_id,)).fetchone()
    assert decode(xcom) == {"path": str(output), "pages": len(pages), "records": len(expected)}
    assert WITHHELD_BODY in str(rendered) and "COMPLETED" not in str(rendered)  # the body ran, but is not kept


def test_mapped_personal_data_calls_withhold_the_body_too(airflow_db: Path, tt: Emulator, tiktok_conn: Any, tmp_path: Path) -> None:
    """``.partial().expand()`` renders through the mapped operator; the body stays out of the rendered fields there too."""
    dag_id = unique("test_tiktok_orders_mapped")
    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False) as dag:
        TikTokShopOperator.partial(task_id="orders", method="POST", path=ORDERS_SEARCH, paginate=True).expand_kwargs(
            [
                {"body": {"order_status": "COMPLETED"}, "output_path": str(tmp_path / "completed.jsonl")},
                {"body": {"order_status": "CANCELLED"}, "output_path": str(tmp_path / "cancelled.jsonl")},
            ]
        )

    dag_run = run_dag(dag)

    assert set(task_states(dag_run).values()) == {"success"}
    for status, name in (("COMPLETED", "completed.jsonl"), ("CANCELLED", "cancelled.jsonl")):
        lines = (tmp_path / name).read_text().splitlines()
        assert {order["status"] for line in lines for order in json.loads(line)["orders"]} == {status}  # the real body was sent
    with sqlite3.connect(airflow_db / "airflow.db") as db:
        rendered = [
            str(row) for (row,) in db.execute("SELECT rendered_fields FROM rendered_task_instance_fields WHERE dag_id = ?", (dag_id,))
        ]
    assert len(rendered) == 2
    assert all(WITHHELD_BODY in fields and "COMPLETED" not in fields and "CANCELLED" not in fields for fields in rendered)


def test_non_personal_call_without_output_path_returns_data_to_xcom(tt: Emulator, tiktok_conn: Any) -> None:
    shops = TikTokShopOperator(task_id="shops", method="GET", path="/authorization/202309/shops").execute({})
    products = TikTokShopOperator(task_id="products", method="POST", path=PRODUCTS_SEARCH, body={}, paginate=True, page_size=50).execute({})

    assert [shop["cipher"] for shop in shops["shops"]] == [seed.SHOPS[0].cipher]
    assert [len(page["products"]) for page in products] == [50, 10]


def test_credentials_check_fails_once_expired_naming_reauthorisation(tt: Emulator, tiktok_conn: Any) -> None:
    conn_id = tiktok_conn(unique("tiktok_expired"), refresh_token_expires_at=in_days(-3))
    notified: list[list[str]] = []

    with pytest.raises(TikTokShopAuthError) as failure:
        TikTokShopCredentialsCheckOperator(
            task_id="check", tiktok_shop_conn_id=conn_id, notifiers=[lambda c: notified.append(c["credential_warnings"])]
        ).execute({})

    assert "expired" in str(failure.value) and "3 days ago" in str(failure.value)
    assert "authorise" in str(failure.value)
    assert len(notified) == 1 and notified[0][0] in str(failure.value)
    soft = TikTokShopCredentialsCheckOperator(task_id="check", tiktok_shop_conn_id=conn_id, fail_on_expired=False).execute({})
    assert soft["refresh_token_days_left"] == -3
    assert sent(tt) == NOTHING_SENT  # the expiry is a known date: no call needed


def test_credentials_check_without_a_recorded_expiry_reports_none(tt: Emulator, tiktok_conn: Any) -> None:
    result = TikTokShopCredentialsCheckOperator(task_id="check").execute({})

    assert result == {"refresh_token_days_left": None, "warnings": []}


# -- bad input: a clear error naming the field, and nothing sent --------------------------------------


Case = Any  # a callable taking the emulator: it makes the bad call


def _operator(**kwargs: Any) -> Case:
    return lambda emulator: TikTokShopOperator(task_id="bad", **{"method": "POST", "path": PRODUCTS_SEARCH, **kwargs}).execute({})


def _connection(**fields: Any) -> Case:
    """A call through a connection whose fields (``password`` or extra fields) are wrong."""

    def call(emulator: Emulator) -> Any:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AIRFLOW_CONN_TIKTOK_SHOP_BAD", emulator.tiktok_connection_json(**fields))
            return TikTokShopHook("tiktok_shop_bad").request("POST", PRODUCTS_SEARCH, json={})

    return call


BAD_INPUT: dict[str, tuple[Case, str]] = {
    "method": (lambda emulator: TikTokShopOperator(task_id="bad", method="FETCH", path=PRODUCTS_SEARCH), "'method'"),
    "paginate not a bool": (
        lambda emulator: TikTokShopOperator(task_id="bad", method="GET", path=PRODUCTS_SEARCH, paginate="yes"),
        "'paginate'",
    ),
    "path without slash": (_operator(path="product/202309/products/search"), "'path'"),
    "path with a query": (_operator(path=PRODUCTS_SEARCH + "?page_size=5"), "'path'"),
    "query_params not a dict": (_operator(query_params=["page_size", 5]), "'query_params'"),
    "personal data without output_path": (_operator(path=ORDERS_SEARCH, paginate=True), "'output_path'"),
    "output_path empty": (_operator(output_path="  "), "'output_path'"),
    "shop_cipher empty": (_operator(shop_cipher=""), "'shop_cipher'"),
    "shop_cipher on a shopless path": (_operator(method="GET", path="/authorization/202309/shops", shop_cipher="X"), "'shop_cipher'"),
    "page_size above 100": (_operator(paginate=True, page_size=500), "'page_size'"),
    "signed params passed": (_operator(query_params={"app_key": "x"}), "app_key"),
    "app secret empty": (_connection(password=""), "password"),
    "unknown extra field": (_connection(shop_chiper="x"), "shop_chiper"),
    "expiry_warning_days negative": (_connection(expiry_warning_days=-1), "expiry_warning_days"),
    "refresh_token_expires_at malformed": (_connection(refresh_token_expires_at="next year"), "refresh_token_expires_at"),
    "access_token without expiry": (_connection(access_token="ROW_x"), "access_token_expires_at"),
    "api_endpoint not a URL": (_connection(api_endpoint="open-api"), "api_endpoint"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_before_anything_is_sent(tt: Emulator, tiktok_conn: Any, case: str) -> None:
    call, name = BAD_INPUT[case]

    with pytest.raises(TikTokShopConfigError) as failure:
        call(tt)

    assert name in str(failure.value), str(failure.value)
    assert sent(tt) == NOTHING_SENT
    assert seed.APP_SECRET not in str(failure.value) and seed.REFRESH_TOKEN not in str(failure.value)


# -- the connection form and provider info ----------------------------------------------------------


def test_provider_info_declares_the_tiktok_shop_connection_and_modules() -> None:
    info = get_provider_info()
    (connection_type,) = [entry for entry in info["connection-types"] if entry["connection-type"] == "tiktok_shop"]

    assert connection_type["hook-class-name"] == "airflow_provider_spapi.hooks.tiktok_shop.TikTokShopHook"
    assert connection_type["hook-name"] == "TikTok Shop"
    assert set(connection_type["conn-fields"]) == set(EXTRA_FIELDS)
    secrets = {name for name, field in connection_type["conn-fields"].items() if field["schema"].get("format") == "password"}
    assert secrets == set(SECRET_EXTRA_FIELDS)
    assert connection_type["conn-fields"]["expiry_warning_days"]["schema"]["default"] == 30
    behaviour = connection_type["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"host", "port", "schema"}
    assert behaviour["relabeling"] == {"login": "App key", "password": "App secret"}
    modules = {module for section in ("hooks", "operators") for entry in info[section] for module in entry["python-modules"]}
    assert {"airflow_provider_spapi.hooks.tiktok_shop", "airflow_provider_spapi.operators.tiktok_shop"} <= modules
    assert TikTokShopHook.get_ui_field_behaviour()["relabeling"] == behaviour["relabeling"]


@pytest.mark.skipif(not AIRFLOW_V_3, reason="Airflow 3's hook_meta (the React UI's connection form)")
def test_hook_meta_renders_the_tiktok_shop_form() -> None:
    """What ``GET /ui/connections/hook_meta`` answers (the same service, called in process)."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    entries = {entry.connection_type: entry.model_dump() for entry in HookMetaService.hook_meta_data()}
    meta = entries["tiktok_shop"]

    assert meta["hook_name"] == "TikTok Shop"
    standard = meta["standard_fields"]
    assert all(standard[name]["hidden"] for name in ("host", "port", "url_schema"))
    assert (standard["login"]["title"], standard["password"]["title"]) == ("App key", "App secret")
    extra = meta["extra_fields"]
    assert set(EXTRA_FIELDS) <= set(extra)
    assert [name for name in EXTRA_FIELDS if extra[name]["schema"].get("format") == "password"] == list(SECRET_EXTRA_FIELDS)
    assert extra["expiry_warning_days"]["value"] == 30


def test_hook_declares_the_form_for_airflow_2() -> None:
    wtforms = pytest.importorskip("wtforms")
    pytest.importorskip("flask_appbuilder")
    if not isinstance(wtforms, ModuleType):  # a stand-in another test or Airflow's mocked-form path left behind
        pytest.skip("WTForms is not really installed here")

    widgets = TikTokShopHook.get_connection_form_widgets()

    assert set(widgets) == set(EXTRA_FIELDS)
    assert {name for name, widget in widgets.items() if widget.field_class is wtforms.PasswordField} == set(SECRET_EXTRA_FIELDS)
    assert widgets["expiry_warning_days"].field_class is wtforms.IntegerField


@pytest.mark.skipif(AIRFLOW_V_3, reason="Airflow 2's Flask UI and ProvidersManager form widgets")
def test_airflow_2_providers_manager_renders_the_tiktok_shop_form() -> None:
    import wtforms
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.hooks["tiktok_shop"] is not None and manager.hooks["tiktok_shop"].hook_name == "TikTok Shop"
    for name in EXTRA_FIELDS:
        widget = manager.connection_form_widgets[f"extra__tiktok_shop__{name}"]
        secret = name in SECRET_EXTRA_FIELDS
        assert (widget.field.field_class is wtforms.PasswordField) is secret and widget.is_sensitive is secret, name
    assert manager.field_behaviours["tiktok_shop"]["relabeling"] == {"login": "App key", "password": "App secret"}


# -- a rotated refresh token is never silently lost ----------------------------------------------------


def test_rotated_refresh_token_of_an_env_connection_warns_with_the_command(
    tt: Emulator, tiktok_conn: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    tt.tiktok.configure({"rotate_refresh_token": True})
    caplog.set_level(logging.INFO)
    capsys.readouterr()

    TikTokShopHook().get_authorized_shops()
    tt.tiktok.expire_tokens()
    TikTokShopHook().get_authorized_shops()  # a second refresh, from the rotated token the process holds

    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err
    assert sent(tt)["token"] == {"get": 0, "refresh": 2}
    assert tt.tiktok.counters.snapshot()["rotations"] == 2
    assert "Connection tiktok_shop_default: TikTok Shop issued a new refresh token" in text
    assert "credentials tiktok-refresh --conn-id tiktok_shop_default" in text
    assert "an environment variable" in text or "Airflow 3 tasks cannot write connections" in text
    assert not any(prefix in text for prefix in TOKEN_PREFIXES) and seed.REFRESH_TOKEN not in text


def test_rotated_refresh_token_of_a_metadata_db_connection_in_a_task(
    airflow_db: Path, tt: Emulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Airflow 2.11: the task writes the new pair to the connection. Airflow 3: it cannot (the Task SDK only reads connections)."""
    tt.tiktok.configure({"rotate_refresh_token": True})
    conn_id = unique("tiktok_db_rotation")
    expires = in_days(200)
    metadata_connection(
        conn_id,
        {"refresh_token": seed.REFRESH_TOKEN, "refresh_token_expires_at": expires, "api_endpoint": tt.url, "auth_endpoint": tt.url},
    )
    operator = TikTokShopOperator(task_id="shops", method="GET", path="/authorization/202309/shops", tiktok_shop_conn_id=conn_id)

    caplog.set_level(logging.INFO)
    capsys.readouterr()

    dag_run = run_dag(dag_with(unique("test_tiktok_rotation"), operator))

    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err
    assert state_of(dag_run, "shops") == "success"
    assert tt.tiktok.counters.snapshot()["rotations"] == 1
    assert not any(prefix in text for prefix in TOKEN_PREFIXES)
    extra = stored_extra(conn_id)
    if AIRFLOW_V_3:
        assert extra["refresh_token"] == seed.REFRESH_TOKEN  # unchanged: tasks cannot write connections
        assert f"Connection {conn_id}: TikTok Shop issued a new refresh token" in text
        assert "Airflow 3 tasks cannot write connections" in text and f"tiktok-refresh --conn-id {conn_id}" in text
    else:
        assert f"Connection {conn_id}: stored the new refresh token" in text
        assert extra["refresh_token"].startswith("ROW_emuRefresh")
        assert datetime.fromisoformat(extra["refresh_token_expires_at"]) > datetime.now(timezone.utc) + timedelta(days=360)
        assert "access_token" not in extra


def test_tiktok_refresh_cli_stores_the_rotated_pair_in_the_metadata_db(
    airflow_db: Path, tt: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command the warning names: refresh once, store the pair; the stored access token then serves the next hook."""
    from airflow_provider_spapi import credentials

    tt.tiktok.configure({"rotate_refresh_token": True})
    conn_id = unique("tiktok_db_cli")
    metadata_connection(conn_id, {"refresh_token": seed.REFRESH_TOKEN, "api_endpoint": tt.url, "auth_endpoint": tt.url})
    capsys.readouterr()

    assert credentials.main(["tiktok-refresh", "--conn-id", conn_id]) == 0

    output = capsys.readouterr()
    extra = stored_extra(conn_id)
    assert extra["refresh_token"].startswith("ROW_emuRefresh") and extra["access_token"].startswith("ROW_emuAccess")
    assert datetime.fromisoformat(extra["refresh_token_expires_at"]) > datetime.now(timezone.utc) + timedelta(days=360)
    assert "Stored the TikTok Shop token pair: updated connection" in output.out
    assert not any(prefix in output.out + output.err for prefix in TOKEN_PREFIXES)
    assert seed.APP_SECRET not in output.out + output.err


# -- the example DAGs, end to end, and the leak scan ------------------------------------------------


class Runs:
    def __init__(self, home: Path, output: Path, emulator: Emulator) -> None:
        self.home, self.output, self.emulator = home, output, emulator
        self.dag_runs: dict[str, Any] = {}
        self.console = ""
        self.counters: dict[str, Any] = {}

    def xcom(self, dag_id: str, task_id: str) -> Any:
        with sqlite3.connect(self.home / "airflow.db") as db:
            (value,) = db.execute(
                "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = 'return_value'",
                (dag_id, self.dag_runs[dag_id].run_id, task_id),
            ).fetchone()
        return decode(value)


@pytest.fixture(scope="module")
def runs(airflow_db: Path, tiktok_emulator: Emulator, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Both example DAGs once, with the environment tools/demo.py sets: TikTok on this module's emulator, SP-API on the session's."""
    output = tmp_path_factory.mktemp("tiktok-example-output")
    tiktok_emulator.reset()
    emulator.reset()
    clear_process_caches()
    result = Runs(airflow_db, output, tiktok_emulator)
    issued = (datetime.now(timezone.utc) - timedelta(days=340)).date().isoformat()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPAPI_EXAMPLE_OUTPUT", str(output))
        env.setenv("SPAPI_EXAMPLE_PAGE_SIZE", "10")
        env.setenv("AIRFLOW_CONN_TIKTOK_SHOP_DEFAULT", tiktok_emulator.tiktok_connection_json(refresh_token_expires_at=in_days(20)))
        env.setenv("AIRFLOW_CONN_SPAPI_DEFAULT", emulator.connection_json(refresh_token_issued_at=issued))
        for name in ("SPAPI_EXAMPLE_CREDENTIAL_CONN_IDS", "TIKTOK_EXAMPLE_CREDENTIAL_CONN_IDS"):
            env.delenv(name, raising=False)
        dagbag = load_dagbag()
        with capture_console() as console:
            for dag_id in EXAMPLE_DAG_IDS:
                dag = dagbag.dags[dag_id]
                for task in dag.tasks:
                    task.retries = 0
                result.dag_runs[dag_id] = dag.test()
        result.console = console.getvalue()
        result.counters = tiktok_emulator.tiktok.counters.snapshot()
    yield result
    tiktok_emulator.reset()


def test_example_dags_load_with_docs_and_tags() -> None:
    dagbag = load_dagbag()

    assert dagbag.import_errors == {}
    for dag_id in EXAMPLE_DAG_IDS:
        dag = dagbag.dags[dag_id]
        assert {"tiktok_shop", "example"} <= set(dag.tags), dag_id
        assert dag.catchup is False and (dag.doc_md or "").strip(), dag_id


@pytest.mark.parametrize("dag_id", EXAMPLE_DAG_IDS)
def test_example_dag_runs_green(runs: Runs, dag_id: str) -> None:
    states = task_states(runs.dag_runs[dag_id])

    assert states and set(states.values()) == {"success"}, states


def test_incremental_orders_are_the_ones_updated_in_the_data_interval(runs: Runs) -> None:
    dag_run = runs.dag_runs["example_tiktok_orders_incremental"]
    result = runs.xcom("example_tiktok_orders_incremental", "search_orders")
    start, end = int(dag_run.data_interval_start.timestamp()), int(dag_run.data_interval_end.timestamp())

    assert end - start == 86400
    pages = [json.loads(line) for line in Path(result["path"]).read_text().splitlines()]
    ids = [order["id"] for page in pages for order in page["orders"]]
    expected = sorted(
        (order for order in runs.emulator.tiktok.data[seed.SHOPS[0].cipher].orders if start <= order["update_time"] < end),
        key=lambda order: (order["update_time"], order["id"]),
    )
    assert len(expected) > 10  # several pages at SPAPI_EXAMPLE_PAGE_SIZE=10
    assert ids == [order["id"] for order in expected]  # sort_field=update_time ASC
    assert result == {"path": result["path"], "pages": len(expected) // 10 + (1 if len(expected) % 10 else 0), "records": len(expected)}
    assert Path(result["path"]).is_relative_to(runs.output)
    assert runs.counters["token"]["refresh"] == 1


def test_credentials_check_all_reports_both_platforms(runs: Runs) -> None:
    tiktok = runs.xcom("example_credentials_check_all", "check_tiktok_shop_default")
    spapi = runs.xcom("example_credentials_check_all", "check_spapi_default")

    assert tiktok["refresh_token_days_left"] == 20 and len(tiktok["warnings"]) == 1
    assert spapi["refresh_token_days_left"] == 25 and len(spapi["warnings"]) == 1
    assert "credential warning: The TikTok Shop refresh token expires" in runs.console  # the example's notifier ran


def test_no_secret_token_or_personal_data_in_console_logs_xcom_or_rendered_fields(runs: Runs) -> None:
    orders_file = Path(runs.xcom("example_tiktok_orders_incremental", "search_orders")["path"])
    assert "PII" in orders_file.read_text()  # the data the scan looks for is real, and it is on disk
    assert "TikTok Shop usage:" in runs.console  # the capture saw the task logs
    assert runs.counters["token"]["refresh"] >= 1  # tokens were issued, so the prefix scan is not vacuous

    run_ids = {(dag_id, dag_run.run_id) for dag_id, dag_run in runs.dag_runs.items()}
    with sqlite3.connect(runs.home / "airflow.db") as db:
        xcoms = [
            str(value) for dag_id, run_id, value in db.execute("SELECT dag_id, run_id, value FROM xcom") if (dag_id, run_id) in run_ids
        ]
        rendered = [
            str(fields)
            for dag_id, run_id, fields in db.execute("SELECT dag_id, run_id, rendered_fields FROM rendered_task_instance_fields")
            if (dag_id, run_id) in run_ids
        ]
    assert len(xcoms) >= 3 and rendered
    logs = runs.home / "logs"
    log_files = [path for path in logs.rglob("*") if path.is_file()] if logs.exists() else []
    places = {
        "console": scannable_console(runs.console),
        "xcom": " ".join(xcoms),
        "rendered_task_instance_fields": " ".join(rendered),
        **{str(path): path.read_text(errors="replace") for path in log_files},
    }
    markers = [seed.APP_SECRET, seed.REFRESH_TOKEN, *TOKEN_PREFIXES, "PII"]
    leaks = [(place, marker[:14]) for place, text in places.items() for marker in markers if marker in text]
    assert leaks == []
