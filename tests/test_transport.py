"""The transport absorbs throttling and faults, and loses nothing: fault injection through the emulator."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_spapi.core.ratelimit import shared_rate_limiter
from airflow_provider_spapi.core.tokens import shared_token_cache
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.errors import SpApiClientError, SpApiServerError, SpApiThrottledError
from airflow_provider_spapi.hooks.spapi import SpApiHook

# Integration tests: real Airflow connections and hooks; they run again in the Airflow 2.11 CI job.
pytestmark = pytest.mark.airflow

ORDERS = "/orders/v0/orders"
# A fast plan for getOrders, so that waits after an injected 429 stay short; the header teaches it to the client.
FAST_PLAN = {"getOrders": [20, 20], "getMarketplaceParticipations": [20, 20]}


@pytest.fixture
def fast(emu: Emulator, spapi_conn: Any) -> Iterator[Emulator]:
    emu.configure(usage_plans=FAST_PLAN, rate_limit_header="always")
    yield emu


def order_params(page_size: int = 25) -> dict[str, Any]:
    return {"MarketplaceIds": [seed.MARKETPLACE_ID_US], "CreatedAfter": "2000-01-01T00:00:00Z", "MaxResultsPerPage": page_size}


def all_order_ids(hook: SpApiHook) -> list[str]:
    return [order["AmazonOrderId"] for page in hook.paginate("GET", ORDERS, params=order_params()) for order in page["payload"]["Orders"]]


@pytest.fixture
def reference_ids(fast: Emulator) -> list[str]:
    """Every order id, fetched once without faults, to compare faulty runs with."""
    ids = all_order_ids(SpApiHook())
    assert len(ids) == len(set(ids)) > 100
    fast.reset()
    shared_token_cache.clear()
    shared_rate_limiter.clear()
    fast.configure(usage_plans=FAST_PLAN, rate_limit_header="always")
    return ids


def warm_up(hook: SpApiHook) -> None:
    """One successful call, so the client has learnt the plan from the header before faults start."""
    hook.request("GET", ORDERS, params=order_params(1))


def test_bursts_of_429_without_the_header_are_absorbed(fast: Emulator, reference_ids: list[str]) -> None:
    hook = SpApiHook()
    warm_up(hook)
    fast.configure(rate_limit_header="never", faults=[{"kind": "status", "status": 429, "operation": "getOrders", "count": 4}])

    assert all_order_ids(hook) == reference_ids
    assert hook.stats["throttled"] == 4
    assert fast.counters()["faults"]["status"] == 4


def test_5xx_and_resets_are_retried_and_every_page_arrives_once(fast: Emulator, reference_ids: list[str]) -> None:
    hook = SpApiHook()
    fast.configure(
        faults=[
            {"kind": "status", "status": 503, "operation": "getOrders", "count": 2},
            {"kind": "status", "status": 500, "operation": "getOrders", "every": 3, "count": 2},
            {"kind": "reset", "operation": "getOrders", "every": 4, "count": 2},
        ]
    )
    assert all_order_ids(hook) == reference_ids
    assert hook.stats["retries"] >= 4


def test_a_token_that_expires_mid_pagination_is_reminted_once(fast: Emulator, reference_ids: list[str]) -> None:
    hook = SpApiHook()
    pages = hook.paginate("GET", ORDERS, params=order_params())
    ids = [order["AmazonOrderId"] for order in next(pages)["payload"]["Orders"]]
    fast.expire_tokens()
    ids += [order["AmazonOrderId"] for page in pages for order in page["payload"]["Orders"]]

    assert ids == reference_ids
    assert fast.counters()["lwa"]["refresh_token"] == 2


def test_a_400_fails_at_once_with_status_and_code(fast: Emulator) -> None:
    hook = SpApiHook()
    with pytest.raises(SpApiClientError) as raised:
        hook.request("GET", ORDERS, params={"CreatedAfter": "2000-01-01"})  # no MarketplaceIds
    assert raised.value.status == 400
    assert raised.value.code == "InvalidInput"
    assert raised.value.operation == "ordersV0.getOrders"
    assert fast.counters()["requests"]["ordersV0.getOrders"] == 1
    assert hook.stats["retries"] == 0


def test_a_persistent_503_ends_in_a_clear_error_after_bounded_retries(fast: Emulator, spapi_conn: Any) -> None:
    spapi_conn("spapi_short", max_attempts=3, max_retry_seconds=30)
    fast.configure(usage_plans=FAST_PLAN, faults=[{"kind": "status", "status": 503, "operation": "getOrders", "count": 100}])
    with pytest.raises(SpApiServerError) as raised:
        SpApiHook("spapi_short").request("GET", ORDERS, params=order_params())
    assert "after 3 attempts" in str(raised.value)
    assert raised.value.status == 503
    assert fast.counters()["faults"]["status"] == 3


def test_throttling_that_outlives_the_retries_raises_the_throttled_error(fast: Emulator, spapi_conn: Any) -> None:
    spapi_conn("spapi_short", max_attempts=2)
    warm_up(SpApiHook("spapi_short"))
    fast.configure(usage_plans=FAST_PLAN, faults=[{"kind": "status", "status": 429, "operation": "getOrders", "count": 100}])
    with pytest.raises(SpApiThrottledError) as raised:
        SpApiHook("spapi_short").request("GET", ORDERS, params=order_params())
    assert raised.value.status == 429
    assert "rate_limit_store" in str(raised.value)  # the advice that works for workers sharing a plan


def test_retry_after_is_honoured_and_each_retry_is_logged_without_tokens(
    fast: Emulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    hook = SpApiHook()
    fast.configure(faults=[{"kind": "status", "status": 503, "operation": "getMarketplaceParticipations", "retry_after": 1}])
    hook.request("GET", "/sellers/v1/marketplaceParticipations")

    # Airflow 3 routes the hook's logger through structlog to stdout; Airflow 2 through logging (and its console).
    console = capsys.readouterr().out
    expected = "SP-API sellers.getMarketplaceParticipations: HTTP 503; retry 1 of 7 in 1.00s"
    per_sink = [[line for line in sink.splitlines() if "retry" in line] for sink in (console, caplog.text)]
    assert max(len(lines) for lines in per_sink) == 1  # one line per retry, wherever the log goes
    assert any(expected in line for lines in per_sink for line in lines)
    assert hook.get_access_token() not in console + caplog.text


def test_the_rate_limit_header_sets_the_clients_plan(fast: Emulator) -> None:
    hook = SpApiHook()
    hook.request("GET", "/sellers/v1/marketplaceParticipations")
    principal = hook.client._seller
    assert shared_rate_limiter.current_rate(principal, "sellers.getMarketplaceParticipations") == 20


def test_without_the_header_the_client_keeps_amazons_published_plan(emu: Emulator, spapi_conn: Any) -> None:
    emu.configure(rate_limit_header="never")
    hook = SpApiHook()
    hook.request("GET", "/sellers/v1/marketplaceParticipations")
    assert shared_rate_limiter.current_rate(hook.client._seller, "sellers.getMarketplaceParticipations") == pytest.approx(0.016)


def test_the_client_waits_for_the_bucket_instead_of_failing(emu: Emulator, spapi_conn: Any) -> None:
    # The header reveals the rate only; the burst stays the published one (15), as on Amazon.
    emu.configure(usage_plans={"getMarketplaceParticipations": [5, 15]}, rate_limit_header="always")
    hook = SpApiHook()
    for _ in range(25):
        hook.request("GET", "/sellers/v1/marketplaceParticipations")
    assert emu.counters()["throttled"] == {}
    assert emu.counters()["requests"]["sellers.getMarketplaceParticipations"] == 25
    # After the burst of 15, the other 10 calls wait about 0.2 s each for a token (fewer if calls are slow).
    assert hook.stats["throttle_waits"] >= 5
