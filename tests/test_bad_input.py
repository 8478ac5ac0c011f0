"""Malformed operator arguments and connections fail fast: a clear SpApiConfigError, no request, no file.

Every case runs a real operator's ``execute()`` against the emulator (and one through ``dag.test()``)
and checks four things: the error is :class:`SpApiConfigError`; its message names the argument or
connection field at fault; the emulator saw nothing (no SP-API call, no LWA or RDT mint); and nothing
was written where the output would have gone (not even its directory).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_spapi._compat import AIRFLOW_V_3, AIRFLOW_VERSION, BaseOperator
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.operators.reports import SpApiReportOperator
from airflow_provider_spapi.operators.spapi import SpApiOperator

MARKETPLACE_PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
ORDER_ADDRESS = "/orders/v0/orders/902-3159896-1390916/address"
# An access token pasted where the refresh token belongs: a secret all the same, so no message may echo it.
PASTED_ACCESS_TOKEN = "Atza|IwEBIAccessTokenPastedByMistake0123456789abcdef"


@dataclass(frozen=True)
class Case:
    """One malformed input: how to build the operator (given the output path), and the name the error must mention."""

    id: str
    build: Callable[[str], BaseOperator]
    names: str
    #: a connection ``spapi_bad`` with these extra fields (or this raw ``AIRFLOW_CONN_SPAPI_BAD`` value, when a str)
    bad_connection: dict[str, Any] | str | None = field(default=None)


def spapi_operator(**kwargs: Any) -> Callable[[str], BaseOperator]:
    def build(output_path: str) -> BaseOperator:
        arguments: dict[str, Any] = {"task_id": "call", "method": "GET", "path": MARKETPLACE_PARTICIPATIONS, "output_path": output_path}
        arguments.update(kwargs)
        return SpApiOperator(**arguments)

    return build


def report_operator(**kwargs: Any) -> Callable[[str], BaseOperator]:
    def build(output_path: str) -> BaseOperator:
        arguments: dict[str, Any] = {
            "task_id": "report",
            "report_type": "GET_MERCHANT_LISTINGS_ALL_DATA",
            "output_path": output_path,
            "deferrable": False,
            "poll_interval": 0.1,
        }
        arguments.update(kwargs)
        return SpApiReportOperator(**arguments)

    return build


NOT_JSON_EXTRA = json.dumps(
    {"conn_type": "spapi", "login": seed.CLIENT_ID, "password": seed.CLIENT_SECRET, "extra": '{"refresh_token": "Atzr|x", region: eu'}
)

CASES = [
    # SpApiOperator
    Case("path-without-leading-slash", spapi_operator(path=MARKETPLACE_PARTICIPATIONS.lstrip("/")), "'path'"),
    Case("path-not-a-string", spapi_operator(path=None), "'path'"),
    Case("unknown-method", spapi_operator(method="FETCH"), "'method'"),
    Case("method-not-a-string", spapi_operator(method=None), "'method'"),
    Case("data-elements-on-unrestricted-operation", spapi_operator(data_elements=["buyerInfo"]), "'data_elements'"),
    Case("data-elements-a-string", spapi_operator(path="/orders/v0/orders", data_elements="buyerInfo"), "'data_elements'"),
    Case("restricted-operation-without-output-path", spapi_operator(path=ORDER_ADDRESS, output_path=None), "'output_path'"),
    Case("query-params-a-list", spapi_operator(query_params=[("MarketplaceIds", seed.MARKETPLACE_ID_US)]), "'query_params'"),
    Case("query-params-a-string", spapi_operator(query_params=f"MarketplaceIds={seed.MARKETPLACE_ID_US}"), "'query_params'"),
    Case("output-path-empty", spapi_operator(output_path="  "), "'output_path'"),
    # SpApiReportOperator
    Case("report-type-empty", report_operator(report_type=""), "'report_type'"),
    Case("report-type-blank", report_operator(report_type="   "), "'report_type'"),
    Case("poll-interval-zero", report_operator(poll_interval=0), "'poll_interval'"),
    Case("poll-interval-negative", report_operator(poll_interval=-5), "'poll_interval'"),
    Case("timeout-zero", report_operator(timeout=0), "'timeout'"),
    Case("on-cancelled-unknown", report_operator(on_cancelled="maybe"), "'on_cancelled'"),
    # the connection
    Case("connection-unknown-region", spapi_operator(spapi_conn_id="spapi_bad"), "'region'", {"region": "us"}),
    Case(
        "connection-malformed-date",
        spapi_operator(spapi_conn_id="spapi_bad"),
        "'refresh_token_issued_at'",
        {"refresh_token_issued_at": "2026-02-30"},
    ),
    Case(
        "connection-date-not-iso",
        report_operator(spapi_conn_id="spapi_bad"),
        "'client_secret_expires_at'",
        {"client_secret_expires_at": "31/12/2026"},
    ),
    Case("connection-extra-not-json", spapi_operator(spapi_conn_id="spapi_bad"), "'extra'", NOT_JSON_EXTRA),
    Case(
        "connection-access-token-as-refresh-token-paginated",
        spapi_operator(spapi_conn_id="spapi_bad", paginate=True),
        "'refresh_token'",
        {"refresh_token": PASTED_ACCESS_TOKEN},
    ),
    Case("report-connection-unknown-region", report_operator(spapi_conn_id="spapi_bad"), "'region'", {"region": "apac"}),
]


def define_bad_connection(case: Case, spapi_conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(case.bad_connection, str):
        monkeypatch.setenv("AIRFLOW_CONN_SPAPI_BAD", case.bad_connection)
    elif case.bad_connection is not None:
        spapi_conn("spapi_bad", **case.bad_connection)


def assert_untouched(emu: Emulator, baseline: dict[str, Any], output_dir: Path) -> None:
    counters = emu.counters()
    assert counters["requests"] == {}, "an SP-API request was made"
    assert counters["lwa"] == dict.fromkeys(counters["lwa"], 0), "an LWA token was minted"
    assert counters["rdt"] == 0, "a Restricted Data Token was minted"
    assert counters == baseline
    assert not output_dir.exists(), f"something was written: {sorted(output_dir.rglob('*'))}"


def assert_clear(error: SpApiConfigError, names: str) -> None:
    message = str(error)
    assert names in message, message
    for secret in (seed.CLIENT_SECRET, seed.REFRESH_TOKEN, PASTED_ACCESS_TOKEN):
        assert secret not in message


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_input_fails_before_any_request(
    case: Case, emu: Emulator, spapi_conn: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    define_bad_connection(case, spapi_conn, monkeypatch)
    output_dir = tmp_path / "out"
    output = output_dir / "result.jsonl"
    baseline = emu.counters()

    with pytest.raises(SpApiConfigError) as raised:
        operator = case.build(str(output))  # some arguments are refused here, at DAG parse time
        operator.execute(context={})  # type: ignore[arg-type]

    assert_clear(raised.value, case.names)
    assert_untouched(emu, baseline, output_dir)


# dag.test() on Airflow 3 runs only DAGs it finds in a DAG bundle, so this one lives in a file of its own bundle.
DAG_FILE = """
from datetime import datetime, timezone

