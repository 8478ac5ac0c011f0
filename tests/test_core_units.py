"""Fast unit tests of the Airflow-free core: no network, no Airflow, no mocks of ``requests``.

Each section exercises one module of ``airflow_provider_spapi.core`` (plus ``errors``) through its
public functions, with injected clocks and sleeps wherever time matters, so the whole file runs in
a few seconds.
"""

from __future__ import annotations

import email.utils
import gzip
import importlib.util
import json
import logging
import pickle
import re
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_spapi.core import retry
from airflow_provider_spapi.core.documents import MAX_INFLATE_STEP, TruncatedDownload, _inflate
from airflow_provider_spapi.core.ratelimit import (
    CLIENT_LAG,
    DECREASE_MAX,
    DECREASE_MIN,
    FIRST_CONTACT_PROBE,
    HEADROOM,
    MAX_RATE,
    MIN_RATE,
    PROBE_GROWTH,
    UNKNOWN_PLAN_RATE,
    RateLimiter,
    TokenBucket,
)
from airflow_provider_spapi.core.retry import Retryable, RetrySettings, parse_retry_after, run_with_retries
from airflow_provider_spapi.core.storage import atomic_write
from airflow_provider_spapi.core.tokens import Token, TokenCache, fingerprint, new_token, refresh_margin
from airflow_provider_spapi.errors import (
    SPAPI_ERRORS,
    SpApiClientError,
    SpApiConfigError,
    SpApiError,
    SpApiServerError,
    SpApiThrottledError,
)
from airflow_provider_spapi.spapi import catalog
from airflow_provider_spapi.spapi.client import (
    Authorization,
    SpApiClient,
    authorization_for,
    encode_query,
    next_page_token,
    unwrap,
)
from airflow_provider_spapi.spapi.expiry import credential_expiries, due_warnings
from airflow_provider_spapi.spapi.settings import SpApiSettings, parse_settings

REPO = Path(__file__).resolve().parent.parent
REFERENCE_CANDIDATES = (
    Path("/work/shared/reference"),
    Path(__file__).resolve().parents[2] / "shared" / "reference",
)

CLIENT_ID = "amzn1.application-oa2-client.0123456789abcdef"
CLIENT_SECRET = "amzn1.oa2-cs.v1.super-secret-value"
REFRESH_TOKEN = "Atzr|IwEBIrefresh-token-value"
ORDER_ID = "902-1845936-5435065"
UTC = timezone.utc


def reference_path(name: str) -> Path | None:
    """A file or folder of shared/reference, wherever this checkout finds it; None when absent."""
    for base in REFERENCE_CANDIDATES:
        if (base / name).exists():
            return base / name
    return None


def op(method: str, path: str) -> catalog.Operation:
    found = catalog.find_operation(method, path)
    assert found is not None, f"{method} {path} is not in the catalog"
    return found


