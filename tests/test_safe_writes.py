"""Nothing is done twice on Amazon's side: lost answers, 5xx and transport faults, per operation's idempotency.

Every test goes through the real client over HTTP to the emulator (or, for a broken HTTP body, a
raw socket server): a ``lost`` fault makes the emulator act on a request and then drop the answer.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_spapi.core.ratelimit import RateLimiter
from airflow_provider_spapi.core.retry import OUTCOME_UNKNOWN, Retryable, transport_failure
from airflow_provider_spapi.core.tokens import TokenCache
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.errors import SPAPI_ERRORS, SpApiConfigError, SpApiServerError, SpApiThrottledError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.spapi import catalog, workflows
from airflow_provider_spapi.spapi.client import SpApiClient
from airflow_provider_spapi.spapi.settings import parse_settings

pytestmark = pytest.mark.airflow

FEEDS = "/feeds/2021-06-30/feeds"
LISTINGS_FEED = "JSON_LISTINGS_FEED"
SHIPMENTS = "/mfn/v0/shipments"
ROTATION = "/applications/2023-11-30/clientSecret"
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


def requests_to(emu: Emulator, operation: str) -> int:
    return sum(count for key, count in emu.counters()["requests"].items() if key.endswith("." + operation))


def feeds_on_amazon(hook: SpApiHook) -> list[str]:
    answer = hook.request("GET", FEEDS, params={"feedTypes": [LISTINGS_FEED], "pageSize": 100})
    return [feed["feedId"] for feed in answer.get("feeds", [])]


@pytest.fixture
def feed_file(tmp_path: Path) -> Path:
    path = tmp_path / "listings.json"
    path.write_text('{"header": {"sellerId": "A1EMULATORSLR1", "version": "2.0"}, "messages": []}', encoding="utf-8")
    return path


# -- the catalog ------------------------------------------------------------------------------------


def test_the_catalog_says_which_operations_may_be_sent_again() -> None:
    def op(method: str, path: str) -> catalog.Operation:
        found = catalog.find_operation(method, path)
        assert found is not None
        return found

    assert op("GET", "/orders/v0/orders").idempotent
    assert op("POST", "/reports/2021-06-30/reports").idempotent  # a second report is harmless
    assert op("POST", "/tokens/2021-03-01/restrictedDataToken").idempotent
    assert op("POST", "/feeds/2021-06-30/documents").idempotent
    assert op("POST", "/batches/products/pricing/v0/itemOffers").idempotent  # getItemOffersBatch only computes
    assert op("DELETE", "/feeds/2021-06-30/feeds/{feedId}").idempotent
    assert op("PUT", "/listings/2021-08-01/items/{sellerId}/{sku}").idempotent
    for method, path in [("POST", FEEDS), ("POST", SHIPMENTS), ("POST", ROTATION), ("POST", "/shipping/v2/shipments")]:
        assert not op(method, path).idempotent, path
    assert not op("PUT", "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}/return").idempotent
    assert "getFeeds" in (op("POST", FEEDS).if_unsure or "")
    assert catalog.may_resend("PUT", None) and not catalog.may_resend("POST", None)


# -- lost answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stall", [0.0, 1.5], ids=["dropped", "read-timeout"])
def test_a_lost_create_feed_answer_creates_exactly_one_feed(emu: Emulator, spapi_conn: Any, feed_file: Path, stall: float) -> None:
    spapi_conn(read_timeout=1)
    emu.configure(faults=[{"kind": "lost", "operation": "createFeed", "seconds": stall}])
    hook = SpApiHook()

    with pytest.raises(SpApiServerError) as failure:
        workflows.submit_feed(hook.client, LISTINGS_FEED, feed_file, "application/json")

    assert failure.value.code == OUTCOME_UNKNOWN
    assert "may have been applied" in str(failure.value) and "getFeeds" in str(failure.value)
    assert requests_to(emu, "createFeed") == 1
    assert len(feeds_on_amazon(hook)) == 1  # Amazon has the one feed; the client did not submit it again


def test_a_lost_create_report_answer_is_sent_again(emu: Emulator, spapi_conn: Any) -> None:
    emu.configure(faults=[{"kind": "lost", "operation": "createReport"}])

    report_id = workflows.create_report(SpApiHook().client, "GET_MERCHANT_LISTINGS_ALL_DATA")

    assert report_id
    assert requests_to(emu, "createReport") == 2  # harmless to repeat: the catalog lists it as idempotent


@pytest.mark.parametrize(
    ("path", "operation", "scope"),
    [(SHIPMENTS, "createShipment", None), (ROTATION, "rotateApplicationClientSecret", "sellingpartnerapi::client_credential:rotation")],
)
def test_a_5xx_on_a_paid_or_one_off_call_is_not_retried(emu: Emulator, spapi_conn: Any, path: str, operation: str, scope: Any) -> None:
    emu.configure(faults=[{"kind": "status", "status": 500, "operation": operation, "count": 5}])

    with pytest.raises(SpApiServerError) as failure:
        SpApiHook().request("POST", path, json={}, grantless_scope=scope)

    assert failure.value.code == OUTCOME_UNKNOWN
    assert requests_to(emu, operation) == 1


def test_a_503_with_retry_after_or_a_429_is_a_refusal_and_is_retried_even_for_create_feed(
    emu: Emulator, spapi_conn: Any, feed_file: Path
) -> None:
    emu.configure(
        usage_plans={"createFeed": [50, 50]},
        faults=[
            {"kind": "status", "status": 503, "operation": "createFeed", "count": 1, "retry_after": 0},
            {"kind": "status", "status": 429, "operation": "createFeed", "count": 1, "retry_after": 0},
        ],
    )
    hook = SpApiHook()
    create_feed = catalog.find_operation("POST", FEEDS)
    assert create_feed is not None
    hook.client.rate_limiter.observe_limit_header(hook.client._seller, create_feed.key, "50")  # as a header would teach it

    feed_id, _ = workflows.submit_feed(hook.client, LISTINGS_FEED, feed_file, "application/json")

    assert feed_id
    assert requests_to(emu, "createFeed") == 3
    assert feeds_on_amazon(hook) == [feed_id]


# -- transport faults -------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_never_reached_the_server_but_a_read_timeout_may_have(emu: Emulator) -> None:
    with pytest.raises(requests.ConnectionError) as refused:
        requests.get(f"http://127.0.0.1:{_closed_port()}/", timeout=2)
    emu.configure(faults=[{"kind": "delay", "seconds": 1.0, "operation": "getMarketplaceParticipations"}])
    with pytest.raises(requests.Timeout) as timed_out:
        requests.get(emu.url + PARTICIPATIONS, timeout=(2, 0.2))

    before = transport_failure(refused.value, "SP-API", SPAPI_ERRORS)
    after = transport_failure(timed_out.value, "SP-API", SPAPI_ERRORS)

    assert isinstance(before, Retryable) and not before.may_have_applied
    assert isinstance(after, Retryable) and after.may_have_applied


def test_tls_failure_fails_at_once_with_a_clear_message(emu: Emulator, spapi_conn: Any) -> None:
    # The emulator speaks plain HTTP: a TLS handshake with it fails the way a bad CA bundle or an intercepting proxy does.
    spapi_conn(endpoint=emu.url.replace("http://", "https://"))
    hook = SpApiHook()

    with pytest.raises(SpApiConfigError, match="TLS with SP-API failed"):
        hook.request("GET", PARTICIPATIONS)
    assert hook.stats["retries"] == 0

    spapi_conn("spapi_lwa_tls", lwa_endpoint=emu.lwa_url.replace("http://", "https://"))
    lwa_hook = SpApiHook("spapi_lwa_tls")
    with pytest.raises(SpApiConfigError, match="TLS with LWA failed"):
        lwa_hook.get_access_token()
    assert lwa_hook.stats["retries"] == 0


def test_a_proxy_that_refuses_fails_at_once(emu: Emulator, spapi_conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    hook = SpApiHook()

    with pytest.raises(SpApiConfigError, match="proxy"):
        hook.get_access_token()
    assert hook.stats["retries"] == 0


@pytest.fixture
def short_body_server() -> Iterator[str]:
    """A server answering every request with a Content-Length it does not honour: the body stops half way."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"payload": [')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


