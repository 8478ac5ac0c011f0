"""Reports nobody asked for in this run: find the DONE reports of a type that Amazon (or a schedule) produced.

Settlement reports (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE`` and friends) are only ever produced
by Amazon, on its own schedule; other types may be scheduled with ``createReportSchedule`` or in
Seller Central. There is no ``createReport`` whose id the task could wait for, so the report has to
be *found*: getReports with ``reportTypes``, ``processingStatuses=DONE`` and a ``createdSince``
(``createdUntil``) window, every page followed with ``nextToken`` alone (Amazon rejects a
``nextToken`` sent with other parameters; :meth:`SpApiClient.paginate` knows that from the catalog).

Amazon keeps reports 90 days, so ``createdSince`` may be at most 90 days back (older windows just
find nothing). getReports allows 0.0222 requests/s (burst 10): one page of 100 reports covers months
of daily settlements, so a window costs one or two calls.

Airflow-free; the operator and sensor are thin adapters over :func:`find_done_reports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.spapi.client import SpApiClient, query_value
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids

Mode = Literal["latest", "all_new"]
MODES: tuple[Mode, ...] = ("latest", "all_new")
REPORTS_PATH = "/reports/2021-06-30/reports"
# getReports' largest page: the fewest calls against its 0.0222/s usage plan.
PAGE_SIZE = 100


@dataclass(frozen=True)
class FoundReport:
    """One DONE report from getReports: enough to download it and to say which period it covers."""

    report_id: str
    report_type: str
    document_id: str
    created_time: datetime
    marketplace_ids: tuple[str, ...] = ()
    data_start_time: str | None = None
    data_end_time: str | None = None

    def to_xcom(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "report_type": self.report_type,
            "document_id": self.document_id,
            "created_time": self.created_time.isoformat(),
            "data_start_time": self.data_start_time,
            "data_end_time": self.data_end_time,
        }


def parse_moment(value: object, argument: str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 string (what a template renders), else a clear error."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SpApiConfigError(
                f"Argument '{argument}' must be an ISO 8601 datetime such as 2026-03-01T00:00:00Z or "
                f"'{{{{ data_interval_start }}}}', not {value!r}."
            ) from None
    else:
        raise SpApiConfigError(f"Argument '{argument}' must be a datetime or an ISO 8601 string, not {value!r}.")
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def check_mode(mode: Any) -> Mode:
    if mode not in MODES:
        raise SpApiConfigError(f"Argument 'mode' must be 'latest' or 'all_new', not {mode!r}.")
    return mode


def check_report_type(report_type: Any) -> str:
    if not isinstance(report_type, str) or not report_type.strip() or "," in report_type:
        raise SpApiConfigError(
            f"Argument 'report_type' must be one report type such as GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE, not {report_type!r}."
        )
    return report_type.strip()


def _found(row: dict[str, Any]) -> FoundReport | None:
    document_id = row.get("reportDocumentId")
    if row.get("processingStatus") != "DONE" or not document_id:
        return None
    return FoundReport(
        report_id=str(row["reportId"]),
        report_type=str(row.get("reportType", "")),
        document_id=str(document_id),
        created_time=parse_moment(str(row["createdTime"]), "createdTime"),
        marketplace_ids=tuple(row.get("marketplaceIds") or ()),
        data_start_time=row.get("dataStartTime"),
        data_end_time=row.get("dataEndTime"),
    )


def find_done_reports(
    client: SpApiClient,
    report_type: str,
    *,
    created_since: datetime | str,
    created_until: datetime | str | None = None,
    marketplace_ids: Sequence[str] | str | None = None,
) -> list[FoundReport]:
    """Every DONE report of ``report_type`` created in ``[created_since, created_until]``, oldest first.

    Oldest first so that a task writing them one by one leaves them in the order Amazon made them
    (settlements are cumulative periods). ``marketplace_ids`` narrows the list (Amazon matches any
    of them); without it every marketplace's reports of the type are returned.
    """
    kind = check_report_type(report_type)
    since = parse_moment(created_since, "created_since")
    params: dict[str, Any] = {"reportTypes": kind, "processingStatuses": "DONE", "pageSize": PAGE_SIZE, "createdSince": query_value(since)}
    if created_until is not None:
        until = parse_moment(created_until, "created_until")
        if until < since:
            raise SpApiConfigError(f"Argument 'created_until' ({until.isoformat()}) is earlier than 'created_since' ({since.isoformat()}).")
        params["createdUntil"] = query_value(until)
    if marketplace_ids:
        params["marketplaceIds"] = list(parse_marketplace_ids(marketplace_ids, "marketplace_ids"))
    found: list[FoundReport] = []
    for page in client.paginate("GET", REPORTS_PATH, params=params):
        for row in page.get("reports") or ():
            report = _found(row)
            if report is not None:
                found.append(report)
    found.sort(key=lambda report: (report.created_time, report.report_id))
    return found


def select(found: list[FoundReport], mode: Mode) -> list[FoundReport]:
    """``latest``: the newest report only; ``all_new``: every one, oldest first."""
    return found[-1:] if mode == "latest" else list(found)