class FakeClock:
    """A monotonic clock that only moves when told to; ``sleep`` advances it and records the wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# ---------------------------------------------------------------------------------------------
# catalog.py
# ---------------------------------------------------------------------------------------------


def test_find_operation_concrete_order_address_is_restricted_always() -> None:
    found = op("GET", f"/orders/v0/orders/{ORDER_ID}/address")
    assert found.name == "getOrderAddress"
    assert found.api == "ordersV0"
    assert found.path == "/orders/v0/orders/{orderId}/address"
    assert found.restricted == "always"
    assert found.key == "ordersV0.getOrderAddress"
    # The method is case-insensitive; the templated path finds the same operation.
    assert catalog.find_operation("get", f"/orders/v0/orders/{ORDER_ID}/address") is found
    assert catalog.find_operation("GET", "/orders/v0/orders/{orderId}/address") is found


def test_find_operation_prefers_the_most_literal_template() -> None:
    buyer_info = op("GET", "/orders/v0/orders/X/orderItems/buyerInfo")
    assert buyer_info.name == "getOrderItemsBuyerInfo"
    assert buyer_info.restricted == "always"
    items = op("GET", "/orders/v0/orders/X/orderItems")
    assert items.name == "getOrderItems"
    assert items.restricted == "data_elements"
    assert items.data_elements == ("buyerInfo",)
    order = op("GET", f"/orders/v0/orders/{ORDER_ID}")
    assert order.name == "getOrder"
    assert set(order.data_elements) == {"buyerInfo", "shippingAddress", "buyerTaxInformation"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing/v1/here"),
        ("PATCH", "/orders/v0/orders"),  # a known path with a method Amazon does not publish
        ("GET", f"/orders/v0/orders/{ORDER_ID}/address/extra"),
        ("GET", "/orders/v0/orders//address"),  # an empty segment is no order id
        ("GET", "/orders/v0/orders/"),
    ],
)
def test_find_operation_unknown_path_is_none(method: str, path: str) -> None:
    assert catalog.find_operation(method, path) is None


def test_every_operation_is_found_from_a_concrete_path_and_its_template() -> None:
    mismatches = []
    for operation in catalog.operations():
        concrete = re.sub(r"\{[^/{}]+\}", "Zq9-1", operation.path)
        for path in (concrete, operation.path):
            found = catalog.find_operation(operation.method, path)
            if found is not operation:
                mismatches.append((operation.method, path, operation.key, found and found.key))
    assert len(catalog.operations()) == 370
    assert mismatches == []


def test_operation_ids_repeated_across_apis_have_distinct_keys() -> None:
    by_name: dict[str, list[catalog.Operation]] = {}
    for operation in catalog.operations():
        by_name.setdefault(operation.name, []).append(operation)
    get_orders = by_name["getOrders"]
    assert len({o.api for o in get_orders}) >= 2, "Orders v0 and Vendor Direct Fulfillment both publish getOrders"
    assert "ordersV0.getOrders" in {o.key for o in get_orders}
    repeated = {name: ops for name, ops in by_name.items() if len({o.api for o in ops}) > 1}
    assert repeated, "the models repeat operation ids across APIs"
    for name, ops in repeated.items():
        keys_per_api = {o.api: o.key for o in ops}
        assert len(set(keys_per_api.values())) == len(keys_per_api), name


def test_operation_keys_are_unique_across_the_catalog() -> None:
    counts = Counter(operation.key for operation in catalog.operations())
    assert [key for key, n in counts.items() if n > 1] == []


@pytest.mark.parametrize(
    ("method", "path", "name", "rate", "burst"),
    [
        ("GET", "/orders/v0/orders", "getOrders", 0.0167, 20.0),
        ("GET", f"/orders/v0/orders/{ORDER_ID}", "getOrder", 0.5, 30.0),
        ("GET", f"/orders/v0/orders/{ORDER_ID}/orderItems", "getOrderItems", 0.5, 30.0),
        ("GET", f"/orders/v0/orders/{ORDER_ID}/address", "getOrderAddress", 0.5, 30.0),
        ("POST", "/reports/2021-06-30/reports", "createReport", 0.0167, 15.0),
        ("GET", "/reports/2021-06-30/reports/123", "getReport", 2.0, 15.0),
        ("GET", "/reports/2021-06-30/documents/doc-1", "getReportDocument", 0.0167, 15.0),
        ("POST", "/feeds/2021-06-30/documents", "createFeedDocument", 0.5, 15.0),
        ("POST", "/feeds/2021-06-30/feeds", "createFeed", 0.0083, 15.0),
        ("GET", "/feeds/2021-06-30/feeds/42", "getFeed", 2.0, 15.0),
        ("POST", "/tokens/2021-03-01/restrictedDataToken", "createRestrictedDataToken", 1.0, 10.0),
        ("GET", "/sellers/v1/marketplaceParticipations", "getMarketplaceParticipations", 0.016, 15.0),
        ("POST", "/applications/2023-11-30/clientSecret", "rotateApplicationClientSecret", 0.0167, 1.0),
        ("GET", "/orders/2026-01-01/orders", "searchOrders", 0.0056, 20.0),
    ],
)
def test_usage_plans_are_the_published_defaults(method: str, path: str, name: str, rate: float, burst: float) -> None:
    found = op(method, path)
    assert found.name == name
    assert (found.rate, found.burst) == (rate, burst)


def test_usage_plans_equal_the_reference_extraction() -> None:
    reference = reference_path("operations.json")
    if reference is None:
        pytest.skip("shared/reference/operations.json is not available in this checkout")
    rows = json.loads(reference.read_text(encoding="utf-8"))
    plans = {(o.method, o.path): (o.name, o.rate, o.burst) for o in catalog.operations()}
    assert len(rows) == len(plans)
    differences = [row for row in rows if plans.get((row["method"], row["path"])) != (row["operationId"], row["rate"], row["burst"])]
    assert differences == []
    spot = {row["operationId"]: (row["rate"], row["burst"]) for row in rows if row["model"] in {"ordersV0.json", "reports_2021-06-30.json"}}
    assert spot["getOrders"] == (0.0167, 20.0)
    assert spot["createReport"] == (0.0167, 15.0)
    assert spot["getReport"] == (2.0, 15.0)


def test_operations_json_is_what_build_catalog_derives_from_the_models() -> None:
    models = reference_path("sp-api-models")
    if models is None:
        pytest.skip("shared/reference/sp-api-models is not available in this checkout")
    spec = importlib.util.spec_from_file_location("spapi_build_catalog_under_test", REPO / "tools" / "build_catalog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    operations, cases = module.build(models)
    shipped = json.loads((REPO / "airflow_provider_spapi" / "spapi" / "data" / "operations.json").read_text(encoding="utf-8"))
    assert operations == shipped
    assert len(cases) > 0


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/notifications/v1/destinations", "sellingpartnerapi::notifications"),
        ("POST", "/notifications/v1/destinations", "sellingpartnerapi::notifications"),
        ("DELETE", "/notifications/v1/destinations/dest-1", "sellingpartnerapi::notifications"),
        ("GET", "/notifications/v1/subscriptions/ANY_OFFER_CHANGED/sub-1", "sellingpartnerapi::notifications"),
        ("POST", "/applications/2023-11-30/clientSecret", "sellingpartnerapi::client_credential:rotation"),
        # Seller-authorised, not grantless:
        ("GET", "/notifications/v1/subscriptions/ANY_OFFER_CHANGED", None),
        ("GET", "/orders/v0/orders", None),
    ],
)
def test_grantless_scopes(method: str, path: str, scope: str | None) -> None:
    assert op(method, path).grantless_scope == scope


def test_grantless_operation_names() -> None:
    assert op("GET", "/notifications/v1/destinations").name == "getDestinations"
    assert op("POST", "/applications/2023-11-30/clientSecret").name == "rotateApplicationClientSecret"


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/orders/v0/orders/{orderId}/address", f"/orders/v0/orders/{ORDER_ID}/address", True),
        ("/orders/v0/orders/{orderId}/address", "/orders/v0/orders/{orderId}/address", True),
        ("/orders/v0/orders", "/orders/v0/orders", True),
        ("/orders/v0/orders/{orderId}/address", "/orders/v0/orders/a/b/address", False),
        ("/orders/v0/orders/{orderId}/address", "/orders/v0/orders//address", False),
        ("/orders/v0/orders/{orderId}/address", f"/orders/v0/orders/{ORDER_ID}", False),
        ("/orders/v0/orders/{orderId}", f"/orders/v0/orders/{ORDER_ID}/address", False),
        ("/a.b/{x}", "/aXb/1", False),  # literal parts are escaped, not regex
        ("/{a}/{b}", "/1/2", True),
    ],
)
def test_path_matches(template: str, path: str, expected: bool) -> None:
    assert catalog.path_matches(template, path) is expected


def test_pagination_for() -> None:
    search = catalog.pagination_for(op("GET", "/orders/2026-01-01/orders"))
    assert search == catalog.Pagination(response_key="nextToken", param="paginationToken", alone=False)
    reports = catalog.pagination_for(op("GET", "/reports/2021-06-30/reports"))
    assert reports == catalog.Pagination(response_key="nextToken", param="nextToken", alone=True)
    feeds = catalog.pagination_for(op("GET", "/feeds/2021-06-30/feeds"))
    assert feeds is not None and feeds.alone is True
    # v0 default (NextToken in the payload, sent back with the same filters): no entry.
    assert catalog.pagination_for(op("GET", "/orders/v0/orders")) is None
    assert catalog.pagination_for(None) is None


def test_rdt_accepts_generic_path() -> None:
    assert catalog.rdt_accepts_generic_path(op("GET", "/reports/2021-06-30/documents/doc-1")) is False
    assert catalog.rdt_accepts_generic_path(op("GET", f"/orders/v0/orders/{ORDER_ID}/address")) is True
    assert catalog.rdt_accepts_generic_path(op("GET", "/orders/v0/orders")) is True


def test_regions_and_sandbox_hosts() -> None:
    regions = catalog.regions()
    assert set(regions) == {"na", "eu", "fe"}
    expected = {"na": "us-east-1", "eu": "eu-west-1", "fe": "us-west-2"}
    for code, region in regions.items():
        assert region.code == code
        assert region.aws_region == expected[code]
        assert region.endpoint == f"https://sellingpartnerapi-{code}.amazon.com"
        assert region.sandbox_endpoint == f"https://sandbox.sellingpartnerapi-{code}.amazon.com"
    assert catalog.lwa_endpoint() == "https://api.amazon.com/auth/o2/token"
    assert catalog.sandbox_usage_plan() == (5.0, 15.0)
    restricted_reports = catalog.restricted_report_types()
    assert "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING" in restricted_reports
    assert "GET_MERCHANT_LISTINGS_ALL_DATA" not in restricted_reports


# ---------------------------------------------------------------------------------------------
# settings.py
# ---------------------------------------------------------------------------------------------


def settings_for(**extra: Any) -> SpApiSettings:
    return parse_settings(CLIENT_ID, CLIENT_SECRET, {"refresh_token": REFRESH_TOKEN, **extra})


def test_parse_settings_defaults() -> None:
    settings = parse_settings(f"  {CLIENT_ID} ", CLIENT_SECRET, {"refresh_token": REFRESH_TOKEN})
    assert settings.client_id == CLIENT_ID
    assert settings.client_secret == CLIENT_SECRET
    assert settings.refresh_token == REFRESH_TOKEN
    assert settings.region == "na"
    assert settings.sandbox is False
    assert settings.endpoint == ""
    assert settings.lwa_endpoint == "https://api.amazon.com/auth/o2/token"
    assert settings.marketplace_ids == ()
    assert settings.app_type == "public"
    assert settings.refresh_token_issued_at is None
    assert settings.client_secret_expires_at is None
    assert settings.expiry_warning_days == 30
    assert settings.retry == RetrySettings()
    assert settings.base_url == "https://sellingpartnerapi-na.amazon.com"


def test_parse_settings_grantless_only_and_empty_extra() -> None:
    extras: tuple[str | dict[str, Any] | None, ...] = (None, "", {}, "{}")
    for extra in extras:
        settings = parse_settings(CLIENT_ID, CLIENT_SECRET, extra)
        assert settings.refresh_token is None
        assert settings.region == "na"


@pytest.mark.parametrize(
    ("extra", "base_url"),
    [
        ({"region": "eu"}, "https://sellingpartnerapi-eu.amazon.com"),
        ({"region": "FE"}, "https://sellingpartnerapi-fe.amazon.com"),
        ({"sandbox": True}, "https://sandbox.sellingpartnerapi-na.amazon.com"),
        ({"region": "eu", "sandbox": "true"}, "https://sandbox.sellingpartnerapi-eu.amazon.com"),
        ({"region": "fe", "sandbox": "false"}, "https://sellingpartnerapi-fe.amazon.com"),
        ({"region": "eu", "sandbox": True, "endpoint": "http://127.0.0.1:8765/"}, "http://127.0.0.1:8765"),
    ],
)
def test_base_url_per_region_sandbox_and_endpoint(extra: dict[str, Any], base_url: str) -> None:
    assert settings_for(**extra).base_url == base_url


def test_parse_settings_full_extra_as_json_string() -> None:
    extra = json.dumps(
        {
            "refresh_token": REFRESH_TOKEN,
            "region": "eu",
            "lwa_endpoint": "http://127.0.0.1:8765/auth/o2/token",
            "marketplace_ids": "A1PA6795UKMFR9, A13V1IB3VIYZZH",
            "app_type": "private",
            "refresh_token_issued_at": "2026-03-31",
            "client_secret_expires_at": "2026-09-30T09:00:00+02:00",
            "expiry_warning_days": "45",
            "max_attempts": "3",
            "max_retry_seconds": 12,
            "connect_timeout": 2.5,
            "read_timeout": "20",
        }
    )
    settings = parse_settings(CLIENT_ID, CLIENT_SECRET, extra)
    assert settings.region == "eu"
    assert settings.lwa_endpoint == "http://127.0.0.1:8765/auth/o2/token"
    assert settings.marketplace_ids == ("A1PA6795UKMFR9", "A13V1IB3VIYZZH")
    assert settings.app_type == "private"
    assert settings.refresh_token_issued_at == datetime(2026, 3, 31, tzinfo=UTC)
    assert settings.client_secret_expires_at == datetime(2026, 9, 30, 7, 0, tzinfo=UTC)
    assert settings.expiry_warning_days == 45
    assert settings.retry == RetrySettings(max_attempts=3, max_retry_seconds=12.0, connect_timeout=2.5, read_timeout=20.0)


@pytest.mark.parametrize("value", [["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"], "ATVPDKIKX0DER,A2EUQ1WTGCTBG2", " ATVPDKIKX0DER , A2EUQ1WTGCTBG2 "])
def test_marketplace_ids_list_or_comma_string(value: Any) -> None:
    assert settings_for(marketplace_ids=value).marketplace_ids == ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2")


def test_airflow2_form_prefix_is_accepted() -> None:
    settings = parse_settings(
        CLIENT_ID,
        CLIENT_SECRET,
        {"extra__spapi__refresh_token": REFRESH_TOKEN, "extra__spapi__region": "fe", "extra__spapi__sandbox": True},
    )
    assert settings.refresh_token == REFRESH_TOKEN
    assert settings.base_url == "https://sandbox.sellingpartnerapi-fe.amazon.com"


def test_blank_values_are_ignored() -> None:
    settings = parse_settings(
        CLIENT_ID,
        CLIENT_SECRET,
        {
            "refresh_token": None,
            "region": "",
            "endpoint": "",
            "lwa_endpoint": None,
            "marketplace_ids": "",
            "refresh_token_issued_at": "",
            "extra__spapi__sandbox": "",
            "expiry_warning_days": None,
        },
    )
    assert settings.refresh_token is None
    assert settings.region == "na"
    assert settings.sandbox is False
    assert settings.endpoint == ""
    assert settings.lwa_endpoint == "https://api.amazon.com/auth/o2/token"
    assert settings.marketplace_ids == ()
    assert settings.refresh_token_issued_at is None
    assert settings.expiry_warning_days == 30


BAD_SETTINGS = [
    # (id, login, password, extra, field named in the error)
    ("missing-login", None, CLIENT_SECRET, {}, "login"),
    ("blank-login", "   ", CLIENT_SECRET, {}, "login"),
    ("missing-password", CLIENT_ID, None, {}, "password"),
    ("blank-password", CLIENT_ID, "", {}, "password"),
    ("access-token-as-refresh-token", CLIENT_ID, CLIENT_SECRET, {"refresh_token": "Atza|IwEBaccess-token-leak"}, "refresh_token"),
    ("region-us", CLIENT_ID, CLIENT_SECRET, {"region": "us"}, "region"),
    ("sandbox-maybe", CLIENT_ID, CLIENT_SECRET, {"sandbox": "maybe"}, "sandbox"),
    ("endpoint-not-a-url", CLIENT_ID, CLIENT_SECRET, {"endpoint": "not-a-url"}, "endpoint"),
    ("lwa-endpoint-ftp", CLIENT_ID, CLIENT_SECRET, {"lwa_endpoint": "ftp://x"}, "lwa_endpoint"),
    ("marketplace-ids-ints", CLIENT_ID, CLIENT_SECRET, {"marketplace_ids": [1, 2]}, "marketplace_ids"),
    ("marketplace-ids-empty-item", CLIENT_ID, CLIENT_SECRET, {"marketplace_ids": "A,,B"}, "marketplace_ids"),
    ("app-type-internal", CLIENT_ID, CLIENT_SECRET, {"app_type": "internal"}, "app_type"),
    ("issued-at-dd-mm-yyyy", CLIENT_ID, CLIENT_SECRET, {"refresh_token_issued_at": "31/03/2026"}, "refresh_token_issued_at"),
    ("issued-at-month-13", CLIENT_ID, CLIENT_SECRET, {"refresh_token_issued_at": "2026-13-01"}, "refresh_token_issued_at"),
    ("secret-expiry-int", CLIENT_ID, CLIENT_SECRET, {"client_secret_expires_at": 12345}, "client_secret_expires_at"),
    ("warning-days-negative", CLIENT_ID, CLIENT_SECRET, {"expiry_warning_days": -1}, "expiry_warning_days"),
    ("warning-days-word", CLIENT_ID, CLIENT_SECRET, {"expiry_warning_days": "ten"}, "expiry_warning_days"),
    ("max-attempts-zero", CLIENT_ID, CLIENT_SECRET, {"max_attempts": 0}, "max_attempts"),
    ("read-timeout-zero", CLIENT_ID, CLIENT_SECRET, {"read_timeout": 0}, "read_timeout"),
    ("unknown-key", CLIENT_ID, CLIENT_SECRET, {"refreshtoken": REFRESH_TOKEN}, "refreshtoken"),
    ("extra-not-json", CLIENT_ID, CLIENT_SECRET, "{not json", "extra"),
    ("extra-json-list", CLIENT_ID, CLIENT_SECRET, "[1]", "extra"),
]


@pytest.mark.parametrize(
    ("login", "password", "extra", "field_name"), [case[1:] for case in BAD_SETTINGS], ids=[c[0] for c in BAD_SETTINGS]
)
def test_bad_settings_raise_a_config_error_naming_the_field(login: Any, password: Any, extra: Any, field_name: str) -> None:
    with pytest.raises(SpApiConfigError) as caught:
        parse_settings(login, password, extra)
    message = str(caught.value)
    assert f"'{field_name}'" in message
    assert isinstance(caught.value, SpApiError)
    assert isinstance(caught.value, ValueError)
    # Errors never echo a secret or token.
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, "Atza|IwEBaccess-token-leak"):
        assert secret not in message


def test_time_only_string_is_not_a_date() -> None:
    try:
        settings = settings_for(refresh_token_issued_at="09:00")
    except SpApiConfigError as error:
        assert "'refresh_token_issued_at'" in str(error)
    else:
        raise AssertionError(f"'09:00' was accepted as {settings.refresh_token_issued_at!r}")


def test_settings_repr_hides_secrets() -> None:
    settings = settings_for(region="eu")
    for text in (repr(settings), str(settings)):
        assert CLIENT_SECRET not in text
        assert REFRESH_TOKEN not in text
        assert "Atzr|" not in text
        assert CLIENT_ID in text  # the client id is not a secret and helps debugging


# ---------------------------------------------------------------------------------------------
# tokens.py
# ---------------------------------------------------------------------------------------------


def test_token_cache_is_single_flight_across_threads() -> None:
    cache = TokenCache()
    mints = 0
    lock = threading.Lock()

    def mint() -> Token:
        nonlocal mints
        with lock:
            mints += 1
        time.sleep(0.05)
        return new_token(f"Atza|token-{mints}", 3600, "access")

    barrier = threading.Barrier(8)
    results: list[tuple[Token, bool]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=5)
            local = [cache.get("seller-a", mint) for _ in range(125)]
            with lock:
                results.extend(local)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert len(results) == 1000
    assert mints == 1
    assert {token.value for token, _ in results} == {"Atza|token-1"}
    assert sum(minted for _, minted in results) == 1


def test_token_cache_mints_different_keys_in_parallel() -> None:
    cache = TokenCache()
    # Each mint waits until the other one is running too: serialised mints would break the barrier.
    both_minting = threading.Barrier(2, timeout=3)
    minted: list[str] = []
    errors: list[BaseException] = []

    def mint_for(key: str) -> Callable[[], Token]:
        def mint() -> Token:
            both_minting.wait()
            minted.append(key)
            return new_token(f"Atza|{key}", 3600, "access")

        return mint

    def worker(key: str) -> None:
        try:
            token, was_minted = cache.get(key, mint_for(key))
            assert token.value == f"Atza|{key}" and was_minted
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(key,)) for key in ("seller-a", "seller-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert sorted(minted) == ["seller-a", "seller-b"]
    assert len(cache) == 2


def test_token_past_renew_at_is_minted_again() -> None:
    clock = FakeClock()
    cache = TokenCache(clock=clock)
    values = iter(["Atza|first", "Atza|second"])

    def mint() -> Token:
        return new_token(next(values), 3600, "access", clock)

    first, minted = cache.get("k", mint)
    assert minted and first.value == "Atza|first"
    assert first.renew_at == pytest.approx(1000.0 + 3600 - 300)
    clock.advance(3600 - 300 - 1)  # one second before renewal: still cached
    assert cache.get("k", mint) == (first, False)
    clock.advance(1)  # at renew_at: due
    second, minted = cache.get("k", mint)
    assert minted and second.value == "Atza|second"
    assert cache.get("k", mint) == (second, False)


def test_invalidate_only_drops_the_same_token() -> None:
    cache = TokenCache()
    current, _ = cache.get("k", lambda: new_token("Atza|current", 3600, "access"))
    stale = new_token("Atza|stale", 3600, "access")
    cache.invalidate("k", stale)  # another thread's stale token: the fresh one survives
    assert cache.get("k", lambda: pytest.fail("must not mint")) == (current, False)
    cache.invalidate("k", current)
    replacement, minted = cache.get("k", lambda: new_token("Atza|replacement", 3600, "access"))
    assert minted and replacement.value == "Atza|replacement"
    cache.invalidate("k")  # no token given: forget whatever is there
    assert len(cache) == 0


def test_refresh_margin() -> None:
    assert refresh_margin(3600) == 300.0  # capped at five minutes
    assert refresh_margin(600) == 60.0  # a tenth of the lifetime
    assert refresh_margin(10) == 1.0
    token = new_token("v", 600, "restricted data", clock=lambda: 50.0)
    assert token.renew_at == 50.0 + 600 - 60


def test_token_repr_and_str_hide_the_value() -> None:
    token = new_token("Atza|very-secret-access-token", 3600, "access", clock=lambda: 0.0)
    assert "very-secret" not in repr(token)
    assert "very-secret" not in str(token)
    assert str(token) == "<access token>"
    assert "renew_at" in repr(token)


def test_fingerprint_is_stable_distinct_and_opaque() -> None:
    parts = (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    assert fingerprint(*parts) == fingerprint(*parts)
    assert re.fullmatch(r"[0-9a-f]{32}", fingerprint(*parts))
    assert fingerprint(*parts) != fingerprint(CLIENT_ID, CLIENT_SECRET, "Atzr|other")
    assert fingerprint("ab", "c") != fingerprint("a", "bc")  # parts are separated, not concatenated
    for part in parts:
        assert part not in fingerprint(*parts)
        assert fingerprint(part) not in part


# ---------------------------------------------------------------------------------------------
# ratelimit.py
# ---------------------------------------------------------------------------------------------


def test_token_bucket_starts_full_then_reports_the_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire() == pytest.approx(0.5)
    assert bucket.try_acquire() == pytest.approx(0.5)  # try_acquire takes nothing when it has to wait
    clock.advance(0.25)
    assert bucket.try_acquire() == pytest.approx(0.25)
    clock.advance(0.25)
    assert bucket.try_acquire() == 0.0
    clock.advance(100)  # refills, but never above the burst
    assert [bucket.try_acquire() for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.5)]


def test_token_bucket_reserve_queues_callers() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=FakeClock())
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    waits = [bucket.reserve() for _ in range(4)]
    assert waits == pytest.approx([n / 2.0 for n in range(1, 5)])


def test_token_bucket_drain_and_set_plan() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=clock)
    bucket.drain()
    assert bucket.try_acquire() == pytest.approx(0.5)
    bucket.set_plan(4.0)
    assert bucket.rate == 4.0 and bucket.burst == 3.0
    assert bucket.try_acquire() == pytest.approx(0.25)
    clock.advance(10)
    bucket.set_plan(4.0, burst=1.0)  # shrinking the bucket caps the tokens in it
    assert bucket.burst == 1.0
    assert [bucket.try_acquire(), bucket.try_acquire()] == [0.0, pytest.approx(0.25)]
    bucket.set_plan(0.0)
    assert bucket.rate == MIN_RATE
    bucket.set_plan(1e9)
    assert bucket.rate == MAX_RATE
    with pytest.raises(ValueError):
        TokenBucket(rate=0.0, burst=1.0)


def make_limiter() -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(clock=clock, sleep=clock.sleep), clock


def test_rate_limiter_waits_according_to_the_plan() -> None:
    limiter, clock = make_limiter()
    waits = [limiter.acquire("seller", "ordersV0.getOrder", 0.5, 3.0) for _ in range(5)]
    # The client's bucket runs CLIENT_LAG behind Amazon's: the last token of the burst comes that much later.
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([CLIENT_LAG, 2.0, 2.0])
    assert clock.sleeps == pytest.approx([CLIENT_LAG, 2.0, 2.0])
    assert clock.now == pytest.approx(1004.0 + CLIENT_LAG)
    assert limiter.current_rate("seller", "ordersV0.getOrder") == 0.5


def test_rate_limit_header_raises_the_rate() -> None:
    limiter, _ = make_limiter()
    for _ in range(19):
        assert limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0) == 0.0
    assert limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0) == pytest.approx(CLIENT_LAG)
    limiter.observe_limit_header("seller", "ordersV0.getOrders", "5")
    assert limiter.current_rate("seller", "ordersV0.getOrders") == 5.0
    assert limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0) == pytest.approx(0.2, abs=1e-3)


@pytest.mark.parametrize("header", [None, "", "abc", "0", "-1", "1/s"])
def test_garbage_or_absent_rate_limit_header_is_ignored(header: str | None) -> None:
    limiter, _ = make_limiter()
    limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0)
    limiter.observe_limit_header("seller", "ordersV0.getOrders", header)
    assert limiter.current_rate("seller", "ordersV0.getOrders") == 0.0167


def test_nan_rate_limit_header_is_ignored() -> None:
    limiter, _ = make_limiter()
    limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0)
    limiter.observe_limit_header("seller", "ordersV0.getOrders", "nan")
    assert limiter.current_rate("seller", "ordersV0.getOrders") == 0.0167


def test_a_429_lowers_the_rate_to_the_share_that_got_through_once_per_interval_then_success_climbs_back() -> None:
    limiter, clock = make_limiter()
    for _ in range(7):
        limiter.acquire("seller", "reports.getReport", 2.0, 15.0)
        limiter.record_success("seller", "reports.getReport")
    # 7 of the last 8 calls passed: the rate aims at HEADROOM x that share, but one 429 lowers it by DECREASE_MAX at least.
    assert limiter.record_throttled("seller", "reports.getReport") == pytest.approx(2.0 * DECREASE_MAX)
    # A second 429 within one interval is the same overloaded moment: no second decrease.
    clock.advance(0.1)
    assert limiter.record_throttled("seller", "reports.getReport") == pytest.approx(1.4)
    # The bucket was emptied and holds one token from now on: each call waits a full interval, no burst.
    assert limiter.acquire("seller", "reports.getReport", 2.0, 15.0) == pytest.approx(1 / 1.4)
    assert limiter.acquire("seller", "reports.getReport", 2.0, 15.0) == pytest.approx(1 / 1.4)
    # Later, a 429 after nothing but 429s (none of 2 passed, counted as 1 of 3): the share is small, but one step
    # never goes below DECREASE_MIN.
    assert limiter.record_throttled("seller", "reports.getReport") == pytest.approx(1.4 * max(DECREASE_MIN, HEADROOM / 3))
    rates: list[float] = []
    for _ in range(12):
        limiter.record_success("seller", "reports.getReport")
        rates.append(limiter.current_rate("seller", "reports.getReport") or 0.0)
    assert rates == sorted(rates) and rates[0] > 0.7  # each success climbs back...
    assert rates[-1] == 2.0 and max(rates) <= 2.0  # ...to the ceiling, never above it


def test_a_429_before_any_call_got_through_keeps_the_rate_and_retries_within_seconds() -> None:
    limiter, clock = make_limiter()
    limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0)
    # The published plan is one call a minute, but nothing has confirmed it: the rate stays, the retry comes soon.
    assert limiter.record_throttled("seller", "ordersV0.getOrders") == 0.0167
    assert limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0) == pytest.approx(FIRST_CONTACT_PROBE)
    limiter.record_throttled("seller", "ordersV0.getOrders")
    assert limiter.acquire("seller", "ordersV0.getOrders", 0.0167, 20.0) == pytest.approx(FIRST_CONTACT_PROBE * PROBE_GROWTH)
    limiter.observe_limit_header("seller", "ordersV0.getOrders", "4")
    limiter.record_success("seller", "ordersV0.getOrders")
    assert limiter.current_rate("seller", "ordersV0.getOrders") == 4.0
    clock.advance(10)
    limiter.record_throttled("seller", "ordersV0.getOrders")  # now a call got through: an ordinary decrease
    passed = (1 + 1) / (4 + 1)  # 1 of the last 4 calls passed, counted as if one more had
    assert limiter.current_rate("seller", "ordersV0.getOrders") == pytest.approx(4.0 * max(DECREASE_MIN, passed * HEADROOM))


def test_header_ceiling_survives_throttling() -> None:
    limiter, _ = make_limiter()
    limiter.acquire("seller", "op", 0.5, 10.0)
    limiter.observe_limit_header("seller", "op", "5")
    limiter.record_success("seller", "op")
    assert limiter.current_rate("seller", "op") == 5.0
    limiter.record_throttled("seller", "op")
    limiter.observe_limit_header("seller", "op", "5")  # the same hint again does not undo the decrease
    assert limiter.current_rate("seller", "op") == pytest.approx(5.0 * DECREASE_MAX)
    for _ in range(20):
        limiter.record_success("seller", "op")
    assert limiter.current_rate("seller", "op") == 5.0


def test_unknown_plan_starts_at_the_default_and_probes_upward() -> None:
    limiter, _ = make_limiter()
    assert limiter.acquire("seller", "GET /unknown/v1/things", None, None) == 0.0
    assert limiter.current_rate("seller", "GET /unknown/v1/things") == UNKNOWN_PLAN_RATE
    limiter.record_success("seller", "GET /unknown/v1/things")
    limiter.record_success("seller", "GET /unknown/v1/things")
    probed = limiter.current_rate("seller", "GET /unknown/v1/things") or 0.0
    assert probed > UNKNOWN_PLAN_RATE * 1.2  # no ceiling: successes keep probing upward
    limiter.record_throttled("seller", "GET /unknown/v1/things")
    assert limiter.current_rate("seller", "GET /unknown/v1/things") == pytest.approx(probed * DECREASE_MAX)


def test_principals_do_not_share_buckets() -> None:
    limiter, clock = make_limiter()
    for _ in range(2):
        limiter.acquire("seller-a", "ordersV0.getOrder", 0.5, 3.0)
    assert limiter.acquire("seller-b", "ordersV0.getOrder", 0.5, 3.0) == 0.0
    assert limiter.acquire("seller-a", "ordersV0.getOrderItems", 0.5, 3.0) == 0.0
    assert clock.sleeps == []
    limiter.record_success("seller-a", "ordersV0.getOrder")
    limiter.record_throttled("seller-a", "ordersV0.getOrder")
    assert limiter.current_rate("seller-a", "ordersV0.getOrder") == pytest.approx(0.5 * DECREASE_MAX)
    assert limiter.current_rate("seller-b", "ordersV0.getOrder") == 0.5


# ---------------------------------------------------------------------------------------------
# retry.py
# ---------------------------------------------------------------------------------------------


def test_parse_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 27.0 <= (parse_retry_after(in_30s) or 0.0) <= 30.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


@pytest.mark.parametrize("value", ["soon", "tomorrow morning"])
def test_parse_retry_after_garbage_is_none(value: str) -> None:
    assert parse_retry_after(value) is None


@pytest.fixture
def fake_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make run_with_retries sleep on a list instead of the clock (it has no sleep argument of its own)."""
    slept: list[float] = []
    original = retry.retrying

    def retrying_with_fake_sleep(*args: Any, **kwargs: Any) -> Any:
        kwargs["sleep"] = slept.append
        return original(*args, **kwargs)

    monkeypatch.setattr(retry, "retrying", retrying_with_fake_sleep)
    return slept


