"""The bundled SP-API + LWA emulator, over real HTTP: what it enforces, what it serves, and its knobs.

Every test talks to a running ``Emulator`` on 127.0.0.1 with ``requests``; nothing is mocked.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.documents import report_content
from airflow_provider_spapi.emulator.seed import generate_orders

REPO = Path(__file__).resolve().parent.parent
NOTIFICATIONS = "sellingpartnerapi::notifications"
ROTATION = "sellingpartnerapi::client_credential:rotation"
ORDERS = "/orders/v0/orders"
SHIPPING_REPORT = "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"
LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
CLIENT = {"client_id": seed.CLIENT_ID, "client_secret": seed.CLIENT_SECRET}
REFRESH = {"grant_type": "refresh_token", "refresh_token": seed.REFRESH_TOKEN, **CLIENT}
ALL_ORDERS = {"MarketplaceIds": f"{seed.MARKETPLACE_ID_US},{seed.MARKETPLACE_ID_CA}", "CreatedAfter": "2000-01-01T00:00:00Z"}
TIMEOUT = 10


@pytest.fixture(scope="module")
def running() -> Iterator[Emulator]:
    # Scaled-up usage plans keep tests fast; one poll before a report or feed is final.
    with Emulator(port=0, rate_scale=1000, report_polls=1) as emulator:
        yield emulator


@pytest.fixture
def em(running: Emulator) -> Emulator:
    running.reset()
    return running


# Helpers ---------------------------------------------------------------------------------------


def lwa(em: Emulator, form: dict[str, str], *, as_json: bool = False) -> requests.Response:
    if as_json:
        return requests.post(em.lwa_url, json=form, timeout=TIMEOUT)
    return requests.post(em.lwa_url, data=form, timeout=TIMEOUT)


def seller_token(em: Emulator, refresh_token: str = seed.REFRESH_TOKEN) -> str:
    response = lwa(em, {**REFRESH, "refresh_token": refresh_token})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def grantless_token(em: Emulator, scope: str, client_secret: str = seed.CLIENT_SECRET) -> str:
    response = lwa(em, {"grant_type": "client_credentials", "scope": scope, **CLIENT, "client_secret": client_secret})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def call(em: Emulator, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
    headers = {"x-amz-access-token": token} if token else {}
    return requests.request(method, em.url + path, headers=headers, timeout=TIMEOUT, **kwargs)


def mint_rdt(em: Emulator, token: str, resources: list[dict[str, Any]]) -> requests.Response:
    return call(em, "POST", "/tokens/2021-03-01/restrictedDataToken", token, json={"restrictedResources": resources})


def rdt(em: Emulator, token: str, resources: list[dict[str, Any]]) -> str:
    response = mint_rdt(em, token, resources)
    assert response.status_code == 200, response.text
    return str(response.json()["restrictedDataToken"])


def all_orders(em: Emulator, token: str, page_size: int = 100) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    params: dict[str, Any] = {**ALL_ORDERS, "MaxResultsPerPage": page_size}
    while True:
        response = call(em, "GET", ORDERS, token, params=params)
        assert response.status_code == 200, response.text
        payload = response.json()["payload"]
        orders.extend(payload["Orders"])
        if "NextToken" not in payload:
            return orders
        params = {"NextToken": payload["NextToken"]}


def error_of(response: requests.Response) -> dict[str, Any]:
    return dict(response.json()["errors"][0])


def wait_done(em: Emulator, token: str, path: str) -> dict[str, Any]:
    for _ in range(5):
        body = call(em, "GET", path, token).json()
        if body["processingStatus"] not in ("IN_QUEUE", "IN_PROGRESS"):
            return dict(body)
    raise AssertionError(f"{path} never finished")


def create_report(em: Emulator, token: str, report_type: str) -> str:
    response = call(
        em, "POST", "/reports/2021-06-30/reports", token, json={"reportType": report_type, "marketplaceIds": [seed.MARKETPLACE_ID_US]}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["reportId"])


def report_document_url(em: Emulator, token: str, report_type: str = LISTINGS_REPORT) -> tuple[str, str]:
    report_id = create_report(em, token, report_type)
    report = wait_done(em, token, f"/reports/2021-06-30/reports/{report_id}")
    document = call(em, "GET", f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token).json()
    return report_id, str(document["url"])


# LWA -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True])
def test_refresh_grant_returns_the_same_refresh_token(em: Emulator, as_json: bool) -> None:
    response = lwa(em, REFRESH, as_json=as_json)
    body = response.json()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body["refresh_token"] == seed.REFRESH_TOKEN
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert em.counters()["lwa"]["refresh_token"] == 1


def test_client_credentials_grant_with_several_scopes(em: Emulator) -> None:
    response = lwa(em, {"grant_type": "client_credentials", "scope": f"{NOTIFICATIONS} {ROTATION}", **CLIENT})
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    bad = lwa(em, {"grant_type": "client_credentials", "scope": "sellingpartnerapi::migration", **CLIENT})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_scope")
    counters = em.counters()
    assert counters["lwa"]["client_credentials"] == 1
    assert counters["lwa_by_scope"] == {NOTIFICATIONS: 1, ROTATION: 1}


def test_authorization_code_is_one_time_and_gives_a_new_refresh_token(em: Emulator) -> None:
    form = {"grant_type": "authorization_code", **CLIENT, "code": seed.AUTHORIZATION_CODE}
    wrong_uri = lwa(em, {**form, "redirect_uri": "https://elsewhere.invalid/"})
    assert wrong_uri.json()["error"] == "invalid_grant"
    first = lwa(em, {**form, "redirect_uri": seed.REDIRECT_URI})
    assert first.status_code == 200, first.text
    new_refresh = first.json()["refresh_token"]
    assert new_refresh.startswith("Atzr|") and new_refresh != seed.REFRESH_TOKEN
    again = lwa(em, {**form, "redirect_uri": seed.REDIRECT_URI})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    # The new refresh token acts for seller 1, like the seeded one.
    participations = call(em, "GET", "/sellers/v1/marketplaceParticipations", seller_token(em, new_refresh)).json()["payload"]
    assert [p["marketplace"]["id"] for p in participations] == list(seed.SELLER.marketplace_ids)
    fresh = requests.post(f"{em.url}/_emulator/authorization-code", json={}, timeout=TIMEOUT).json()
    assert lwa(em, {**form, "code": fresh["code"], "redirect_uri": fresh["redirect_uri"]}).status_code == 200
    assert em.counters()["lwa"]["authorization_code"] == 2


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({k: v for k, v in REFRESH.items() if k != "grant_type"}, 400, "invalid_request"),
        ({**REFRESH, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({k: v for k, v in REFRESH.items() if k != "refresh_token"}, 400, "invalid_request"),
        ({k: v for k, v in REFRESH.items() if k != "client_secret"}, 400, "invalid_request"),
        ({**REFRESH, "client_secret": "wrong"}, 401, "invalid_client"),
        ({**REFRESH, "client_id": "amzn1.application-oa2-client.unknown"}, 401, "invalid_client"),
        ({**REFRESH, "refresh_token": seed.REVOKED_REFRESH_TOKEN}, 400, "invalid_grant"),
        ({**REFRESH, "refresh_token": "Atzr|made-up"}, 400, "invalid_grant"),
        ({"grant_type": "client_credentials", **CLIENT}, 400, "invalid_request"),
    ],
)
def test_lwa_errors(em: Emulator, form: dict[str, str], status: int, error: str) -> None:
    response = lwa(em, form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    assert sum(em.counters()["lwa"].values()) == 0


def test_admin_revoke_secret_expired_and_register(em: Emulator) -> None:
    client_id, secret, refresh = "amzn1.application-oa2-client.sentinel", "amzn1.oa2-cs.v1.sentinel", "Atzr|sentinel-refresh"
    registered = requests.post(
        f"{em.url}/_emulator/register", json={"client_id": client_id, "client_secret": secret, "refresh_token": refresh}, timeout=TIMEOUT
    )
    assert registered.status_code == 200
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id, "client_secret": secret}
    assert lwa(em, form).status_code == 200
    # A refresh token belongs to its application: the seeded client cannot use it.
    assert lwa(em, {**form, **CLIENT}).json()["error"] == "invalid_grant"
    requests.post(f"{em.url}/_emulator/revoke", json={"refresh_token": refresh}, timeout=TIMEOUT).raise_for_status()
    assert lwa(em, form).json()["error"] == "invalid_grant"
    requests.post(f"{em.url}/_emulator/secret-expired", json={"client_id": seed.CLIENT_ID}, timeout=TIMEOUT).raise_for_status()
    expired = lwa(em, REFRESH)
    assert (expired.status_code, expired.json()["error"]) == (401, "invalid_client")
    # Reset undoes revocations and expired secrets but keeps registrations.
    em.reset()
    assert lwa(em, form).status_code == 200
    assert seller_token(em)


def test_rotate_client_secret(em: Emulator) -> None:
    token = grantless_token(em, ROTATION)
    assert call(em, "POST", "/applications/2023-11-30/clientSecret", seller_token(em)).status_code == 403
    response = call(em, "POST", "/applications/2023-11-30/clientSecret", token)
    assert response.status_code == 204 and response.content == b""
    notifications = requests.get(f"{em.url}/_emulator/notifications", timeout=TIMEOUT).json()["notifications"]
    assert [n["notificationType"] for n in notifications] == ["APPLICATION_OAUTH_CLIENT_NEW_SECRET"]
    new = notifications[0]["payload"]["applicationOAuthClientNewSecret"]
    assert new["clientId"] == seed.CLIENT_ID and new["newClientSecret"].startswith("amzn1.oa2-cs.v1.")
    assert new["oldClientSecretExpiryTime"] < new["newClientSecretExpiryTime"]
    # The new secret works at once, and the old one still does (for seven days).
    assert grantless_token(em, NOTIFICATIONS, client_secret=new["newClientSecret"])
    assert grantless_token(em, NOTIFICATIONS, client_secret=seed.CLIENT_SECRET)
    assert em.counters()["rotations"] == 1


# SP-API authentication and authorisation -------------------------------------------------------


def test_missing_invalid_and_expired_access_tokens(em: Emulator) -> None:
    path = "/sellers/v1/marketplaceParticipations"
    missing = call(em, "GET", path, None)
    assert missing.status_code == 403
    assert error_of(missing) == {
        "code": "Unauthorized",
        "message": "Access to requested resource is denied.",
        "details": "Access token is missing in the request header.",
    }
    assert missing.headers["x-amzn-RequestId"] and missing.headers["x-amzn-ErrorType"]
    assert "x-amzn-RateLimit-Limit" not in missing.headers
    invalid = call(em, "GET", path, "Atza|not-a-real-token")
    assert error_of(invalid)["details"] == "The access token you provided is revoked, malformed or invalid."
    token = seller_token(em)
    assert call(em, "GET", path, token).status_code == 200
    assert requests.post(f"{em.url}/_emulator/expire-tokens", timeout=TIMEOUT).json()["expired"] >= 1
    expired = call(em, "GET", path, token)
    assert (expired.status_code, error_of(expired)["details"]) == (403, "The access token you provided has expired.")
    assert call(em, "GET", path, seller_token(em)).status_code == 200


def test_expires_in_is_configurable(em: Emulator) -> None:
    em.configure(expires_in=120)
    token = lwa(em, REFRESH)
    assert token.json()["expires_in"] == 120
    order_id = all_orders(em, token.json()["access_token"])[0]["AmazonOrderId"]
    minted = mint_rdt(em, token.json()["access_token"], [{"method": "GET", "path": f"{ORDERS}/{order_id}/address"}])
    assert minted.json()["expiresIn"] == 120


def test_grantless_and_seller_operations_do_not_mix(em: Emulator) -> None:
    seller = seller_token(em)
    notifications = grantless_token(em, NOTIFICATIONS)
    rotation = grantless_token(em, ROTATION)
    assert call(em, "GET", "/notifications/v1/destinations", seller).status_code == 403
    assert call(em, "GET", "/notifications/v1/destinations", rotation).status_code == 403
    assert call(em, "GET", "/sellers/v1/marketplaceParticipations", notifications).status_code == 403
    spec = {"name": "queue", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:444455556666:queue"}}}
    created = call(em, "POST", "/notifications/v1/destinations", notifications, json=spec)
    assert created.status_code == 200
    destination_id = created.json()["payload"]["destinationId"]
    assert call(em, "POST", "/notifications/v1/destinations", notifications, json=spec).status_code == 409
    listed = call(em, "GET", "/notifications/v1/destinations", notifications).json()["payload"]
    assert [d["destinationId"] for d in listed] == [destination_id]
    subscription = call(
        em, "POST", "/notifications/v1/subscriptions/ORDER_CHANGE", seller, json={"destinationId": destination_id, "payloadVersion": "1.0"}
    )
    assert subscription.status_code == 200
    subscription_id = subscription.json()["payload"]["subscriptionId"]
    assert call(em, "GET", "/notifications/v1/subscriptions/ORDER_CHANGE", seller).json()["payload"]["subscriptionId"] == subscription_id
    by_id = f"/notifications/v1/subscriptions/ORDER_CHANGE/{subscription_id}"
    assert call(em, "GET", by_id, notifications).json()["payload"]["destinationId"] == destination_id
    assert call(em, "DELETE", by_id, notifications).status_code == 200
    assert call(em, "GET", by_id, notifications).status_code == 404
    assert call(em, "DELETE", f"/notifications/v1/destinations/{destination_id}", notifications).status_code == 200
    assert call(em, "GET", f"/notifications/v1/destinations/{destination_id}", notifications).status_code == 404


# Restricted Data Tokens ------------------------------------------------------------------------


def test_restricted_operation_needs_an_rdt_that_covers_it(em: Emulator) -> None:
    token = seller_token(em)
    first, second = (order["AmazonOrderId"] for order in all_orders(em, token)[:2])
    denied = call(em, "GET", f"{ORDERS}/{first}/address", token)
    assert denied.status_code == 403 and error_of(denied)["code"] == "Unauthorized"
    specific = rdt(em, token, [{"method": "GET", "path": f"{ORDERS}/{first}/address"}])
    assert specific.startswith("Atz.sprdt|")
    address = call(em, "GET", f"{ORDERS}/{first}/address", specific)
    assert address.status_code == 200
    assert "PII" in address.json()["payload"]["ShippingAddress"]["AddressLine1"]
    assert call(em, "GET", f"{ORDERS}/{second}/address", specific).status_code == 403
    assert call(em, "GET", f"{ORDERS}/{first}/buyerInfo", specific).status_code == 403
    assert call(em, "GET", "/sellers/v1/marketplaceParticipations", specific).status_code == 403
    generic = rdt(em, token, [{"method": "GET", "path": f"{ORDERS}/{{orderId}}/buyerInfo"}])
    for order_id in (first, second):
        buyer = call(em, "GET", f"{ORDERS}/{order_id}/buyerInfo", generic)
        assert buyer.status_code == 200 and "PII" in buyer.json()["payload"]["BuyerEmail"]
    # An RDT cannot mint another RDT.
    assert mint_rdt(em, specific, [{"method": "GET", "path": f"{ORDERS}/{first}/address"}]).status_code == 403
    assert em.counters()["rdt"] == 2


@pytest.mark.parametrize(
    "resources",
    [
        [],
        [{"method": "GET", "path": "/sellers/v1/marketplaceParticipations"}],
        [{"method": "GET", "path": "/reports/2021-06-30/documents/{reportDocumentId}"}],
        [{"method": "GET", "path": ORDERS, "dataElements": ["creditCard"]}],
        [{"method": "GET", "path": f"{ORDERS}/{{orderId}}/address"}] * 51,
    ],
    ids=["empty", "not-restricted", "generic-report-document", "unknown-data-element", "too-many"],
)
def test_rdt_requests_that_are_invalid_input(em: Emulator, resources: list[dict[str, Any]]) -> None:
    response = mint_rdt(em, seller_token(em), resources)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidInput"
    assert em.counters()["rdt"] == 0


def test_get_orders_returns_pii_only_with_an_rdt(em: Emulator) -> None:
    token = seller_token(em)
    plain = call(em, "GET", ORDERS, token, params=ALL_ORDERS)
    assert plain.status_code == 200
    assert "PII" not in plain.text
    order = plain.json()["payload"]["Orders"][0]
    assert "BuyerInfo" not in order and set(order["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}
    restricted = rdt(em, token, [{"method": "GET", "path": ORDERS, "dataElements": ["buyerInfo", "shippingAddress"]}])
    with_pii = call(em, "GET", ORDERS, restricted, params=ALL_ORDERS).json()["payload"]["Orders"][0]
    assert with_pii["AmazonOrderId"] == order["AmazonOrderId"]
    assert "PII" in with_pii["BuyerInfo"]["BuyerEmail"] and "PII" in with_pii["BuyerInfo"]["BuyerName"]
    assert "PII" in with_pii["ShippingAddress"]["Name"] and "PII" in with_pii["ShippingAddress"]["AddressLine1"]
    # Only the data elements asked for.
    address_only = rdt(em, token, [{"method": "GET", "path": f"{ORDERS}/{{orderId}}", "dataElements": ["shippingAddress"]}])
    single = call(em, "GET", f"{ORDERS}/{order['AmazonOrderId']}", address_only).json()["payload"]
    assert "PII" in single["ShippingAddress"]["Name"] and "BuyerInfo" not in single


# Orders ----------------------------------------------------------------------------------------


def test_get_orders_pagination_returns_every_order_exactly_once(em: Emulator) -> None:
    token = seller_token(em)
    paged = all_orders(em, token, page_size=37)
    ids = [order["AmazonOrderId"] for order in paged]
    assert len(ids) == len(set(ids)) == 250
    assert ids == [order["AmazonOrderId"] for order in all_orders(em, token, page_size=100)]
    dates = [order["PurchaseDate"] for order in paged]
    assert dates == sorted(dates)
    garbled = call(em, "GET", ORDERS, token, params={"NextToken": "not-a-token"})
    assert garbled.status_code == 400 and error_of(garbled)["code"] == "InvalidInput"


def test_get_orders_filters_and_validation(em: Emulator) -> None:
    token = seller_token(em)
    missing = call(em, "GET", ORDERS, token, params={"CreatedAfter": "2000-01-01"})
    assert missing.status_code == 400 and error_of(missing)["code"] == "InvalidInput"
    assert "x-amzn-RateLimit-Limit" in missing.headers  # 400 answers carry the usage plan
    assert call(em, "GET", ORDERS, token, params={"MarketplaceIds": seed.MARKETPLACE_ID_US}).status_code == 400
    assert call(em, "GET", ORDERS, token, params={**ALL_ORDERS, "MaxResultsPerPage": 101}).status_code == 400
    everything = all_orders(em, token)
    cutoff = everything[len(everything) // 2]["PurchaseDate"]
    recent = call(em, "GET", ORDERS, token, params={**ALL_ORDERS, "CreatedAfter": cutoff}).json()["payload"]["Orders"]
    assert recent and all(order["PurchaseDate"] >= cutoff for order in recent)
    us_only = call(em, "GET", ORDERS, token, params={**ALL_ORDERS, "MarketplaceIds": seed.MARKETPLACE_ID_US}).json()["payload"]["Orders"]
    assert us_only and {order["MarketplaceId"] for order in us_only} == {seed.MARKETPLACE_ID_US}
    shipped = call(em, "GET", ORDERS, token, params={**ALL_ORDERS, "OrderStatuses": "Shipped"}).json()["payload"]["Orders"]
    assert shipped and {order["OrderStatus"] for order in shipped} == {"Shipped"}
    assert call(em, "GET", f"{ORDERS}/999-0000000-0000000", token).status_code == 404


def test_order_items_are_paginated(em: Emulator) -> None:
    token = seller_token(em)
    order_id = seed_order_with_many_items()
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {}
    pages = 0
    while True:
        payload = call(em, "GET", f"{ORDERS}/{order_id}/orderItems", token, params=params).json()["payload"]
        items.extend(payload["OrderItems"])
        pages += 1
        if "NextToken" not in payload:
            break
        params = {"NextToken": payload["NextToken"]}
    assert pages >= 2
    assert len({item["OrderItemId"] for item in items}) == len(items) > 10
    assert "PII" not in json.dumps(items)


def seed_order_with_many_items() -> str:
    """An order of seller 1 with more than one page of items (the emulator's data is deterministic)."""
    from airflow_provider_spapi.emulator.seed import default_anchor

    orders = generate_orders(seed.SELLER, 250, 0, default_anchor())
    return next(order.order_id for order in orders if len(order.items) > 10)


def test_seeded_orders_are_deterministic_and_mark_pii() -> None:
    from datetime import datetime, timezone

    anchor = datetime(2025, 6, 1, tzinfo=timezone.utc)
    first, again = generate_orders(seed.SELLER, 50, 7, anchor), generate_orders(seed.SELLER, 50, 7, anchor)
    assert first == again
    assert [o.order_id for o in first] != [o.order_id for o in generate_orders(seed.SELLER, 50, 8, anchor)]
    order = first[0]
    assert all(
        "PII" in value for value in (order.buyer_name, order.buyer_email, order.address.name, order.address.line1, order.address.phone)
    )
    assert all("PII" not in value for value in (order.address.city, order.address.state, order.address.postal_code))


def test_orders_2026_search_has_no_pii_and_pages_with_pagination_token(em: Emulator) -> None:
    token = seller_token(em)
    params: dict[str, Any] = {"createdAfter": "2000-01-01T00:00:00Z", "maxResultsPerPage": 60, "includedData": "RECIPIENT,PROCEEDS,BUYER"}
    seen: list[str] = []
    while True:
        response = call(em, "GET", "/orders/2026-01-01/orders", token, params=params)
        assert response.status_code == 200, response.text
        assert "PII" not in response.text
        body = response.json()
        seen.extend(order["orderId"] for order in body["orders"])
        if "pagination" not in body:
            break
        params = {"paginationToken": body["pagination"]["nextToken"]}
    assert len(seen) == len(set(seen)) == 250
    one = call(em, "GET", f"/orders/2026-01-01/orders/{seen[0]}", token, params={"includedData": "RECIPIENT"}).json()["order"]
    assert one["orderId"] == seen[0] and one["recipient"]["deliveryAddress"]["countryCode"]
    both = call(em, "GET", "/orders/2026-01-01/orders", token, params={"createdAfter": "2000-01-01", "lastUpdatedAfter": "2000-01-01"})
    assert both.status_code == 400


# Throttling ------------------------------------------------------------------------------------


def test_throttling_after_burst_and_rate_limit_header_rules(em: Emulator) -> None:
    em.configure(usage_plans={"getMarketplaceParticipations": [0.01, 3]})
    token = seller_token(em)
    path = "/sellers/v1/marketplaceParticipations"
    answers = [call(em, "GET", path, token) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert all(a.headers["x-amzn-RateLimit-Limit"] == "0.01" for a in answers[:3])
    assert error_of(answers[3]) == {
        "code": "QuotaExceeded",
        "message": "You exceeded your quota for the requested resource.",
        "details": "",
    }
    assert "x-amzn-RateLimit-Limit" not in answers[3].headers
    assert em.counters()["throttled"] == {"sellers.getMarketplaceParticipations": 1}
    # Buckets are per seller: another seller still has its burst.
    assert call(em, "GET", path, seller_token(em, seed.SELLERS[2].refresh_token)).status_code == 200
    # The published plan scaled by rate_scale, on 404 too; never with rate_limit_header=never.
    not_found = call(em, "GET", f"{ORDERS}/999-0000000-0000000", token)
    assert not_found.status_code == 404 and float(not_found.headers["x-amzn-RateLimit-Limit"]) == pytest.approx(0.5 * 1000)
    em.configure(rate_limit_header="never")
    assert "x-amzn-RateLimit-Limit" not in call(em, "GET", f"{ORDERS}/999-0000000-0000000", token).headers


# Reports ---------------------------------------------------------------------------------------


def test_report_workflow_and_document_bytes(em: Emulator) -> None:
    token = seller_token(em)
    report_id = create_report(em, token, LISTINGS_REPORT)
    first = call(em, "GET", f"/reports/2021-06-30/reports/{report_id}", token).json()
    assert first["processingStatus"] == "IN_QUEUE" and "reportDocumentId" not in first
    done = wait_done(em, token, f"/reports/2021-06-30/reports/{report_id}")
    assert done["processingStatus"] == "DONE"
    document = call(em, "GET", f"/reports/2021-06-30/documents/{done['reportDocumentId']}", token).json()
    assert document["compressionAlgorithm"] == "GZIP" and document["reportDocumentId"] == done["reportDocumentId"]
    # Pre-signed: no access token needed.
    download = requests.get(document["url"], timeout=TIMEOUT)
    assert download.status_code == 200
    assert int(download.headers["Content-Length"]) == len(download.content)
    content = gzip.decompress(download.content)
    assert content == b"".join(report_content(LISTINGS_REPORT, report_id, 20_000))
    assert len(content) == 20_000 and content.startswith(b"seller-sku\t")
    assert em.counters()["document_downloads"] == 1


def test_report_requests_are_validated(em: Emulator) -> None:
    token = seller_token(em)
    no_marketplaces = call(em, "POST", "/reports/2021-06-30/reports", token, json={"reportType": LISTINGS_REPORT})
    assert no_marketplaces.status_code == 400 and error_of(no_marketplaces)["code"] == "InvalidInput"
    no_type = call(em, "POST", "/reports/2021-06-30/reports", token, json={"marketplaceIds": [seed.MARKETPLACE_ID_US]})
    assert no_type.status_code == 400
    assert call(em, "GET", "/reports/2021-06-30/reports/123", token).status_code == 404


def test_get_reports_filters_pages_and_wants_next_token_alone(em: Emulator) -> None:
    token = seller_token(em)
    ids = [create_report(em, token, LISTINGS_REPORT) for _ in range(3)]
    other = create_report(em, token, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA")
    wait_done(em, token, f"/reports/2021-06-30/reports/{ids[0]}")
    first = call(em, "GET", "/reports/2021-06-30/reports", token, params={"reportTypes": LISTINGS_REPORT, "pageSize": 2}).json()
    assert len(first["reports"]) == 2 and "nextToken" in first
    rest = call(em, "GET", "/reports/2021-06-30/reports", token, params={"nextToken": first["nextToken"]}).json()
    listed = [r["reportId"] for r in first["reports"] + rest["reports"]]
    assert sorted(listed) == sorted(ids) and other not in listed
    mixed = call(em, "GET", "/reports/2021-06-30/reports", token, params={"nextToken": first["nextToken"], "pageSize": 2})
    assert mixed.status_code == 400
    done = call(
        em, "GET", "/reports/2021-06-30/reports", token, params={"reportTypes": LISTINGS_REPORT, "processingStatuses": "DONE"}
    ).json()
    assert [r["reportId"] for r in done["reports"]] == [ids[0]]
    assert call(em, "GET", "/reports/2021-06-30/reports", token).status_code == 400


def test_cancel_report_only_in_queue(em: Emulator) -> None:
    token = seller_token(em)
    report_id = create_report(em, token, LISTINGS_REPORT)
    assert call(em, "DELETE", f"/reports/2021-06-30/reports/{report_id}", token).status_code == 200
    report = call(em, "GET", f"/reports/2021-06-30/reports/{report_id}", token).json()
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report
    assert call(em, "DELETE", f"/reports/2021-06-30/reports/{report_id}", token).status_code == 400


def test_report_outcomes(em: Emulator) -> None:
    em.configure(report_outcomes={"GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE": "FATAL", "GET_SALES_AND_TRAFFIC_REPORT": "CANCELLED"})
    token = seller_token(em)
    fatal = wait_done(em, token, f"/reports/2021-06-30/reports/{create_report(em, token, 'GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE')}")
    assert fatal["processingStatus"] == "FATAL"
    url = call(em, "GET", f"/reports/2021-06-30/documents/{fatal['reportDocumentId']}", token).json()["url"]
    assert "errorDetails" in json.loads(gzip.decompress(requests.get(url, timeout=TIMEOUT).content))
    cancelled = wait_done(em, token, f"/reports/2021-06-30/reports/{create_report(em, token, 'GET_SALES_AND_TRAFFIC_REPORT')}")
    assert cancelled["processingStatus"] == "CANCELLED" and "reportDocumentId" not in cancelled


def test_restricted_report_document_needs_an_rdt_for_its_specific_path(em: Emulator) -> None:
    token = seller_token(em)
    report_id = create_report(em, token, SHIPPING_REPORT)
    document_id = wait_done(em, token, f"/reports/2021-06-30/reports/{report_id}")["reportDocumentId"]
    path = f"/reports/2021-06-30/documents/{document_id}"
    assert call(em, "GET", path, token).status_code == 403
    specific = rdt(em, token, [{"method": "GET", "path": path}])
    document = call(em, "GET", path, specific)
    assert document.status_code == 200
    content = gzip.decompress(requests.get(document.json()["url"], timeout=TIMEOUT).content)
    assert b"PII" in content and content == b"".join(report_content(SHIPPING_REPORT, report_id, 20_000))


def test_document_url_expires(em: Emulator) -> None:
    em.configure(document_url_ttl=1)
    _, url = report_document_url(em, seller_token(em))
    assert requests.get(url, timeout=TIMEOUT).status_code == 200
    tampered = requests.get(url.replace("X-Amz-Expires=1", "X-Amz-Expires=9999"), timeout=TIMEOUT)
    assert tampered.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.content
    time.sleep(2.1)
    expired = requests.get(url, timeout=TIMEOUT)
    assert expired.status_code == 403
    assert b"<Code>AccessDenied</Code>" in expired.content and b"<Message>Request has expired</Message>" in expired.content
    assert expired.headers["Content-Type"] == "application/xml"


def test_large_report_is_streamed_with_the_exact_size(em: Emulator) -> None:
    size = 50_000_000
    em.configure(report_document_bytes=size)
    report_id, url = report_document_url(em, seller_token(em))
    inflater = zlib.decompressobj(31)
    total = received = 0
    with requests.get(url, stream=True, timeout=60) as response:
        assert response.status_code == 200
        length = int(response.headers["Content-Length"])
        for chunk in response.iter_content(1 << 20):
            received += len(chunk)
            total += len(inflater.decompress(chunk))
    total += len(inflater.flush())
    assert inflater.eof and received == length
    assert total == size
    # The emulator's content for this report is that size too, and the rows are the listings layout.
    assert next(iter(report_content(LISTINGS_REPORT, report_id, size))).startswith(b"seller-sku\t")


# Feeds -----------------------------------------------------------------------------------------


def test_feed_workflow_and_processing_report(em: Emulator) -> None:
    token = seller_token(em)
    created = call(em, "POST", "/feeds/2021-06-30/documents", token, json={"contentType": "application/json; charset=UTF-8"})
    assert created.status_code == 201
    document_id, upload_url = created.json()["feedDocumentId"], created.json()["url"]
    feed_spec = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [seed.MARKETPLACE_ID_US], "inputFeedDocumentId": document_id}
    assert call(em, "POST", "/feeds/2021-06-30/feeds", token, json=feed_spec).status_code == 400  # nothing uploaded yet
    content = {
        "header": {"sellerId": seed.SELLING_PARTNER_ID, "version": "2.0"},
        "messages": [
            {"messageId": 1, "sku": "A", "operationType": "UPDATE", "productType": "PRODUCT"},
            {"messageId": 2, "sku": "B", "operationType": "INVALID"},
            {"messageId": 3, "sku": "EMULATOR_ERROR", "operationType": "DELETE"},
        ],
    }
    data = json.dumps(content).encode()
    wrong_type = requests.put(upload_url, data=data, headers={"Content-Type": "text/plain"}, timeout=TIMEOUT)
    assert wrong_type.status_code == 403
    uploaded = requests.put(upload_url, data=data, headers={"Content-Type": "application/json; charset=UTF-8"}, timeout=TIMEOUT)
    assert uploaded.status_code == 200
    feed = call(em, "POST", "/feeds/2021-06-30/feeds", token, json=feed_spec)
    assert feed.status_code == 202
    done = wait_done(em, token, f"/feeds/2021-06-30/feeds/{feed.json()['feedId']}")
    assert done["processingStatus"] == "DONE"
    result = call(em, "GET", f"/feeds/2021-06-30/documents/{done['resultFeedDocumentId']}", token).json()
    assert result["compressionAlgorithm"] == "GZIP"
    report = json.loads(gzip.decompress(requests.get(result["url"], timeout=TIMEOUT).content))
    assert report["header"]["feedId"] == feed.json()["feedId"]
    assert report["summary"] == {"errors": 2, "warnings": 0, "messagesProcessed": 3, "messagesAccepted": 1, "messagesInvalid": 2}
    assert sorted(issue["messageId"] for issue in report["issues"]) == [2, 3]
    listed = call(em, "GET", "/feeds/2021-06-30/feeds", token, params={"feedTypes": "JSON_LISTINGS_FEED"}).json()["feeds"]
    assert [f["feedId"] for f in listed] == [feed.json()["feedId"]]
    counters = em.counters()
    assert counters["document_uploads"] == 2 and counters["document_downloads"] == 1


# Faults ----------------------------------------------------------------------------------------


def test_status_fault_fires_count_times(em: Emulator) -> None:
    em.configure(faults=[{"kind": "status", "status": 503, "operation": "getMarketplaceParticipations", "count": 2, "retry_after": 1}])
    token = seller_token(em)
    answers = [call(em, "GET", "/sellers/v1/marketplaceParticipations", token) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert error_of(answers[0])["code"] == "ServiceUnavailable" and answers[0].headers["Retry-After"] == "1"
    assert "x-amzn-RateLimit-Limit" not in answers[0].headers
    assert em.counters()["faults"] == {"status": 2}
    em.configure(faults=[{"kind": "status", "status": 429, "path_prefix": "/sellers", "every": 2}])
    codes = [call(em, "GET", "/sellers/v1/marketplaceParticipations", token).status_code for _ in range(4)]
    assert codes == [200, 429, 200, 429]


def test_delay_fault_slows_the_answer_down(em: Emulator) -> None:
    em.configure(faults=[{"kind": "delay", "seconds": 0.3, "operation": "sellers.getMarketplaceParticipations"}])
    token = seller_token(em)
    started = time.monotonic()
    assert call(em, "GET", "/sellers/v1/marketplaceParticipations", token).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert em.counters()["faults"] == {"delay": 1}


def test_reset_fault_is_a_connection_error(em: Emulator) -> None:
    em.configure(faults=[{"kind": "reset", "path_prefix": "/sellers"}])
    token = seller_token(em)
    with pytest.raises(requests.ConnectionError):
        call(em, "GET", "/sellers/v1/marketplaceParticipations", token)
    assert call(em, "GET", "/sellers/v1/marketplaceParticipations", token).status_code == 200
    assert em.counters()["faults"] == {"reset": 1}


def test_lwa_faults_need_the_token_path(em: Emulator) -> None:
    em.configure(faults=[{"kind": "status", "status": 500, "count": 5}])
    assert seller_token(em)  # an SP-API fault leaves LWA alone
    em.configure(faults=[{"kind": "status", "status": 503, "path_prefix": "/auth/o2/token"}])
    failed = lwa(em, REFRESH)
    assert (failed.status_code, failed.json()["error"]) == (503, "temporarily_unavailable")
    assert lwa(em, REFRESH).status_code == 200


def test_truncate_and_expired_url_faults_hit_document_downloads(em: Emulator) -> None:
    _, url = report_document_url(em, seller_token(em))
    em.configure(faults=[{"kind": "truncate"}, {"kind": "expired_url"}])
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.get(url, timeout=TIMEOUT).raise_for_status()
    expired = requests.get(url, timeout=TIMEOUT)
    assert expired.status_code == 403 and b"Request has expired" in expired.content
    assert gzip.decompress(requests.get(url, timeout=TIMEOUT).content)
    assert em.counters()["faults"] == {"truncate": 1, "expired_url": 1}


def test_invalid_configuration_is_refused(em: Emulator) -> None:
    for body in ({"rate_scale": 0}, {"faults": [{"kind": "explode"}]}, {"orders": 5}, {"no_such_option": 1}):
        response = requests.post(f"{em.url}/_emulator/config", json=body, timeout=TIMEOUT)
        assert response.status_code == 400 and response.json()["error"]
    applied = requests.post(f"{em.url}/_emulator/config", json={"report_polls": 3}, timeout=TIMEOUT).json()
    assert applied["report_polls"] == 3
    assert requests.get(f"{em.url}/_emulator/config", timeout=TIMEOUT).json()["report_polls"] == 3


# Sandbox cases, counters, concurrency ----------------------------------------------------------


def test_sandbox_cases_serve_operations_without_state(em: Emulator) -> None:
    token = seller_token(em)
    included = "classifications,dimensions,identifiers,images,productTypes,relationships,salesRanks,summaries,vendorDetails"
    params = {"marketplaceIds": seed.MARKETPLACE_ID_US, "includedData": included}
    item = call(em, "GET", "/catalog/2022-04-01/items/B07N4M94X4", token, params=params)
    assert item.status_code == 200 and item.json()["asin"] == "B07N4M94X4"
    # A request no case matches gets Amazon's sandbox answer, not a success.
    unmatched = call(em, "GET", "/catalog/2022-04-01/items/B07N4M94X4", token, params={"marketplaceIds": seed.MARKETPLACE_ID_US})
    assert unmatched.status_code == 400 and error_of(unmatched)["message"] == "Could not match input arguments"
    regulated = rdt(em, token, [{"method": "GET", "path": f"{ORDERS}/{{orderId}}/regulatedInfo"}])
    assert call(em, "GET", f"{ORDERS}/902-3159896-1390916/regulatedInfo", token).status_code == 403
    matched = call(em, "GET", f"{ORDERS}/902-3159896-1390916/regulatedInfo", regulated)
    assert matched.status_code == 200 and matched.json()["payload"]["AmazonOrderId"] == "902-3159896-1390916"
    assert call(em, "GET", f"{ORDERS}/TEST_CASE_400/regulatedInfo", regulated).status_code == 400
    unknown = call(em, "GET", "/no/such/api", token)
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "NotFound"


def test_counters_and_reset(em: Emulator) -> None:
    token = seller_token(em)
    call(em, "GET", "/sellers/v1/marketplaceParticipations", token)
    call(em, "GET", ORDERS, token, params=ALL_ORDERS)
    counters = requests.get(f"{em.url}/_emulator/counters", timeout=TIMEOUT).json()
    assert counters["requests"] == {"sellers.getMarketplaceParticipations": 1, "ordersV0.getOrders": 1}
    assert counters["lwa"] == {"refresh_token": 1, "client_credentials": 0, "authorization_code": 0}
    assert requests.post(f"{em.url}/_emulator/reset", timeout=TIMEOUT).json() == {"reset": True}
    after = em.counters()
    assert after["requests"] == {} and after["lwa"]["refresh_token"] == 0
    assert error_of(call(em, "GET", "/sellers/v1/marketplaceParticipations", token))["details"].startswith(
        "The access token you provided is revoked"
    )


def test_concurrent_clients(em: Emulator) -> None:
    errors: list[str] = []

    def client() -> None:
        with requests.Session() as session:
            for _ in range(3):
                token = lwa(em, REFRESH).json()["access_token"]
                answer = session.get(em.url + ORDERS, params=ALL_ORDERS, headers={"x-amz-access-token": token}, timeout=TIMEOUT)
                if answer.status_code != 200:
                    errors.append(answer.text)

    threads = [threading.Thread(target=client) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert em.counters()["requests"]["ordersV0.getOrders"] == 36


# The command line ------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def test_cli_help_documents_every_knob() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_spapi.emulator", "--help"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert result.returncode == 0
    knobs = ["--rate-scale", "--rate-limit-header", "--expires-in", "--document-url-ttl", "--orders", "--report-polls", "--seed"]
    for knob in [*knobs, "--report-document-bytes", "--faults", "--usage-plans", "--report-outcomes", "--feed-outcomes"]:
        assert knob in result.stdout


def test_emulator_runs_without_airflow() -> None:
    code = "import sys, airflow_provider_spapi.emulator; assert not any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], env=_env(), timeout=60).returncode == 0


def test_cli_serves() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_spapi.emulator", "--host", "127.0.0.1", "--port", str(port), "--orders", "5"],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip().endswith(f"http://127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}"
        token = requests.post(
            base + "/auth/o2/token",
            data=REFRESH,
            timeout=TIMEOUT,
        ).json()["access_token"]
        orders = requests.get(base + ORDERS, params=ALL_ORDERS, headers={"x-amz-access-token": token}, timeout=TIMEOUT).json()
        assert len(orders["payload"]["Orders"]) == 5
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
