"""Derive the client's operation catalog from Amazon's published models.

Amazon publishes every SP-API operation as a Swagger 2.0 model. Each operation's description carries
its default usage plan (a ``Rate (requests per second) | Burst`` table) and most responses carry
``x-amzn-api-sandbox.static`` cases: the parameters Amazon's sandbox matches and what it returns. We
derive rather than hand-type both, so a model update is one command away:

    python tools/build_catalog.py ../shared/reference/sp-api-models

writes ``airflow_provider_spapi/spapi/data/operations.json`` (one row per operation, joined with the curated
facts in ``airflow_provider_spapi/spapi/data/facts.json``). The emulator's copy of the models (with the
static sandbox cases) is written by ``tools/build_emulator_facts.py``: the two derivations share no code, so
a mistake in one shows up as a difference with the other.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "airflow_provider_spapi"
FACTS = PACKAGE / "spapi" / "data" / "facts.json"
OPERATIONS_OUT = PACKAGE / "spapi" / "data" / "operations.json"

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
# The first numeric row after the "Rate (requests per second) | Burst" header: "| 0.5 | 30 |", or
# "|Default| 5 | 10 |" where the table has a "Plan type" column.
USAGE_PLAN_ROW = re.compile(
    r"Rate \(requests per second\)\s*\|\s*Burst.*?\|\s*(?:Default\s*\|)?\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|",
    re.DOTALL,
)


def usage_plan(description: str) -> tuple[float, float] | None:
    # Some models escape their newlines twice; the table reads the same either way.
    match = USAGE_PLAN_ROW.search((description or "").replace("\\n", "\n"))
    return (float(match.group(1)), float(match.group(2))) if match else None


def is_idempotent(method: str, path: str, operation_id: str, facts: dict[str, Any]) -> bool:
    """Whether a request whose answer was lost may be sent again (the rule is in facts.json's ``_idempotency_note``)."""
    listed = {(row["method"], row["path"]) for row in facts["replay_safe"]}
    unsafe = {(row["method"], row["path"]) for row in facts["replay_unsafe"]}
    if method in ("GET", "HEAD"):
        return True
    if method in ("PUT", "DELETE"):
        return (method, path) not in unsafe
    verb = re.match(r"[a-z]*", operation_id).group(0)  # type: ignore[union-attr]
    return (method, path) in listed or verb in facts["replay_safe_verbs"]


def iter_operations(models_dir: Path) -> Any:
    for model_path in sorted(models_dir.rglob("*.json")):
        model = json.loads(model_path.read_text(encoding="utf-8"))
        if "paths" not in model:
            continue
        for path, item in model["paths"].items():
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    yield model_path.stem, method.upper(), path, operation


def sandbox_cases(api: str, method: str, path: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
    cases = []
    for status, response in operation.get("responses", {}).items():
        for case in (response.get("x-amzn-api-sandbox") or {}).get("static", []):
            parameters = {name: spec.get("value") for name, spec in ((case.get("request") or {}).get("parameters") or {}).items()}
            cases.append(
                {
                    "api": api,
                    "method": method,
                    "path": path,
                    "status": int(status) if status.isdigit() else 200,
                    "parameters": parameters,
                    "response": case.get("response"),
                }
            )
    return cases


def build(models_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    facts = json.loads(FACTS.read_text(encoding="utf-8"))
    restricted = {(r["method"], r["path"]): r for r in facts["restricted_operations"]}
    grantless = {(g["method"], g["path"]): g["scope"] for g in facts["grantless_operations"]}
    if_unsure = {(row["method"], row["path"]): row["check"] for row in facts["if_unsure"]}

    operations, cases = [], []
    for api, method, path, operation in iter_operations(models_dir):
        plan = usage_plan(operation.get("description", ""))
        rule = restricted.pop((method, path), None)
        operations.append(
            {
                "api": api,
                "method": method,
                "path": path,
                "operation": operation["operationId"],
                "rate": plan[0] if plan else None,
                "burst": plan[1] if plan else None,
                "restricted": "never" if rule is None else rule["when"],
                "data_elements": [] if rule is None else rule["data_elements"],
                "grantless_scope": grantless.pop((method, path), None),
                "idempotent": is_idempotent(method, path, operation["operationId"], facts),
                "if_unsure": if_unsure.pop((method, path), None),
            }
        )
        cases.extend(sandbox_cases(api, method, path, operation))

    known = {(op["method"], op["path"]) for op in operations}
    others = [(row["method"], row["path"]) for key in ("pagination", "rdt_specific_path_only") for row in facts[key]]
    others += [(row["method"], row["path"]) for key in ("replay_safe", "replay_unsafe") for row in facts[key]]
    missing = [*restricted, *grantless, *if_unsure, *(pair for pair in others if pair not in known)]
    if missing:
        raise SystemExit(f"facts.json names operations the models do not have: {missing}")
    return operations, cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models_dir", type=Path, help="folder of Amazon's SP-API Swagger models")
    args = parser.parse_args(argv)
    operations, cases = build(args.models_dir)
    OPERATIONS_OUT.write_text(json.dumps(operations, indent=1) + "\n", encoding="utf-8")
    without_plan = sum(op["rate"] is None for op in operations)
    print(f"{len(operations)} operations ({without_plan} without a usage plan), {len(cases)} sandbox cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