class Script:
    """An attempt that raises the given exceptions in turn, then returns ``result``."""

    def __init__(self, *failures: BaseException, result: Any = "ok") -> None:
        self.failures = list(failures)
        self.result = result
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.result


QUIET = logging.getLogger("tests.spapi.retry")


def test_run_with_retries_retries_until_success(fake_sleep: list[float]) -> None:
    attempt = Script(Retryable("HTTP 503", status=503), Retryable("ConnectionError talking to SP-API"), result={"payload": 1})
    counted: list[Retryable] = []
    result = run_with_retries(
        attempt, RetrySettings(max_attempts=5), operation="ordersV0.getOrders", logger=QUIET, errors=SPAPI_ERRORS, on_retry=counted.append
    )
    assert result == {"payload": 1}
    assert attempt.calls == 3
    assert len(fake_sleep) == 2
    assert all(0.0 <= wait <= 30.0 for wait in fake_sleep)
    assert [error.reason for error in counted] == ["HTTP 503", "ConnectionError talking to SP-API"]


def test_run_with_retries_gives_up_with_a_server_error(fake_sleep: list[float]) -> None:
    attempt = Script(*[Retryable("HTTP 500", status=500) for _ in range(10)])
    with pytest.raises(SpApiServerError) as caught:
        run_with_retries(attempt, RetrySettings(max_attempts=3), operation="reports.getReport", logger=QUIET, errors=SPAPI_ERRORS)
    assert attempt.calls == 3
    assert len(fake_sleep) == 2
    assert caught.value.status == 500
    assert caught.value.operation == "reports.getReport"
    assert "3 attempts" in str(caught.value)
    assert not isinstance(caught.value, SpApiThrottledError)


