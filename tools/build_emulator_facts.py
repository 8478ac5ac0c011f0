"""Copy what the emulator needs of Amazon's published SP-API models into the emulator's package data.

The emulator must not learn its facts from the client it is there to test (a wrong fact in the
client would then pass every test), so it reads Amazon's models itself. This tool trims them to
what the emulator uses and writes ``airflow_provider_spapi/emulator/models.json.gz``:

    python tools/build_emulator_facts.py ../shared/reference/sp-api-models

Per model file (keyed by its name without ``.json``) it keeps ``paths`` with, per operation: the
``operationId``; of its description, the sentences that call it grantless and the usage-plan table
(the rest of the prose goes); its
parameters with ``$ref`` resolved (``name``, ``in``, ``type``, ``items``, ``collectionFormat``,
``required``); and per response the ``x-amzn-api-sandbox`` static cases. Path-level
``x-amzn-api-sandbox`` (the dynamic-sandbox flag) and ``x-amzn-api-sandbox-only`` stay. For the
operations Amazon serves from its dynamic sandbox, and those without any static case, the success
responses keep their ``examples`` and ``schema``, and the model keeps the ``definitions`` those
schemas need. Nothing is renamed or
re-shaped, so a reader of the copy reads Amazon's model.

This is a separate tool from ``tools/build_catalog.py`` (the client's catalog) on purpose: the two
derivations share no code, and ``tests/test_emulator_facts.py`` compares what they produce.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "airflow_provider_spapi" / "emulator" / "models.json.gz"
METHODS = ("get", "put", "post", "delete", "patch")
PARAMETER_KEYS = ("name", "in", "type", "items", "collectionFormat", "required")
USAGE_PLAN_HEADING = "Rate (requests per second)"


def kept_description(description: str) -> str:
    """The sentences saying "grantless", then the ``| Rate (requests per second) | Burst |`` table.

    Some models escape their newlines twice; the table reads the same either way.
    """
    text = description.replace("\\n", "\n")
    kept = [sentence.strip() + "." for sentence in re.split(r"\.\s", text) if "grantless" in sentence.lower() and "|" not in sentence]
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if USAGE_PLAN_HEADING in line:
            for row in lines[start:]:
                if not row.strip().startswith("|"):
                    break
                kept.append(row.strip())
            break
    return "\n".join(kept)


def _parameter(raw: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in raw:
        raw = model["parameters"][raw["$ref"].rsplit("/", 1)[-1]]
    return {key: raw[key] for key in PARAMETER_KEYS if key in raw}


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _closure(names: set[str], definitions: dict[str, Any]) -> dict[str, Any]:
    """The definitions ``names`` refer to, transitively."""
    todo, kept = list(names), {}
    while todo:
        name = todo.pop()
        if name in kept or name not in definitions:
            continue
        kept[name] = definitions[name]
        more: set[str] = set()
        _refs(definitions[name], more)
        todo.extend(more - set(kept))
    return kept


def trim_model(model: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schema_refs: set[str] = set()
    for path, item in model["paths"].items():
        dynamic = "dynamic" in (item.get("x-amzn-api-sandbox") or {})
        kept: dict[str, Any] = {key: item[key] for key in ("x-amzn-api-sandbox", "x-amzn-api-sandbox-only") if key in item}
        if item.get("parameters"):
            kept["parameters"] = [_parameter(p, model) for p in item["parameters"]]
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            op_dynamic = dynamic or "dynamic" in (operation.get("x-amzn-api-sandbox") or {})
            has_cases = any((r.get("x-amzn-api-sandbox") or {}).get("static") for r in operation.get("responses", {}).values())
            responses: dict[str, Any] = {}
            for status, response in operation.get("responses", {}).items():
                out: dict[str, Any] = {}
                if response.get("x-amzn-api-sandbox"):
                    out["x-amzn-api-sandbox"] = response["x-amzn-api-sandbox"]
                if (op_dynamic or not has_cases) and status.startswith("2"):
                    for key in ("examples", "schema"):
                        if key in response:
                            out[key] = response[key]
                    _refs(response.get("schema"), schema_refs)
                responses[status] = out
            trimmed = {
                "operationId": operation["operationId"],
                "description": kept_description(operation.get("description", "")),
                "parameters": [_parameter(p, model) for p in operation.get("parameters", [])],
                "responses": responses,
            }
            if "x-amzn-api-sandbox" in operation:
                trimmed["x-amzn-api-sandbox"] = operation["x-amzn-api-sandbox"]
            kept[method] = trimmed
        paths[path] = kept
    out = {"paths": paths}
    if schema_refs:
        out["definitions"] = _closure(schema_refs, model.get("definitions", {}))
    return out


def build(models_dir: Path) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for model_path in sorted(models_dir.rglob("*.json")):
        model = json.loads(model_path.read_text(encoding="utf-8"))
        if "paths" in model:
            if model_path.stem in models:
                raise SystemExit(f"two models are named {model_path.stem}")
            models[model_path.stem] = trim_model(model)
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("models_dir", type=Path, help="folder of Amazon's SP-API Swagger models")
    args = parser.parse_args(argv)
    models = build(args.models_dir)
    text = json.dumps(models, separators=(",", ":"))
    OUT.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    operations = sum(1 for model in models.values() for item in model["paths"].values() for method in METHODS if method in item)
    print(f"{len(models)} models, {operations} operations -> {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
