"""Extra links from report and feed tasks to the seller's own Seller Central page for what they fetched or sent."""

from __future__ import annotations

from typing import Any

from airflow_provider_spapi._compat import BaseOperatorLink, XCom
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.spapi.marketplaces import seller_central_feed_page, seller_central_report_page
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids

#: The XCom key under which a feed task keeps its feed id as soon as Amazon gave it, for the link.
FEED_ID_XCOM_KEY = "feed_id"


def _marketplace_ids(operator: Any) -> tuple[str, ...]:
    try:
        return tuple(parse_marketplace_ids(getattr(operator, "marketplace_ids", None)))
    except SpApiConfigError:  # an unrendered template
        return ()


class SellerCentralReportLink(BaseOperatorLink):
    """ "Seller Central": All Statements for settlements, Order Reports (its All Orders tab for All Orders reports) for order reports.

    Each on the marketplace's own host; the pages are ``seller_central_pages`` in ``spapi/data/marketplaces.json``.

    The host follows the task's ``marketplace_ids`` (``sellercentral.amazon.co.uk`` for UK…); a
    templated or empty value gives Amazon.com's. Other report types get no link.
    """

    name = "Seller Central"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return seller_central_report_page(str(getattr(operator, "report_type", "")), _marketplace_ids(operator)) or ""


class SellerCentralFeedLink(BaseOperatorLink):
    """ "Seller Central": the upload status page, opened on this task's feed once Amazon has given its id.

    The feed id is read from the task's ``feed_id`` XCom, pushed as soon as createFeed answered, so a
    feed that failed or is still processing links to its own row too. Airflow 3 computes the link when
    the task ends; Airflow 2 when the page is shown.
    """

    name = "Seller Central"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        feed_id = XCom.get_value(ti_key=ti_key, key=FEED_ID_XCOM_KEY) if ti_key is not None else None
        return seller_central_feed_page(str(feed_id) if feed_id else None, _marketplace_ids(operator))
