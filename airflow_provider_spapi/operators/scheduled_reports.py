"""``SpApiScheduledReportOperator``: download the DONE reports of a type that Amazon made on its own schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

from airflow_provider_spapi._compat import AirflowSkipException, BaseOperator, Context
from airflow_provider_spapi.errors import SpApiConfigError, SpApiProcessingError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.base import storage_path
from airflow_provider_spapi.operators.lineage import OpenLineageMixin
from airflow_provider_spapi.operators.links import SellerCentralReportLink
from airflow_provider_spapi.spapi import flatfile, report_files, scheduled_reports, workflows
from airflow_provider_spapi.spapi.flatfile import OutputFormat
from airflow_provider_spapi.spapi.scheduled_reports import FoundReport, Mode

OnNone = Literal["skip", "succeed", "fail"]
REPORT_ID_FIELD = "{report_id}"


class SpApiScheduledReportOperator(OpenLineageMixin, BaseOperator):
    """Find the DONE reports of ``report_type`` created since ``created_since`` and stream them to storage.

    For reports nobody requests: settlement reports (Amazon produces them every few days, on its
    own schedule) and reports scheduled with ``createReportSchedule`` or in Seller Central. No
    ``report_id`` is needed: getReports lists the DONE reports of the type created in the window.

    * ``mode="latest"`` downloads the newest one to ``output_path``.
    * ``mode="all_new"`` downloads every one in the window, oldest first; ``output_path`` must then
      contain ``{report_id}``, which becomes each report's id.

    Give the window from the data interval (``created_since="{{ data_interval_start }}"``,
    ``created_until="{{ data_interval_end }}"``) and every report is fetched by exactly one run, and
    a re-run fetches the same reports to the same paths again: the task is idempotent. XCom gets the
    report ids, document ids and paths, never the content.

    :param report_type: one report type, e.g. ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE`` (templated).
    :param output_path: local path or ObjectStoragePath / URL (templated); with ``all_new`` it holds ``{report_id}``.
    :param created_since: earliest creation time, a datetime or ISO string (templated). Amazon keeps reports 90 days.
    :param created_until: latest creation time (templated); default now.
    :param marketplace_ids: only reports for these marketplaces (templated); default every marketplace.
    :param mode: ``latest`` or ``all_new``.
    :param output_format: ``raw`` (Amazon's bytes, default), ``utf8`` or ``jsonl`` (one JSON object per row), as for
        :class:`~airflow_provider_spapi.operators.reports.SpApiReportOperator`.
    :param encoding: the flat file's charset when you know it; default: UTF-8 if valid, else the marketplace's.
    :param on_none: no DONE report in the window: ``skip`` (default) the task, ``succeed`` with an empty result, or ``fail``.
    :param spapi_conn_id: the ``spapi`` connection.
    """

    template_fields: Sequence[str] = ("report_type", "output_path", "created_since", "created_until", "marketplace_ids")
    ui_color = "#ff9900"
    operator_extra_links = (SellerCentralReportLink(),)

    def __init__(
        self,
        *,
        report_type: str,
        output_path: Any,
        created_since: datetime | str,
        created_until: datetime | str | None = None,
        marketplace_ids: Sequence[str] | str | None = None,
        mode: Mode = "latest",
        on_none: OnNone = "skip",
        output_format: OutputFormat = "raw",
        encoding: str | None = None,
        spapi_conn_id: str = SpApiHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_format = flatfile.check_output_format(output_format)
        self.encoding = flatfile.check_charset(encoding)
        self.mode = scheduled_reports.check_mode(mode)
        if on_none not in ("skip", "succeed", "fail"):
            raise SpApiConfigError(f"Argument 'on_none' must be skip, succeed or fail, not {on_none!r}.")
        self.report_type = report_type
        self.output_path = output_path
        self.created_since = created_since
        self.created_until = created_until
        self.marketplace_ids = marketplace_ids
        self.on_none = on_none
        self.spapi_conn_id = spapi_conn_id

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def _destination(self, report: FoundReport) -> Any:
        text = str(self.output_path)
        return storage_path(text.replace(REPORT_ID_FIELD, report.report_id)) if REPORT_ID_FIELD in text else storage_path(self.output_path)

    def _check_arguments(self) -> None:
        """Everything that can be wrong with the rendered arguments, before any request."""
        storage_path(self.output_path)
        scheduled_reports.check_report_type(self.report_type)
        scheduled_reports.parse_moment(self.created_since, "created_since")
        if self.created_until is not None:
            scheduled_reports.parse_moment(self.created_until, "created_until")
        if self.mode == "all_new" and REPORT_ID_FIELD not in str(self.output_path):
            raise SpApiConfigError(
                "Argument 'output_path' must contain {report_id} with mode='all_new', so that each report gets its own file, "
                "e.g. '/data/settlements/{report_id}.tsv'."
            )

    def execute(self, context: Context) -> Any:
        self._check_arguments()
        client = self.hook.client
        found = scheduled_reports.find_done_reports(
            client,
            self.report_type,
            created_since=self.created_since,
            created_until=self.created_until,
            marketplace_ids=self.marketplace_ids,
        )
        chosen = scheduled_reports.select(found, self.mode)
        if not chosen:
            message = f"No DONE {self.report_type} report was created between {self.created_since} and {self.created_until or 'now'}."
            if self.on_none == "fail":
                raise SpApiProcessingError(message, operation="getReports")
            if self.on_none == "skip":
                raise AirflowSkipException(message)
            self.log.info(message)
            return {"reports": [], "count": 0, "bytes": 0}
        restricted = workflows.is_restricted_report(self.report_type)
        written = []
        for report in chosen:
            destination = self._destination(report)
            result = report_files.save_report(
                client,
                report.document_id,
                destination,
                restricted=restricted,
                output_format=self.output_format,
                encoding=self.encoding,
                marketplace_ids=report.marketplace_ids,
            )
            self.log.info(
                "Report %s (created %s): wrote %d bytes to %s", report.report_id, report.created_time, result.bytes_written, result.path
            )
            self.lineage_output(destination)
            written.append({**report.to_xcom(), **result.to_xcom()})
        self.hook.log_stats()
        return {"reports": written, "count": len(written), "bytes": sum(int(item["bytes"]) for item in written)}
