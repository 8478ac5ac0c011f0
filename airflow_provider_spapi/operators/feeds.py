"""``SpApiFeedOperator``: upload a feed, wait for Amazon to process it, and keep its processing report."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow_provider_spapi._compat import Context
from airflow_provider_spapi.errors import SpApiProcessingError
from airflow_provider_spapi.operators.base import SpApiProcessingOperator, failing_fast, storage_path
from airflow_provider_spapi.operators.links import FEED_ID_XCOM_KEY, SellerCentralFeedLink
from airflow_provider_spapi.spapi import processing_report, workflows
from airflow_provider_spapi.spapi.workflows import ProcessingStatus


class SpApiFeedOperator(SpApiProcessingOperator):
    """createFeedDocument, upload ``input_path``, createFeed, wait, then fetch the processing report.

    The processing report is streamed to ``output_path`` when given (otherwise only its summary is
    kept). XCom gets the feed id, result document id, path and the report's ``summary``: ``errors`` and
    ``warnings`` for every format, beside the format's own counts (JSON: messagesProcessed,
    messagesAccepted, messagesInvalid; XML: messagesProcessed, messagesSuccessful, messagesWithError,
    messagesWithWarning; flat file: recordsProcessed, recordsSuccessful). A feed that ends FATAL
    or CANCELLED fails the task; one whose report counts errors fails it too unless
    ``fail_on_errors=False``.

    :param feed_type: e.g. ``JSON_LISTINGS_FEED`` (templated).
    :param input_path: the file to upload, local or ObjectStoragePath / URL (templated).
    :param content_type: its MIME type, e.g. ``application/json; charset=UTF-8``.
    :param marketplace_ids: defaults to the connection's ``marketplace_ids`` (templated).
    :param feed_options: feed-type specific options (templated).
    :param output_path: where to keep the processing report (templated).
    :param fail_on_errors: fail when the processing report counts errors.

    The feed id also goes to the ``feed_id`` XCom as soon as Amazon gives it, for the task's
    **Seller Central** link to the feed's row on the upload status page.
    """

    kind = "feed"
    template_fields: Sequence[str] = ("feed_type", "input_path", "marketplace_ids", "feed_options", "output_path")
    template_fields_renderers = {"feed_options": "json"}
    ui_color = "#ff9900"
    operator_extra_links = (SellerCentralFeedLink(),)

    def __init__(
        self,
        *,
        feed_type: str,
        input_path: Any,
        content_type: str,
        marketplace_ids: Sequence[str] | str | None = None,
        feed_options: Mapping[str, str] | None = None,
        output_path: Any = None,
        fail_on_errors: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.feed_type = feed_type
        self.input_path = input_path
        self.content_type = content_type
        self.marketplace_ids = marketplace_ids
        self.feed_options = feed_options
        self.output_path = output_path
        self.fail_on_errors = fail_on_errors

    def execute(self, context: Context) -> Any:
        with failing_fast():
            if self.output_path is not None:
                storage_path(self.output_path)
            feed_id = self.start_or_resume(context, self._submit)
            ti = context.get("ti")
            if ti is not None:  # for the Seller Central link, which must work for a feed that then fails
                ti.xcom_push(key=FEED_ID_XCOM_KEY, value=feed_id)
            return self.wait_then_finish(context, feed_id)

    def _submit(self) -> str:
        """The job's start: createFeedDocument, upload, createFeed (run once per task instance, not per try)."""
        feed_id, sent = workflows.submit_feed(
            self.hook.client,
            self.feed_type,
            storage_path(self.input_path, "input_path"),
            self.content_type,
            marketplace_ids=self.marketplace_ids,
            feed_options=self.feed_options,
        )
        self.log.info("Uploaded %d bytes and created feed %s (%s)", sent, feed_id, self.feed_type)
        return feed_id

    def finish(self, context: Context, status: ProcessingStatus) -> Any:
        # The feed file is this run's input even when an earlier try uploaded it (the job was resumed).
        self.lineage_input(storage_path(self.input_path, "input_path"))
        if status.status != "DONE":
            raise SpApiProcessingError(f"Feed {status.job_id} ({self.feed_type}) ended {status.status}.", operation="getFeed")
        result: dict[str, Any] = {"feed_id": status.job_id, "document_id": status.document_id, "path": None, "summary": {}}
        if status.document_id:
            if self.output_path is not None:
                destination = storage_path(self.output_path)
                written = workflows.download(self.hook.client, "feed", status.document_id, destination)
                self.lineage_output(destination)
                result["path"] = written.path
                result["summary"] = processing_report.summary(destination)
            else:
                with tempfile.TemporaryDirectory() as scratch:
                    report = Path(scratch) / "processing-report"
                    workflows.download(self.hook.client, "feed", status.document_id, report)
                    result["summary"] = processing_report.summary(report)
        self.hook.log_stats()
        errors = int(result["summary"].get("errors", 0) or 0)
        self.log.info("Feed %s processed: %s", status.job_id, result["summary"])
        if errors and self.fail_on_errors:
            raise SpApiProcessingError(
                f"Feed {status.job_id} ({self.feed_type}) was processed with {errors} error(s); see the processing report"
                + (f" at {result['path']}." if result["path"] else " (set output_path to keep it)."),
                operation="getFeed",
            )
        return result
