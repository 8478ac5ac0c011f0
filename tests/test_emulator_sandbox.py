"""The emulator's sandbox mode against Amazon's own static sandbox cases, over real HTTP.

The requests are built here from Amazon's models (shared/reference/sp-api-models when this checkout
can see it, else the emulator's packaged copy of them), reading each operation's parameters to put
every case parameter where the model says it goes. None of the emulator's matching code is used
to build them or to decide what each request must get.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.model import find_operation
from airflow_provider_spapi.emulator.throttle import Throttler

REPO = Path(__file__).resolve().parent.parent
MODEL_DIRS = (Path("/work/shared/reference/sp-api-models"), REPO.parents[1] / "shared" / "reference" / "sp-api-models")
PACKAGED_MODELS = REPO / "airflow_provider_spapi" / "emulator" / "models.json.gz"
METHODS = ("get", "put", "post", "delete", "patch")
TIMEOUT = 10
STATIC_CASES = 913  # shared/reference/PROTOCOL.md: "913 in all"
NO_MATCH = {"errors": [{"code": "InvalidInput", "message": "Could not match input arguments", "details": ""}]}


def load_models() -> dict[str, dict[str, Any]]:
    """Amazon's models by name: the published files when present, else the emulator's trimmed copy."""
    for folder in MODEL_DIRS:
        if folder.is_dir():
            found = {}
            for path in sorted(folder.rglob("*.json")):
                model = json.loads(path.read_text(encoding="utf-8"))
                if "paths" in model:
                    found[path.stem] = model
            return found
    return dict(json.loads(gzip.decompress(PACKAGED_MODELS.read_bytes())))


@dataclass
class CaseRequest:
    """One static case as an HTTP request, and the answer the model says it gets."""

    label: str
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    status: int = 200
    response: Any = None

    def identity(self) -> tuple[str, str, tuple[tuple[str, str], ...], str]:
        return self.method, self.path, tuple(sorted(self.query.items())), json.dumps(self.body, sort_keys=True)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_query_text(item) for item in value)
    return str(value)


def _where(model: dict[str, Any], item: dict[str, Any], operation: dict[str, Any]) -> dict[str, str]:
    where = {}
    for raw in (*item.get("parameters", ()), *operation.get("parameters", ())):
        if "$ref" in raw:
            raw = model["parameters"][raw["$ref"].rsplit("/", 1)[-1]]
        where[raw["name"]] = raw["in"]
    return where


def case_requests(models: dict[str, dict[str, Any]]) -> list[CaseRequest]:
    built = []
    for name, model in models.items():
        for template, item in model["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                where = _where(model, item, operation)
                for status, response in operation.get("responses", {}).items():
                    for number, case in enumerate((response.get("x-amzn-api-sandbox") or {}).get("static", [])):
                        request = CaseRequest(
                            f"{name}.{operation['operationId']} {status} #{number}", method.upper(), template, status=int(status)
                        )
                        request.response = case.get("response")
                        for param, spec in ((case.get("request") or {}).get("parameters") or {}).items():
                            location = where.get(param, "body" if param == "body" else "query")
                            if isinstance(spec, dict) and "value" in spec:
                                value = spec["value"]
                            elif location == "body" and spec:
                                value = spec  # a few models give the body without its {"value": ...} wrapper
                            else:
                                continue  # a parameter without a value constrains nothing
                            if location == "path":
                                request.path = request.path.replace("{" + param + "}", quote(str(value), safe=""))
                            elif location == "body":
                                request.body = value
                            else:
                                request.query[param] = _query_text(value)
                        built.append(request)
    return built


@pytest.fixture(scope="module")
def all_cases() -> list[CaseRequest]:
    return case_requests(load_models())


@pytest.fixture(scope="module")
def sandbox_emulator() -> Iterator[Emulator]:
    """An emulator started as ``--sandbox`` would, scaled so 913 calls do not wait for the 5/s plan."""
    with Emulator(port=0, sandbox=True, rate_scale=1000) as running:
        yield running


def token(emulator: Emulator, refresh_token: str = seed.REFRESH_TOKEN) -> str:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": seed.CLIENT_ID, "client_secret": seed.CLIENT_SECRET}
    answer = requests.post(emulator.lwa_url, data=form, timeout=TIMEOUT)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def send(session: requests.Session, base_url: str, access_token: str, case: CaseRequest) -> requests.Response:
    data = None if case.body is None else json.dumps(case.body)
    headers = {"x-amz-access-token": access_token, "content-type": "application/json"}
    return session.request(case.method, base_url + case.path, params=case.query, data=data, headers=headers, timeout=TIMEOUT)


def answer_of(response: requests.Response) -> Any:
    return response.json() if response.content else None


def expected_answer(case: CaseRequest) -> Any:
    """The case's body; a 204 carries none on the wire, whatever the model writes there."""
    return None if case.status == 204 or case.response in (None, "") else case.response


