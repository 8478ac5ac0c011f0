"""Reports API 2021-06-30: createReport, getReport, getReports, cancelReport, getReportDocument.

A report's outcome (``report_outcomes``, default ``DONE``) and document size
(``report_document_bytes``) are fixed when it is created; its status advances as it is polled
(see :mod:`.jobs`). A DONE report's document is :func:`.documents.report_content`; a FATAL report
has an error document (:func:`.documents.fatal_report_content`); a CANCELLED one has none. The
document of a restricted report type (``facts.restricted_report_types()``) needs a Restricted
Data Token for its *specific* path (``/reports/2021-06-30/documents/<id>``): a plain token, or an
RDT for the generic ``{reportDocumentId}`` path, gets 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, TypeGuard

from airflow_provider_spapi.emulator.auth import DENIED
from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.config import Options
from airflow_provider_spapi.emulator.documents import Document, DocumentStore, fatal_report_content, report_content
from airflow_provider_spapi.emulator.facts import restricted_report_types
from airflow_provider_spapi.emulator.jobs import Job, JobBook, list_jobs
from airflow_provider_spapi.emulator.paging import Pager
from airflow_provider_spapi.emulator.responses import ApiError, Response
from airflow_provider_spapi.emulator.timefmt import parse_time, utcnow

FIRST_REPORT_ID = 50_000_000_000


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


class ReportsApi:
    def __init__(self, documents: DocumentStore, pager: Pager, options: Callable[[], Options]) -> None:
        self.documents = documents
        self.pager = pager
        self.options = options
        self.book: JobBook[Job] = JobBook(FIRST_REPORT_ID)
        self._document_seq = 0

    def handlers(self) -> dict[str, Handler]:
        return {
            "reports_2021-06-30.createReport": self.create_report,
            "reports_2021-06-30.getReport": self.get_report,
            "reports_2021-06-30.getReports": self.get_reports,
            "reports_2021-06-30.cancelReport": self.cancel_report,
            "reports_2021-06-30.getReportDocument": self.get_report_document,
        }

    def render(self, job: Job) -> dict[str, Any]:
        out: dict[str, Any] = {"reportId": job.job_id, "reportType": job.job_type, "marketplaceIds": job.marketplace_ids}
        for name in ("dataStartTime", "dataEndTime"):
            if job.extra.get(name):
                out[name] = job.extra[name]
        out["processingStatus"] = job.status
        out.update(job.times())
        if job.document_id and job.status in ("DONE", "FATAL"):
            out["reportDocumentId"] = job.document_id
        return out

    def create_report(self, call: Call) -> Response:
        body = call.body()
        report_type = body.get("reportType")
        if not isinstance(report_type, str) or not report_type:
            raise ApiError(400, "InvalidInput", "reportType is required.")
        marketplace_ids = body.get("marketplaceIds")
        if not _strings(marketplace_ids):
            raise ApiError(400, "InvalidInput", "marketplaceIds is required: a non-empty list of marketplace ids.")
        for name in ("dataStartTime", "dataEndTime"):
            if body.get(name) is not None:
                parse_time(str(body[name]), name)
        options = self.options()
        job = Job(
            job_id=self.book.new_id(),
            owner=call.seller,
            job_type=report_type,
            marketplace_ids=list(marketplace_ids),
            created_time=utcnow(),
            outcome=options.report_outcomes.get(report_type, "DONE"),
            extra={
                "dataStartTime": body.get("dataStartTime"),
                "dataEndTime": body.get("dataEndTime"),
                "reportOptions": body.get("reportOptions"),
                "size": options.report_document_bytes,
            },
        )
        self.book.add(job)
        return Response.json(202, {"reportId": job.job_id})

    def get_report(self, call: Call) -> Response:
        job = self.book.get(call.params["reportId"], call.seller, "Report")
        with self.book.lock:
            if job.poll(self.options().report_polls):
                self._finish(job)
            return Response.json(200, self.render(job))

    def _finish(self, job: Job) -> None:
        if job.status == "CANCELLED":
            return
        self._document_seq += 1
        document_id = f"amzn1.spdoc.1.4.na.{uuid.uuid5(uuid.NAMESPACE_URL, f'spapi-emulator:report:{job.job_id}:{self._document_seq}')}"
        if job.status == "DONE":
            content: Callable[[], Any] = partial(report_content, job.job_type, job.job_id, job.extra["size"])
        else:
            error = fatal_report_content(job.job_type, job.job_id)
            content = partial(iter, [error])
        self.documents.add(Document(document_id, job.owner, "report", content=content, report_type=job.job_type))
        job.document_id = document_id

    def get_reports(self, call: Call) -> Response:
        body = list_jobs(call, self.book.owned_by(call.seller), self.pager, "reports.list", "reportTypes", self.render, "reports")
        return Response.json(200, body)

    def cancel_report(self, call: Call) -> Response:
        job = self.book.get(call.params["reportId"], call.seller, "Report")
        with self.book.lock:
            job.cancel()
        return Response.empty(200)

    def get_report_document(self, call: Call) -> Response:
        document_id = call.params["reportDocumentId"]
        document = self.documents.get(document_id)
        if document is None or document.kind != "report" or document.owner != call.seller:
            raise ApiError(404, "NotFound", f"Report document {document_id} was not found.")
        if document.report_type in restricted_report_types() and not (
            call.grant.kind == "rdt" and call.grant.covers(call.request.method, call.request.path, exact=True)
        ):
            raise ApiError(
                403,
                "Unauthorized",
                DENIED,
                f"{document.report_type} is a restricted report type: get its document with a Restricted Data Token "
                f"for the specific path {call.request.path}.",
            )
        options = self.options()
        answer = self.documents.download_answer(document, call.request, options.document_url_ttl, options.document_content_encoding)
        return Response.json(200, {"reportDocumentId": document_id, **answer})
