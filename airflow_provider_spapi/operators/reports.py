"""``SpApiReportOperator``: request a report, wait for it, and stream its document to storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from airflow_provider_spapi._compat import AirflowSkipException, Context
from airflow_provider_spapi.errors import SpApiConfigError, SpApiProcessingError
from airflow_provider_spapi.operators.base import SpApiProcessingOperator, failing_fast, storage_path
from airflow_provider_spapi.operators.links import SellerCentralReportLink
from airflow_provider_spapi.spapi import flatfile, report_files, workflows
from airflow_provider_spapi.spapi.flatfile import OutputFormat
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids
from airflow_provider_spapi.spapi.workflows import ProcessingStatus

OnCancelled = Literal["skip", "fail", "succeed"]


class SpApiReportOperator(SpApiProcessingOperator):
    """createReport, wait until Amazon is done, getReportDocument, and stream the document to ``output_path``.

    The document is decompressed on the fly (GZIP) and written atomically: a failed or truncated
    download is retried with a fresh URL and never leaves a file that looks complete. Report types
    whose documents hold PII (see ``restricted_report_types`` in the catalog) get a Restricted
    Data Token for getReportDocument automatically. XCom carries only the report id, document id,
    path and byte count, never the content.

    :param report_type: e.g. ``GET_MERCHANT_LISTINGS_ALL_DATA`` (templated).
    :param marketplace_ids: defaults to the connection's ``marketplace_ids`` (templated).
    :param data_start_time: start of the period, a datetime or ISO string, e.g. ``{{ data_interval_start }}`` (templated).
    :param data_end_time: end of the period (templated).
    :param report_options: report-type specific options (templated).
    :param output_path: a local path or an ObjectStoragePath / URL such as ``s3://bucket/key`` (templated).
    :param on_cancelled: Amazon cancels a report that has no data for the period. ``skip`` (default)
        skips the task, ``succeed`` returns without a file, ``fail`` fails it.
    :param output_format: ``raw`` (default) writes Amazon's bytes; for flat-file reports ``utf8`` writes
        them re-encoded as UTF-8 and ``jsonl`` one JSON object per row, keyed by the header (see
        :mod:`~airflow_provider_spapi.spapi.flatfile` for how the charset is chosen). XCom then adds
        ``rows`` and ``charset``.
    :param encoding: the flat file's charset when you know it (e.g. ``shift_jis``); default: UTF-8 if
        the file is valid UTF-8, else the marketplace's legacy charset.
    """

    kind = "report"
    template_fields: Sequence[str] = ("report_type", "marketplace_ids", "data_start_time", "data_end_time", "report_options", "output_path")
    template_fields_renderers = {"report_options": "json"}
    ui_color = "#ff9900"
    operator_extra_links = (SellerCentralReportLink(),)

    def __init__(
        self,
        *,
        report_type: str,
        output_path: Any,
        marketplace_ids: Sequence[str] | str | None = None,
        data_start_time: datetime | str | None = None,
        data_end_time: datetime | str | None = None,
        report_options: Mapping[str, str] | None = None,
        on_cancelled: OnCancelled = "skip",
        output_format: OutputFormat = "raw",
        encoding: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_format = flatfile.check_output_format(output_format)
        self.encoding = flatfile.check_charset(encoding)
        if on_cancelled not in ("skip", "fail", "succeed"):
            raise SpApiConfigError(f"Argument 'on_cancelled' must be skip, fail or succeed, not {on_cancelled!r}.")
        self.report_type = report_type
        self.output_path = output_path
        self.marketplace_ids = marketplace_ids
        self.data_start_time = data_start_time
        self.data_end_time = data_end_time
        self.report_options = report_options
        self.on_cancelled = on_cancelled

    def execute(self, context: Context) -> Any:
        with failing_fast():
            storage_path(self.output_path)  # a bad destination fails here, before Amazon starts a report
            report_id = self.start_or_resume(
                context,
                lambda: workflows.create_report(
                    self.hook.client,
                    self.report_type,
                    marketplace_ids=self.marketplace_ids,
                    data_start_time=self.data_start_time,
                    data_end_time=self.data_end_time,
                    report_options=self.report_options,
                ),
            )
            self.log.info("Report %s (%s)", report_id, self.report_type)
            return self.wait_then_finish(context, report_id)

    def finish(self, context: Context, status: ProcessingStatus) -> Any:
        client = self.hook.client
        if status.status == "FATAL":
            # A restricted report type's error document needs the same Restricted Data Token as its data.
            restricted = workflows.is_restricted_report(self.report_type)
            error_id = status.error_document_id or status.document_id
            detail = workflows.read_document_text(client, "report", error_id, restricted=restricted) if error_id else "no error document"
            raise SpApiProcessingError(f"Report {status.job_id} ({self.report_type}) ended FATAL: {detail}", operation="getReport")
        if status.status == "CANCELLED":
            message = f"Report {status.job_id} ({self.report_type}) was CANCELLED: Amazon had no data for the period, or it was cancelled."
            if self.on_cancelled == "fail":
                raise SpApiProcessingError(message, operation="getReport")
            if self.on_cancelled == "skip":
                raise AirflowSkipException(message)
            self.log.info(message)
            return {"report_id": status.job_id, "document_id": None, "path": None, "bytes": 0, "status": status.status}
        if not status.document_id:
            raise SpApiProcessingError(f"Report {status.job_id} is DONE without a reportDocumentId.", operation="getReport")
        restricted = workflows.is_restricted_report(self.report_type)
        destination = storage_path(self.output_path)
        result = report_files.save_report(
            client,
            status.document_id,
            destination,
            restricted=restricted,
            output_format=self.output_format,
            encoding=self.encoding,
            marketplace_ids=parse_marketplace_ids(self.marketplace_ids) or client.settings.marketplace_ids,
        )
        self.lineage_output(destination)
        self.log.info("Report %s: wrote %d bytes to %s", status.job_id, result.bytes_written, result.path)
        self.hook.log_stats()
        return {"report_id": status.job_id, "document_id": status.document_id, **result.to_xcom(), "status": status.status}