def test_run_with_retries_throttled_to_the_end(fake_sleep: list[float]) -> None:
    attempt = Script(
        Retryable("HTTP 503", status=503), Retryable("throttled", status=429, paced=True), Retryable("throttled", status=429, paced=True)
    )
    with pytest.raises(SpApiThrottledError) as caught:
        run_with_retries(attempt, RetrySettings(max_attempts=3), operation="ordersV0.getOrders", logger=QUIET, errors=SPAPI_ERRORS)
    assert attempt.calls == 3
    assert caught.value.status == 429
    assert caught.value.code == "QuotaExceeded"
    assert caught.value.operation == "ordersV0.getOrders"
    assert fake_sleep[1] == 0.0  # after a 429 the rate limiter does the waiting, not a backoff


def test_run_with_retries_a_paced_429_adds_no_backoff(fake_sleep: list[float]) -> None:
    attempt = Script(Retryable("throttled", status=429, paced=True), Retryable("throttled", status=429, paced=True))
    assert run_with_retries(attempt, RetrySettings(max_attempts=5), operation="op", logger=QUIET, errors=SPAPI_ERRORS) == "ok"
    assert fake_sleep == [0.0, 0.0]


def test_run_with_retries_an_unpaced_429_backs_off(fake_sleep: list[float]) -> None:
    # LWA's 429 has no rate limiter behind it: the retry must wait.
    attempt = Script(Retryable("LWA answered HTTP 429", status=429), Retryable("LWA answered HTTP 429", status=429))
    assert run_with_retries(attempt, RetrySettings(max_attempts=5), operation="LWA", logger=QUIET, errors=SPAPI_ERRORS) == "ok"
    assert len(fake_sleep) == 2
    assert all(0.0 <= wait <= 30.0 for wait in fake_sleep)
    assert fake_sleep != [0.0, 0.0]


