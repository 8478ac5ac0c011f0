"""The emulator's facts are its own: derived from its copy of Amazon's models and its own table, not the client's.

The client (``spapi/catalog`` + ``spapi/data``) and the emulator (``emulator/model`` +
``emulator/facts.json``) each state what Amazon enforces. The comparison below names every
difference between the two tables; a difference is accepted only if ``KNOWN_DIFFERENCES`` lists
it with its reason, so a fact changed on one side alone fails here instead of passing silently.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_spapi.emulator import facts as emulator_facts
from airflow_provider_spapi.emulator import model
from airflow_provider_spapi.spapi import catalog

REPO = Path(__file__).resolve().parent.parent
EMULATOR_DIR = REPO / "airflow_provider_spapi" / "emulator"
MODEL_DIRS = (Path("/work/shared/reference/sp-api-models"), REPO.parents[1] / "shared" / "reference" / "sp-api-models")

#: (table, operation key or item) -> why the client and the emulator rightly or knowingly differ.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


def client_table() -> dict[str, dict[str, Any]]:
    return {
        op.key: {
            "where": (op.method, op.path),
            "usage_plan": (op.rate, op.burst),
            "restricted": (op.restricted, tuple(op.data_elements)),
            "grantless_scope": op.grantless_scope,
            "rdt_generic_path": catalog.rdt_accepts_generic_path(op),
        }
        for op in catalog.operations()
    }


def emulator_table() -> dict[str, dict[str, Any]]:
    report_document = emulator_facts.report_document_operation()
    return {
        op.key: {
            "where": (op.method, op.path),
            "usage_plan": (op.rate, op.burst),
            "restricted": (op.restricted, tuple(op.data_elements)),
            "grantless_scope": op.grantless_scope,
            "rdt_generic_path": (op.api, op.name) != report_document,
        }
        for op in model.operations()
    }


def differences() -> dict[tuple[str, str], str]:
    """Every (table, item) where the two sides disagree, with both values."""
    client, emulator = client_table(), emulator_table()
    found: dict[tuple[str, str], str] = {}
    for key in sorted(set(client) | set(emulator)):
        if key not in client or key not in emulator:
            found[("operations", key)] = f"only in the {'client' if key in client else 'emulator'}"
            continue
        for column, value in client[key].items():
            if emulator[key][column] != value:
                found[(column, key)] = f"client {value!r}, emulator {emulator[key][column]!r}"
    for name in sorted(catalog.restricted_report_types() ^ emulator_facts.restricted_report_types()):
        side = "client" if name in catalog.restricted_report_types() else "emulator"
        found[("restricted_report_types", name)] = f"only in the {side}"
    if catalog.sandbox_usage_plan() != emulator_facts.sandbox_usage_plan():
        found[("sandbox_usage_plan", "all")] = f"client {catalog.sandbox_usage_plan()}, emulator {emulator_facts.sandbox_usage_plan()}"
    scopes = {op.grantless_scope for op in catalog.operations()} ^ {op.grantless_scope for op in model.operations()}
    for scope in sorted(s for s in scopes if s):
        found[("grantless_scopes", scope)] = "a scope only one side knows"
    return found


def test_the_client_catalog_and_the_emulator_facts_differ_only_where_explained() -> None:
    found = differences()
    unexplained = {item: detail for item, detail in found.items() if item not in KNOWN_DIFFERENCES}
    stale = sorted(item for item in KNOWN_DIFFERENCES if item not in found)
    assert unexplained == {}, "unexplained differences between spapi/catalog and emulator facts:\n" + "\n".join(
        f"  {table} {item}: {detail}" for (table, item), detail in unexplained.items()
    )
    assert stale == [], f"KNOWN_DIFFERENCES lists differences that are gone: {stale}"


def test_both_tables_hold_the_facts_they_must() -> None:
    """Spot checks against Amazon's documentation, so two identical wrong tables cannot pass the comparison."""
    emulator = emulator_table()
    assert emulator["ordersV0.getOrders"]["usage_plan"] == (0.0167, 20.0)
    assert emulator["reports_2021-06-30.createReport"]["usage_plan"] == (0.0167, 15.0)
    assert emulator["tokens_2021-03-01.createRestrictedDataToken"]["usage_plan"] == (1.0, 10.0)
    assert emulator["sales.getOrderMetrics"]["usage_plan"] == (0.5, 15.0)  # the model writes ".5"
    assert emulator["ordersV0.getOrderAddress"]["restricted"] == ("always", ())
    assert emulator["ordersV0.getOrders"]["restricted"] == ("data_elements", ("buyerInfo", "shippingAddress", "buyerTaxInformation"))
    rotation = emulator["application_2023-11-30.rotateApplicationClientSecret"]
    assert rotation["grantless_scope"] == "sellingpartnerapi::client_credential:rotation"
    assert emulator["notifications.deleteDestination"]["grantless_scope"] == "sellingpartnerapi::notifications"
    assert emulator["notifications.createSubscription"]["grantless_scope"] is None
    assert emulator["reports_2021-06-30.getReportDocument"]["rdt_generic_path"] is False
    assert "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING" in emulator_facts.restricted_report_types()
    assert emulator_facts.sandbox_usage_plan() == (5.0, 15.0)
    assert sum(op.dynamic_sandbox for op in model.operations()) == 57
    assert len(emulator) == 370


def test_the_comparison_names_a_fact_changed_on_one_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is not vacuous: change one emulator fact and it shows up, with both values."""
    original = model.operations()
    changed = tuple(
        op if op.key != "ordersV0.getOrders" else type(op)(**{**op.__dict__, "rate": 1.0, "restricted": "never"}) for op in original
    )
    monkeypatch.setattr(model, "operations", lambda: changed)
    found = differences()
    assert found[("usage_plan", "ordersV0.getOrders")] == "client (0.0167, 20.0), emulator (1.0, 20.0)"
    assert ("restricted", "ordersV0.getOrders") in found


def test_the_emulator_imports_neither_the_core_nor_the_client() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted(EMULATOR_DIR.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "airflow_provider_spapi.core" in line or "airflow_provider_spapi.spapi" in line
    ]
    assert offenders == []
    script = (
        "import sys\n"
        "from airflow_provider_spapi.emulator import Emulator\n"
        "with Emulator(port=0) as e:\n"
        "    import urllib.request\n"
        "    urllib.request.urlopen(e.url + '/_emulator/health').read()\n"
        "prefixes = ('airflow_provider_spapi.core', 'airflow_provider_spapi.spapi', 'airflow.')\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_the_packaged_models_are_what_build_emulator_facts_makes_of_amazons() -> None:
    models_dir = next((folder for folder in MODEL_DIRS if folder.is_dir()), None)
    if models_dir is None:
        pytest.skip("shared/reference/sp-api-models is not available in this checkout")
    spec = importlib.util.spec_from_file_location("build_emulator_facts_under_test", REPO / "tools" / "build_emulator_facts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = json.loads(gzip.decompress((EMULATOR_DIR / "models.json.gz").read_bytes()))
    assert module.build(models_dir) == shipped
