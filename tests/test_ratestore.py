"""The shared rate-limit store: a real redis-server, the Lua bucket, the connection field and the fallback."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from redis_fixture import free_port_url, redis_server_fixture, redis_url_fixture  # noqa: F401 - fixtures

from airflow_provider_spapi.core import ratestore
from airflow_provider_spapi.core.ratestore import KEY_PREFIX, StoreRateLimiter, limiter_for
from airflow_provider_spapi.core.tokens import TokenCache
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.provider_info import CONNECTION_FIELDS
from airflow_provider_spapi.spapi.client import SpApiClient
from airflow_provider_spapi.spapi.settings import EXTRA_FIELDS, parse_settings

ORDERS = "/orders/v0/orders"
OP = "ordersV0.getOrders"


def limiter(url: str) -> tuple[StoreRateLimiter, list[float]]:
    """A store-backed limiter that records its waits instead of sleeping (each stands for one worker process)."""
    waits: list[float] = []
    return StoreRateLimiter(url, sleep=waits.append), waits


def settings(emu: Emulator, **extra: Any) -> Any:
    fields = {"refresh_token": seed.REFRESH_TOKEN, "endpoint": emu.url, "lwa_endpoint": emu.lwa_url, **extra}
    return parse_settings(seed.CLIENT_ID, seed.CLIENT_SECRET, fields)


def test_two_processes_draw_from_one_bucket_and_queue_one_interval_apart(redis_url: str) -> None:
    first, second = StoreRateLimiter(redis_url, sleep=lambda _: None), StoreRateLimiter(redis_url, sleep=lambda _: None)
    waits = [(first if n % 2 else second).acquire("seller", OP, 0.1, 1.0) for n in range(6)]
    # One token in the bucket, then one every 10 s whichever worker asks (a local bucket each would give 0, 0, 10, 10, ...).
    # The workers' sleeps are recorded, not slept, so each reservation queues behind the previous one.
    assert waits == pytest.approx([0.0, 10.0, 20.0, 30.0, 40.0, 50.0], abs=0.5)


def test_a_reported_rate_paces_every_worker_and_a_429_empties_the_shared_bucket(redis_url: str) -> None:
    first, _ = limiter(redis_url)
    second, second_waits = limiter(redis_url)
    first.acquire("seller", OP, 0.0167, 1.0)
    first.observe_limit_header("seller", OP, "4.0")
    first.record_success("seller", OP)
    # The second worker still believes Amazon's published plan (one call a minute) and has seen no header:
    # the rate in the store is the reported one, so its wait is a quarter second, not a minute.
    second.acquire("seller", OP, 0.0167, 20.0)
    assert second_waits == [pytest.approx(0.25, abs=0.05)]
    second.record_success("seller", OP)
    first.record_throttled("seller", OP)  # Amazon said the bucket is empty: both workers' next token is an interval away
    second.acquire("seller", OP, 0.0167, 20.0)
    assert second_waits[-1] >= 0.2


def test_the_store_holds_bucket_state_under_fingerprints_only(emu: Emulator, redis_url: str, redis_server: Any) -> None:
    emu.configure(usage_plans={"getOrders": [20, 20]}, rate_limit_header="always")
    client = SpApiClient(settings(emu, rate_limit_store=redis_url), token_cache=TokenCache())
    assert isinstance(client.rate_limiter, StoreRateLimiter)
    for _ in range(3):
        client.request("GET", ORDERS, params={"MarketplaceIds": [seed.MARKETPLACE_ID_US], "CreatedAfter": "2020-01-01T00:00:00Z"})
    store = redis_server.client()
    keys = [key.decode() for key in store.keys("*")]
    assert keys and all(re.fullmatch(re.escape(KEY_PREFIX) + "[0-9a-f]{32}", key) for key in keys)
    dumped = repr([store.hgetall(key) for key in keys]) + repr(keys)
    for secret in (seed.CLIENT_ID, seed.CLIENT_SECRET, seed.REFRESH_TOKEN, client.access_token()):
        assert secret not in dumped
    fields = {name.decode() for name in store.hgetall(keys[0])}
    assert fields == {"tokens", "updated", "rate", "burst", "reported"}


def test_an_unreachable_store_falls_back_to_local_buckets_with_one_warning(
    emu: Emulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A password in the URL must never reach a log line; nothing listens on the port.
    url = free_port_url(password="s3cret-store-password")
    monkeypatch.setattr(ratestore, "_limiters", {})
    emu.configure(usage_plans={"getOrders": [20, 20]}, rate_limit_header="always")
    caplog.set_level(logging.INFO, logger="airflow_provider_spapi")
    client = SpApiClient(settings(emu, rate_limit_store=url), token_cache=TokenCache())
    params = {"MarketplaceIds": [seed.MARKETPLACE_ID_US], "CreatedAfter": "2020-01-01T00:00:00Z", "MaxResultsPerPage": 1}
    pages = client.paginate("GET", ORDERS, params=params)
    assert sum(1 for _ in zip(range(4), pages, strict=False)) == 4  # every call succeeds without the store
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING and record.name == ratestore.__name__]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage() and "127.0.0.1" in warnings[0].getMessage()
    assert "s3cret-store-password" not in caplog.text
    assert client.rate_limiter.current_rate(client._seller, OP) == 20.0  # the local bucket learnt the plan instead
    assert limiter_for(url) is client.rate_limiter  # one limiter (and one warning) per store per process


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http://127.0.0.1:6379/0", "redis:// or rediss:// URL"),
        ("redis:///0", "with a host"),
        ("redis://127.0.0.1:port/0", "port that is not a number"),
        ("redis://127.0.0.1:6379/cache", "Redis databases are numbers"),
        (6379, "redis:// or rediss:// URL"),
    ],
)
def test_a_bad_store_url_is_a_clear_error_before_any_call(value: Any, problem: str) -> None:
    with pytest.raises(SpApiConfigError) as caught:
        parse_settings(seed.CLIENT_ID, seed.CLIENT_SECRET, {"refresh_token": seed.REFRESH_TOKEN, "rate_limit_store": value})
    assert "rate_limit_store" in str(caught.value) and problem in str(caught.value) and "redis://host:6379/0" in str(caught.value)


def test_a_store_password_stays_out_of_errors_and_reprs() -> None:
    with pytest.raises(SpApiConfigError) as caught:
        parse_settings(seed.CLIENT_ID, seed.CLIENT_SECRET, {"rate_limit_store": "redis://:hunter2@127.0.0.1:6379/db"})
    assert "hunter2" not in str(caught.value)
    parsed = parse_settings(seed.CLIENT_ID, seed.CLIENT_SECRET, {"rate_limit_store": "redis://:hunter2@127.0.0.1:6379/2"})
    assert parsed.rate_limit_store == "redis://:hunter2@127.0.0.1:6379/2"
    assert "hunter2" not in repr(parsed) and "hunter2" not in repr(StoreRateLimiter(parsed.rate_limit_store))


def test_the_store_is_a_connection_field() -> None:
    assert "rate_limit_store" in EXTRA_FIELDS
    field = next(field for field in CONNECTION_FIELDS if field.name == "rate_limit_store")
    assert not field.sensitive and "redis://" in field.description
