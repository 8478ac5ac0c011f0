"""What TikTok Shop says about its API, as data: hosts, token paths, shop-scoped paths, personal data, error codes.

The facts live in ``airflow_provider_spapi/tiktok/data/facts.json`` (curated from TikTok's partner
documentation, see ``shared/reference/TIKTOK.md``); the rest of the package asks this module and types
none of them in a second time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

ErrorClass = Literal["auth", "config", "throttled", "client", "server"]


@dataclass(frozen=True)
class ErrorCode:
    """What one of TikTok's numeric codes means: a kind (``expired_token``, ``throttled``...), the error class, the fix.

    ``refresh`` marks a refusal of the access token itself (expired, or unknown after a rotation): one
    refresh and one retry may cure it.
    """

    code: str
    kind: str
    error_class: ErrorClass
    fix: str
    refresh: bool = False


@cache
def facts() -> dict[str, Any]:
    """The facts file, parsed once."""
    text = resources.files("airflow_provider_spapi.tiktok.data").joinpath("facts.json").read_text("utf-8")
    return dict(json.loads(text))


def api_endpoint() -> str:
    return str(facts()["api_endpoint"])


def auth_endpoint() -> str:
    return str(facts()["auth_endpoint"])


def token_path(grant: Literal["get", "refresh"]) -> str:
    return str(facts()["token_paths"][grant])


def grant_type(grant: Literal["get", "refresh"]) -> str:
    return str(facts()["grant_types"][grant])


def authorized_shops_path() -> str:
    return str(facts()["authorized_shops_path"])


def access_token_header() -> str:
    return str(facts()["access_token_header"])


def unsigned_query_params() -> frozenset[str]:
    return frozenset(facts()["unsigned_query_params"])


def max_page_size() -> int:
    return int(facts()["max_page_size"])


def reauthorise_fix() -> str:
    return str(facts()["reauthorise"])


@cache
def _patterns(table: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in facts()[table]["patterns"])


def shop_scoped(path: str) -> bool:
    """Whether a call to ``path`` carries ``shop_cipher`` (TikTok refuses it on authorisation, seller, upload... paths)."""
    return not any(pattern.search(path) for pattern in _patterns("no_shop_cipher"))


def holds_personal_data(method: str, path: str) -> bool:
    """Whether the answer holds buyers' personal data (orders, returns, fulfillment), whatever the method."""
    return any(pattern.search(path) for pattern in _patterns("personal_data"))


@cache
def error_codes() -> dict[str, ErrorCode]:
    return {
        code: ErrorCode(code=code, kind=spec["kind"], error_class=spec["class"], fix=spec["fix"], refresh=spec.get("refresh", False))
        for code, spec in facts()["error_codes"].items()
        if not code.startswith("_")
    }


def error_code(code: str | int | None) -> ErrorCode | None:
    """The meaning of TikTok's ``code`` (None for one the facts do not know)."""
    return error_codes().get(str(code)) if code is not None else None


def operation_name(method: str, path: str) -> str:
    """A stable name for a call, for rate-limit buckets and log lines: ids after the version become ``{id}``.

    ``GET /finance/202309/statements/7123/statement_transactions`` → ``GET /finance/202309/statements/{id}/statement_transactions``.
    """
    parts = path.split("/")
    named = [part if index <= 2 or not any(ch.isdigit() for ch in part) else "{id}" for index, part in enumerate(parts)]
    return f"{method.upper()} {'/'.join(named)}"
