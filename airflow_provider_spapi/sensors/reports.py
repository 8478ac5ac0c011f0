"""``SpApiReportSensor``: wait for a report created elsewhere (another DAG, Amazon's schedules, Seller Central)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow_provider_spapi._compat import AirflowSkipException, BaseSensorOperator, Context, PokeReturnValue, conf
from airflow_provider_spapi.errors import SpApiProcessingError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.spapi.workflows import ProcessingStatus, processing_status
from airflow_provider_spapi.triggers.processing import SpApiProcessingTrigger, status_from_event


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
