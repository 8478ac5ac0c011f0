"""Which code answers a TikTok request, and the checks every API call goes through, in TikTok's order.

* ``/_emulator/tiktok/...``: admin endpoints (no auth).
* ``GET /api/v2/token/get`` and ``/api/v2/token/refresh``: the token endpoint (app secret in the query, unsigned).
* ``/<api>/<yyyymm>/...``: the API. Faults → known path (else HTTP 404, 36009004) → ``app_key`` →
  ``timestamp`` (5 minutes behind to 30 seconds ahead, else 36009004) → ``sign`` (106001) →
  ``x-tts-access-token`` (105001 unknown, 105002 expired) → ``shop_cipher`` (106013 missing on a shop
  path, 36009004 unexpected on a shop-less one or not covered) → the bucket (36009002, HTTP 429 by
  default) → the handler.

Every answer is TikTok's envelope ``{"code", "message", "request_id", "data"}``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from airflow_provider_spapi.emulator.responses import Request, Response
from airflow_provider_spapi.emulator.tiktok import facts
from airflow_provider_spapi.emulator.tiktok.api import ROUTES, Call
from airflow_provider_spapi.emulator.tiktok.signature import valid
from airflow_provider_spapi.emulator.tiktok.state import TikTokState
from airflow_provider_spapi.emulator.tiktok.tokens import Refusal


def handles(path: str) -> bool:
    """Whether ``path`` is TikTok's (the SP-API side answers everything else)."""
    return facts.is_tiktok_path(path)


