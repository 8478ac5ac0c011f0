"""Report sensors: ``SpApiReportSensor`` waits for a known report id, ``SpApiLatestReportSensor`` for any new DONE report of a type."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from airflow_provider_spapi._compat import AirflowSensorTimeout, AirflowSkipException, BaseSensorOperator, Context, PokeReturnValue, conf
from airflow_provider_spapi.errors import SpApiProcessingError, SpApiServerError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.spapi import scheduled_reports
from airflow_provider_spapi.spapi.settings import parse_marketplace_ids
from airflow_provider_spapi.spapi.workflows import ProcessingStatus, processing_status
from airflow_provider_spapi.triggers.processing import (
    SpApiLatestReportTrigger,
    SpApiProcessingTrigger,
    event_is_from_another_try,
    status_from_event,
    try_number_of,
)


class SpApiReportSensor(BaseSensorOperator):
    """Succeed when report ``report_id`` is DONE, pushing its ``reportDocumentId`` to XCom.

    A FATAL report fails the sensor; a CANCELLED one (Amazon's word for "no data for this
    period") skips it, or fails it with ``soft_fail_on_cancelled=False``. With ``deferrable=True``
    (default: ``[operators] default_deferrable``) the wait happens in the triggerer.

    :param report_id: the report to watch (templated).
    :param spapi_conn_id: the ``spapi`` connection.
    """

    template_fields: Sequence[str] = ("report_id",)
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        report_id: str,
        spapi_conn_id: str = SpApiHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        soft_fail_on_cancelled: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 30)
        super().__init__(**kwargs)
        self.report_id = report_id
        self.spapi_conn_id = spapi_conn_id
        self.deferrable = deferrable
        self.soft_fail_on_cancelled = soft_fail_on_cancelled

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        status = processing_status(self.hook.client, "report", str(self.report_id))
        if status.finished:
            return self._outcome(status)
        self.defer(
            trigger=SpApiProcessingTrigger(
                kind="report",
                job_id=str(self.report_id),
                spapi_conn_id=self.spapi_conn_id,
                poll_interval=float(self.poke_interval),
                deadline=time.time() + float(self.timeout),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def poke(self, context: Context) -> Any:
        status = processing_status(self.hook.client, "report", str(self.report_id))
        if not status.finished:
            self.log.info("Report %s is %s", self.report_id, status.status)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._outcome(status))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        return self._outcome(status_from_event(event))

    def _outcome(self, status: ProcessingStatus) -> str | None:
        if status.status == "FATAL":
            raise SpApiProcessingError(f"Report {status.job_id} ended FATAL (error document {status.document_id}).", operation="getReport")
        if status.status == "CANCELLED":
            message = f"Report {status.job_id} was CANCELLED: Amazon had no data for the period, or it was cancelled."
            if self.soft_fail_on_cancelled:
                raise AirflowSkipException(message)
            raise SpApiProcessingError(message, operation="getReport")
        return status.document_id


class SpApiLatestReportSensor(BaseSensorOperator):
    """Succeed once a DONE report of ``report_type`` created since ``created_since`` exists; no ``report_id`` needed.

    For reports Amazon makes on its own schedule (settlement reports) or that a schedule makes: each
    poke is one getReports call (0.0222 requests/s, burst 10, so keep ``poke_interval`` at minutes
    and use ``mode="reschedule"`` to free the worker slot between pokes). XCom gets the newest
    report's ``{"report_id", "report_type", "document_id", "created_time", ...}``; pass its
    ``report_id`` on, or let :class:`~airflow_provider_spapi.operators.scheduled_reports.SpApiScheduledReportOperator`
    download it.

    :param report_type: one report type, e.g. ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE`` (templated).
    :param created_since: earliest creation time, a datetime or ISO string, e.g. ``{{ data_interval_start }}`` (templated).
    :param marketplace_ids: only reports for these marketplaces (templated).
    :param spapi_conn_id: the ``spapi`` connection.
    :param deferrable: wait in the triggerer (``SpApiLatestReportTrigger``) instead of poking.
    """

    template_fields: Sequence[str] = ("report_type", "created_since", "marketplace_ids")
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        report_type: str,
        created_since: datetime | str,
        marketplace_ids: Sequence[str] | str | None = None,
        spapi_conn_id: str = SpApiHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 300)
        super().__init__(**kwargs)
        self.report_type = report_type
        self.created_since = created_since
        self.marketplace_ids = marketplace_ids
        self.spapi_conn_id = spapi_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def poke(self, context: Context) -> Any:
        found = scheduled_reports.find_done_reports(
            self.hook.client, self.report_type, created_since=self.created_since, marketplace_ids=self.marketplace_ids
        )
        if not found:
            self.log.info("No DONE %s report created since %s yet", self.report_type, self.created_since)
            return False
        return PokeReturnValue(is_done=True, xcom_value=found[-1].to_xcom())

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        # Bad arguments fail here, in the worker, before the triggerer is involved; a report already there needs no wait.
        scheduled_reports.check_report_type(self.report_type)
        since = scheduled_reports.parse_moment(self.created_since, "created_since")
        marketplace_ids = list(parse_marketplace_ids(self.marketplace_ids)) or None
        first = self.poke(context)
        if isinstance(first, PokeReturnValue):
            return first.xcom_value
        self.defer(
            trigger=SpApiLatestReportTrigger(
                report_type=self.report_type,
                created_since=since.isoformat(),
                spapi_conn_id=self.spapi_conn_id,
                marketplace_ids=marketplace_ids,
                poll_interval=float(self.poke_interval),
                deadline=time.time() + float(self.timeout),
                try_number=try_number_of(context),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event_is_from_another_try(event, context):
            return self.execute(context)  # an earlier try's event: this try waits afresh
        if event.get("event") == "timeout":
            message = f"No DONE {self.report_type} report was created since {self.created_since} within the sensor's timeout."
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        if event.get("event") != "finished":
            raise SpApiServerError(f"Waiting for a {self.report_type} report failed: {event.get('message')}", operation="getReports")
        return event["report"]