from airflow_provider_spapi._compat import AIRFLOW_V_3
from airflow_provider_spapi.operators.spapi import SpApiOperator

if AIRFLOW_V_3:
    from airflow.sdk import DAG
else:
    from airflow.models.dag import DAG

FAILURES = []  # the exception each failed task instance ended with, for the test to inspect

with DAG(
    dag_id="spapi_bad_input",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    params={"path": "sellers/v1/marketplaceParticipations"},  # no leading slash
) as dag:
    SpApiOperator(
        task_id="call",
        method="GET",
        path="{{ params.path }}",
        output_path=OUTPUT_DIR + "/{{ ds }}.jsonl",
        retries=0,
        on_failure_callback=lambda context: FAILURES.append(context.get("exception")),
    )
"""


@pytest.mark.airflow
def test_bad_rendered_path_fails_the_task_in_dag_test(
    airflow_db: Path, emu: Emulator, spapi_conn: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Through Airflow's own machinery: the path is only wrong once rendered, so the check must run in execute()."""
    output_dir = tmp_path / "out"
    dags = tmp_path / "dags"
    dags.mkdir()
    dag_file = dags / "spapi_bad_input_dag.py"
    dag_file.write_text(f"OUTPUT_DIR = {str(output_dir)!r}\n" + DAG_FILE)
    if AIRFLOW_V_3:
        local = "airflow.dag_processing.bundles.local.LocalDagBundle"
        bundles = [
            {"name": "dags-folder", "classpath": local, "kwargs": {}},
            {"name": "spapi-bad-input", "classpath": local, "kwargs": {"path": str(dags)}},
        ]
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    else:  # pragma: no cover - the Airflow 2.11 job
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "SequentialExecutor")  # Airflow 2 refuses LocalExecutor on SQLite
    spec = importlib.util.spec_from_file_location("spapi_bad_input_dag", dag_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    baseline = emu.counters()

    run = module.dag.test()

    assert run.state == "failed"
    assert len(module.FAILURES) == 1, module.FAILURES
    error = module.FAILURES[0]
    assert_untouched(emu, baseline, output_dir)
    if error is None and AIRFLOW_VERSION.startswith(("3.0.", "3.1.", "3.2.")):
        pytest.xfail("Airflow 3.0-3.2 dag.test() leaves context['exception'] unset for on_failure_callback")
    assert isinstance(error, SpApiConfigError), repr(error)
    assert_clear(error, "'path'")
    assert "'sellers/v1/marketplaceParticipations'" in str(error)  # the rendered value, not the template
