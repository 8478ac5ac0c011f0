"""What differs per marketplace, as data (``data/marketplaces.json``): country, region, Seller Central host, flat-file charset.

Amazon's flat-file reports arrive in the marketplace's legacy encoding unless they are UTF-8, and
nothing in getReportDocument says which: :func:`flat_file_charset` is the fallback
:mod:`~airflow_provider_spapi.spapi.flatfile` decodes with. Seller Central hosts make the operators'
links to a report's or feed's page in the seller's own Seller Central.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

DEFAULT_CHARSET = "cp1252"
DEFAULT_SELLER_CENTRAL = "sellercentral.amazon.com"


@dataclass(frozen=True)
class Marketplace:
    id: str
    country: str
    region: str
    seller_central: str
    flat_file_charset: str


@cache
def _table() -> dict[str, Any]:
    return dict(json.loads(resources.files("airflow_provider_spapi.spapi.data").joinpath("marketplaces.json").read_text("utf-8")))


@cache
def marketplaces() -> dict[str, Marketplace]:
    """Every marketplace Amazon lists, by id, parsed once."""
    return {row["id"]: Marketplace(**row) for row in _table()["marketplaces"]}


def _first_known(marketplace_ids: Iterable[str]) -> Marketplace | None:
    table = marketplaces()
    return next((table[m] for m in marketplace_ids if m in table), None)


def flat_file_charset(marketplace_ids: Iterable[str]) -> str:
    """The legacy charset of the first known marketplace's flat files (cp932 for Japan), else cp1252."""
    known = _first_known(marketplace_ids)
    return known.flat_file_charset if known else DEFAULT_CHARSET


def charset_superset(label: str) -> str | None:
    """The charset to decode a file labelled ``label`` with, when Amazon's files are a superset of it (Shift_JIS: cp932), else None."""
    supersets: dict[str, str] = _table()["charset_supersets"]
    return supersets.get(label.strip().lower())


def seller_central_host(marketplace_ids: Iterable[str]) -> str:
    """The Seller Central host of the first known marketplace, else Amazon.com's."""
    known = _first_known(marketplace_ids)
    return known.seller_central if known else DEFAULT_SELLER_CENTRAL


def seller_central_report_page(report_type: str, marketplace_ids: Iterable[str]) -> str | None:
    """The Seller Central page where a person finds reports of this type (settlements, order reports), else None."""
    pages = _table()["seller_central_pages"]
    kind = report_type or ""
    if "SETTLEMENT" in kind:
        page = pages["settlement"]
    elif "ALL_ORDERS" in kind:
        page = pages["all_orders_report"]
    elif "ORDER" in kind:
        page = pages["order_report"]
    else:
        return None
    return f"https://{seller_central_host(marketplace_ids)}{page}"


def seller_central_feed_page(feed_id: str | None, marketplace_ids: Iterable[str]) -> str:
    """The upload status page, showing feed ``feed_id`` when given (its processing summary and report)."""
    page = f"https://{seller_central_host(marketplace_ids)}{_table()['seller_central_pages']['feed_status']}"
    return f"{page}?{urlencode({'reference_id': feed_id})}" if feed_id else page
