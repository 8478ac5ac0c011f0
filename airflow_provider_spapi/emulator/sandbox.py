"""Amazon's static sandbox cases, served for every operation the emulator does not model with state.

``sandbox_cases.json.gz`` holds the ``x-amzn-api-sandbox.static`` cases of Amazon's published
models: for an operation, the request parameters Amazon's sandbox matches and the answer it gives.
A request gets, in this order of preference:

1. the first case all of whose parameters (path, query and, exactly, the JSON body) match the
   request and that names at least one parameter: so ``orderId=TEST_CASE_400`` still gets
   Amazon's 400, as on the sandbox host;
2. the first 2xx case whose path and query parameters match, ignoring the body (bodies are too
   varied to match exactly);
3. the first 2xx case of the operation;
4. a 404 ``NotFound``.

Authentication, authorisation and throttling apply as to any other call.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from airflow_provider_spapi.emulator.call import Call
from airflow_provider_spapi.emulator.responses import ApiError, Response
from airflow_provider_spapi.spapi.catalog import Operation


@cache
def sandbox_cases() -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """The cases by (api, method, path template), in the models' order; loaded once."""
    raw = resources.files("airflow_provider_spapi.emulator").joinpath("sandbox_cases.json.gz").read_bytes()
    table: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for case in json.loads(gzip.decompress(raw)):
        table.setdefault((case["api"], case["method"], case["path"]), []).append(case)
    return table


def _value_matches(expected: Any, actual: str | None) -> bool:
    if expected is None:
        return True
    if actual is None:
        return False
    if isinstance(expected, list):
        return [str(v) for v in expected] == [part.strip() for part in actual.split(",")]
    if isinstance(expected, bool):
        return actual.lower() == str(expected).lower()
    if isinstance(expected, dict):
        try:
            return bool(json.loads(actual) == expected)
        except ValueError:
            return False
    return str(expected) == actual


def _matches(parameters: Mapping[str, Any], call: Call, *, with_body: bool) -> bool:
    for name, expected in parameters.items():
        if name == "body":
            if with_body and _body(call) != expected:
                return False
            continue
        actual = call.params.get(name)
        if actual is None:
            actual = call.request.param(name)
        if not _value_matches(expected, actual):
            return False
    return True


def _body(call: Call) -> Any:
    try:
        return json.loads(call.request.body or b"null")
    except ValueError:
        return None


def pick_case(operation: Operation, call: Call) -> dict[str, Any] | None:
    cases = sandbox_cases().get((operation.api, operation.method, operation.path), [])
    for case in cases:
        if case["parameters"] and _matches(case["parameters"], call, with_body=True):
            return case
    ok = [case for case in cases if 200 <= case["status"] < 300]
    for case in ok:
        if _matches(case["parameters"], call, with_body=False):
            return case
    return ok[0] if ok else None


def sandbox_response(operation: Operation, call: Call) -> Response:
    case = pick_case(operation, call)
    if case is None:
        raise ApiError(
            404, "NotFound", f"The emulator has no data for {operation.name}.", "No sandbox case of this operation answers with success."
        )
    if case["status"] == 204 or case["response"] is None:
        return Response.empty(case["status"])
    return Response.json(case["status"], case["response"])
