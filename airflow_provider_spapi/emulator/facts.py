"""The emulator's own table of what Amazon enforces and its models do not say (``facts.json``).

Restricted operations and report types, grantless scopes and the sandbox's usage plan are written
down here from Amazon's documentation, not imported from the client's catalog: the emulator stands
in for Amazon, so a wrong fact in the client must meet a different answer here, not the same one.
``tests/test_emulator_facts.py`` compares this table with the client's and names every difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

RestrictedWhen = Literal["never", "always", "data_elements"]


@dataclass(frozen=True)
class Restriction:
    """When an operation needs a Restricted Data Token, and the data elements an RDT can unlock."""

    when: RestrictedWhen
    data_elements: tuple[str, ...] = ()


UNRESTRICTED = Restriction("never")


@cache
def facts() -> dict[str, Any]:
    return dict(json.loads(resources.files("airflow_provider_spapi.emulator").joinpath("facts.json").read_text("utf-8")))


def _plan(name: str) -> tuple[float, float]:
    plan = facts()[name]
    return float(plan["rate"]), float(plan["burst"])


def sandbox_usage_plan() -> tuple[float, float]:
    """Amazon's sandbox hosts: one plan for every operation (5 requests/s, burst 15)."""
    return _plan("sandbox_usage_plan")


def unpublished_usage_plan() -> tuple[float, float]:
    """The plan assumed for an operation whose model publishes none."""
    return _plan("unpublished_usage_plan")


@cache
def restricted_report_types() -> frozenset[str]:
    """Report types whose documents need a Restricted Data Token."""
    return frozenset(facts()["restricted_report_types"])


@cache
def restrictions() -> dict[tuple[str, str], Restriction]:
    """(model, operationId) -> its restriction, for the operations that have one."""
    return {
        (row["model"], row["operation"]): Restriction(row["when"], tuple(row.get("data_elements", ())))
        for row in facts()["restricted_operations"]
    }


def report_document_operation() -> tuple[str, str]:
    """(model, operationId) of getReportDocument, restricted by report type and only with a specific path."""
    row = facts()["report_document_operation"]
    return row["model"], row["operation"]


def grantless_scope_of_model(model: str) -> str | None:
    scope = facts()["grantless_scopes"]["by_model"].get(model)
    return None if scope is None else str(scope)


@cache
def listed_grantless() -> frozenset[tuple[str, str]]:
    """(model, operationId) of grantless operations whose model's description does not say so."""
    return frozenset((row["model"], row["operation"]) for row in facts()["grantless_scopes"]["operations"])
