"""The TikTok Shop client against the emulator over real HTTP on 127.0.0.1: tokens, signing, shops, paging, faults, leaks."""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from airflow_provider_spapi.core.retry import RetrySettings
from airflow_provider_spapi.core.session import HttpSession
from airflow_provider_spapi.core.tokens import shared_token_cache
from airflow_provider_spapi.emulator import Emulator
from airflow_provider_spapi.emulator.tiktok import seed
from airflow_provider_spapi.emulator.tiktok.signature import expected_sign
from airflow_provider_spapi.errors import (
    TikTokShopAuthError,
    TikTokShopClientError,
    TikTokShopConfigError,
    TikTokShopError,
    TikTokShopThrottledError,
)
from airflow_provider_spapi.tiktok.auth import TikTokAuth
from airflow_provider_spapi.tiktok.client import TikTokShopClient
from airflow_provider_spapi.tiktok.grants import shared_grants
from airflow_provider_spapi.tiktok.settings import TikTokShopSettings, parse_settings

ORDERS = "/order/202309/orders/search"
# Made at run time: a value written in this file would show in tracebacks' source lines and fool the leak scan.
WRONG_SECRET = "wrong-" + uuid.uuid4().hex
SHOPS = "/authorization/202309/shops"


@pytest.fixture
def tt(emu: Emulator) -> Iterator[Emulator]:
    """The session's emulator, reset, with this process's TikTok grants forgotten too."""
    shared_grants.clear()
    yield emu
    shared_grants.clear()


def settings_for(emu: Emulator, **extra: Any) -> TikTokShopSettings:
    conn = json.loads(emu.tiktok_connection_json(**extra))
    return parse_settings(conn["login"], conn["password"], conn["extra"])


def counters(emu: Emulator) -> dict[str, Any]:
    return emu.tiktok.counters.snapshot()


def refreshes(emu: Emulator) -> int:
    return int(counters(emu)["token"]["refresh"])


class Seen:
    """Every token the client hands to ``on_token`` (the masker), for leak scans."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def __call__(self, value: str) -> None:
        self.tokens.append(value)


class RecordingSession(HttpSession):
    """A real session that notes what it sent (when, URL, body): to check each attempt's signature and timestamp."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, str, bytes]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        self.sent.append((time.time(), str(request.url), body))
        return super().send(request, **kwargs)


def fresh_pair(emu: Emulator) -> Any:
    """A token pair straight from the emulator's token endpoint (counts as one refresh)."""
    return TikTokAuth(requests.Session(), emu.url, RetrySettings()).refresh(seed.APP_KEY, seed.APP_SECRET, seed.REFRESH_TOKEN)


# Tokens ---------------------------------------------------------------------------------------


def test_a_stored_valid_access_token_is_used_with_zero_refreshes(tt: Emulator) -> None:
    pair = fresh_pair(tt)
    assert refreshes(tt) == 1
    settings = settings_for(tt, access_token=pair.access_token, access_token_expires_at=int(pair.access_token_expires_at.timestamp()))
    client = TikTokShopClient(settings)
    assert client.access_token() == pair.access_token
    assert client.authorized_shops()[0]["cipher"] == seed.SHOPS[0].cipher
    client.request("POST", ORDERS, params={"page_size": 5}, json={})
    assert refreshes(tt) == 1
    assert client.stats.tokens_minted == 0


def test_an_expired_stored_access_token_is_refreshed_once(tt: Emulator) -> None:
    settings = settings_for(tt, access_token="ROW_stale", access_token_expires_at="2020-01-01T00:00:00Z")
    client = TikTokShopClient(settings)
    client.authorized_shops()
    client.authorized_shops()
    assert client.access_token() != "ROW_stale"
    assert refreshes(tt) == 1


def test_an_access_token_at_its_absolute_expiry_is_renewed_without_being_sent(tt: Emulator) -> None:
    tt.tiktok.configure({"access_token_lifetime": 3})
    client = TikTokShopClient(settings_for(tt))
    first = client.access_token()
    assert client.access_token() == first and refreshes(tt) == 1
    time.sleep(3.0)  # past access_token_expire_in (absolute Unix seconds): renewed from the timestamp, not from a 105002
    second = client.access_token()
    assert second != first and refreshes(tt) == 2
    assert client.authorized_shops() and counters(tt)["errors"] == {}


