"""Extra links to the seller's Seller Central pages, from the per-marketplace host table."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from dagrun import run_dag, state_of
from test_operators import _write_feed, feed_op, one_task_dag

from airflow_provider_spapi import get_provider_info
from airflow_provider_spapi._compat import AIRFLOW_V_3
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.operators.links import SellerCentralFeedLink, SellerCentralReportLink
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
            "https://sellercentral.amazon.co.jp/order-reports-and-feeds/reports/allOrders",
        ),
        (
            "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            "{{ var.value.markets }}",
            "https://sellercentral.amazon.com/order-reports-and-feeds/reports/allOrders",
        ),
        (
            "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
            [seed.MARKETPLACE_ID_UK],
            "https://sellercentral.amazon.co.uk/order-reports-and-feeds/reports",
        ),
        ("GET_MERCHANT_LISTINGS_ALL_DATA", None, ""),  # no page for it: no link
    ],
)
def test_report_operator_link(report_type: str, marketplace_ids: object, expected: str) -> None:
    operator = SpApiReportOperator(task_id="r", report_type=report_type, output_path="x", marketplace_ids=marketplace_ids)  # type: ignore[arg-type]

    assert SellerCentralReportLink().get_link(operator, ti_key=None) == expected


def _xcom(home: Path, dag_run: Any, key: str) -> Any:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'feed' AND key = ?", (dag_run.dag_id, dag_run.run_id, key)
        ).fetchall()
    assert rows, f"no XCom {key}"
    value = rows[0][0]
    return json.loads(value.decode() if isinstance(value, bytes) else value)


def test_a_failed_feed_links_to_its_own_row_on_the_upload_status_page(
    airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dag = one_task_dag("test_links_feed", lambda: feed_op(_write_feed(tmp_path, broken=True), out))

    dag_run = run_dag(dag)

    assert state_of(dag_run, "feed") == "failed"  # the processing report counts an error
    feed_id = _xcom(airflow_db, dag_run, "feed_id")
    assert feed_id in [job.job_id for job in emu.state.feeds_api.book.owned_by(seed.SELLING_PARTNER_ID)]
    expected = f"https://sellercentral.amazon.com/listing/status?reference_id={feed_id}"
    if AIRFLOW_V_3:  # computed by the worker when the task ended, and kept as an XCom
        assert _xcom(airflow_db, dag_run, SellerCentralFeedLink().xcom_key) == expected
    else:  # computed by the webserver when the page is shown
        ti = dag_run.get_task_instance("feed")
        assert SellerCentralFeedLink().get_link(dag.get_task("feed"), ti_key=ti.key) == expected


def test_feed_link_before_the_feed_exists_is_the_status_page_of_the_marketplace() -> None:
    operator = feed_op(Path("feed.json"), Path("."), marketplace_ids=[seed.MARKETPLACE_ID_UK])

    assert SellerCentralFeedLink().get_link(operator, ti_key=None) == "https://sellercentral.amazon.co.uk/listing/status"


def test_link_is_registered_with_the_provider() -> None:
    info = get_provider_info()
    assert {
        "airflow_provider_spapi.operators.links.SellerCentralReportLink",
        "airflow_provider_spapi.operators.links.SellerCentralFeedLink",
    } <= set(info["extra-links"])
    modules = info["operators"][0]["python-modules"]
    assert {"airflow_provider_spapi.operators.scheduled_reports", "airflow_provider_spapi.operators.orders"} <= set(modules)