def test_every_static_case_gets_its_own_status_and_body(sandbox_emulator: Emulator, all_cases: list[CaseRequest]) -> None:
    """The fidelity figure of the README: each case's request, sent over HTTP, gets that case's answer.

    The only exceptions are requests identical to an earlier case's (no server can tell them apart):
    they must get the earlier case's answer.
    """
    assert len(all_cases) == STATIC_CASES
    access_token = token(sandbox_emulator)
    first_of: dict[Any, CaseRequest] = {}
    own, same_as_earlier, wrong = 0, [], []
    with requests.Session() as session:
        for case in all_cases:
            expected = first_of.setdefault(case.identity(), case)
            response = send(session, sandbox_emulator.url, access_token, case)
            got = (response.status_code, answer_of(response))
            if got != (expected.status, expected_answer(expected)):
                wrong.append(f"{case.label}: got {got[0]} {str(got[1])[:120]}")
            elif expected is case:
                own += 1
            else:
                same_as_earlier.append(f"{case.label} = {expected.label}")
    assert wrong == []
    assert sorted(same_as_earlier) == [
        "sellers.getAccount 400 #0 = sellers.getAccount 200 #0",
        "shipping.getAccount 400 #0 = shipping.getAccount 200 #0",
    ]
    assert own == STATIC_CASES - 2


def test_the_sandbox_path_prefix_serves_the_same_cases_beside_the_seller_world(emu: Emulator) -> None:
    access_token = token(emu)
    headers = {"x-amz-access-token": access_token}
    params = {"CreatedAfter": "TEST_CASE_200", "MarketplaceIds": "ATVPDKIKX0DER"}
    sandbox = requests.get(emu.sandbox_url + "/orders/v0/orders", params=params, headers=headers, timeout=TIMEOUT)
    assert sandbox.status_code == 200 and sandbox.json()["payload"]["Orders"][0]["AmazonOrderId"] == "902-1845936-5435065"
    # The same call at the root is the stateful seller world, which checks its dates.
    seller_world = requests.get(emu.url + "/orders/v0/orders", params=params, headers=headers, timeout=TIMEOUT)
    assert seller_world.status_code == 400 and "ISO 8601" in seller_world.json()["errors"][0]["message"]
    seeded = requests.get(
        emu.url + "/orders/v0/orders",
        params={"CreatedAfter": "2020-01-01T00:00:00Z", "MarketplaceIds": seed.MARKETPLACE_ID_US},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert seeded.status_code == 200 and seeded.json()["payload"]["Orders"]
    assert emu.counters()["requests"]["ordersV0.getOrders"] == 3


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "check"),
    [
        ("GET", "/orders/v0/orders/TEST_CASE_200", {}, None, lambda b: b["payload"]["AmazonOrderId"] == "902-1845936-5435065"),
        (
            "POST",
            "/reports/2021-06-30/reports",
            {},
            {
                "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
                "dataStartTime": "2024-03-10T20:11:24.000Z",
                "marketplaceIds": ["A1PA6795UKMFR9", "ATVPDKIKX0DER"],
            },
            lambda b: b == {"reportId": "ID323"},
        ),
        ("GET", "/feeds/2021-06-30/feeds/feedId1", {}, None, lambda b: b["feedId"] == "FeedId1" and b["processingStatus"] == "CANCELLED"),
    ],
    ids=["getOrder", "createReport", "getFeed"],
)
def test_stateful_apis_answer_from_their_cases_in_sandbox_mode(
    sandbox_emulator: Emulator, method: str, path: str, params: dict[str, str], body: Any, check: Any
) -> None:
    response = requests.request(
        method,
        sandbox_emulator.url + path,
        params=params,
        json=body,
        headers={"x-amz-access-token": token(sandbox_emulator)},
        timeout=TIMEOUT,
    )
    assert response.status_code in (200, 202), response.text
    assert check(response.json())


