"""Extra links from report tasks to the seller's own Seller Central page for what they fetched."""

from __future__ import annotations

from typing import Any

from airflow_provider_spapi._compat import BaseOperatorLink
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.spapi.marketplaces import seller_central_report_page
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids


class SellerCentralReportLink(BaseOperatorLink):
    """ "Seller Central": All Statements for settlement reports, Order Reports for order reports, on the marketplace's host.

    The host follows the task's ``marketplace_ids`` (``sellercentral.amazon.co.uk`` for UK…); a
    templated or empty value gives Amazon.com's. Other report types get no link.
    """

    name = "Seller Central"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        try:
            marketplace_ids = parse_marketplace_ids(getattr(operator, "marketplace_ids", None))
        except SpApiConfigError:  # an unrendered template
            marketplace_ids = ()
        return seller_central_report_page(str(getattr(operator, "report_type", "")), marketplace_ids) or ""
