"""Tokens API 2021-03-01: ``createRestrictedDataToken``.

Called with a seller's LWA access token (an RDT or a grantless token gets 403), with 1 to 50
``restrictedResources``, each ``{"method", "path", "dataElements"?}``. A path may be specific
(``/orders/v0/orders/123-1234567-1234567/address``) or generic (``/orders/v0/orders/{orderId}/address``),
except for ``getReportDocument``, which Amazon accepts only with a specific path. A resource that is
not a restricted operation (see ``facts.json``), or ``dataElements`` the operation does not know, is a
400 ``InvalidInput``. The answer has no ``payload`` wrapper: ``{"restrictedDataToken", "expiresIn"}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from airflow_provider_spapi.emulator.auth import Grant, RestrictedResource, TokenStore
from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.counters import Counters
from airflow_provider_spapi.emulator.facts import report_document_operation
from airflow_provider_spapi.emulator.model import find_operation
from airflow_provider_spapi.emulator.responses import ApiError, Response

MAX_RESOURCES = 50
METHODS = ("GET", "PUT", "POST", "DELETE")


def _resource(raw: object, index: int) -> RestrictedResource:
    where = f"restrictedResources[{index}]"
    if not isinstance(raw, dict):
        raise ApiError(400, "InvalidInput", f"{where} must be an object with method and path.")
    method, path, elements = raw.get("method"), raw.get("path"), raw.get("dataElements") or []
    if method not in METHODS:
        raise ApiError(400, "InvalidInput", f"{where}.method must be one of {', '.join(METHODS)}.")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ApiError(400, "InvalidInput", f"{where}.path must be an absolute SP-API path.")
    if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
        raise ApiError(400, "InvalidInput", f"{where}.dataElements must be a list of strings.")
    operation = find_operation(method, path.split("?", 1)[0])
    if operation is None:
        raise ApiError(400, "InvalidInput", f"{where}: {method} {path} is not an SP-API operation.")
    if (operation.api, operation.name) == report_document_operation():
        if "{" in path:
            raise ApiError(
                400, "InvalidInput", f"{where}: getReportDocument needs a specific path (a reportDocumentId, not a {{placeholder}})."
            )
    elif operation.restricted == "never":
        raise ApiError(400, "InvalidInput", f"{where}: {operation.name} is not a restricted operation; call it with the LWA access token.")
    unknown = set(elements) - set(operation.data_elements)
    if unknown:
        raise ApiError(400, "InvalidInput", f"{where}: {operation.name} has no data element(s) {', '.join(sorted(unknown))}.")
    return RestrictedResource(method, path.split("?", 1)[0], tuple(elements))


class TokensApi:
    def __init__(self, tokens: TokenStore, counters: Counters, expires_in: Callable[[], int]) -> None:
        self.tokens = tokens
        self.counters = counters
        self.expires_in = expires_in

    def handlers(self) -> dict[str, Handler]:
        return {"tokens_2021-03-01.createRestrictedDataToken": self.create_restricted_data_token}

    def create_restricted_data_token(self, call: Call) -> Response:
        if call.grant.kind != "seller":
            raise ApiError(403, "Unauthorized", details="A Restricted Data Token is minted with the seller's LWA access token.")
        raw = call.body().get("restrictedResources")
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RESOURCES:
            raise ApiError(400, "InvalidInput", f"restrictedResources must list 1 to {MAX_RESOURCES} resources.")
        resources = tuple(_resource(item, index) for index, item in enumerate(raw))
        expires_in = self.expires_in()
        grant = Grant("rdt", call.grant.client_id, call.seller, time.time() + expires_in, resources=resources)
        token = self.tokens.issue(grant)
        self.counters.add("rdt")
        return Response.json(200, {"restrictedDataToken": token, "expiresIn": expires_in})
