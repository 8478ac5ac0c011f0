"""Which code answers a request, and the steps every SP-API call goes through.

* TikTok Shop paths (``/api/v2/token/*``, ``/<api>/<yyyymm>/*``, ``/_emulator/tiktok/*``): :mod:`.tiktok.routes`.
* ``/_emulator/...``: admin endpoints (no auth; the emulator's own).
* ``POST /auth/o2/token``: Login with Amazon.
* ``/_documents/<id>``: pre-signed document URLs (GET downloads, PUT feed uploads; no token).
* anything else: SP-API. The path must be an operation of Amazon's models (:mod:`.model`; else
  404 ``NotFound`` naming the path), then: faults (a ``lost`` fault lets the call through, then drops
  its answer) → ``x-amz-access-token`` → authorisation
  (grantless scopes, RDT coverage) → the usage-plan bucket (429 ``QuotaExceeded``) → the
  operation's handler, or, for an operation the emulator keeps no state for, what Amazon's sandbox
  answers (:func:`.sandbox_mode.answer_without_state`). ``x-amzn-RateLimit-Limit`` goes on 2xx,
  400 and 404 answers of calls that passed the bucket, unless ``rate_limit_header`` is ``never``.
* the sandbox mode (paths under ``/sandbox``, or every path with the ``sandbox`` option): the same
  steps without authorisation, on the sandbox's usage plan, always answered as Amazon's sandbox
  does, and 403 ``MissingAuthenticationToken`` for an unknown path (see :mod:`.sandbox_mode`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_spapi.emulator.auth import authenticate, authorize
from airflow_provider_spapi.emulator.call import Call, path_params
from airflow_provider_spapi.emulator.documents import DOCUMENT_PATH, accept_upload, document_response, expired_url
from airflow_provider_spapi.emulator.faults import Fault, Firing, Target
from airflow_provider_spapi.emulator.lwa import token_endpoint
from airflow_provider_spapi.emulator.model import Operation, find_operation
from airflow_provider_spapi.emulator.responses import ApiError, Request, Response, lwa_error, new_request_id, s3_error, sp_api_error
from airflow_provider_spapi.emulator.sandbox_mode import answer_without_state, sandbox_target, unknown_path
from airflow_provider_spapi.emulator.state import EmulatorState
from airflow_provider_spapi.emulator.throttle import format_rate
from airflow_provider_spapi.emulator.tiktok import routes as tiktok

ADMIN_PREFIX = "/_emulator/"
LWA_PATH = "/auth/o2/token"
RATE_HEADER = "x-amzn-RateLimit-Limit"


def dispatch(state: EmulatorState, request: Request) -> Response:
    if tiktok.handles(request.path):  # TikTok Shop: /api/v2/token/*, /<api>/<yyyymm>/*, /_emulator/tiktok/*
        return tiktok.dispatch(state.tiktok, request)
    if request.path.startswith(ADMIN_PREFIX):
        return admin(state, request)
    if request.path == LWA_PATH:
        return lwa(state, request)
    if request.path.startswith(DOCUMENT_PATH):
        return document(state, request)
    return sp_api(state, request)


# Faults ----------------------------------------------------------------------------------------


def _fire(
    state: EmulatorState, target: Target, request: Request, names: tuple[str, ...] = (), kinds: frozenset[str] | None = None
) -> Fault | None:
    """Consult the faults, count and sleep what fired, and return the fault that takes over the answer, if any."""
    firing: Firing = state.faults.check(target, request.path, names, kinds)
    for kind in firing.fired:
        state.counters.add("faults", kind)
    if firing.delay:
        time.sleep(firing.delay)
    return firing.fault


def _retry_after(fault: Fault, response: Response) -> Response:
    if fault.retry_after is not None:
        response.headers["Retry-After"] = f"{fault.retry_after:g}"
    return response


# LWA -------------------------------------------------------------------------------------------

_LWA_FAULT_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    429: "temporarily_unavailable",
    500: "server_error",
    503: "temporarily_unavailable",
}


def lwa(state: EmulatorState, request: Request) -> Response:
    fault = _fire(state, "lwa", request)
    if fault is not None:
        if fault.kind == "reset":
            return Response(0, reset=True)
        error = _LWA_FAULT_ERRORS.get(fault.status, "server_error" if fault.status >= 500 else "invalid_request")
        return _retry_after(fault, lwa_error(fault.status, error, "The emulator injected this error (fault)."))
    if request.method != "POST":
        return lwa_error(405, "invalid_request", "The token endpoint accepts POST only.")
    return token_endpoint(request, state.credentials, state.tokens, state.options.expires_in, state.counters)


# Documents -------------------------------------------------------------------------------------

_S3_FAULT_ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def document(state: EmulatorState, request: Request) -> Response:
    document_id = request.path[len(DOCUMENT_PATH) :]
    if request.method in ("GET", "HEAD"):
        kinds = None
    elif request.method == "PUT":
        kinds = frozenset({"status", "reset", "expired_url"})
    else:
        return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    fault = _fire(state, "document", request, (), kinds)
    if fault is not None and fault.kind == "reset":
        return Response(0, reset=True)
    if fault is not None and fault.kind == "status":
        code, message = _S3_FAULT_ERRORS.get(
            fault.status, ("InternalError" if fault.status >= 500 else "InvalidRequest", "Injected fault.")
        )
        return _retry_after(fault, s3_error(fault.status, code, message))
    if fault is not None and fault.kind == "expired_url":
        return expired_url(request.param("X-Amz-Expires") or "300")
    refusal = state.documents.check_url(request, document_id)
    if refusal is not None:
        return refusal
    stored = state.documents.get(document_id)
    if request.method == "PUT":
        if stored is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        state.counters.add("document_uploads")
        return accept_upload(stored, request)
    if stored is None or stored.content is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    state.counters.add("document_downloads")
    encoding = request.param("response-content-encoding") == "gzip"
    return document_response(stored, content_encoding=encoding, truncate=fault is not None and fault.kind == "truncate")


# SP-API ----------------------------------------------------------------------------------------


def sp_api(state: EmulatorState, request: Request) -> Response:
    headers = {"x-amzn-RequestId": new_request_id()}
    sandbox, path = sandbox_target(state.options, request.path)
    if path != request.path:
        request = dataclasses.replace(request, path=path)
    operation = find_operation(request.method, request.path)
    if operation is None:
        if sandbox:
            return unknown_path(headers)
        error = ApiError(404, "NotFound", "Resource not found.", f"No SP-API operation answers {request.method} {request.path}.")
        return sp_api_error(error, headers)
    state.counters.add("requests", operation.key)
    fault = _fire(state, "spapi", request, (operation.name, operation.key))
    if fault is not None and fault.kind == "lost":
        _handle(state, request, operation, headers, sandbox)  # Amazon acts on the request ...
        time.sleep(fault.seconds)  # ... takes long enough for the client's read timeout, if asked ...
        return Response(0, reset=True)  # ... and the answer never arrives
    if fault is not None:
        if fault.kind == "reset":
            return Response(0, reset=True)
        response = _retry_after(fault, sp_api_error(ApiError(fault.status), headers))
        if fault.include_rate_header:
            response.headers[RATE_HEADER] = format_rate(state.throttler.plan(operation, sandbox=sandbox)[0])
        return response
    return _handle(state, request, operation, headers, sandbox)


def _handle(state: EmulatorState, request: Request, operation: Operation, headers: dict[str, str], sandbox: bool) -> Response:
    """Authenticate, authorise, throttle and answer one SP-API call (the part a ``lost`` fault still carries out)."""
    options = state.options
    rate: float | None = None
    try:
        grant = authenticate(state.tokens, request.header("x-amz-access-token"), time.time())
        elements = frozenset() if sandbox else authorize(grant, operation, request.method, request.path)
        decision = state.throttler.acquire(grant.principal, operation, sandbox=sandbox)
        if not decision.allowed:
            state.counters.add("throttled", operation.key)
            raise ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        rate = decision.rate
        call = Call(request, operation, grant, path_params(operation.path, request.path), elements)
        handler = None if sandbox else state.handlers.get(operation.key)
        response = handler(call) if handler is not None else answer_without_state(operation, call)
    except ApiError as error:
        response = sp_api_error(error)
    response.headers.update(headers)
    if rate is not None and options.rate_limit_header == "always" and (200 <= response.status < 300 or response.status in (400, 404)):
        response.headers[RATE_HEADER] = format_rate(rate)
    return response


# Admin -----------------------------------------------------------------------------------------


def _admin_json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _admin_routes(state: EmulatorState) -> dict[tuple[str, str], Callable[[dict[str, Any]], Any]]:
    """(method, name under /_emulator/) -> a function of the JSON body returning the JSON answer."""

    def reset(_: dict[str, Any]) -> dict[str, Any]:
        state.reset()
        return {"reset": True}

    def revoke(body: dict[str, Any]) -> dict[str, Any]:
        state.revoke(str(body.get("refresh_token") or ""))
        return {"revoked": True}

    def register(body: dict[str, Any]) -> dict[str, Any]:
        return state.register(
            str(body.get("client_id") or ""),
            str(body.get("client_secret") or ""),
            body.get("refresh_token"),
            body.get("selling_partner_id"),
        )

    def secret_expired(body: dict[str, Any]) -> dict[str, Any]:
        state.expire_secret(str(body.get("client_id") or ""))
        return {"secret_expired": True}

    def authorization_code(body: dict[str, Any]) -> dict[str, Any]:
        return state.new_authorization_code(body.get("client_id"), body.get("selling_partner_id"), body.get("redirect_uri"))

    return {
        ("GET", "health"): lambda _: {"status": "ok"},
        ("GET", "counters"): lambda _: state.counters.snapshot(),
        ("GET", "config"): lambda _: state.options.to_json(),
        ("POST", "config"): state.configure,
        ("POST", "reset"): reset,
        ("POST", "revoke"): revoke,
        ("POST", "expire-tokens"): lambda _: {"expired": state.expire_tokens()},
        ("POST", "register"): register,
        ("POST", "secret-expired"): secret_expired,
        ("GET", "notifications"): lambda _: {"notifications": state.notifications()},
        ("POST", "authorization-code"): authorization_code,
    }


def admin(state: EmulatorState, request: Request) -> Response:
    name = request.path[len(ADMIN_PREFIX) :].strip("/")
    routes = _admin_routes(state)
    route = routes.get((request.method, name))
    if route is None:
        known = any(key[1] == name for key in routes)
        return Response.json(405 if known else 404, {"error": f"no admin endpoint {request.method} /_emulator/{name}"})
    try:
        return Response.json(200, route(_admin_json(request) if request.method == "POST" else {}))
    except KeyError as error:
        return Response.json(404, {"error": str(error.args[0]) if error.args else "not found"})
    except ValueError as error:
        return Response.json(400, {"error": str(error)})
