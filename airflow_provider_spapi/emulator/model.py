"""Every SP-API operation as Amazon's published models declare it, read from the emulator's own copy.

``models.json.gz`` is Amazon's models trimmed by ``tools/build_emulator_facts.py``. From it come
each operation's path, parameters, default usage plan (the ``Rate | Burst`` table of its
description), whether its description calls it grantless, whether Amazon serves it from the
dynamic sandbox, and its static sandbox cases; ``facts.json`` (:mod:`.facts`) adds what the
models do not say. Nothing here asks the client's catalog: see :mod:`.facts` for why.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from airflow_provider_spapi.emulator import facts
from airflow_provider_spapi.emulator.facts import UNRESTRICTED, RestrictedWhen

METHODS = ("get", "put", "post", "delete", "patch")
_GRANTLESS = re.compile(r"\bis grantless\b", re.IGNORECASE)


@dataclass(frozen=True)
class Operation:
    """One operation: where it lives, what it enforces, and how Amazon's sandbox answers it.

    ``key`` is ``model.operationId`` (plus ``.METHOD`` where a model uses an id twice): the name of
    the operation in counters, faults and ``usage_plans``. ``parameters`` maps each parameter's
    name to where it goes (``path``, ``query``, ``body``, ``header``).
    """

    api: str
    method: str
    path: str
    name: str
    key: str
    rate: float | None
    burst: float | None
    restricted: RestrictedWhen
    data_elements: tuple[str, ...]
    grantless_scope: str | None
    dynamic_sandbox: bool
    parameters: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@cache
def models() -> dict[str, Any]:
    """The trimmed models by model name (``ordersV0``, ``reports_2021-06-30``...), loaded once."""
    raw = resources.files("airflow_provider_spapi.emulator").joinpath("models.json.gz").read_bytes()
    return dict(json.loads(gzip.decompress(raw)))


def usage_plan(description: str) -> tuple[float, float] | None:
    """The first data row of the description's ``| Rate (requests per second) | Burst |`` table.

    Where the table has a leading ``Plan type`` column the row reads ``| Default | 5 | 10 |``: the
    two numbers are the last two cells.
    """
    lines = description.splitlines()
    for index, line in enumerate(lines):
        if "Rate (requests per second)" not in line:
            continue
        for row in lines[index + 1 :]:
            cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
            numbers = [cell for cell in cells if re.fullmatch(r"\d*\.?\d+", cell)]
            if len(numbers) >= 2:
                return float(numbers[-2]), float(numbers[-1])
        return None
    return None


def operation_entries() -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    """(model name, METHOD, path, path item, operation) for every operation, in the models' order."""
    entries = []
    for api, model in models().items():
        for path, item in model["paths"].items():
            for method in METHODS:
                if method in item:
                    entries.append((api, method.upper(), path, item, item[method]))
    return entries


def _parameters(item: dict[str, Any], operation: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["in"] for p in (*item.get("parameters", ()), *operation.get("parameters", ()))}


@cache
def operations() -> tuple[Operation, ...]:
    entries = operation_entries()
    uses: dict[tuple[str, str], int] = {}
    for api, _, _, _, operation in entries:
        uses[(api, operation["operationId"])] = uses.get((api, operation["operationId"]), 0) + 1
    restrictions = facts.restrictions()
    listed_grantless = facts.listed_grantless()
    table = []
    for api, method, path, item, operation in entries:
        name = operation["operationId"]
        plan = usage_plan(operation.get("description", ""))
        restriction = restrictions.get((api, name), UNRESTRICTED)
        grantless = bool(_GRANTLESS.search(operation.get("description", ""))) or (api, name) in listed_grantless
        dynamic = "dynamic" in (item.get("x-amzn-api-sandbox") or {}) or "dynamic" in (operation.get("x-amzn-api-sandbox") or {})
        table.append(
            Operation(
                api=api,
                method=method,
                path=path,
                name=name,
                key=f"{api}.{name}" + (f".{method}" if uses[(api, name)] > 1 else ""),
                rate=plan[0] if plan else None,
                burst=plan[1] if plan else None,
                restricted=restriction.when,
                data_elements=restriction.data_elements,
                grantless_scope=facts.grantless_scope_of_model(api) if grantless else None,
                dynamic_sandbox=dynamic,
                parameters=_parameters(item, operation),
            )
        )
    return tuple(table)


@cache
def operation_by_key() -> dict[str, Operation]:
    return {operation.key: operation for operation in operations()}


def _segments(path: str) -> list[str]:
    # Only the leading slash goes: "/items/" has an empty last segment, which a placeholder may fill
    # (Amazon's sandbox cases send empty and blank path parameters to get their 400s).
    return path[1:].split("/") if path.startswith("/") else path.split("/")


def _is_placeholder(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def template_covers(template: str, path: str) -> bool:
    """Whether ``path`` is ``template`` with each ``{name}`` segment filled in (or left as the placeholder)."""
    wanted, given = _segments(template), _segments(path)
    return len(wanted) == len(given) and all(w == g or _is_placeholder(w) for w, g in zip(wanted, given, strict=True))


@cache
def _by_method_and_length() -> dict[tuple[str, int], list[Operation]]:
    """Candidates per (method, segment count), most literal segments first: ``.../orderItems/buyerInfo``
    must beat ``.../orderItems/{orderItemId}``-like templates."""
    table: dict[tuple[str, int], list[Operation]] = {}
    for operation in operations():
        table.setdefault((operation.method, len(_segments(operation.path))), []).append(operation)
    for candidates in table.values():
        candidates.sort(key=lambda op: -sum(not _is_placeholder(s) for s in _segments(op.path)))
    return table


@lru_cache(maxsize=4096)
def find_operation(method: str, path: str) -> Operation | None:
    """The operation a concrete (or templated) path belongs to, or None for a path no model publishes."""
    for operation in _by_method_and_length().get((method.upper(), len(_segments(path))), ()):
        if template_covers(operation.path, path):
            return operation
    return None


def path_params(template: str, path: str) -> dict[str, str]:
    """``/orders/v0/orders/{orderId}`` and ``/orders/v0/orders/1-2-3`` -> ``{"orderId": "1-2-3"}``.

    Values are percent-decoded after the path is split, so an encoded ``/`` stays inside its value.
    """
    if not template_covers(template, path):
        return {}
    return {w[1:-1]: unquote(g) for w, g in zip(_segments(template), _segments(path), strict=True) if _is_placeholder(w)}


def model_operation(operation: Operation) -> dict[str, Any]:
    """The operation's entry in the trimmed model (responses, examples, sandbox cases)."""
    return dict(models()[operation.api]["paths"][operation.path][operation.method.lower()])
