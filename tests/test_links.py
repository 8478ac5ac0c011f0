"""Extra links to the seller's Seller Central pages, from the per-marketplace host table."""

from __future__ import annotations

import pytest

from airflow_provider_spapi import get_provider_info
from airflow_provider_spapi.emulator import seed
from airflow_provider_spapi.operators.links import SellerCentralReportLink
from airflow_provider_spapi.operators.reports import SpApiReportOperator
from airflow_provider_spapi.operators.scheduled_reports import SpApiScheduledReportOperator

pytestmark = pytest.mark.airflow


def test_settlement_link_goes_to_the_marketplaces_all_statements_page() -> None:
    operator = SpApiScheduledReportOperator(
        task_id="s", report_type="GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE", created_since="2026-01-01", output_path="x",
        marketplace_ids=[seed.MARKETPLACE_ID_UK],
    )  # fmt: skip

    (link,) = operator.operator_extra_links
    assert link.get_link(operator, ti_key=None) == "https://sellercentral.amazon.co.uk/payments/allstatements/index.html"


@pytest.mark.parametrize(
    ("report_type", "marketplace_ids", "expected"),
    [
        (
            "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            ["A1VC38T7YXB528"],
            "https://sellercentral.amazon.co.jp/order-reports-and-feeds/reports",
        ),
        (
            "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            "{{ var.value.markets }}",
            "https://sellercentral.amazon.com/order-reports-and-feeds/reports",
        ),
        ("GET_MERCHANT_LISTINGS_ALL_DATA", None, ""),  # no page for it: no link
    ],
)
def test_report_operator_link(report_type: str, marketplace_ids: object, expected: str) -> None:
    operator = SpApiReportOperator(task_id="r", report_type=report_type, output_path="x", marketplace_ids=marketplace_ids)  # type: ignore[arg-type]

    assert SellerCentralReportLink().get_link(operator, ti_key=None) == expected


def test_link_is_registered_with_the_provider() -> None:
    info = get_provider_info()
    assert "airflow_provider_spapi.operators.links.SellerCentralReportLink" in info["extra-links"]
    modules = info["operators"][0]["python-modules"]
    assert {"airflow_provider_spapi.operators.scheduled_reports", "airflow_provider_spapi.operators.orders"} <= set(modules)
