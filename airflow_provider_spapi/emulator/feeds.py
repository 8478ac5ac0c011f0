"""Feeds API 2021-06-30: feed documents, createFeed, getFeed, getFeeds, cancelFeed, getFeedDocument.

``createFeedDocument`` returns a pre-signed upload URL: ``PUT`` the content there with the same
``Content-Type`` (a different one is S3's 403 ``SignatureDoesNotMatch``). ``createFeed`` refuses
(400) a document that was never uploaded. Feeds advance like reports (``report_polls``, outcome
from ``feed_outcomes``). A DONE or FATAL feed has a ``resultFeedDocumentId``: a GZIP-compressed
JSON processing report, the shape of the JSON listings feed's::

    {"header": {"sellerId", "version": "2.0", "feedId"},
     "issues": [{"messageId", "code", "severity": "ERROR", "message"}],
     "summary": {"errors", "warnings", "messagesProcessed", "messagesAccepted", "messagesInvalid"}}

computed from the upload: a JSON feed's ``messages`` (a message whose ``operationType`` is
``INVALID`` is an error), an XML feed's ``<Message>`` elements, or a flat file's data lines (after
the header line). Any message containing ``EMULATOR_ERROR`` is an error too.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.config import Options
from airflow_provider_spapi.emulator.documents import Document, DocumentStore
from airflow_provider_spapi.emulator.jobs import Job, JobBook, list_jobs
from airflow_provider_spapi.emulator.paging import Pager
from airflow_provider_spapi.emulator.responses import ApiError, Response
from airflow_provider_spapi.emulator.timefmt import utcnow

FIRST_FEED_ID = 60_000_000_000
ERROR_MARKER = "EMULATOR_ERROR"
_XML_MESSAGE = re.compile(rb"<Message>.*?</Message>", re.DOTALL)


def _messages(content: bytes) -> tuple[list[tuple[int, bool]], str | None]:
    """(message id, is error) per message, or a feed-level problem."""
    text = content.lstrip()
    if text.startswith((b"{", b"[")):
        try:
            data = json.loads(content)
        except ValueError:
            return [], "The feed is not valid JSON."
        messages = data.get("messages") if isinstance(data, dict) else data
        if not isinstance(messages, list):
            return [], "The JSON feed has no 'messages' array."
        out = []
        for index, message in enumerate(messages, 1):
            message_id = message.get("messageId", index) if isinstance(message, dict) else index
            invalid = isinstance(message, dict) and message.get("operationType") == "INVALID"
            out.append((message_id if isinstance(message_id, int) else index, invalid or ERROR_MARKER in json.dumps(message)))
        return out, None
    if text.startswith(b"<"):
        return [(index, ERROR_MARKER.encode() in m) for index, m in enumerate(_XML_MESSAGE.findall(content), 1)], None
    lines = [line for line in content.splitlines() if line.strip()]
    return [(index, ERROR_MARKER.encode() in line) for index, line in enumerate(lines[1:], 1)], None


def processing_report(seller_id: str, feed_id: str, content: bytes | None, fatal: bool = False) -> dict[str, Any]:
    """The processing report of a feed: what Amazon would say about the uploaded content."""
    header = {"sellerId": seller_id, "version": "2.0", "feedId": feed_id}
    if fatal:
        issue = {
            "code": "FATAL",
            "severity": "ERROR",
            "message": "The feed could not be processed (the emulator was told to fail it: feed_outcomes).",
        }
        summary = {"errors": 1, "warnings": 0, "messagesProcessed": 0, "messagesAccepted": 0, "messagesInvalid": 0}
        return {"header": header, "issues": [issue], "summary": summary}
    messages, problem = _messages(content or b"")
    issues: list[dict[str, Any]] = []
    if problem:
        issues.append({"code": "90001", "severity": "ERROR", "message": problem})
    for message_id, is_error in messages:
        if is_error:
            issues.append({"messageId": message_id, "code": "90000", "severity": "ERROR", "message": "The emulator rejected this message."})
    invalid = sum(1 for _, is_error in messages if is_error)
    summary = {
        "errors": len(issues),
        "warnings": 0,
        "messagesProcessed": len(messages),
        "messagesAccepted": len(messages) - invalid,
        "messagesInvalid": invalid,
    }
    return {"header": header, "issues": issues, "summary": summary}


class FeedsApi:
    def __init__(self, documents: DocumentStore, pager: Pager, options: Callable[[], Options]) -> None:
        self.documents = documents
        self.pager = pager
        self.options = options
        self.book: JobBook[Job] = JobBook(FIRST_FEED_ID)

    def handlers(self) -> dict[str, Handler]:
        return {
            "feeds_2021-06-30.createFeedDocument": self.create_feed_document,
            "feeds_2021-06-30.createFeed": self.create_feed,
            "feeds_2021-06-30.getFeed": self.get_feed,
            "feeds_2021-06-30.getFeeds": self.get_feeds,
            "feeds_2021-06-30.cancelFeed": self.cancel_feed,
            "feeds_2021-06-30.getFeedDocument": self.get_feed_document,
        }

    def _new_document_id(self) -> str:
        return f"amzn1.tortuga.4.na.{uuid.uuid4()}"

    def render(self, job: Job) -> dict[str, Any]:
        out: dict[str, Any] = {"feedId": job.job_id, "feedType": job.job_type, "marketplaceIds": job.marketplace_ids}
        out["processingStatus"] = job.status
        out.update(job.times())
        if job.document_id:
            out["resultFeedDocumentId"] = job.document_id
        return out

    def create_feed_document(self, call: Call) -> Response:
        content_type = call.body().get("contentType")
        if not isinstance(content_type, str) or not content_type.strip():
            raise ApiError(400, "InvalidInput", "contentType is required.")
        document = Document(self._new_document_id(), call.seller, "feed_input", content=None, compressed=False, content_type=content_type)
        self.documents.add(document)
        url = self.documents.presign(document.document_id, "PUT", call.request.base_url, self.options().document_url_ttl)
        return Response.json(201, {"feedDocumentId": document.document_id, "url": url})

    def create_feed(self, call: Call) -> Response:
        body = call.body()
        feed_type, marketplaces, input_id = body.get("feedType"), body.get("marketplaceIds"), body.get("inputFeedDocumentId")
        if not isinstance(feed_type, str) or not feed_type:
            raise ApiError(400, "InvalidInput", "feedType is required.")
        if not isinstance(marketplaces, list) or not marketplaces or not all(isinstance(m, str) for m in marketplaces):
            raise ApiError(400, "InvalidInput", "marketplaceIds is required: a non-empty list of marketplace ids.")
        if not isinstance(input_id, str) or not input_id:
            raise ApiError(400, "InvalidInput", "inputFeedDocumentId is required.")
        document = self.documents.get(input_id)
        if document is None or document.kind != "feed_input" or document.owner != call.seller:
            raise ApiError(400, "InvalidInput", f"Feed document {input_id} does not exist.")
        if document.content is None:
            raise ApiError(400, "InvalidInput", f"Feed document {input_id} was never uploaded: PUT the content to its URL first.")
        job = Job(
            job_id=self.book.new_id(),
            owner=call.seller,
            job_type=feed_type,
            marketplace_ids=list(marketplaces),
            created_time=utcnow(),
            outcome=self.options().feed_outcomes.get(feed_type, "DONE"),
            extra={"inputFeedDocumentId": input_id, "feedOptions": body.get("feedOptions")},
        )
        self.book.add(job)
        return Response.json(202, {"feedId": job.job_id})

    def get_feed(self, call: Call) -> Response:
        job = self.book.get(call.params["feedId"], call.seller, "Feed")
        with self.book.lock:
            if job.poll(self.options().report_polls):
                self._finish(job)
            return Response.json(200, self.render(job))

    def _finish(self, job: Job) -> None:
        """The result document of a feed that just became final (a CANCELLED feed has none); the SQS publisher calls it too."""
        if job.status == "CANCELLED":
            return
        upload = self.documents.get(job.extra["inputFeedDocumentId"])
        content = b"".join(upload.content()) if upload is not None and upload.content is not None else b""
        report = processing_report(job.owner, job.job_id, content, fatal=job.status == "FATAL")
        result = Document(
            self._new_document_id(),
            job.owner,
            "feed_result",
            content=partial(iter, [json.dumps(report).encode()]),
            content_type="application/json",
        )
        self.documents.add(result)
        job.document_id = result.document_id

    def get_feeds(self, call: Call) -> Response:
        return Response.json(
            200, list_jobs(call, self.book.owned_by(call.seller), self.pager, "feeds.list", "feedTypes", self.render, "feeds")
        )

    def cancel_feed(self, call: Call) -> Response:
        job = self.book.get(call.params["feedId"], call.seller, "Feed")
        with self.book.lock:
            job.cancel()
        return Response.empty(200)

    def get_feed_document(self, call: Call) -> Response:
        document_id = call.params["feedDocumentId"]
        document = self.documents.get(document_id)
        if document is None or document.kind not in ("feed_input", "feed_result") or document.owner != call.seller:
            raise ApiError(404, "NotFound", f"Feed document {document_id} was not found.")
        options = self.options()
        answer = self.documents.download_answer(document, call.request, options.document_url_ttl, options.document_content_encoding)
        return Response.json(200, {"feedDocumentId": document_id, **answer})
