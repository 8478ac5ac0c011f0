"""Data Kiosk API 2023-11-15: createQuery, getQuery, cancelQuery, getDocument.

A query advances as it is polled, like a report (``report_polls``; statuses IN_QUEUE, IN_PROGRESS,
then the outcome). The ``data_kiosk`` option shapes every query created after it is set::

    {"outcome": "DONE" | "NO_DATA" | "FATAL" | "CANCELLED", "pages": 2, "records": 5}   (the defaults: DONE, 2, 5)

``DONE`` gives each page a data document of ``records`` JSON lines; a page before the last has a
``pagination.nextToken``, which createQuery takes back (with the same query) as ``paginationToken``
for the next page. ``NO_DATA`` is DONE without a ``dataDocumentId`` (Amazon's answer for a period
without data); ``FATAL`` has an ``errorDocumentId`` (:func:`error_content`). Documents are GZIP
served with ``Content-Encoding: gzip`` and announced nowhere else (``getDocument`` answers only
``documentId`` and ``documentUrl``), as Amazon's are. Page content is a pure function of (query,
page, records), so a test rebuilds the exact bytes with :func:`page_content`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.documents import Document, DocumentStore
from airflow_provider_spapi.emulator.jobs import Job, JobBook
from airflow_provider_spapi.emulator.paging import Pager
from airflow_provider_spapi.emulator.responses import ApiError, Response
from airflow_provider_spapi.emulator.seed import MARKETPLACE_ID_US, PRODUCTS, asin_for, sku_for
from airflow_provider_spapi.emulator.timefmt import utcnow

FIRST_QUERY_ID = 70_000_000_000
MAX_QUERY_CHARS = 8000
OUTCOMES = ("DONE", "NO_DATA", "FATAL", "CANCELLED")
_TOKEN_KIND = "datakiosk.page"


@dataclass(frozen=True)
class DataKioskOptions:
    """The ``data_kiosk`` option: how queries end, in how many pages, with how many records each."""

    outcome: str = "DONE"
    pages: int = 2
    records: int = 5

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "pages": self.pages, "records": self.records}


def data_kiosk_options(name: str, value: Any) -> DataKioskOptions:
    """The ``data_kiosk`` option, validated (``ValueError`` naming what is wrong); missing keys keep their defaults."""
    if not isinstance(value, Mapping) or set(value) - {"outcome", "pages", "records"}:
        raise ValueError(f"{name} must be an object with outcome, pages and records, got {value!r}")
    options = DataKioskOptions(**{**DataKioskOptions().to_json(), **value})
    if options.outcome not in OUTCOMES:
        raise ValueError(f"{name}.outcome must be one of {', '.join(OUTCOMES)}, got {options.outcome!r}")
    for field_name, low in (("pages", 1), ("records", 0)):
        number = getattr(options, field_name)
        if isinstance(number, bool) or not isinstance(number, int) or number < low:
            raise ValueError(f"{name}.{field_name} must be an integer >= {low}, got {number!r}")
    return options


def data_kiosk_option(name: str, value: Any) -> dict[str, Any]:
    """The validator of :class:`~airflow_provider_spapi.emulator.config.Options`: the option as plain JSON."""
    return data_kiosk_options(name, value).to_json()


def _page_chunks(query: str, page: int, records: int) -> Iterator[bytes]:
    yield page_content(query, page, records)


def page_content(query: str, page: int, records: int) -> bytes:
    """The JSON lines of one page (numbered from 1) of a salesAndTrafficByAsin-shaped result."""
    digest = int.from_bytes(hashlib.sha256(query.encode()).digest()[:4], "big")
    lines = []
    for n in range(records):
        index = (page - 1) * records + n
        product = (digest + index) % len(PRODUCTS)
        units = 1 + (digest + index * 7) % 40
        price = float(PRODUCTS[product][1])
        record = {
            "startDate": "2026-01-01",
            "endDate": "2026-01-01",
            "marketplaceId": MARKETPLACE_ID_US,
            "parentAsin": asin_for(product + 1),
            "childAsin": asin_for(product + 1),
            "sku": f"{sku_for(product + 1)}-{index:05d}",
            "sales": {
                "orderedProductSales": {"amount": round(price * units, 2), "currencyCode": "USD"},
                "totalOrderItems": units,
                "unitsOrdered": units,
            },
            "traffic": {"pageViews": units * 9, "sessions": units * 5, "buyBoxPercentage": 100.0, "unitSessionPercentage": 20.0},
        }
        lines.append(json.dumps(record, separators=(",", ":")) + "\n")
    return "".join(lines).encode()


def error_content(query_id: str) -> bytes:
    """The error document of a FATAL query."""
    return json.dumps(
        {"errorMessage": f"Query {query_id} failed: the emulator was configured to fail it (data_kiosk outcome FATAL)."}
    ).encode()


class DataKioskApi:
    def __init__(self, documents: DocumentStore, pager: Pager, options: Callable[[], Any]) -> None:
        self.documents = documents
        self.pager = pager
        self.options = options
        self.book: JobBook[Job] = JobBook(FIRST_QUERY_ID)

    def handlers(self) -> dict[str, Handler]:
        return {
            "dataKiosk_2023-11-15.createQuery": self.create_query,
            "dataKiosk_2023-11-15.getQuery": self.get_query,
            "dataKiosk_2023-11-15.cancelQuery": self.cancel_query,
            "dataKiosk_2023-11-15.getDocument": self.get_document,
        }

    def create_query(self, call: Call) -> Response:
        body = call.body()
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ApiError(400, "InvalidInput", "query is required.")
        if len("".join(query.split())) > MAX_QUERY_CHARS:
            raise ApiError(400, "InvalidInput", f"The query is longer than {MAX_QUERY_CHARS} characters.")
        token = body.get("paginationToken")
        plan = data_kiosk_options("data_kiosk", self.options().data_kiosk)
        page = 1
        if token is not None:
            state = self.pager.decode(str(token), _TOKEN_KIND)
            if state is None or state.get("seller") != call.seller or state.get("query") != _fingerprint(query):
                raise ApiError(400, "InvalidInput", "Invalid paginationToken: it must come with the query it belongs to.")
            page, plan = int(state["page"]), data_kiosk_options("paginationToken", state["plan"])
        job = Job(
            job_id=self.book.new_id(),
            owner=call.seller,
            job_type="query",
            marketplace_ids=[],
            created_time=utcnow(),
            outcome="DONE" if plan.outcome == "NO_DATA" else plan.outcome,
            extra={"query": query, "page": page, "plan": plan.to_json()},
        )
        self.book.add(job)
        return Response.json(202, {"queryId": job.job_id})

    def get_query(self, call: Call) -> Response:
        job = self.book.get(call.params["queryId"], call.seller, "Query")
        with self.book.lock:
            if job.poll(self.options().report_polls):
                self._finish(job)
            return Response.json(200, self.render(job))

    def _finish(self, job: Job) -> None:
        plan = data_kiosk_options("plan", job.extra["plan"])
        page = job.extra["page"]
        if job.status == "FATAL":
            job.extra["errorDocumentId"] = self._document(job, partial(iter, [error_content(job.job_id)]))
        elif job.status == "DONE" and plan.outcome != "NO_DATA":
            job.document_id = self._document(job, partial(_page_chunks, job.extra["query"], page, plan.records))
            if page < plan.pages:
                state = {"kind": _TOKEN_KIND, "seller": job.owner, "query": _fingerprint(job.extra["query"]), "page": page + 1}
                job.extra["nextToken"] = self.pager.encode({**state, "plan": plan.to_json()})

    def _document(self, job: Job, content: Callable[[], Any]) -> str:
        document_id = f"amzn1.tortuga.4.na.{uuid.uuid4()}"
        self.documents.add(Document(document_id, job.owner, "query", content=content, content_type="application/x-ndjson"))
        return document_id

    def render(self, job: Job) -> dict[str, Any]:
        """The query as getQuery answers it (the SQS publisher's notification takes its fields from here)."""
        out: dict[str, Any] = {"queryId": job.job_id, "query": job.extra["query"], "processingStatus": job.status, **job.times()}
        if job.document_id:
            out["dataDocumentId"] = job.document_id
        if job.extra.get("errorDocumentId"):
            out["errorDocumentId"] = job.extra["errorDocumentId"]
        if job.extra.get("nextToken"):
            out["pagination"] = {"nextToken": job.extra["nextToken"]}
        return out

    def cancel_query(self, call: Call) -> Response:
        job = self.book.get(call.params["queryId"], call.seller, "Query")
        with self.book.lock:
            job.cancel()
        return Response.empty(204)

    def get_document(self, call: Call) -> Response:
        document_id = call.params["documentId"]
        document = self.documents.get(document_id)
        if document is None or document.kind != "query" or document.owner != call.seller:
            raise ApiError(404, "NotFound", f"Document {document_id} was not found.")
        url = self.documents.presign(document_id, "GET", call.request.base_url, self.options().document_url_ttl, content_encoding=True)
        return Response.json(200, {"documentId": document_id, "documentUrl": url})


def _fingerprint(query: str) -> str:
    return hashlib.sha256(" ".join(query.split()).encode()).hexdigest()[:16]