def _envelope(status: int, code: int, message: str, data: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": uuid.uuid4().hex.upper()[:24]}
    if data is not None:
        body["data"] = data
    return Response.json(status, body)


def _refused(state: TikTokState, refusal: Refusal, status: int | None = None) -> Response:
    state.counters.add("errors", str(refusal.code))
    return _envelope(status or facts.STATUS.get(refusal.code, 400), refusal.code, refusal.message)


def dispatch(state: TikTokState, request: Request) -> Response:
    if request.path.startswith(facts.ADMIN_PREFIX):
        return admin(state, request)
    fault = state.take_fault(request.path)
    if fault is not None and fault.kind == "delay":
        time.sleep(fault.seconds)  # then answer as usual: a client with a shorter read timeout has given up
    elif fault is not None:
        if fault.kind == "reset":
            return Response(0, reset=True)
        return _envelope(fault.status, facts.INTERNAL_ERROR, "Internal error, please try again (injected by the emulator).")
    query = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if request.path in (facts.TOKEN_GET, facts.TOKEN_REFRESH):
        try:
            return token_endpoint(state, request, query)
        except Refusal as refusal:
            return _refused(state, refusal)
    return api(state, request, query)


def token_endpoint(state: TikTokState, request: Request, query: dict[str, str]) -> Response:
    options = state.options
    if request.method != "GET":
        raise Refusal(facts.BAD_REQUEST, "The token endpoint answers GET.")
    state.tokens.check_app(query.get("app_key"), query.get("app_secret"), secret_required=True)
    if request.path == facts.TOKEN_GET:
        if query.get("grant_type") != "authorized_code":
            raise Refusal(facts.BAD_REQUEST, "Invalid grant_type: authorized_code expected.")
        authorisation, access, access_expires = state.tokens.exchange(
            query.get("auth_code", ""), options.access_token_lifetime, options.refresh_token_lifetime
        )
        state.counters.add("token", "get")
    else:
        if query.get("grant_type") != "refresh_token":
            raise Refusal(facts.BAD_REQUEST, "Invalid grant_type: refresh_token expected.")
        before = query.get("refresh_token", "")
        authorisation, access, access_expires = state.tokens.refresh(
            before, options.access_token_lifetime, options.refresh_token_lifetime, options.rotate_refresh_token
        )
        state.counters.add("token", "refresh")
        if authorisation.refresh_token != before:
            state.counters.add("rotations")
    data = {
        "access_token": access,
        "access_token_expire_in": access_expires,
        "refresh_token": authorisation.refresh_token,
        "refresh_token_expire_in": authorisation.refresh_expires_at,
        "open_id": authorisation.open_id,
        "seller_name": authorisation.seller_name,
        "seller_base_region": "US",
        "user_type": 0,
        "granted_scopes": ["seller.authorization.info", "seller.order.info", "seller.product.basic", "seller.finance.info"],
    }
    return _envelope(200, facts.OK, "success", data)


def _check_timestamp(value: str | None) -> None:
    if not value or not value.isdigit():
        raise Refusal(facts.BAD_REQUEST, "Invalid timestamp: Unix seconds required.")
    skew = time.time() - int(value)
    if skew > facts.TIMESTAMP_BEHIND or -skew > facts.TIMESTAMP_AHEAD:
        raise Refusal(facts.BAD_REQUEST, "Invalid timestamp: the request timestamp is expired or ahead of the server's clock.")


def api(state: TikTokState, request: Request, query: dict[str, str]) -> Response:
    route = ROUTES.get((request.method, request.path))
    if route is None:
        return _refused(state, Refusal(facts.BAD_REQUEST, f"No API answers {request.method} {request.path}."), 404)
    name, handler = route
    state.counters.add("requests", name)
    options = state.options
    try:
        state.tokens.check_app(query.get("app_key"))
        if options.check_timestamp:
            _check_timestamp(query.get("timestamp"))
        content_type = request.headers.get("content-type", "")
        if not valid(query.get("sign"), request.path, request.query_string, request.body, content_type, state.tokens.app_secret):
            raise Refusal(facts.INVALID_SIGN, "Invalid sign.")
        state.tokens.authenticate(request.headers.get(facts.ACCESS_TOKEN_HEADER))
        covered = state.shops()
        shop = None
        cipher = query.get("shop_cipher")
        if facts.shop_scoped(request.path):
            if not cipher:
                raise Refusal(facts.MISSING_SHOP_CIPHER, "shop_cipher is required for this API.")
            shop = next((candidate for candidate in covered if candidate.cipher == cipher), None)
            if shop is None:
                raise Refusal(facts.BAD_REQUEST, "Invalid shop_cipher: the authorisation does not cover this shop.")
        elif cipher is not None:
            raise Refusal(facts.BAD_REQUEST, "Invalid request: shop_cipher is not expected for this API.")
        if not state.buckets.allow(query["app_key"], name, options.rate, options.burst):
            state.counters.add("throttled")
            return _refused(state, Refusal(facts.TOO_MANY_REQUESTS, "Too many requests."), options.throttle_status)
        data = handler(Call(query, request.body, shop, covered, state.data[shop.cipher] if shop else None))
    except Refusal as refusal:
        return _refused(state, refusal)
    return _envelope(200, facts.OK, "Success", data)


def _admin_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _reset(state: TikTokState) -> dict[str, Any]:
    state.reset()
    return {"reset": True}


def admin(state: TikTokState, request: Request) -> Response:
    name = request.path[len(facts.ADMIN_PREFIX) :].strip("/")
    routes: dict[tuple[str, str], Any] = {
        ("GET", "counters"): lambda _: state.counters.snapshot(),
        ("GET", "config"): lambda _: state.options.to_json(),
        ("POST", "config"): state.configure,
        ("POST", "reset"): lambda _: _reset(state),
        ("POST", "expire-tokens"): lambda _: {"expired": state.expire_tokens()},
        ("POST", "revoke"): lambda body: {"revoked": state.revoke(str(body.get("refresh_token") or ""))},
        ("POST", "expire-refresh-token"): lambda body: {"expired": state.expire_refresh_token(str(body.get("refresh_token") or ""))},
        ("POST", "authorization-code"): lambda _: {"code": state.new_authorization_code()},
    }
    route = routes.get((request.method, name))
    if route is None:
        return Response.json(404, {"error": f"no admin endpoint {request.method} {facts.ADMIN_PREFIX}{name}"})
    try:
        return Response.json(200, route(_admin_body(request) if request.method == "POST" else {}))
    except ValueError as error:
        return Response.json(400, {"error": str(error)})
