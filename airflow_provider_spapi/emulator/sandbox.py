"""Amazon's static sandbox cases, matched the way Amazon's sandbox hosts match them.

Each response of a model may carry ``x-amzn-api-sandbox.static`` cases: the request parameters
(path, query, body) the sandbox looks for and the answer it gives. Amazon describes the matching
as a mocking framework does: a case answers when the parameters it names are present with its
values (other parameters may be there too). Where several cases match, the emulator picks the one
naming the most parameters, then the first in the model; so ``getOrders`` with ``NextToken``
gets the second page's case, not the first page's, whose parameters it also carries.

A request that matches no case gets Amazon's answer: 400 ``InvalidInput`` "Could not match input
arguments". Only two cases of the 913 can never be chosen: Sellers and Shipping ``getAccount``
each declare a 200 and a 400 case with no parameters at all, and the 200 comes first.

Values compare as their query-string text: a list as comma-separated values (or repeated
parameters), a boolean as ``true``/``false``, a number by value; a body compares as parsed JSON.
A case parameter without a value (``"body": {}``) constrains nothing. Some models name the body
``body`` where the operation calls its body parameter otherwise, and a few give the body itself
rather than ``{"value": body}``; both read as the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from airflow_provider_spapi.emulator.call import Call
from airflow_provider_spapi.emulator.model import Operation, model_operation
from airflow_provider_spapi.emulator.responses import ApiError, Response

NO_MATCH = "Could not match input arguments"
_ANY = object()


@dataclass(frozen=True)
class Case:
    """One static case: what it expects (name -> (location, value)) and what it answers."""

    status: int
    expects: tuple[tuple[str, str, Any], ...]
    response: Any
    headers: tuple[tuple[str, str], ...]


def _location(operation: Operation, name: str) -> str:
    if name in operation.parameters:
        return operation.parameters[name]
    if name == "body" and "body" in operation.parameters.values():
        return "body"
    return "query"


def _expected(location: str, spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    if "value" in spec:
        return spec["value"]
    if location == "body" and spec:
        return spec  # the body given without its {"value": ...} wrapper
    return _ANY


@cache
def cases(operation: Operation) -> tuple[Case, ...]:
    """The operation's static cases, in the model's order."""
    found = []
    for status, response in model_operation(operation)["responses"].items():
        for raw in (response.get("x-amzn-api-sandbox") or {}).get("static", []):
            parameters = (raw.get("request") or {}).get("parameters") or {}
            expects = []
            for name, spec in parameters.items():
                location = _location(operation, name)
                value = _expected(location, spec)
                if value is not _ANY:
                    expects.append((name, location, value))
            headers = tuple((name, str((spec or {}).get("value", ""))) for name, spec in (raw.get("responseHeaders") or {}).items())
            found.append(Case(int(status) if status.isdigit() else 200, tuple(expects), raw.get("response"), headers))
    return tuple(found)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_matches(expected: Any, values: list[str] | None) -> bool:
    if not values:
        return False
    if isinstance(expected, list):
        given = [part.strip() for value in values for part in value.split(",")]
        return given == [_text(item) for item in expected]
    actual = values[0]
    if isinstance(expected, bool):
        return actual.lower() == _text(expected)
    if isinstance(expected, int | float):
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    if isinstance(expected, dict):
        try:
            return bool(json.loads(actual) == expected)
        except ValueError:
            return False
    return actual == _text(expected)


def _body(call: Call) -> Any:
    try:
        return json.loads(call.request.body) if call.request.body else None
    except ValueError:
        return _ANY  # unparseable: equal to no case's body


def _matches(case: Case, call: Call) -> bool:
    for name, location, expected in case.expects:
        if location == "body":
            if _body(call) != expected:
                return False
        elif location == "path":
            if call.params.get(name) != _text(expected):
                return False
        elif location == "header":
            if call.request.header(name) != _text(expected):
                return False
        elif not _query_matches(expected, call.request.query.get(name)):
            return False
    return True


def pick_case(operation: Operation, call: Call) -> Case | None:
    """The matching case naming the most parameters (the first such in the model), or None."""
    best: Case | None = None
    for case in cases(operation):
        if _matches(case, call) and (best is None or len(case.expects) > len(best.expects)):
            best = case
    return best


def case_response(case: Case) -> Response:
    headers = dict(case.headers)
    if case.response is None or case.response == "" or case.status == 204:
        return Response.empty(case.status, headers)
    return Response.json(case.status, case.response, headers)


def static_response(operation: Operation, call: Call) -> Response:
    """The matching case's answer, or Amazon's 400 when none matches."""
    case = pick_case(operation, call)
    if case is None:
        raise ApiError(400, "InvalidInput", NO_MATCH)
    return case_response(case)
