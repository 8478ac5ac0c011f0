"""The steps of Amazon's asynchronous report, feed and Data Kiosk workflows, for operators, sensors and triggers alike.

Reports: createReport → getReport until DONE, CANCELLED or FATAL → getReportDocument → download.
Feeds: createFeedDocument → upload → createFeed → getFeed until done → getFeedDocument (the
processing report) → download. Data Kiosk queries: createQuery → getQuery until done →
getDocument (``documentUrl``; compression announced only by ``Content-Encoding``) → download, then
createQuery again with ``pagination.nextToken`` until there is none. All three poll the same way, so
each is one :class:`Workflow` row polled by :func:`processing_status`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from airflow_provider_spapi.core.documents import DocumentRef, DownloadResult, download_document, read_document, upload_document
from airflow_provider_spapi.core.storage import WritablePath, as_path, atomic_write
from airflow_provider_spapi.errors import SPAPI_ERRORS, SpApiConfigError, SpApiServerError
from airflow_provider_spapi.spapi import catalog
from airflow_provider_spapi.spapi.client import SpApiClient, query_value
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids

Kind = Literal["report", "feed", "query"]
TERMINAL_STATUSES = frozenset({"DONE", "CANCELLED", "FATAL"})


@dataclass(frozen=True)
class Workflow:
    """Where one kind of asynchronous job is polled, where its documents are fetched, and how it is cancelled.

    ``document_key`` names the result document in the status answer, ``error_key`` the document that
    explains a FATAL end (reports and feeds reuse the result document for that; Data Kiosk has its
    own ``errorDocumentId``). ``url_key`` is where the document answer puts the pre-signed URL.
    ``cancel_path`` is DELETEd to cancel the job (Amazon cancels only a job still IN_QUEUE).
    """

    status_path: str
    document_key: str
    document_path: str
    error_key: str
    url_key: str = "url"
    cancel_path: str | None = None


WORKFLOWS: dict[Kind, Workflow] = {
    "report": Workflow(
        status_path="/reports/2021-06-30/reports/{id}",
        document_key="reportDocumentId",
        document_path="/reports/2021-06-30/documents/{id}",
        error_key="reportDocumentId",
        cancel_path="/reports/2021-06-30/reports/{id}",
    ),
    "feed": Workflow(
        status_path="/feeds/2021-06-30/feeds/{id}",
        document_key="resultFeedDocumentId",
        document_path="/feeds/2021-06-30/documents/{id}",
        error_key="resultFeedDocumentId",
        cancel_path="/feeds/2021-06-30/feeds/{id}",
    ),
    "query": Workflow(
        status_path="/dataKiosk/2023-11-15/queries/{id}",
        document_key="dataDocumentId",
        document_path="/dataKiosk/2023-11-15/documents/{id}",
        error_key="errorDocumentId",
        url_key="documentUrl",
        cancel_path="/dataKiosk/2023-11-15/queries/{id}",
    ),
}
DATA_KIOSK_QUERIES = "/dataKiosk/2023-11-15/queries"


@dataclass(frozen=True)
class ProcessingStatus:
    """A job's processing status and, once there are any, its document ids and (Data Kiosk) the next page's token."""

    kind: Kind
    job_id: str
    status: str
    document_id: str | None = None
    error_document_id: str | None = None
    next_token: str | None = None

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


def _text(value: Any) -> str | None:
    return str(value) if value else None


def processing_status(client: SpApiClient, kind: Kind, job_id: str) -> ProcessingStatus:
    """getReport, getFeed or getQuery: where the job is now."""
    workflow = WORKFLOWS[kind]
    answer = client.request("GET", workflow.status_path.format(id=_id(job_id, f"{kind}_id")))
    status = answer.get("processingStatus")
    if not isinstance(status, str):
        raise SpApiServerError(f"get{kind.title()} answered without a processingStatus.", operation=f"get{kind.title()}")
    pagination = answer.get("pagination")
    return ProcessingStatus(
        kind=kind,
        job_id=job_id,
        status=status,
        document_id=_text(answer.get(workflow.document_key)),
        error_document_id=_text(answer.get(workflow.error_key)),
        next_token=_text(pagination.get("nextToken")) if isinstance(pagination, dict) else None,
    )


def cancel(client: SpApiClient, kind: Kind, job_id: str) -> None:
    """cancelReport, cancelFeed (or the kind's cancel operation): ask Amazon to drop a job that has not started."""
    path = WORKFLOWS[kind].cancel_path
    if path is None:
        raise SpApiConfigError(f"A {kind} cannot be cancelled through SP-API.")
    client.request("DELETE", path.format(id=_id(job_id, f"{kind}_id")))


def document_ref(client: SpApiClient, kind: Kind, document_id: str, *, restricted: bool = False) -> DocumentRef:
    """getReportDocument, getFeedDocument or Data Kiosk's getDocument: a fresh pre-signed URL (valid five minutes)."""
    workflow = WORKFLOWS[kind]
    answer = client.request(
        "GET", workflow.document_path.format(id=_id(document_id, "document_id")), restricted=True if restricted else None
    )
    url = answer.get(workflow.url_key)
    if not isinstance(url, str) or not url:
        raise SpApiServerError(f"The {kind} document answer has no {workflow.url_key}.", operation=f"get{kind.title()}Document")
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


def read_document_text(client: SpApiClient, kind: Kind, document_id: str, *, restricted: bool = False, limit: int = 1 << 20) -> str:
    """A small document (a FATAL job's error document) as text, read into memory up to ``limit`` bytes.

    ``restricted`` as for :func:`download`: a restricted report type's error document sits behind the
    same Restricted Data Token as its data, so without one the real error would be replaced by a 403.
    """
    ref = document_ref(client, kind, document_id, restricted=restricted)
    raw = read_document(ref, session=client.session, settings=client.settings.retry, errors=SPAPI_ERRORS, limit=limit)
    return raw.decode("utf-8", errors="replace")


# Data Kiosk's limit on a query, counted after unnecessary whitespace is removed.
MAX_QUERY_CHARS = 8000


def check_query(query: Any) -> str:
    """A Data Kiosk query as given, or a :class:`SpApiConfigError` naming the argument (raised before any call)."""
    if not isinstance(query, str) or not query.strip():
        raise SpApiConfigError(
            "Argument 'query' is empty. Pass a Data Kiosk GraphQL query such as 'query { analytics_salesAndTraffic_2024_04_24 { … } }'."
        )
    if len("".join(query.split())) > MAX_QUERY_CHARS:
        raise SpApiConfigError(
            f"Argument 'query' is longer than Data Kiosk's {MAX_QUERY_CHARS} characters (whitespace aside): ask for fewer fields."
        )
    return query


def create_query(client: SpApiClient, query: str, pagination_token: str | None = None) -> str:
    """Data Kiosk createQuery (a page after the first with ``pagination_token``); returns the query id."""
    body: dict[str, Any] = {"query": check_query(query)}
    if pagination_token:
        body["paginationToken"] = pagination_token
    answer = client.request("POST", DATA_KIOSK_QUERIES, json=body)
    return _id(str(answer.get("queryId", "")), "queryId")


@dataclass(frozen=True)
class PagesResult:
    """What landed in storage from a paged Data Kiosk result: the path, its bytes and its JSON-lines records."""

    path: str
    bytes_written: int
    records: int


def download_pages(client: SpApiClient, document_ids: Sequence[str], destination: WritablePath) -> PagesResult:
    """Data Kiosk documents (one per page, in order) into the one JSON-lines file ``destination``.

    Each page is first downloaded (with retries and fresh URLs) to a local scratch file, then
    appended to the output, so a retried page never duplicates bytes in it, memory stays flat, and
    the output appears complete or not at all. No document at all writes an empty file: the query
    ran and there was no data for the period.
    """
    written = records = 0
    with tempfile.TemporaryDirectory(prefix="spapi-datakiosk-") as scratch, atomic_write(destination) as out:
        for number, document_id in enumerate(document_ids, 1):
            page = Path(scratch) / f"page-{number}.jsonl"
            download(client, "query", document_id, page)
            last = b"\n"
            with page.open("rb") as handle:
                for line in handle:
                    records += bool(line.strip())
                    out.write(line)
                    written += len(line)
                    last = line[-1:]
            if last != b"\n":
                out.write(b"\n")  # the next page's first record starts on its own line
                written += 1
            page.unlink()
    return PagesResult(path=str(destination), bytes_written=written, records=records)


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