def test_1000_access_token_calls_from_8_threads_on_8_clients_refresh_once(tt: Emulator) -> None:
    settings = settings_for(tt)
    clients = [TikTokShopClient(settings) for _ in range(8)]
    barrier = threading.Barrier(8)
    seen: set[str] = set()
    lock = threading.Lock()

    def work(client: TikTokShopClient) -> None:
        barrier.wait()
        values = {client.access_token() for _ in range(125)}
        with lock:
            seen.update(values)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refreshes(tt) == 1
    assert len(seen) == 1
    assert sum(client.stats.tokens_minted for client in clients) == 1


def test_a_rotated_refresh_token_is_reported_once_and_used_from_then_on(tt: Emulator) -> None:
    tt.tiktok.configure({"rotate_refresh_token": True})
    reported: list[tuple[str, datetime | None]] = []
    settings = settings_for(tt)
    client = TikTokShopClient(settings, on_refresh_token=lambda token, expires: reported.append((token, expires)))
    client.authorized_shops()
    assert len(reported) == 1
    first, expires = reported[0]
    assert first != seed.REFRESH_TOKEN and expires is not None and expires > datetime.now(timezone.utc)
    assert client.refresh_token_expires_at == expires
    # The seeded refresh token is dead now; a second refresh (expired access token) must use the new one.
    tt.tiktok.expire_tokens()
    other = TikTokShopClient(settings, on_refresh_token=lambda token, expires: reported.append((token, expires)))
    other.authorized_shops()
    assert refreshes(tt) == 2 and counters(tt)["rotations"] == 2
    assert len(reported) == 2 and reported[1][0] not in (first, seed.REFRESH_TOKEN)
    assert "36004005" not in counters(tt)["errors"]
    # A connection that has since stored a rotated token (as the hook does) joins the same grant and cached token.
    stored = TikTokShopClient(settings_for(tt, refresh_token=first))
    assert stored.access_token() == other.access_token()
    assert refreshes(tt) == 2


def test_an_expired_access_token_105002_refreshes_once_and_retries(tt: Emulator) -> None:
    pair = fresh_pair(tt)
    settings = settings_for(tt, access_token=pair.access_token, access_token_expires_at=int(pair.access_token_expires_at.timestamp()))
    client = TikTokShopClient(settings)
    client.authorized_shops()
    assert refreshes(tt) == 1
    tt.tiktok.expire_tokens()  # TikTok calls the stored token expired before its date
    assert client.authorized_shops()
    assert refreshes(tt) == 2
    assert counters(tt)["errors"] == {"105002": 1}
    assert client.access_token() != pair.access_token
    client.authorized_shops()
    assert refreshes(tt) == 2


def test_a_stored_access_token_tiktok_does_not_know_105001_is_replaced_once(tt: Emulator) -> None:
    settings = settings_for(tt, access_token="ROW_from_an_older_pair", access_token_expires_at="2099-01-01T00:00:00Z")
    client = TikTokShopClient(settings)
    assert client.authorized_shops()
    assert refreshes(tt) == 1 and counters(tt)["errors"] == {"105001": 1}
    shared_token_cache.clear()  # even with the cache gone, the refused token is never handed out again in this process
    TikTokShopClient(settings).authorized_shops()
    assert refreshes(tt) == 2 and counters(tt)["errors"] == {"105001": 1}


def test_exchanging_an_auth_code_returns_the_new_authorisation(tt: Emulator) -> None:
    seen = Seen()
    client = TikTokShopClient(settings_for(tt, refresh_token=None), on_token=seen)
    code = tt.tiktok.new_authorization_code()
    answer = client.exchange_authorization_code(code)
    assert set(answer) == {"refresh_token", "refresh_token_expires_at", "open_id", "seller_name"}
    assert answer["refresh_token"] in seen.tokens and answer["seller_name"] == seed.SELLER_NAME
    assert (answer["refresh_token_expires_at"] - datetime.now(timezone.utc)).days >= 364
    with pytest.raises(TikTokShopAuthError) as raised:
        client.exchange_authorization_code(code)  # single use
    assert raised.value.code == "36004004" and "Re-authorise the shop" in str(raised.value)
    with pytest.raises(TikTokShopConfigError, match="auth_code"):
        client.exchange_authorization_code(" ")


@pytest.mark.parametrize(("action", "code"), [("revoke", "36004005"), ("expire_refresh_token", "36004001")])
def test_a_dead_refresh_token_says_to_reauthorise(tt: Emulator, action: str, code: str) -> None:
    getattr(tt.tiktok, action)(seed.REFRESH_TOKEN)
    with pytest.raises(TikTokShopAuthError) as raised:
        TikTokShopClient(settings_for(tt)).authorized_shops()
    assert raised.value.code == code and "Re-authorise the shop" in str(raised.value)
    assert refreshes(tt) == 0


