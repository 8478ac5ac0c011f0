"""``SpApiIncrementalOrdersOperator``: every order created *or changed* since the last run, via searchOrders ``lastUpdated`` windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_spapi._compat import HAS_ASSET_STATE_STORE, AirflowSkipException, Context
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.operators.spapi import SpApiOperator
from airflow_provider_spapi.spapi.scheduled_reports import parse_moment
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids

SEARCH_ORDERS = "/orders/2026-01-01/orders"
#: Amazon refuses a ``lastUpdatedBefore`` later than two minutes before now.
NEWEST_ALLOWED = timedelta(minutes=2)
WATERMARK_KEY = "spapi_orders_last_updated_before"


def window_bounds(interval_start: datetime, interval_end: datetime, watermark: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The ``[lastUpdatedAfter, lastUpdatedBefore)`` window of one run.

    The run's data interval, so that a re-run asks for exactly the same window again (idempotent),
    extended back to the stored high-watermark when that is earlier (runs were skipped or failed:
    nothing updated meanwhile is lost), and ending no later than Amazon allows (two minutes ago).
    """
    start = min(interval_start, watermark) if watermark is not None else interval_start
    end = min(interval_end, now - NEWEST_ALLOWED)
    return start, end


class SpApiIncrementalOrdersOperator(SpApiOperator):
    """Orders created or updated in this run's window (Orders 2026-01-01 ``searchOrders``), one order a line.

    ``createdAfter`` windows miss every change after an order's first day: the shipment, the
    cancellation, the refund. Amazon's guidance is ``lastUpdatedAfter``/``lastUpdatedBefore``
    windows, and that is what this asks for: an order comes back in every window in which it
    changed, so load it with an upsert on ``orderId`` keeping the newest ``lastUpdatedTime``.

    The window is the run's data interval (use ``CronDataIntervalTimetable``), so re-running a run
    fetches the same window into the same file. With ``watermark_asset`` (an ``Asset``, Airflow 3.3+
    asset state store) the task also remembers how far it got: a run after a gap (the DAG was paused,
    runs failed, ``catchup=False`` skipped intervals) starts from the stored high-watermark instead
    of its own interval start, so no update is lost; the watermark only moves forward, and only after
    the file is written. Without an asset state store (Airflow 2.11 to 3.2) the data interval alone
    decides, and ``catchup=True`` fills gaps.

    searchOrders allows 0.0056 requests/s (burst 20): 100 orders a page, so past ~2,000 changed orders
    in a window the task waits about 3 minutes a page (10,000 orders: ~4 hours). Backfill such volumes
    with the ``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL`` report instead (see the example DAGs).

    :param output_path: where the orders go as JSON lines, one order a line (templated).
    :param marketplace_ids: the marketplaces to search (templated); default the connection's.
    :param included_data: searchOrders ``includedData`` datasets, e.g. ``["FULFILLMENT", "PROCEEDS"]``.
    :param page_size: ``maxResultsPerPage`` (1-100).
    :param watermark_asset: an ``Asset`` whose state store keeps the high-watermark (added to the task's
        outlets on Airflow 3.3+; ignored on earlier versions, which have no asset state store).
    :param window_start: override the window start (templated; default ``data_interval_start``).
    :param window_end: override the window end (templated; default ``data_interval_end``).
    """

    template_fields: Sequence[str] = (*SpApiOperator.template_fields, "marketplace_ids", "window_start", "window_end")

    def __init__(
        self,
        *,
        output_path: Any,
        marketplace_ids: Sequence[str] | str | None = None,
        included_data: Sequence[str] = (),
        page_size: int = 100,
        watermark_asset: Any = None,
        window_start: datetime | str | None = None,
        window_end: datetime | str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
            raise SpApiConfigError(f"Argument 'page_size' must be an integer from 1 to 100, not {page_size!r}.")
        if watermark_asset is not None and HAS_ASSET_STATE_STORE:
            # Only where the asset can hold the watermark: an outlet is otherwise just a side effect (an
            # asset event each run), and Airflow 3.0's dag.test() fails a task whose outlet the DAG
            # processor has not yet activated.
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), watermark_asset]
        super().__init__(method="GET", path=SEARCH_ORDERS, paginate=True, output_path=output_path, output_format="records", **kwargs)
        self.marketplace_ids = marketplace_ids
        self.included_data = list(included_data)
        self.page_size = page_size
        self.watermark_asset = watermark_asset
        self.window_start = window_start
        self.window_end = window_end

    def _store(self, context: Context) -> Any:
        """The watermark asset's state store accessor, when Airflow has one (3.3+) and an asset was given."""
        stores = context.get("asset_state_store") if self.watermark_asset is not None else None
        return stores[self.watermark_asset] if stores is not None else None

    def execute(self, context: Context) -> Any:
        start = parse_moment(self.window_start or context["data_interval_start"], "window_start")
        end = parse_moment(self.window_end or context["data_interval_end"], "window_end")
        store = self._store(context)
        stored = store.get(WATERMARK_KEY) if store is not None else None
        watermark = parse_moment(stored, WATERMARK_KEY) if stored else None
        after, before = window_bounds(start, end, watermark, datetime.now(timezone.utc))
        if before <= after:
            raise AirflowSkipException(f"Nothing to fetch: the window {after.isoformat()} to {before.isoformat()} is empty.")
        marketplaces = parse_marketplace_ids(self.marketplace_ids) or self.hook.settings.marketplace_ids
        if not marketplaces:
            raise SpApiConfigError("Argument 'marketplace_ids' is empty and the connection has no default marketplace_ids.")
        self.query_params = {
            "lastUpdatedAfter": after,
            "lastUpdatedBefore": before,
            "marketplaceIds": list(marketplaces),
            "maxResultsPerPage": self.page_size,
            **({"includedData": self.included_data} if self.included_data else {}),
        }
        self.log.info(
            "Orders updated from %s to %s%s", after.isoformat(), before.isoformat(), " (from the watermark)" if after < start else ""
        )
        result = dict(super().execute(context))
        if store is not None and (watermark is None or before > watermark):
            store.set(WATERMARK_KEY, before.isoformat())
        return {**result, "last_updated_after": after.isoformat(), "last_updated_before": before.isoformat()}
