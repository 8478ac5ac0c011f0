"""TikTok Shop without a network: signing (the documentation's vector), settings, error mapping, facts, expiry."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_spapi.emulator.tiktok.signature import expected_sign
from airflow_provider_spapi.errors import (
    TIKTOK_SHOP_ERRORS,
    TikTokShopAuthError,
    TikTokShopClientError,
    TikTokShopConfigError,
    TikTokShopError,
    TikTokShopServerError,
    TikTokShopThrottledError,
)
from airflow_provider_spapi.tiktok import catalog
from airflow_provider_spapi.tiktok.client import error_for
from airflow_provider_spapi.tiktok.expiry import credential_expiries, due_warnings
from airflow_provider_spapi.tiktok.settings import TikTokShopSettings, parse_settings
from airflow_provider_spapi.tiktok.signing import encode_body, encode_query, sign, string_to_sign

# The documentation's test vector.
VECTOR_PATH = "/authorization/202309/shops"
VECTOR_QUERY = {"app_key": "29a39d", "timestamp": "1623812664"}
VECTOR_SECRET = "e59af819cc"
VECTOR_STRING = b"e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"
VECTOR_SIGN = "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_signing_matches_the_documentations_test_vector() -> None:
    assert string_to_sign(VECTOR_PATH, VECTOR_QUERY, b"", VECTOR_SECRET) == VECTOR_STRING
    assert sign(VECTOR_PATH, VECTOR_QUERY, b"", VECTOR_SECRET) == VECTOR_SIGN


def test_sign_and_access_token_params_are_left_out_and_the_rest_sorted() -> None:
    query = {"timestamp": "1623812664", "sign": "old", "access_token": "tok", "app_key": "29a39d"}
    assert sign(VECTOR_PATH, query, b"", VECTOR_SECRET) == VECTOR_SIGN


def test_the_body_is_signed_as_sent_except_for_multipart() -> None:
    body = encode_body({"order_status": "COMPLETED", "update_time_ge": 1})
    assert body == b'{"order_status":"COMPLETED","update_time_ge":1}'
    signed = string_to_sign("/order/202309/orders/search", VECTOR_QUERY, body, VECTOR_SECRET)
    assert signed.endswith(body + VECTOR_SECRET.encode())
    spaced = b'{"order_status": "COMPLETED", "update_time_ge": 1}'
    assert sign("/p", VECTOR_QUERY, body, VECTOR_SECRET) != sign("/p", VECTOR_QUERY, spaced, VECTOR_SECRET)
    multipart = sign("/p", VECTOR_QUERY, body, VECTOR_SECRET, "multipart/form-data; boundary=x")
    assert multipart == sign("/p", VECTOR_QUERY, b"", VECTOR_SECRET)
    assert encode_body(None) == b""


def test_the_emulators_independent_check_agrees_with_the_vector() -> None:
    assert expected_sign(VECTOR_PATH, "app_key=29a39d&timestamp=1623812664", b"", "application/json", VECTOR_SECRET) == VECTOR_SIGN


def test_page_tokens_are_signed_decoded() -> None:
    token = "++//YWJj+/=="
    query = {**VECTOR_QUERY, "page_token": token}
    from urllib.parse import urlencode

    on_the_wire = urlencode(query)
    assert "%2B%2B%2F%2F" in on_the_wire
    assert sign("/p", query, b"", VECTOR_SECRET) == expected_sign("/p", on_the_wire, b"", "application/json", VECTOR_SECRET)


def test_query_values_are_encoded_as_tiktok_expects() -> None:
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    encoded = encode_query({"ids": ["a", "b"], "flag": True, "since": when, "n": 5, "skip": None})
    assert encoded == {"ids": "a,b", "flag": "true", "since": str(int(when.timestamp())), "n": "5"}


# Settings -------------------------------------------------------------------------------------

GOOD_EXTRA: dict[str, Any] = {"refresh_token": "rt", "refresh_token_expires_at": 1900000000}


@pytest.mark.parametrize(
    ("login", "password", "extra", "field"),
    [
        ("", "secret", GOOD_EXTRA, "login"),
        ("key", " ", GOOD_EXTRA, "password"),
        ("key", "secret", {**GOOD_EXTRA, "refresh_tokn": "x"}, "refresh_tokn"),
        ("key", "secret", {**GOOD_EXTRA, "refresh_token_expires_at": "next year"}, "refresh_token_expires_at"),
        ("key", "secret", {**GOOD_EXTRA, "access_token": "at"}, "access_token_expires_at"),
        ("key", "secret", {**GOOD_EXTRA, "access_token": 12}, "access_token"),
        ("key", "secret", {**GOOD_EXTRA, "api_endpoint": "open-api.tiktokglobalshop.com"}, "api_endpoint"),
        ("key", "secret", {**GOOD_EXTRA, "auth_endpoint": "ftp://x"}, "auth_endpoint"),
        ("key", "secret", {**GOOD_EXTRA, "expiry_warning_days": -1}, "expiry_warning_days"),
        ("key", "secret", {**GOOD_EXTRA, "max_attempts": 0}, "max_attempts"),
        ("key", "secret", {**GOOD_EXTRA, "shop_cipher": ["a"]}, "shop_cipher"),
        ("key", "secret", "{not json", "extra"),
    ],
)
def test_bad_settings_name_the_field(login: str, password: str, extra: Any, field: str) -> None:
    with pytest.raises(TikTokShopConfigError) as raised:
        parse_settings(login, password, extra)
    message = str(raised.value)
    assert f"Connection field '{field}'" in message
    assert "rt" not in message.split()  # the refresh token's value never appears in the message


def test_settings_read_unix_seconds_and_iso_and_hide_secrets() -> None:
    settings = parse_settings(
        "key",
        "app-secret-value",
        {
            "refresh_token": "refresh-value",
            "refresh_token_expires_at": "1900000000",
            "access_token": "access-value",
            "access_token_expires_at": "2030-01-01T00:00:00Z",
            "shop_cipher": "ROW_x",
            "extra__tiktok_shop__expiry_warning_days": "10",
            "max_attempts": 3,
        },
    )
    assert settings.refresh_token_expires_at == datetime.fromtimestamp(1900000000, tz=timezone.utc)
    assert settings.access_token_expires_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert settings.expiry_warning_days == 10 and settings.retry.max_attempts == 3
    assert settings.api_endpoint == catalog.api_endpoint() and settings.auth_endpoint == catalog.auth_endpoint()
    text = repr(settings)
    assert "key" in text and "ROW_x" in text
    for secret in ("app-secret-value", "refresh-value", "access-value"):
        assert secret not in text


# Errors and facts -----------------------------------------------------------------------------


def test_the_family_raises_tiktok_classes() -> None:
    assert TIKTOK_SHOP_ERRORS.platform == "TikTok Shop"
    assert TIKTOK_SHOP_ERRORS.throttled is TikTokShopThrottledError and TIKTOK_SHOP_ERRORS.base is TikTokShopError
    assert issubclass(TikTokShopConfigError, ValueError)


@pytest.mark.parametrize(
    ("code", "status", "error_class"),
    [
        (105002, 401, TikTokShopAuthError),
        (106001, 401, TikTokShopAuthError),
        (106013, 400, TikTokShopConfigError),
        (36009004, 400, TikTokShopClientError),
        (36009002, 429, TikTokShopThrottledError),
        (36004005, 400, TikTokShopAuthError),
        (12345678, 200, TikTokShopClientError),
        (12345678, 502, TikTokShopServerError),
    ],
)
def test_codes_map_to_error_classes(code: int, status: int, error_class: type[TikTokShopError]) -> None:
    error = error_for({"code": code, "message": "TikTok says no", "request_id": "RID1"}, status, "GET /x")
    assert type(error) is error_class
    assert error.code == str(code) and error.request_id == "RID1" and error.status == status
    assert "TikTok says no" in str(error) and "RID1" in str(error)


def test_revoked_authorisation_says_to_reauthorise() -> None:
    error = error_for({"code": 36004001, "message": "refresh token expired"}, 400, "token")
    assert "Re-authorise the shop" in str(error)


@pytest.mark.parametrize(
    ("path", "scoped", "personal"),
    [
        ("/authorization/202309/shops", False, False),
        ("/seller/202309/shops", False, False),
        ("/product/202309/global_products", False, False),
        ("/product/202309/images/upload", False, False),
        ("/product/202309/compliance/manufacturers", False, False),
        ("/order/202309/orders/search", True, True),
        ("/return_refund/202309/returns/search", True, True),
        ("/fulfillment/202309/packages/search", True, True),
        ("/product/202309/products/search", True, False),
        ("/finance/202309/statements", True, False),
    ],
)
def test_shop_scope_and_personal_data_come_from_the_facts(path: str, scoped: bool, personal: bool) -> None:
    assert catalog.shop_scoped(path) is scoped
    assert catalog.holds_personal_data("POST", path) is personal


def test_operation_names_fold_ids() -> None:
    assert catalog.operation_name("get", "/finance/202309/statements/7123/statement_transactions") == (
        "GET /finance/202309/statements/{id}/statement_transactions"
    )


def test_the_emulator_decides_with_its_own_code() -> None:
    """A test whose two sides share code cannot catch that code's mistake: the emulator imports neither client nor core."""
    folder = Path(__file__).resolve().parent.parent / "airflow_provider_spapi" / "emulator" / "tiktok"
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("airflow_provider_spapi.tiktok", "airflow_provider_spapi.core")), source.name


# Expiry ---------------------------------------------------------------------------------------


def test_the_refresh_tokens_known_expiry_is_warned_of() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    settings = TikTokShopSettings(app_key="k", app_secret="s", refresh_token="r", refresh_token_expires_at=now + timedelta(days=20))
    [status] = credential_expiries(settings, now)
    assert status.credential == "refresh_token" and status.days_left == 20
    assert "TikTok Shop refresh token expires on 2026-06-21, in 20 days" in status.message()
    assert "Re-authorise the shop" in status.message()
    assert due_warnings(settings, now) == [status]
    assert due_warnings(settings, now - timedelta(days=30)) == []
    newer = now + timedelta(days=300)
    assert due_warnings(settings, now, refresh_token_expires_at=newer) == []
    assert credential_expiries(TikTokShopSettings(app_key="k", app_secret="s", refresh_token="r"), now) == []
    expired = credential_expiries(settings, now + timedelta(days=25))[0]
    assert expired.expired and "expired on 2026-06-21" in expired.message()