def test_no_refresh_token_and_no_valid_access_token_is_a_config_error(tt: Emulator) -> None:
    with pytest.raises(TikTokShopConfigError, match="'refresh_token'"):
        TikTokShopClient(settings_for(tt, refresh_token=None)).authorized_shops()
    assert counters(tt)["requests"] == {}


# Calls ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("throttle_status", [429, 200])
def test_throttling_is_absorbed_by_the_adaptive_limiter(tt: Emulator, throttle_status: int) -> None:
    tt.tiktok.configure({"rate": 10, "burst": 2, "throttle_status": throttle_status})
    client = TikTokShopClient(settings_for(tt))
    results: list[int] = []

    def work() -> None:
        for _ in range(8):
            results.append(len(client.authorized_shops()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 32
    throttled = counters(tt)["throttled"]
    assert throttled > 0 and client.stats.throttled == throttled
    assert counters(tt)["errors"] == {"36009002": throttled}


def test_5xx_and_resets_are_retried_each_attempt_signed_afresh(tt: Emulator) -> None:
    session = RecordingSession()
    client = TikTokShopClient(settings_for(tt, shop_cipher=seed.SHOPS[0].cipher), session=session)
    client.access_token()
    tt.tiktok.configure(
        {
            "faults": [
                {"kind": "status", "status": 503, "path_prefix": "/order/", "count": 2},
                {"kind": "reset", "path_prefix": "/order/", "count": 1},
            ]
        }
    )
    data = client.request("POST", ORDERS, params={"page_size": 3}, json={"update_time_ge": 1})
    assert len(data["orders"]) == 3
    assert counters(tt)["faults"] == {"status": 2, "reset": 1}
    attempts = [entry for entry in session.sent if urlsplit(entry[1]).path == ORDERS]
    assert len(attempts) == 4 and client.stats.retries == 3
    for sent_at, url, body in attempts:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        assert body == b'{"update_time_ge":1}'
        assert query["sign"] == expected_sign(parts.path, parts.query, body, "application/json", seed.APP_SECRET)
        assert abs(int(query["timestamp"]) - sent_at) <= 1.0  # stamped when sent, not when the call began


def test_a_read_timeout_is_retried(tt: Emulator) -> None:
    client = TikTokShopClient(settings_for(tt, read_timeout=0.3))
    client.access_token()
    tt.tiktok.configure({"faults": [{"kind": "delay", "seconds": 1.0, "path_prefix": SHOPS, "count": 1}]})
    assert client.authorized_shops()
    assert client.stats.retries == 1 and counters(tt)["faults"] == {"delay": 1}


def test_throttling_that_outlives_the_retries_raises_the_throttled_error(tt: Emulator) -> None:
    tt.tiktok.configure({"rate": 0.01, "burst": 1})
    client = TikTokShopClient(settings_for(tt, max_attempts=2))
    client.authorized_shops()
    with pytest.raises(TikTokShopThrottledError) as raised:
        client.authorized_shops()
    assert raised.value.code == "36009002" and raised.value.status == 429
    assert counters(tt)["throttled"] == 2


def test_a_non_zero_code_raises_with_tiktoks_code_message_and_request_id(tt: Emulator) -> None:
    client = TikTokShopClient(settings_for(tt))
    with pytest.raises(TikTokShopClientError) as raised:
        client.request("POST", ORDERS, params={"page_size": 500})
    error = raised.value
    assert error.code == "36009004" and error.status == 400 and error.request_id
    assert "page_size" in error.message
    assert counters(tt)["requests"]["order.search"] == 1  # not retried


def test_a_wrong_app_secret_fails_with_the_fix(tt: Emulator) -> None:
    pair = fresh_pair(tt)
    settings = settings_for(
        tt, password="wrong-secret", access_token=pair.access_token, access_token_expires_at=int(pair.access_token_expires_at.timestamp())
    )
    with pytest.raises(TikTokShopAuthError) as raised:
        TikTokShopClient(settings).authorized_shops()
    assert raised.value.code == "106001" and "app secret" in str(raised.value)


def test_pagination_follows_tokens_with_plus_and_slash_every_page_once(tt: Emulator) -> None:
    cipher = seed.SHOPS[0].cipher
    since = tt.tiktok.anchor - 60 * 86400
    expected = sorted(
        (order for order in tt.tiktok.data[cipher].orders if order["update_time"] >= since),
        key=lambda order: (order["create_time"], order["id"]),
        reverse=True,
    )
    client = TikTokShopClient(settings_for(tt))
    pages = list(client.paginate("POST", ORDERS, json={"update_time_ge": since}, page_size=20))
    ids = [order["id"] for page in pages for order in page["orders"]]
    assert ids == [order["id"] for order in expected]
    assert len(pages) == math.ceil(len(expected) / 20) and pages[-1]["next_page_token"] == ""
    tokens = [page["next_page_token"] for page in pages[:-1]]
    assert tokens and all("+" in token and "/" in token for token in tokens)
    assert counters(tt)["requests"]["order.search"] == len(pages) and client.stats.pages == len(pages)
    statements = list(client.paginate("GET", "/finance/202309/statements", params={"sort_field": "statement_time"}, page_size=7))
    assert sum(len(page["statements"]) for page in statements) == len(tt.tiktok.data[cipher].statements)


def test_page_size_is_checked_before_any_call(tt: Emulator) -> None:
    client = TikTokShopClient(settings_for(tt))
    for bad in (0, 101, "20", True):
        with pytest.raises(TikTokShopConfigError, match="page_size"):
            list(client.paginate("POST", ORDERS, page_size=bad))  # type: ignore[arg-type]
    assert counters(tt)["requests"] == {}


# Shops ----------------------------------------------------------------------------------------


def test_the_only_shop_is_found_once_per_process(tt: Emulator) -> None:
    settings = settings_for(tt)
    TikTokShopClient(settings).request("POST", ORDERS, params={"page_size": 1})
    orders = TikTokShopClient(settings).request("POST", ORDERS, params={"page_size": 1})["orders"]
    assert orders[0]["id"].startswith("571")
    assert counters(tt)["requests"] == {"authorization.shops": 1, "order.search": 2}


def test_several_shops_need_a_shop_cipher(tt: Emulator) -> None:
    tt.tiktok.configure({"shops": 2})
    client = TikTokShopClient(settings_for(tt))
    with pytest.raises(TikTokShopConfigError) as raised:
        client.request("POST", ORDERS, params={"page_size": 1})
    message = str(raised.value)
    assert "'shop_cipher'" in message and seed.SHOPS[0].cipher in message and seed.SHOPS[1].cipher in message
    assert "order.search" not in counters(tt)["requests"]
    second = client.request("POST", ORDERS, params={"page_size": 1}, shop_cipher=seed.SHOPS[1].cipher)
    assert second["orders"][0]["id"].startswith("572")
    configured = TikTokShopClient(settings_for(tt, shop_cipher=seed.SHOPS[1].cipher))
    assert configured.request("GET", "/order/202309/orders", params={"ids": [second["orders"][0]["id"]]})["orders"] == second["orders"]


def test_shop_cipher_is_never_sent_to_shopless_paths(tt: Emulator) -> None:
    client = TikTokShopClient(settings_for(tt, shop_cipher=seed.SHOPS[0].cipher))
    assert client.authorized_shops()  # the emulator refuses shop_cipher here (36009004): the client left it out
    with pytest.raises(TikTokShopConfigError, match="'shop_cipher'"):
        client.request("GET", SHOPS, shop_cipher=seed.SHOPS[0].cipher)
    with pytest.raises(TikTokShopConfigError, match="'params'"):
        client.request("POST", ORDERS, params={"sign": "x"})
    assert counters(tt)["errors"] == {}


# Leaks ----------------------------------------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _everything_said(error: BaseException) -> str:
    chain = "".join(traceback.format_exception(error))
    return "\n".join([str(error), repr(error), chain])


def test_no_secret_or_token_in_any_error_repr_or_log(tt: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen = Seen()
    quick = {"max_attempts": 2, "max_retry_seconds": 5, "connect_timeout": 0.5}
    good = TikTokShopClient(settings_for(tt), on_token=seen)
    good.authorized_shops()
    pair = fresh_pair(tt)
    seen(pair.access_token)
    seen(pair.refresh_token)
    failures: list[TikTokShopError] = []
    cases = [
        lambda: TikTokShopClient(settings_for(tt, password=WRONG_SECRET), on_token=seen).authorized_shops(),
        lambda: TikTokShopClient(
            settings_for(
                tt,
                password=WRONG_SECRET,
                access_token=pair.access_token,
                access_token_expires_at=int(pair.access_token_expires_at.timestamp()),
            ),
            on_token=seen,
        ).authorized_shops(),
        lambda: TikTokShopClient(settings_for(tt, auth_endpoint=_closed_port_url(), **quick), on_token=seen).authorized_shops(),
        lambda: TikTokShopClient(settings_for(tt, api_endpoint=_closed_port_url(), **quick), on_token=seen).authorized_shops(),
        lambda: good.request("POST", ORDERS, params={"page_size": 0}),
    ]
    for case in cases:
        with pytest.raises(TikTokShopError) as raised:
            case()
        failures.append(raised.value)
    tt.tiktok.configure({"shops": 2})
    shared_grants.clear()
    with pytest.raises(TikTokShopConfigError) as several:
        TikTokShopClient(settings_for(tt), on_token=seen).request("POST", ORDERS)
    failures.append(several.value)
    tt.tiktok.revoke(seed.REFRESH_TOKEN)
    shared_grants.clear()
    shared_token_cache.clear()
    with pytest.raises(TikTokShopAuthError) as revoked:
        TikTokShopClient(settings_for(tt), on_token=seen).authorized_shops()
    failures.append(revoked.value)

    said = "\n".join(_everything_said(error) for error in failures)
    said += "\n" + repr(good) + repr(good.settings) + repr(good.auth) + repr(pair) + repr(good.stats) + caplog.text
    secrets = {seed.APP_SECRET, WRONG_SECRET, seed.REFRESH_TOKEN, *seen.tokens}
    assert len(seen.tokens) >= 3
    for secret in secrets:
        assert secret not in said, "a secret or token leaked"
    assert "app_secret=" not in said


# The emulator refuses what TikTok refuses (so the client tests above could fail) ----------------


def _raw(emu: Emulator, method: str, path: str, token: str | None, **changes: Any) -> dict[str, Any]:
    """One hand-built call: a valid signed request with ``changes`` applied (``query`` overrides, ``sign`` tampering)."""
    from airflow_provider_spapi.tiktok.signing import sign

    query = {"app_key": seed.APP_KEY, "timestamp": str(int(time.time())), **changes.get("query", {})}
    query = {key: value for key, value in query.items() if value is not None}
    body = changes.get("body", b"")
    query["sign"] = changes.get("sign") or sign(path, query, body, changes.get("secret", seed.APP_SECRET))
    headers = {"Content-Type": "application/json", **({"x-tts-access-token": token} if token else {})}
    response = requests.request(method, emu.url + path, params=query, data=body, headers=headers, timeout=10)
    answer: dict[str, Any] = response.json()
    answer["status"] = response.status_code
    return answer


def test_the_emulator_refuses_what_tiktok_refuses(tt: Emulator) -> None:
    token = fresh_pair(tt).access_token
    cipher = seed.SHOPS[0].cipher
    shop = {"shop_cipher": cipher, "page_size": "1"}
    assert _raw(tt, "POST", ORDERS, token, query=shop)["code"] == 0
    cases = [
        ({"query": {**shop, "timestamp": str(int(time.time()) - 400)}}, 36009004, "timestamp"),
        ({"query": {**shop, "timestamp": str(int(time.time()) + 120)}}, 36009004, "timestamp"),
        ({"query": {**shop, "app_key": "other"}}, 36009004, "app_key"),
        ({"query": shop, "secret": "not-the-secret"}, 106001, "sign"),
        ({"query": shop, "body": b'{"a":1}', "sign": None}, 0, ""),
        ({"query": {"page_size": "1"}}, 106013, "shop_cipher"),
        ({"query": {**shop, "shop_cipher": "ROW_unknown"}}, 36009004, "shop_cipher"),
        ({"query": {**shop, "page_token": "not-a-token"}}, 36009004, "page_token"),
    ]
    for changes, code, word in cases:
        answer = _raw(tt, "POST", ORDERS, token, **changes)
        assert answer["code"] == code and word in answer["message"], (changes, answer)
    # A body altered after signing no longer matches the signature.
    from airflow_provider_spapi.tiktok.signing import sign

    query = {"app_key": seed.APP_KEY, "timestamp": str(int(time.time())), **shop}
    query["sign"] = sign(ORDERS, query, b'{"a":1}', seed.APP_SECRET)
    altered = requests.post(tt.url + ORDERS, params=query, data=b'{"a": 1}', headers={"x-tts-access-token": token}, timeout=10)
    assert altered.json()["code"] == 106001
    assert _raw(tt, "GET", SHOPS, token, query={"shop_cipher": cipher})["code"] == 36009004
    assert _raw(tt, "GET", SHOPS, None)["code"] == 105001
    tt.tiktok.expire_tokens()
    expired = _raw(tt, "GET", SHOPS, token)
    assert expired["code"] == 105002 and expired["status"] == 401
    unknown = _raw(tt, "GET", "/order/202309/nothing_here", token)
    assert unknown["status"] == 404 and unknown["code"] == 36009004
