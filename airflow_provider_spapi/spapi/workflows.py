"""The steps of Amazon's asynchronous report and feed workflows, for operators, sensors and triggers alike.

Reports: createReport → getReport until DONE, CANCELLED or FATAL → getReportDocument → download.
Feeds: createFeedDocument → upload → createFeed → getFeed until done → getFeedDocument (the
processing report) → download. Both poll the same way, so both are described by one
:class:`Workflow` row and polled by :func:`processing_status`.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from airflow_provider_spapi.core.documents import DocumentRef, DownloadResult, download_document, upload_document
from airflow_provider_spapi.core.storage import WritablePath, as_path
from airflow_provider_spapi.errors import SPAPI_ERRORS, SpApiConfigError, SpApiServerError
from airflow_provider_spapi.spapi import catalog
from airflow_provider_spapi.spapi.client import SpApiClient, query_value
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids

Kind = Literal["report", "feed"]
TERMINAL_STATUSES = frozenset({"DONE", "CANCELLED", "FATAL"})


@dataclass(frozen=True)
class Workflow:
    """Where one kind of asynchronous job is polled, where its result document is fetched, and how it is cancelled."""

    status_path: str
    document_key: str
    document_path: str
    cancel_path: str | None = None  # DELETE this to cancel the job (Amazon cancels only a job still IN_QUEUE)


WORKFLOWS: dict[Kind, Workflow] = {
    "report": Workflow(
        "/reports/2021-06-30/reports/{id}", "reportDocumentId", "/reports/2021-06-30/documents/{id}", "/reports/2021-06-30/reports/{id}"
    ),
    "feed": Workflow(
        "/feeds/2021-06-30/feeds/{id}", "resultFeedDocumentId", "/feeds/2021-06-30/documents/{id}", "/feeds/2021-06-30/feeds/{id}"
    ),
}


@dataclass(frozen=True)
class ProcessingStatus:
    """A report's or feed's processing status and, once there is one, its result document id."""

    kind: Kind
    job_id: str
    status: str
    document_id: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


def _id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or "/" in value:
        raise SpApiConfigError(f"Argument '{name}' must be an id such as 12345, not {value!r}.")
    return value


def _marketplaces(client: SpApiClient, marketplace_ids: Sequence[str] | str | None) -> list[str]:
    ids = parse_marketplace_ids(marketplace_ids, "marketplace_ids") if marketplace_ids else client.settings.marketplace_ids
    if not ids:
        raise SpApiConfigError(
            "Argument 'marketplace_ids' is empty and the connection has no default marketplace_ids. Pass e.g. ['ATVPDKIKX0DER']."
        )
    return list(ids)


def is_restricted_report(report_type: str) -> bool:
    """Whether the report's document holds PII, so getReportDocument needs a Restricted Data Token."""
    return report_type in catalog.restricted_report_types()


def create_report(
    client: SpApiClient,
    report_type: str,
    *,
    marketplace_ids: Sequence[str] | str | None = None,
    data_start_time: datetime | str | None = None,
    data_end_time: datetime | str | None = None,
    report_options: Mapping[str, str] | None = None,
) -> str:
    """createReport; returns the report id."""
    if not isinstance(report_type, str) or not report_type.strip():
        raise SpApiConfigError("Argument 'report_type' is empty. Use a report type such as GET_MERCHANT_LISTINGS_ALL_DATA.")
    body: dict[str, Any] = {"reportType": report_type.strip(), "marketplaceIds": _marketplaces(client, marketplace_ids)}
    if data_start_time is not None:
        body["dataStartTime"] = query_value(data_start_time)
    if data_end_time is not None:
        body["dataEndTime"] = query_value(data_end_time)
    if report_options:
        body["reportOptions"] = dict(report_options)
    answer = client.request("POST", "/reports/2021-06-30/reports", json=body)
    return _id(str(answer.get("reportId", "")), "reportId")


def processing_status(client: SpApiClient, kind: Kind, job_id: str) -> ProcessingStatus:
    """getReport or getFeed: where the job is now."""
    workflow = WORKFLOWS[kind]
    answer = client.request("GET", workflow.status_path.format(id=_id(job_id, f"{kind}_id")))
    status = answer.get("processingStatus")
    if not isinstance(status, str):
        raise SpApiServerError(f"get{kind.title()} answered without a processingStatus.", operation=f"get{kind.title()}")
    document_id = answer.get(workflow.document_key)
    return ProcessingStatus(kind=kind, job_id=job_id, status=status, document_id=str(document_id) if document_id else None)