def test_a_broken_body_is_an_spapi_error_not_a_requests_exception(emu: Emulator, short_body_server: str) -> None:
    settings = parse_settings(
        seed.CLIENT_ID,
        seed.CLIENT_SECRET,
        {"refresh_token": seed.REFRESH_TOKEN, "endpoint": short_body_server, "lwa_endpoint": emu.lwa_url, "max_attempts": 2},
    )
    client = SpApiClient(settings, token_cache=TokenCache(), rate_limiter=RateLimiter())

    with pytest.raises(SpApiServerError, match="ChunkedEncodingError"):
        client.request("GET", PARTICIPATIONS)
    with pytest.raises(SpApiServerError, match="may have been applied"):
        client.request("POST", FEEDS, json={})
    assert client.stats.as_dict()["retries"] == 1  # the GET was retried once; the POST not at all


# -- rate-limit waits and the retry budget ----------------------------------------------------------


class FakeTime:
    """A monotonic clock that a sleep advances, shared by a token cache and a rate limiter."""

    def __init__(self) -> None:
        self.now = time.monotonic()  # tokens are stamped with the real monotonic clock when minted
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _client(emu: Emulator, clock: FakeTime, **extra: Any) -> SpApiClient:
    settings = parse_settings(
        seed.CLIENT_ID,
        seed.CLIENT_SECRET,
        {"refresh_token": seed.REFRESH_TOKEN, "endpoint": emu.url, "lwa_endpoint": emu.lwa_url, **extra},
    )
    return SpApiClient(settings, token_cache=TokenCache(clock=clock), rate_limiter=RateLimiter(clock=clock, sleep=clock.sleep))