def test_a_request_no_case_matches_gets_amazons_invalid_input(sandbox_emulator: Emulator) -> None:
    headers = {"x-amz-access-token": token(sandbox_emulator)}
    dated = requests.get(
        sandbox_emulator.url + "/orders/v0/orders",
        params={"CreatedAfter": "2024-01-01T00:00:00Z", "MarketplaceIds": "ATVPDKIKX0DER"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert (dated.status_code, dated.json()) == (400, NO_MATCH)
    assert dated.headers["x-amzn-RequestId"]
    # A 204-only operation (no success fallback any more) and a case-free page token.
    missing = requests.get(sandbox_emulator.url + "/feeds/2021-06-30/feeds/no-such-feed", headers=headers, timeout=TIMEOUT)
    assert (missing.status_code, missing.json()) == (400, NO_MATCH)


def test_following_next_tokens_through_the_cases_ends(sandbox_emulator: Emulator) -> None:
    headers = {"x-amz-access-token": token(sandbox_emulator)}
    params = {"CreatedAfter": "TEST_CASE_200_NEXT_TOKEN", "MarketplaceIds": "ATVPDKIKX0DER"}
    pages = []
    for _ in range(5):
        page = requests.get(sandbox_emulator.url + "/orders/v0/orders", params=params, headers=headers, timeout=TIMEOUT).json()["payload"]
        pages.append(page)
        if not page.get("NextToken"):
            break
        params = {**params, "NextToken": page["NextToken"]}
    assert len(pages) == 2 and "NextToken" not in pages[-1]


@pytest.mark.parametrize("path", ["/", "/no/such/api", "/orders/v0/nothing-here"])
def test_unknown_paths_get_the_gateways_403(sandbox_emulator: Emulator, emu: Emulator, path: str) -> None:
    expected = {"errors": [{"message": "Access to requested resource is denied.", "code": "MissingAuthenticationToken"}]}
    for base in (sandbox_emulator.url, emu.sandbox_url):
        response = requests.get(base + path, timeout=TIMEOUT)
        assert response.status_code == 403 and response.json() == expected
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    # The default mode keeps its debugging answer naming the path.
    assert requests.get(emu.url + "/no/such/api", timeout=TIMEOUT).status_code == 404


def test_the_sandbox_needs_an_access_token_from_lwa(sandbox_emulator: Emulator) -> None:
    url = sandbox_emulator.url + "/sellers/v1/marketplaceParticipations"
    missing = requests.get(url, timeout=TIMEOUT)
    assert missing.status_code == 403 and missing.json()["errors"][0]["details"] == "Access token is missing in the request header."
    forged = requests.get(url, headers={"x-amz-access-token": "Atza|forged"}, timeout=TIMEOUT)
    assert forged.status_code == 403
    assert requests.get(url, headers={"x-amz-access-token": token(sandbox_emulator)}, timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("POST", "/shipping/v2/shipments/rates", "rates"),
        ("POST", "/shipping/v2/shipments", "shipmentId"),
        ("GET", "/fba/inventory/v1/summaries", "payload"),
        ("GET", "/vendor/directFulfillment/orders/2021-12-28/purchaseOrders", "orders"),
    ],
)
def test_dynamic_sandbox_operations_answer_a_well_formed_success_from_the_model(
    sandbox_emulator: Emulator, method: str, path: str, key: str
) -> None:
    operation = find_operation(method, path)
    assert operation is not None and operation.dynamic_sandbox
    response = requests.request(
        method, sandbox_emulator.url + path, json={}, headers={"x-amz-access-token": token(sandbox_emulator)}, timeout=TIMEOUT
    )
    assert response.status_code == 200
    body = response.json()
    assert key in body and "errors" not in body
    assert "nextToken" not in json.dumps(body)  # a static page with a next-page token would page forever


def test_the_sandbox_spends_one_uniform_plan_of_5_per_second_burst_15() -> None:
    now = [0.0]
    throttler = Throttler(clock=lambda: now[0])
    get_orders = find_operation("GET", "/orders/v0/orders")
    create_report = find_operation("POST", "/reports/2021-06-30/reports")
    assert get_orders is not None and create_report is not None
    assert throttler.plan(get_orders, sandbox=True) == throttler.plan(create_report, sandbox=True) == (5.0, 15.0)
    assert throttler.plan(get_orders) == (0.0167, 20.0)
    allowed = [throttler.acquire("seller", create_report, sandbox=True).allowed for _ in range(16)]
    assert allowed == [True] * 15 + [False]
    now[0] += 0.2  # one token at 5/s
    assert throttler.acquire("seller", create_report, sandbox=True).allowed
    assert not throttler.acquire("seller", create_report, sandbox=True).allowed
    # The production-side bucket of the same operation is a separate one (createReport: burst 15 at 0.0167/s).
    assert throttler.acquire("seller", create_report).allowed


def test_sandbox_answers_carry_the_sandbox_rate(emu: Emulator) -> None:
    response = requests.get(
        emu.sandbox_url + "/sellers/v1/marketplaceParticipations", headers={"x-amz-access-token": token(emu)}, timeout=TIMEOUT
    )
    assert response.status_code == 200 and response.headers["x-amzn-RateLimit-Limit"] == "5.0"


def test_the_cli_sandbox_flag_serves_the_sandbox_at_the_root() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_spapi.emulator", "--sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/", timeout=TIMEOUT).status_code == 403
        assert requests.get(url + "/_emulator/config", timeout=TIMEOUT).json()["sandbox"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.airflow
def test_a_connection_with_sandbox_true_gets_the_sandbox_through_the_hook(emu: Emulator, spapi_conn: Any) -> None:
    from airflow_provider_spapi.hooks.spapi import SpApiHook

    spapi_conn("spapi_sandbox", sandbox=True)
    hook = SpApiHook("spapi_sandbox")
    assert hook.settings.base_url == emu.sandbox_url
    order = hook.request("GET", "/orders/v0/orders/TEST_CASE_200")
    assert order["payload"]["AmazonOrderId"] == "902-1845936-5435065"
    pages = list(
        hook.paginate("GET", "/orders/v0/orders", params={"CreatedAfter": "TEST_CASE_200_NEXT_TOKEN", "MarketplaceIds": "ATVPDKIKX0DER"})
    )
    assert len(pages) == 2
    # A restricted operation's case answers the seller's own token: the sandbox mode checks no RDT.
    address = hook.request("GET", "/orders/v0/orders/TEST_CASE_200/address", restricted=False)
    assert address["payload"]["AmazonOrderId"] == "902-1845936-5435065"
    assert emu.counters()["rdt"] == 0
