"""SpApiHook against the emulator: the right token for each call, minted once, never leaked."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.errors import SpApiAuthError, SpApiConfigError, SpApiError
from airflow_provider_spapi.hooks.spapi import SpApiHook

# Integration tests: real Airflow connections and hooks; they run again in the Airflow 2.11 CI job.
pytestmark = pytest.mark.airflow

ORDER_ADDRESS = "/orders/v0/orders/{order_id}/address"


def lwa_mints(emu: Emulator, grant: str = "refresh_token") -> int:
    return int(emu.counters()["lwa"][grant])


def test_access_token_is_an_lwa_token_and_cached(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    token = hook.get_access_token()
    assert token.startswith("Atza|")
    assert SpApiHook().get_access_token() == token
    assert lwa_mints(emu) == 1


def test_one_mint_for_1000_calls_from_8_threads_and_8_hooks(emu: Emulator, spapi_conn: Any) -> None:
    hooks = [SpApiHook() for _ in range(8)]
    start = threading.Barrier(8)

    def worker(hook: SpApiHook) -> set[str]:
        start.wait()
        return {hook.get_access_token() for _ in range(125)}

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = set().union(*pool.map(worker, hooks))

    assert len(tokens) == 1
    assert lwa_mints(emu) == 1


def test_grantless_scopes_are_minted_once_each_beside_the_seller_token(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    scopes = ["sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation"]
    first = {scope: hook.get_access_token(scope) for scope in scopes}
    again = {scope: SpApiHook().get_access_token(scope) for scope in scopes for _ in range(5)}
    seller = hook.get_access_token()

    assert first == again
    assert len({*first.values(), seller}) == 3
    counters = emu.counters()
    assert counters["lwa"]["client_credentials"] == 2
    assert counters["lwa"]["refresh_token"] == 1
    assert counters["lwa_by_scope"] == {scope: 1 for scope in scopes}


def test_grantless_operation_gets_a_grantless_token_automatically(emu: Emulator, spapi_conn: Any) -> None:
    body = SpApiHook().request("GET", "/notifications/v1/destinations")
    assert "payload" in body
    assert emu.counters()["lwa_by_scope"] == {"sellingpartnerapi::notifications": 1}


def test_repeated_restricted_calls_mint_one_rdt_for_the_generic_path(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    page = hook.request("GET", "/orders/v0/orders", params={"MarketplaceIds": seed.MARKETPLACE_ID_US, "CreatedAfter": "2000-01-01"})
    order_ids = [order["AmazonOrderId"] for order in page["payload"]["Orders"][:5]]

    addresses = [hook.request("GET", ORDER_ADDRESS.format(order_id=order_id)) for order_id in order_ids for _ in range(2)]

    assert all("ShippingAddress" in body["payload"] for body in addresses)
    assert emu.counters()["rdt"] == 1
    assert lwa_mints(emu) == 1


def test_restricted_data_token_is_cached_per_resource(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    generic = hook.get_restricted_data_token("GET", "/orders/v0/orders/{orderId}/address")
    assert generic.startswith("Atz.sprdt|")
    assert hook.get_restricted_data_token("GET", "/orders/v0/orders/{orderId}/address") == generic
    with_elements = hook.get_restricted_data_token("GET", "/orders/v0/orders", data_elements=["shippingAddress", "buyerInfo"])
    same_elements = hook.get_restricted_data_token("GET", "/orders/v0/orders", data_elements=["buyerInfo", "shippingAddress"])
    assert with_elements == same_elements != generic
    assert emu.counters()["rdt"] == 2


def test_data_elements_unlock_pii_only_with_an_rdt(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    params = {"MarketplaceIds": seed.MARKETPLACE_ID_US, "CreatedAfter": "2000-01-01"}
    plain = hook.request("GET", "/orders/v0/orders", params=params)
    restricted = hook.request("GET", "/orders/v0/orders", params=params, data_elements=["buyerInfo", "shippingAddress"])
    assert "PII" not in str(plain)
    assert "PII" in str(restricted)
    assert emu.counters()["rdt"] == 1


def test_a_revoked_refresh_token_never_gets_another_connections_token(emu: Emulator, spapi_conn: Any) -> None:
    spapi_conn("spapi_revoked", refresh_token=seed.REVOKED_REFRESH_TOKEN)
    good = SpApiHook().get_access_token()
    with pytest.raises(SpApiAuthError) as raised:
        SpApiHook("spapi_revoked").get_access_token()
    assert raised.value.code == "invalid_grant"
    assert "Re-authorise" in str(raised.value)
    assert good not in str(raised.value)


def test_same_client_and_refresh_token_but_wrong_secret_is_refused(emu: Emulator, spapi_conn: Any) -> None:
    spapi_conn("spapi_wrong_secret", password="amzn1.oa2-cs.v1.not-the-secret")
    SpApiHook().get_access_token()
    with pytest.raises(SpApiAuthError) as raised:
        SpApiHook("spapi_wrong_secret").get_access_token()
    assert raised.value.code == "invalid_client"
    assert "Rotate" in str(raised.value)


def test_expired_token_is_reminted_once_and_the_call_succeeds(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    hook.request("GET", "/sellers/v1/marketplaceParticipations")
    emu.expire_tokens()
    body = hook.request("GET", "/sellers/v1/marketplaceParticipations")
    assert body["payload"]
    assert lwa_mints(emu) == 2
    assert hook.stats["tokens_minted"] == 2


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"region": "us"}, "region"),
        ({"refresh_token": "Atza|an-access-token"}, "refresh_token"),
        ({"refresh_token_issued_at": "31/03/2026"}, "refresh_token_issued_at"),
        ({"login": ""}, "login"),
        ({"password": ""}, "password"),
    ],
)
def test_bad_connection_fields_fail_before_any_request(emu: Emulator, spapi_conn: Any, extra: dict[str, Any], field: str) -> None:
    spapi_conn("spapi_bad", **extra)
    with pytest.raises(SpApiConfigError) as raised:
        SpApiHook("spapi_bad").request("GET", "/sellers/v1/marketplaceParticipations")
    assert f"'{field}'" in str(raised.value)
    assert sum(emu.counters()["lwa"].values()) == 0
    assert emu.counters()["requests"] == {}


def test_no_secret_or_token_in_logs_errors_or_reprs(
    emu: Emulator, spapi_conn: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = SpApiHook()
    token = hook.get_access_token()
    rdt = hook.get_restricted_data_token("GET", "/orders/v0/orders/{orderId}/address")
    emu.configure(
        faults=[
            {"kind": "status", "status": 503, "path_prefix": "/sellers", "count": 1},
            {"kind": "status", "status": 400, "path_prefix": "/sellers", "count": 1},
        ]
    )
    with pytest.raises(SpApiError) as raised:
        hook.request("GET", "/sellers/v1/marketplaceParticipations")
    spapi_conn("spapi_revoked", refresh_token=seed.REVOKED_REFRESH_TOKEN)
    with pytest.raises(SpApiAuthError) as revoked:
        SpApiHook("spapi_revoked").get_access_token()

    # Airflow 3 sends the hook's log through structlog to stdout, Airflow 2 through logging: read both.
    console = capsys.readouterr()
    assert "retry 1 of" in console.out + caplog.text  # the capture works: the 503's retry was logged
    exposed = " ".join(
        [
            console.out,
            console.err,
            caplog.text,
            *(record.getMessage() for record in caplog.records),
            str(raised.value),
            repr(raised.value),
            str(revoked.value),
            repr(hook),
            repr(hook.settings),
            repr(hook.client),
            repr(hook.client.token_cache),
        ]
    )
    for secret in (seed.CLIENT_SECRET, seed.REFRESH_TOKEN, seed.REVOKED_REFRESH_TOKEN, token, rdt):
        assert secret not in exposed


def test_test_connection(emu: Emulator, spapi_conn: Any) -> None:
    ok, message = SpApiHook().test_connection()
    assert ok, message
    spapi_conn("spapi_revoked", refresh_token=seed.REVOKED_REFRESH_TOKEN)
    ok, message = SpApiHook("spapi_revoked").test_connection()
    assert not ok
    assert "Re-authorise" in message
    assert seed.REVOKED_REFRESH_TOKEN not in message
    spapi_conn("spapi_grantless", refresh_token=None)
    ok, message = SpApiHook("spapi_grantless").test_connection()
    assert ok and "grantless" in message


def test_paginate_yields_every_order_once(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    params = {"MarketplaceIds": seed.MARKETPLACE_ID_US, "CreatedAfter": "2000-01-01", "MaxResultsPerPage": 20}
    pages = list(hook.paginate("GET", "/orders/v0/orders", params=params))
    ids = [order["AmazonOrderId"] for page in pages for order in page["payload"]["Orders"]]
    assert len(pages) > 1
    assert len(ids) == len(set(ids))
    direct = requests.get(f"{emu.url}/_emulator/counters", timeout=5).json()
    assert direct["requests"]["ordersV0.getOrders"] == len(pages)
