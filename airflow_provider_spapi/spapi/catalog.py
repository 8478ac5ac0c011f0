"""What Amazon says about SP-API, as data: regions, operations, usage plans, restricted and grantless calls.

Two files under ``airflow_provider_spapi/spapi/data`` hold every fact this package relies on:

* ``facts.json`` is curated from Amazon's documentation: regions and hosts, the restricted operations
  (Tokens API use case guide), restricted report types, and the grantless operations with their scopes.
* ``operations.json`` is derived from Amazon's published models by ``tools/build_catalog.py``: one
  row per operation with its default usage plan (rate and burst) and whether it is idempotent,
  joined with the facts above.

Everything else in the package asks this module; nothing types these facts in a second time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

RestrictedWhen = Literal["never", "always", "data_elements"]


@dataclass(frozen=True)
class Region:
    """One SP-API region: its production and sandbox hosts."""

    code: str
    aws_region: str
    endpoint: str
    sandbox_endpoint: str


@dataclass(frozen=True)
class Operation:
    """One SP-API operation as Amazon's model declares it.

    ``rate`` and ``burst`` are the default usage plan (None where the model publishes none);
    ``restricted`` says when the operation needs a Restricted Data Token: ``always``, only when
    ``data_elements`` are asked for, or ``never``. ``idempotent`` says whether a request whose answer
    was lost may be sent again (derived by ``tools/build_catalog.py``, rule in ``facts.json``); for one
    that may not, ``if_unsure`` says what to check before sending it again by hand.
    """

    api: str
    method: str
    path: str
    name: str
    rate: float | None
    burst: float | None
    restricted: RestrictedWhen
    data_elements: tuple[str, ...]
    grantless_scope: str | None

    key: str = ""
    idempotent: bool = False
    if_unsure: str | None = None

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{self.api}.{self.name}")


def _load(name: str) -> Any:
    return json.loads(resources.files("airflow_provider_spapi.spapi.data").joinpath(name).read_text("utf-8"))


@cache
def facts() -> dict[str, Any]:
    """The curated facts file, parsed once."""
    return dict(_load("facts.json"))


@cache
def regions() -> dict[str, Region]:
    return {code: Region(code=code, **spec) for code, spec in facts()["regions"].items()}


def lwa_endpoint() -> str:
    return str(facts()["lwa_endpoint"])


@cache
def restricted_report_types() -> frozenset[str]:
    return frozenset(facts()["restricted_report_types"])


@cache
def sandbox_usage_plan() -> tuple[float, float]:
    plan = facts()["sandbox_usage_plan"]
    return float(plan["rate"]), float(plan["burst"])


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation, each with a unique ``key``: ``api.operationId``, plus the method where a model reuses an id.

    Operation ids repeat across APIs (Orders and Vendor both have getOrders) and, rarely, within one
    (shippingV2's linkCarrierAccount is both PUT and POST, with different usage plans).
    """
    rows = _load("operations.json")
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        seen[(row["api"], row["operation"])] = seen.get((row["api"], row["operation"]), 0) + 1
    return tuple(
        Operation(
            api=row["api"],
            method=row["method"],
            path=row["path"],
            name=row["operation"],
            rate=row["rate"],
            burst=row["burst"],
            restricted=row["restricted"],
            data_elements=tuple(row["data_elements"]),
            grantless_scope=row["grantless_scope"],
            idempotent=row["idempotent"],
            if_unsure=row["if_unsure"],
            key=f"{row['api']}.{row['operation']}" + (f".{row['method']}" if seen[(row["api"], row["operation"])] > 1 else ""),
        )
        for row in rows
    )


def may_resend(method: str, operation: Operation | None) -> bool:
    """Whether a request whose answer was lost may be sent again: the catalog's word, else HTTP's (RFC 9110 9.2.2)."""
    return operation.idempotent if operation is not None else method.upper() in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")


@lru_cache(maxsize=1024)
def _template_regex(path: str) -> re.Pattern[str]:
    """``/orders/v0/orders/{orderId}`` -> a pattern matching one concrete path segment per parameter."""
    parts = re.split(r"(\{[^/{}]+\})", path)
    body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{body}$")


@cache
def _matchers() -> dict[str, list[tuple[re.Pattern[str], int, Operation]]]:
    table: dict[str, list[tuple[re.Pattern[str], int, Operation]]] = {}
    for operation in operations():
        literal_chars = len(re.sub(r"\{[^/{}]+\}", "", operation.path))
        table.setdefault(operation.method, []).append((_template_regex(operation.path), literal_chars, operation))
    # Most literal first, so /orders/v0/orders/{orderId}/orderItems/buyerInfo beats .../{orderItemId}.
    for candidates in table.values():
        candidates.sort(key=lambda item: -item[1])
    return table


@lru_cache(maxsize=4096)
def find_operation(method: str, path: str) -> Operation | None:
    """The operation a concrete (or templated) request path belongs to, or None for a path Amazon does not publish."""
    method = method.upper()
    for pattern, _, operation in _matchers().get(method, []):
        if operation.path == path or pattern.match(path):
            return operation
    return None


def path_matches(template: str, path: str) -> bool:
    """Whether ``path`` is covered by ``template``: equal, or the template's braces match one segment each."""
    return template == path or bool(_template_regex(template).match(path))


@dataclass(frozen=True)
class Pagination:
    """How a list operation pages: the key of the next-page token in the response, the query parameter
    that sends it back, and whether that parameter must be sent alone (Reports and Feeds lists)."""

    response_key: str = "NextToken"
    param: str = "NextToken"
    alone: bool = False


@cache
def _pagination_table() -> dict[tuple[str, str], Pagination]:
    return {
        (row["method"], row["path"]): Pagination(response_key=row["response_key"], param=row["param"], alone=row["alone"])
        for row in facts()["pagination"]
    }


def pagination_for(operation: Operation | None) -> Pagination | None:
    """The paging convention Amazon documents for ``operation``, or None where it is the v0 default."""
    return None if operation is None else _pagination_table().get((operation.method, operation.path))


@cache
def _specific_path_only() -> frozenset[tuple[str, str]]:
    return frozenset((row["method"], row["path"]) for row in facts()["rdt_specific_path_only"])


def rdt_accepts_generic_path(operation: Operation) -> bool:
    """Whether a Restricted Data Token for this operation may name the generic path (``{orderId}`` in braces)."""
    return (operation.method, operation.path) not in _specific_path_only()