def cancel(client: SpApiClient, kind: Kind, job_id: str) -> None:
    """cancelReport, cancelFeed (or the kind's cancel operation): ask Amazon to drop a job that has not started."""
    path = WORKFLOWS[kind].cancel_path
    if path is None:
        raise SpApiConfigError(f"A {kind} cannot be cancelled through SP-API.")
    client.request("DELETE", path.format(id=_id(job_id, f"{kind}_id")))


def document_ref(client: SpApiClient, kind: Kind, document_id: str, *, restricted: bool = False) -> DocumentRef:
    """getReportDocument or getFeedDocument: a fresh pre-signed URL (valid five minutes) for the document."""
    path = WORKFLOWS[kind].document_path.format(id=_id(document_id, "document_id"))
    answer = client.request("GET", path, restricted=True if restricted else None)
    url = answer.get("url")
    if not isinstance(url, str) or not url:
        raise SpApiServerError(f"get{kind.title()}Document answered without a url.", operation=f"get{kind.title()}Document")
    return DocumentRef(document_id=document_id, url=url, compression=answer.get("compressionAlgorithm"))


def download(
    client: SpApiClient, kind: Kind, document_id: str, destination: str | os.PathLike[str] | WritablePath, *, restricted: bool = False
) -> DownloadResult:
    """Fetch a document's URL and stream it to ``destination``; a retry fetches a fresh URL."""
    return download_document(
        lambda: document_ref(client, kind, document_id, restricted=restricted),
        destination,
        session=client.session,
        settings=client.settings.retry,
        logger=client.logger,
        errors=SPAPI_ERRORS,
    )


def read_document_text(client: SpApiClient, kind: Kind, document_id: str, *, limit: int = 1 << 20) -> str:
    """A small document (a FATAL report's error document) as text, read into memory up to ``limit`` bytes."""
    ref = document_ref(client, kind, document_id)
    timeout = (client.settings.retry.connect_timeout, client.settings.retry.read_timeout)
    with client.session.get(ref.url, stream=True, timeout=timeout) as response:
        raw = response.raw.read(limit, decode_content=True) if response.ok else b""
    if ref.compression:
        # Tolerant of a cut-off stream: this text only explains a failure, it is not the data.
        raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, limit)
    return raw.decode("utf-8", errors="replace")


def create_feed_document(client: SpApiClient, content_type: str) -> DocumentRef:
    """createFeedDocument: where to upload the feed's content."""
    if not isinstance(content_type, str) or "/" not in content_type:
        raise SpApiConfigError(
            f"Argument 'content_type' must be a MIME type such as 'application/json; charset=UTF-8', not {content_type!r}."
        )
    answer = client.request("POST", "/feeds/2021-06-30/documents", json={"contentType": content_type})
    return DocumentRef(document_id=_id(str(answer.get("feedDocumentId", "")), "feedDocumentId"), url=str(answer.get("url", "")))


def submit_feed(
    client: SpApiClient,
    feed_type: str,
    input_path: str | os.PathLike[str] | WritablePath,
    content_type: str,
    *,
    marketplace_ids: Sequence[str] | str | None = None,
    feed_options: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """createFeedDocument, upload ``input_path``, createFeed; returns the feed id and the bytes uploaded."""
    if not isinstance(feed_type, str) or not feed_type.strip():
        raise SpApiConfigError("Argument 'feed_type' is empty. Use a feed type such as JSON_LISTINGS_FEED.")
    source = as_path(input_path)
    if not source.exists():
        raise SpApiConfigError(f"Argument 'input_path' names a file that does not exist: {input_path}.")
    marketplaces = _marketplaces(client, marketplace_ids)
    target = create_feed_document(client, content_type)
    sent = upload_document(
        target.url, source, content_type, session=client.session, settings=client.settings.retry, logger=client.logger, errors=SPAPI_ERRORS
    )
    body: dict[str, Any] = {"feedType": feed_type.strip(), "marketplaceIds": marketplaces, "inputFeedDocumentId": target.document_id}
    if feed_options:
        body["feedOptions"] = dict(feed_options)
    answer = client.request("POST", "/feeds/2021-06-30/feeds", json=body)
    return _id(str(answer.get("feedId", "")), "feedId"), sent


def processing_report_summary(path: str | os.PathLike[str] | WritablePath) -> dict[str, Any]:
    """The ``summary`` of a JSON feed processing report (messagesProcessed, errors, …), or {} for other formats."""
    try:
        with as_path(path).open("rb") as handle:
            report = json.load(handle)
    except (ValueError, UnicodeDecodeError):
        return {}
    summary = report.get("summary") if isinstance(report, dict) else None
    return dict(summary) if isinstance(summary, dict) else {}
