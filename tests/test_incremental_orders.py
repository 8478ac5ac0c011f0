"""Incremental orders by lastUpdated windows: updates are caught, re-runs are idempotent, the watermark fills gaps."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dagrun import run_dag, state_of
from test_operators import one_task_dag, xcom_of

from airflow_provider_spapi._compat import AIRFLOW_V_3
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.operators.orders import NEWEST_ALLOWED, SpApiIncrementalOrdersOperator, window_bounds

try:
    from airflow.sdk.execution_time.context import AssetStateStoreAccessors  # noqa: F401  Airflow 3.3+

    HAS_ASSET_STATE = True
except ImportError:
    HAS_ASSET_STATE = False

if AIRFLOW_V_3:
    from airflow.sdk import Asset
else:
    from airflow.datasets import Dataset as Asset

T = datetime(2026, 6, 10, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def test_the_window_is_the_interval_extended_back_to_the_watermark_and_clamped_to_two_minutes_ago() -> None:
    now = T + 10 * DAY
    assert window_bounds(T, T + DAY, None, now) == (T, T + DAY)
    assert window_bounds(T, T + DAY, T - 2 * DAY, now) == (T - 2 * DAY, T + DAY)  # a gap: from the watermark
    assert window_bounds(T, T + DAY, T + 5 * DAY, now) == (T, T + DAY)  # a re-run of an old run: its own window
    assert window_bounds(T, T + DAY, None, T + DAY) == (T, T + DAY - NEWEST_ALLOWED)


def orders_op(out: Path, name: str, **kwargs: Any) -> SpApiIncrementalOrdersOperator:
    return SpApiIncrementalOrdersOperator(
        task_id="orders", marketplace_ids=[seed.MARKETPLACE_ID_US], page_size=10, output_path=str(out / f"{name}.jsonl"), **kwargs
    )


def expected_ids(emu: Emulator, after: datetime, before: datetime) -> list[str]:
    orders = emu.state.book.orders(seed.SELLING_PARTNER_ID)
    chosen = [o for o in orders if after <= o.last_update_date <= before and o.marketplace_id == seed.MARKETPLACE_ID_US]
    return [o.order_id for o in sorted(chosen, key=lambda o: (o.last_update_date, o.order_id))]


@pytest.mark.airflow
def test_a_window_returns_orders_changed_in_it_including_ones_created_before(
    airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path
) -> None:
    anchor = emu.state.book.anchor
    after, before = anchor - 2 * DAY, anchor - DAY
    dag = one_task_dag(
        "test_incremental_window", lambda: orders_op(tmp_path, "w", window_start=after.isoformat(), window_end=before.isoformat())
    )

    dag_run = run_dag(dag)

    assert state_of(dag_run, "orders") == "success"
    result = xcom_of(airflow_db, dag_run, "orders")
    lines = [json.loads(line) for line in (tmp_path / "w.jsonl").read_text().splitlines()]
    assert [line["orderId"] for line in lines] == expected_ids(emu, after, before)
    assert result["records"] == len(lines) and result["last_updated_after"] == after.isoformat()
    created_earlier = [line for line in lines if datetime.fromisoformat(line["createdTime"].replace("Z", "+00:00")) < after]
    assert created_earlier, "a createdAfter window would have missed these updates"


@pytest.mark.airflow
@pytest.mark.skipif(not HAS_ASSET_STATE, reason="the asset state store is new in Airflow 3.3")
def test_the_watermark_fills_a_gap_and_a_rerun_fetches_its_own_window(
    airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path
) -> None:
    anchor = emu.state.book.anchor
    asset = Asset(uri=f"spapi://orders/test-{uuid.uuid4().hex}")

    def run(name: str, start: datetime, end: datetime) -> dict[str, Any]:
        dag = one_task_dag(
            f"test_incremental_{name}",
            lambda: orders_op(tmp_path, name, watermark_asset=asset, window_start=start.isoformat(), window_end=end.isoformat()),
        )
        return dict(xcom_of(airflow_db, run_dag(dag), "orders"))

    first = run("first", anchor - 4 * DAY, anchor - 3 * DAY)
    after_gap = run("after_gap", anchor - DAY, anchor)  # two days of runs never happened
    rerun = run("rerun", anchor - 2 * DAY, anchor - DAY)

    assert first["last_updated_after"] == (anchor - 4 * DAY).isoformat()
    assert after_gap["last_updated_after"] == (anchor - 3 * DAY).isoformat()  # from the watermark: nothing lost
    lines = [json.loads(line)["orderId"] for line in (tmp_path / "after_gap.jsonl").read_text().splitlines()]
    assert lines == expected_ids(emu, anchor - 3 * DAY, anchor)
    assert rerun["last_updated_after"] == (anchor - 2 * DAY).isoformat()  # the watermark is later: its own window