def _starve(client: SpApiClient, rate: str) -> str:
    """Teach the client's bucket for getMarketplaceParticipations a low rate and empty it, as a run of 429s would.

    One call got through first: a 429 before any success is first contact, which the limiter retries
    within seconds (see core.ratelimit), not the plan's long interval this test needs.
    """
    operation = catalog.find_operation("GET", PARTICIPATIONS)
    assert operation is not None
    client.rate_limiter.observe_limit_header(client._seller, operation.key, rate)
    client.rate_limiter.record_success(client._seller, operation.key)
    client.rate_limiter.record_throttled(client._seller, operation.key)
    return operation.key


def test_a_rate_limit_wait_never_outlasts_the_retry_budget(emu: Emulator) -> None:
    clock = FakeTime()
    client = _client(emu, clock, max_retry_seconds=60)
    _starve(client, "0.001")  # the adaptive floor: one token every 1,000 s

    with pytest.raises(SpApiThrottledError, match="max_retry_seconds"):
        client.request("GET", PARTICIPATIONS)

    assert all(wait <= 60 for wait in clock.slept)
    assert requests_to(emu, "getMarketplaceParticipations") == 0


def test_the_access_token_is_taken_after_the_rate_limit_wait(emu: Emulator) -> None:
    emu.configure(expires_in=120)  # renewed 12 s before it expires: due 108 s after the mint
    clock = FakeTime()
    client = _client(emu, clock)
    client.access_token()
    _starve(client, "0.005")  # the next token is 200 s away

    client.request("GET", PARTICIPATIONS)

    assert clock.slept and clock.slept[-1] > 108
    # The token minted before the wait was due when the wait ended: the call minted a fresh one after it.
    assert emu.counters()["lwa"]["refresh_token"] == 2


# -- tokens and the Test button ---------------------------------------------------------------------


def test_grantless_tokens_belong_to_the_application_not_to_each_seller(emu: Emulator, spapi_conn: Any) -> None:
    for index, seller in enumerate(seed.SELLERS):
        spapi_conn(f"spapi_seller_{index}", refresh_token=seller.refresh_token)
        SpApiHook(f"spapi_seller_{index}").get_access_token("sellingpartnerapi::notifications")

    assert emu.counters()["lwa"]["client_credentials"] == 1


def test_the_test_button_gives_up_quickly(emu: Emulator, spapi_conn: Any) -> None:
    emu.configure(faults=[{"kind": "status", "status": 503, "operation": "getMarketplaceParticipations", "count": 100}])

    ok, message = SpApiHook().test_connection()

    assert not ok and "503" in message
    assert requests_to(emu, "getMarketplaceParticipations") <= 2  # the connection's budget allows 8 attempts


# -- restricted bodies stay out of the metadata DB --------------------------------------------------


def test_the_body_of_a_restricted_call_is_not_stored_as_a_rendered_field(airflow_db: Path, emu: Emulator, spapi_conn: Any) -> None:
    import pendulum
    from dagrun import run_dag

    from airflow_provider_spapi._compat import AIRFLOW_V_3
    from airflow_provider_spapi.operators.spapi import SpApiOperator

    if AIRFLOW_V_3:
        from airflow.sdk import DAG
    else:
        from airflow import DAG

    address = {"Name": "Jane PII-MARKER Doe", "AddressLine1": "1 Private Lane", "City": "Seattle", "PostalCode": "98101"}
    body = {"ShipmentRequestDetails": {"AmazonOrderId": "{{ params.order_id }}", "ShipFromAddress": address}}
    with DAG("test_restricted_body_not_rendered", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=None) as dag:
        SpApiOperator(
            task_id="label",
            method="POST",
            path=SHIPMENTS,
            body=body,
            params={"order_id": "111-0000000-0000001"},
            output_path=str(airflow_db / "label.jsonl"),
        )

    dag_run = run_dag(dag)

    with sqlite3.connect(airflow_db / "airflow.db") as db:
        rows = db.execute(
            "SELECT rendered_fields FROM rendered_task_instance_fields WHERE dag_id = ? AND run_id = ?", (dag.dag_id, dag_run.run_id)
        ).fetchall()
    assert rows, "Airflow stored no rendered fields for the task"
    stored = str(rows[0][0])
    assert SHIPMENTS in stored  # the other fields are rendered and stored as usual
    assert "PII-MARKER" not in stored and "Private Lane" not in stored
    assert requests_to(emu, "createShipment") == 1  # the call itself was made, with its body