def test_run_with_retries_non_retryable_propagates_at_once(fake_sleep: list[float]) -> None:
    attempt = Script(SpApiClientError("bad request", status=400), KeyError("never reached"))
    with pytest.raises(SpApiClientError):
        run_with_retries(attempt, RetrySettings(max_attempts=5), operation="op", logger=QUIET, errors=SPAPI_ERRORS)
    assert attempt.calls == 1
    assert fake_sleep == []


def test_run_with_retries_honours_retry_after(fake_sleep: list[float]) -> None:
    attempt = Script(Retryable("HTTP 503", status=503, retry_after=7.0), Retryable("throttled", status=429, retry_after=3.0))
    assert run_with_retries(attempt, RetrySettings(max_attempts=5), operation="op", logger=QUIET, errors=SPAPI_ERRORS) == "ok"
    assert fake_sleep == [7.0, 3.0]


def test_run_with_retries_logs_the_operation_at_info(fake_sleep: list[float], caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.spapi.retry.logged")
    attempt = Script(Retryable("HTTP 503", status=503), Retryable("HTTP 502", status=502))
    with caplog.at_level(logging.INFO, logger=logger.name):
        run_with_retries(attempt, RetrySettings(max_attempts=4), operation="ordersV0.getOrderAddress", logger=logger, errors=SPAPI_ERRORS)
    records = [record for record in caplog.records if record.name == logger.name]
    assert len(records) == 2
    assert all(record.levelno == logging.INFO for record in records)
    messages = [record.getMessage() for record in records]
    assert all("ordersV0.getOrderAddress" in message for message in messages)
    assert "HTTP 503" in messages[0] and "retry 1 of 3" in messages[0]
    assert "HTTP 502" in messages[1] and "retry 2 of 3" in messages[1]


# ---------------------------------------------------------------------------------------------
# client.py pure helpers
# ---------------------------------------------------------------------------------------------


def test_authorization_grantless_by_catalog_scope() -> None:
    path = "/notifications/v1/destinations"
    assert authorization_for("GET", path, op("GET", path)) == Authorization(kind="grantless", scope="sellingpartnerapi::notifications")
    rotate = "/applications/2023-11-30/clientSecret"
    assert authorization_for("POST", rotate, op("POST", rotate)).scope == "sellingpartnerapi::client_credential:rotation"
    # An explicit scope wins, also for a path the catalog does not know.
    assert authorization_for("GET", "/x/y", None, grantless_scope="sellingpartnerapi::x") == Authorization(
        kind="grantless", scope="sellingpartnerapi::x"
    )
    with pytest.raises(SpApiConfigError, match="grantless_scope"):
        authorization_for("GET", path, op("GET", path), restricted=True)


def test_authorization_rdt_uses_the_generic_path_where_allowed() -> None:
    path = f"/orders/v0/orders/{ORDER_ID}/address"
    assert authorization_for("GET", path, op("GET", path)) == Authorization(kind="rdt", rdt_path="/orders/v0/orders/{orderId}/address")
    buyer = f"/orders/v0/orders/{ORDER_ID}/orderItems/buyerInfo"
    assert authorization_for("GET", buyer, op("GET", buyer)).rdt_path == "/orders/v0/orders/{orderId}/orderItems/buyerInfo"
    # restricted=False opts out of the RDT for an always-restricted operation.
    assert authorization_for("GET", path, op("GET", path), restricted=False) == Authorization(kind="lwa")


def test_authorization_report_document_keeps_the_specific_path() -> None:
    path = "/reports/2021-06-30/documents/amzn1.spdoc.1.4.na.abc"
    operation = op("GET", path)
    assert authorization_for("GET", path, operation) == Authorization(kind="lwa")  # restricted only for some report types
    assert authorization_for("GET", path, operation, restricted=True) == Authorization(kind="rdt", rdt_path=path)


def test_authorization_data_elements_sorted_and_validated() -> None:
    orders = op("GET", "/orders/v0/orders")
    auth = authorization_for("GET", "/orders/v0/orders", orders, data_elements=["shippingAddress", "buyerInfo", "buyerInfo"])
    assert auth == Authorization(kind="rdt", rdt_path="/orders/v0/orders", data_elements=("buyerInfo", "shippingAddress"))
    assert authorization_for("GET", "/orders/v0/orders", orders, data_elements=["buyerInfo"]).data_elements == ("buyerInfo",)
    assert authorization_for("GET", "/orders/v0/orders", orders) == Authorization(kind="lwa")

    items_path = f"/orders/v0/orders/{ORDER_ID}/orderItems"
    items = op("GET", items_path)
    assert authorization_for("GET", items_path, items, data_elements=["buyerInfo"]) == Authorization(
        kind="rdt", rdt_path="/orders/v0/orders/{orderId}/orderItems", data_elements=("buyerInfo",)
    )
    with pytest.raises(SpApiConfigError, match="shippingAddress") as caught:
        authorization_for("GET", items_path, items, data_elements=["shippingAddress"])
    assert "'data_elements'" in str(caught.value)


@pytest.mark.parametrize("data_elements", [["buyerInfo"], ["anything"], "buyerInfo", [1]])
def test_authorization_data_elements_on_a_non_restricted_operation(data_elements: Any) -> None:
    path = "/sellers/v1/marketplaceParticipations"
    with pytest.raises(SpApiConfigError) as caught:
        authorization_for("GET", path, op("GET", path), data_elements=data_elements)
    assert "'data_elements'" in str(caught.value)


def test_authorization_restricted_false_with_data_elements_raises() -> None:
    with pytest.raises(SpApiConfigError) as caught:
        authorization_for("GET", "/orders/v0/orders", op("GET", "/orders/v0/orders"), data_elements=["buyerInfo"], restricted=False)
    assert "'restricted'" in str(caught.value)


def test_authorization_plain_lwa_and_unknown_paths() -> None:
    path = "/sellers/v1/marketplaceParticipations"
    assert authorization_for("GET", path, op("GET", path)) == Authorization(kind="lwa")
    assert authorization_for("GET", "/unknown/v1/x", None) == Authorization(kind="lwa")
    assert authorization_for("GET", "/unknown/v1/x", None, restricted=True) == Authorization(kind="rdt", rdt_path="/unknown/v1/x")


def test_encode_query() -> None:
    encoded = encode_query(
        {
            "MarketplaceIds": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
            "OrderStatuses": ("Shipped",),
            "CreatedAfter": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "CreatedBefore": datetime(2026, 1, 2, 5, 4, 5, 999999, tzinfo=timezone(timedelta(hours=2))),
            "LastUpdatedAfter": datetime(2026, 1, 2, 3, 4, 5),  # naive is taken as UTC
            "Paris": pendulum.datetime(2026, 1, 2, 4, 4, 5, tz="Europe/Paris"),
            "Day": date(2026, 1, 2),
            "IsISPU": True,
            "EasyShipShipmentStatuses": False,
            "MaxResultsPerPage": 100,
            "NextToken": None,
        }
    )
    assert encoded == {
        "MarketplaceIds": "ATVPDKIKX0DER,A2EUQ1WTGCTBG2",
        "OrderStatuses": "Shipped",
        "CreatedAfter": "2026-01-02T03:04:05Z",
        "CreatedBefore": "2026-01-02T03:04:05Z",
        "LastUpdatedAfter": "2026-01-02T03:04:05Z",
        "Paris": "2026-01-02T03:04:05Z",
        "Day": "2026-01-02",
        "IsISPU": "true",
        "EasyShipShipmentStatuses": "false",
        "MaxResultsPerPage": "100",
    }
    assert encode_query(None) == {}


def test_unwrap() -> None:
    assert unwrap({"payload": {"Orders": []}}) == {"Orders": []}
    assert unwrap({"payload": [1, 2]}) == [1, 2]
    assert unwrap({"reportId": "1"}) == {"reportId": "1"}
    assert unwrap({}) == {}


def test_next_page_token() -> None:
    assert next_page_token({"nextToken": "top"}, "nextToken") == "top"
    assert next_page_token({"payload": {"NextToken": "in-payload", "Orders": []}}, "NextToken") == "in-payload"
    assert next_page_token({"orders": [], "pagination": {"nextToken": "in-pagination"}}, "nextToken") == "in-pagination"
    assert next_page_token({"payload": {"Orders": []}}, "NextToken") is None
    assert next_page_token({"payload": {"NextToken": ""}}, "NextToken") is None
    assert next_page_token({"payload": [1, 2]}, "NextToken") is None
    assert next_page_token({"NextToken": "wrong-key"}, "nextToken") is None


def test_client_request_rejects_a_path_without_leading_slash_before_any_network() -> None:
    settings = parse_settings(CLIENT_ID, CLIENT_SECRET, {"refresh_token": REFRESH_TOKEN, "endpoint": "http://127.0.0.1:9"})
    cache = TokenCache()
    client = SpApiClient(settings, token_cache=cache, rate_limiter=RateLimiter())
    assert CLIENT_SECRET not in repr(client)
    with pytest.raises(SpApiConfigError) as caught:
        client.request("GET", "orders/v0/orders")
    assert "'path'" in str(caught.value)
    assert client.stats.calls == 0
    assert client.stats.tokens_minted == 0
    assert len(cache) == 0


# ---------------------------------------------------------------------------------------------
# expiry.py
# ---------------------------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def expiry_settings(**extra: Any) -> SpApiSettings:
    return parse_settings(CLIENT_ID, CLIENT_SECRET, {"refresh_token": REFRESH_TOKEN, **extra})


def issued_days_ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def test_public_refresh_token_warns_25_days_ahead() -> None:
    warnings = due_warnings(expiry_settings(refresh_token_issued_at=issued_days_ago(340)), now=NOW)
    assert len(warnings) == 1
    (status,) = warnings
    assert status.credential == "refresh_token"
    assert status.days_left == 25
    assert not status.expired
    assert status.expires_at == NOW + timedelta(days=25)
    message = status.message()
    assert "refresh token" in message
    assert "2026-06-26" in message
    assert "25 days" in message


def test_public_refresh_token_expired() -> None:
    (status,) = due_warnings(expiry_settings(refresh_token_issued_at=issued_days_ago(370)), now=NOW)
    assert status.days_left < 0
    assert status.days_left == -5
    assert status.expired
    message = status.message()
    assert "expired" in message
    assert "re-authorise" in message
    assert "refresh token" in message


def test_private_app_refresh_token_never_warns() -> None:
    settings = expiry_settings(app_type="private", refresh_token_issued_at=issued_days_ago(370))
    assert credential_expiries(settings, now=NOW) == []
    assert due_warnings(settings, now=NOW) == []


def test_client_secret_expiring_soon_warns() -> None:
    settings = expiry_settings(client_secret_expires_at=(NOW + timedelta(days=10)).isoformat())
    (status,) = due_warnings(settings, now=NOW)
    assert status.credential == "client_secret"
    assert status.days_left == 10
    assert "client secret" in status.message()
    assert "10 days" in status.message()
    # A secret far from expiry is known but not warned about.
    far = expiry_settings(client_secret_expires_at=(NOW + timedelta(days=150)).isoformat())
    assert [s.days_left for s in credential_expiries(far, now=NOW)] == [150]
    assert due_warnings(far, now=NOW) == []


def test_expiry_warning_days_widens_the_window() -> None:
    issued = issued_days_ago(305)  # 60 days left
    assert due_warnings(expiry_settings(refresh_token_issued_at=issued), now=NOW) == []
    (status,) = due_warnings(expiry_settings(refresh_token_issued_at=issued, expiry_warning_days=90), now=NOW)
    assert status.days_left == 60


# ---------------------------------------------------------------------------------------------
# errors.py
# ---------------------------------------------------------------------------------------------


def test_error_text_names_operation_status_code_and_request_id() -> None:
    error = SpApiError("You exceeded your quota.", status=429, code="QuotaExceeded", request_id="req-8f1c", operation="ordersV0.getOrders")
    for text in (str(error), repr(error)):
        assert "ordersV0.getOrders" in text
        assert "429" in text
        assert "QuotaExceeded" in text
        assert "req-8f1c" in text
        assert "You exceeded your quota." in text
    assert repr(error).startswith("SpApiError(")
    assert str(SpApiError("plain")) == "plain"


@pytest.mark.parametrize("cls", [SpApiError, SpApiThrottledError, SpApiConfigError, SpApiServerError])
def test_errors_pickle_round_trip(cls: type[SpApiError]) -> None:
    error = cls("boom", status=503, code="ServiceUnavailable", request_id="req-1", operation="reports.getReport")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert (copy.message, copy.status, copy.code, copy.request_id, copy.operation) == (
        "boom",
        503,
        "ServiceUnavailable",
        "req-1",
        "reports.getReport",
    )
    assert str(copy) == str(error)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(SpApiConfigError, SpApiError)
    assert issubclass(SpApiConfigError, ValueError)


# ---------------------------------------------------------------------------------------------
# documents.py: _inflate and atomic_write
# ---------------------------------------------------------------------------------------------


def chunked(data: bytes, size: int) -> Any:
    return (data[i : i + size] for i in range(0, len(data), size))


def sample_document() -> bytes:
    lines = [f"order-{n}\t{n * 7919 % 104729}\tSKU-{n:05d}\tShipped\n" for n in range(3000)]
    return "".join(lines).encode("utf-8")


def test_inflate_round_trip_in_small_chunks() -> None:
    original = sample_document()
    compressed = gzip.compress(original)
    assert b"".join(_inflate(chunked(compressed, 97), "GZIP", SPAPI_ERRORS)) == original
    assert b"".join(_inflate(chunked(compressed, 1), "gzip", SPAPI_ERRORS)) == original
    assert b"".join(_inflate(chunked(original, 1000), None, SPAPI_ERRORS)) == original  # uncompressed passes through


def test_inflate_truncated_stream_raises() -> None:
    compressed = gzip.compress(sample_document())
    for cut in (len(compressed) - 4, len(compressed) // 2, 10):
        with pytest.raises(TruncatedDownload):
            b"".join(_inflate(chunked(compressed[:cut], 256), "GZIP", SPAPI_ERRORS))


def test_inflate_unsupported_compression() -> None:
    with pytest.raises(SpApiClientError, match="ZSTD"):
        list(_inflate(iter([b"x"]), "ZSTD", SPAPI_ERRORS))


def test_inflate_bounds_each_step_of_a_bomb() -> None:
    size = 100 * 1024 * 1024
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    compressed = b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()
    assert len(compressed) < 200_000
    total = 0
    steps = 0
    largest = 0
    for out in _inflate(iter([compressed]), "GZIP", SPAPI_ERRORS):  # one small input chunk that inflates to 100 MB
        total += len(out)
        steps += 1
        largest = max(largest, len(out))
    assert total == size
    assert largest <= MAX_INFLATE_STEP
    assert steps >= size // MAX_INFLATE_STEP


def test_inflate_multi_member_gzip() -> None:
    first, second = b"first member\n" * 100, b"second member\n" * 100
    compressed = gzip.compress(first) + gzip.compress(second)
    assert gzip.decompress(compressed) == first + second
    assert b"".join(_inflate(chunked(compressed, 64), "GZIP", SPAPI_ERRORS)) == first + second


def test_atomic_write_success(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "orders.tsv"
    with atomic_write(target) as handle:
        handle.write(b"hello ")
        handle.write(b"world")
        assert not target.exists(), "the target appears only once the write is complete"
    assert target.read_bytes() == b"hello world"
    assert sorted(p.name for p in target.parent.iterdir()) == ["orders.tsv"]


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "orders.tsv"
    with pytest.raises(RuntimeError, match="cut"), atomic_write(target) as handle:
        handle.write(b"half a report")
        raise RuntimeError("connection cut")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []

    # An earlier complete file survives a failed rewrite untouched.
    target.write_bytes(b"yesterday's report")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"partial")
        raise RuntimeError("again")
    assert target.read_bytes() == b"yesterday's report"
    assert [p.name for p in tmp_path.iterdir()] == ["orders.tsv"]


# ---------------------------------------------------------------------------------------------
# The core imports no Airflow
# ---------------------------------------------------------------------------------------------

AIRFLOW_FREE_SCRIPT = r"""
import importlib
import importlib.abc
import pkgutil
import sys


class BlockAirflow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError(f"blocked import of {name}")
        return None


sys.meta_path.insert(0, BlockAirflow())
assert not [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]

import airflow_provider_spapi.core
import airflow_provider_spapi.errors as errors
import airflow_provider_spapi.spapi

names = sorted(
    m.name
    for package in (airflow_provider_spapi.core, airflow_provider_spapi.spapi)
    for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")
    if m.name != "airflow_provider_spapi.spapi.data"
)
for name in names:
    importlib.import_module(name)

from airflow_provider_spapi.spapi.settings import parse_settings

settings = parse_settings("amzn1.application-oa2-client.x", "secret", {"refresh_token": "Atzr|x", "region": "eu", "sandbox": True})
assert settings.base_url == "https://sandbox.sellingpartnerapi-eu.amazon.com", settings.base_url
try:
    parse_settings("id", "secret", {"region": "us"})
except errors.SpApiConfigError as error:
    assert "'region'" in str(error)
else:
    raise SystemExit("no error for region us")
assert errors.ApiError.__bases__ == (Exception,), errors.ApiError.__bases__
assert issubclass(errors.SpApiConfigError, errors.SpApiError)
assert not [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]
print(" ".join(names))
"""


def test_core_imports_without_airflow() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", AIRFLOW_FREE_SCRIPT],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    imported = set(completed.stdout.split())
    expected = {
        *(
            f"airflow_provider_spapi.core.{name}"
            for name in ("config", "documents", "expiry", "paging", "ratelimit", "retry", "storage", "tokens")
        ),
        *(f"airflow_provider_spapi.spapi.{name}" for name in ("catalog", "client", "expiry", "lwa", "settings", "workflows")),
    }
    assert expected <= imported


def test_token_bucket_lag_holds_back_the_last_token_of_a_burst_but_never_the_first() -> None:
    clock = FakeClock()
    lagging = TokenBucket(rate=2.0, burst=3.0, clock=clock, lag=0.05)
    assert [lagging.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.05])
    fast = TokenBucket(rate=10_000.0, burst=15.0, clock=clock, lag=0.05)  # 0.05 s is worth 500 tokens here
    assert fast.reserve() == 0.0
