"""A success answer built from the model, for operations Amazon's static sandbox has no case for.

Amazon serves 57 operations (Shipping v2 ``getRates`` and ``purchaseShipment``, FBA Inventory
``getInventorySummaries``, Vendor Direct Fulfillment...) from its dynamic sandbox, a backend that
makes up realistic answers; a few others publish no case at all. The emulator answers them with the
operation's first success response: its ``examples`` where the model gives one, else a document
built from its ``schema`` (every property, one item per array, the first enum value, an
ISO 8601 date for ``date-time`` strings), else an empty body. The answer is well formed, so a
client's parsing is exercised; it is not the dynamic sandbox's data.

Two things are left out of a built answer: next-page tokens (a static answer to the next page's
request would carry the same token, and a pager would never stop) and, in schema-built documents,
``errors`` lists (a success answer carries none).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow_provider_spapi.emulator.model import Operation, model_operation, models
from airflow_provider_spapi.emulator.responses import Response

SAMPLE_DATE_TIME = "2024-01-01T00:00:00Z"
SAMPLE_DATE = "2024-01-01"
MAX_DEPTH = 12
PAGE_TOKENS = frozenset({"nexttoken", "nextpagetoken", "paginationtoken"})


def _success(operation: Operation) -> tuple[int, dict[str, Any]]:
    responses = model_operation(operation)["responses"]
    for status in sorted(responses):
        if status.isdigit() and 200 <= int(status) < 300:
            return int(status), responses[status]
    return 200, {}


def _from_examples(examples: dict[str, Any], schema: dict[str, Any] | None, definitions: dict[str, Any]) -> Any:
    """Swagger keys ``examples`` by media type; some of Amazon's models key it by the body's own
    top-level property (``{"payload": ...}``) or by an example's name (``{"Successful Response": {}}``)."""
    if "application/json" in examples:
        return examples["application/json"]
    properties = set(_resolve(schema or {}, definitions).get("properties", {}))
    if properties and set(examples) <= properties:
        return examples
    return next(iter(examples.values()))


def _resolve(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def sample(schema: dict[str, Any], definitions: dict[str, Any], seen: frozenset[str] = frozenset(), depth: int = 0) -> Any:
    """A value that fits ``schema``; a definition already being built higher up becomes empty, so recursion ends."""
    ref = schema.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        if name in seen or depth > MAX_DEPTH:
            return {}
        return sample(definitions.get(name, {}), definitions, seen | {name}, depth + 1)
    if "example" in schema:
        return schema["example"]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, definitions, seen, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: sample(prop, definitions, seen, depth + 1) for name, prop in properties.items() if name != "errors"}
    if kind == "array":
        return [sample(schema.get("items", {}), definitions, seen, depth + 1)]
    if kind == "string":
        return {"date-time": SAMPLE_DATE_TIME, "date": SAMPLE_DATE}.get(schema.get("format", ""), "string")
    if kind == "integer":
        return 0
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    return {}


def without_page_tokens(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_page_tokens(item) for key, item in value.items() if key.lower() not in PAGE_TOKENS}
    if isinstance(value, list):
        return [without_page_tokens(item) for item in value]
    return value


@cache
def example_body(operation: Operation) -> tuple[int, Any]:
    """(status, body or None) of the model's first success response."""
    status, response = _success(operation)
    definitions = models()[operation.api].get("definitions", {})
    if response.get("examples"):
        body = _from_examples(response["examples"], response.get("schema"), definitions)
    elif "schema" in response:
        body = sample(response["schema"], definitions)
    else:
        return status, None
    return status, without_page_tokens(body)


def example_response(operation: Operation) -> Response:
    status, body = example_body(operation)
    if body is None or status == 204:
        return Response.empty(status)
    return Response.json(status, body)
