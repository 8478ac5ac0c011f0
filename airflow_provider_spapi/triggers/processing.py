"""Triggers that wait in the triggerer, holding no worker slot, by polling SP-API.

``SpApiProcessingTrigger`` waits for a report, feed or Data Kiosk query to finish (getReport, getFeed
or getQuery); ``SpApiLatestReportTrigger`` for a DONE report of a type to appear (getReports). Both
poll every ``poll_interval`` seconds with the same blocking calls the operators make (same hook,
same shared token cache and rate limits), run in a worker thread with ``asgiref``'s
``sync_to_async`` so the triggerer's event loop never blocks. Each yields one event: the final
state, a timeout, or an error whose message carries no token or secret.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any

from asgiref.sync import sync_to_async

from airflow_provider_spapi._compat import BaseTrigger, TriggerEvent
from airflow_provider_spapi.errors import SpApiError, SpApiServerError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.spapi import scheduled_reports
from airflow_provider_spapi.spapi.workflows import Kind, ProcessingStatus, processing_status


class _PollingTrigger(BaseTrigger):
    """Call :meth:`check` every ``poll_interval`` seconds, off the event loop, until it has a final payload.

    Subclasses say what to poll (:meth:`check`), what identifies their wait (:meth:`identity`, stamped on
    every event with the deferring try's number) and what they serialise (:meth:`arguments`). One event
    comes out: ``finished`` with the check's payload, ``timeout`` past ``deadline``, or ``error`` with a
    message that carries no token or secret.
    """

    #: Wait one interval before the first poll, because the task looked just before deferring (getReports
    #: allows one call every 45 s); the processing trigger polls at once, as its operators always have.
    waits_before_first_poll = False

    def __init__(self, spapi_conn_id: str, poll_interval: float, deadline: float | None, try_number: int | None) -> None:
        super().__init__()
        self.spapi_conn_id = spapi_conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.try_number = try_number

    def arguments(self) -> dict[str, Any]:
        """This trigger's own constructor arguments (the shared ones are added by :meth:`serialize`)."""
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """What every event says it is about (the kind of wait and its id)."""
        raise NotImplementedError

    def check(self) -> tuple[dict[str, Any] | None, str]:
        """One poll, blocking: the ``finished`` payload, or None and the state to log and report on timeout."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        shared = {"spapi_conn_id": self.spapi_conn_id, "poll_interval": self.poll_interval, "deadline": self.deadline}
        return f"{type(self).__module__}.{type(self).__qualname__}", {**self.arguments(), **shared, "try_number": self.try_number}

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def _event(self, payload: dict[str, Any]) -> TriggerEvent:
        return TriggerEvent({**self.identity(), "try_number": self.try_number, **payload})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        check = sync_to_async(self.check, thread_sensitive=False)
        if self.waits_before_first_poll:
            await asyncio.sleep(self.poll_interval)
        while True:
            try:
                final, state = await check()
            except SpApiError as error:
                yield self._event({"event": "error", "message": str(error)})
                return
            if final is not None:
                yield self._event({"event": "finished", **final})
                return
            if self.deadline is not None and time.time() + self.poll_interval > self.deadline:
                yield self._event({"event": "timeout", "status": state})
                return
            about = self.identity()
            self.log.info("%s %s: %s; next poll in %ss", about["kind"], about["job_id"], state, self.poll_interval)
            await asyncio.sleep(self.poll_interval)


class SpApiProcessingTrigger(_PollingTrigger):
    """Poll a report (``kind="report"``), feed (``"feed"``) or Data Kiosk query (``"query"``) until DONE, CANCELLED or FATAL.

    :param kind: ``report``, ``feed`` or ``query``.
    :param job_id: the report, feed or query id.
    :param spapi_conn_id: the ``spapi`` connection to poll with.
    :param poll_interval: seconds between polls.
    :param deadline: Unix time after which the trigger gives up with a ``timeout`` event (None: never).
    :param resume: JSON-serialisable state of the waiting task, handed back in the ``finished`` event
        (Data Kiosk: the pages done so far). It travels in the trigger and its event rather than in the
        deferral's ``kwargs``, which ``dag.test()`` replaces with the event.
    :param try_number: the task try that deferred, stamped on every event, so that a try which is handed
        an earlier try's event can tell (Airflow 3.0 does not clear a failed try's pending event on retry).
    """

    def __init__(
        self,
        kind: Kind,
        job_id: str,
        spapi_conn_id: str,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        resume: dict[str, Any] | None = None,
        try_number: int | None = None,
    ) -> None:
        super().__init__(spapi_conn_id, poll_interval, deadline, try_number)
        self.kind = kind
        self.job_id = job_id
        self.resume = resume

    def arguments(self) -> dict[str, Any]:
        return {"kind": self.kind, "job_id": self.job_id, "resume": self.resume}

    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "job_id": self.job_id}

    def check(self) -> tuple[dict[str, Any] | None, str]:
        status = processing_status(self.hook.client, self.kind, self.job_id)
        if not status.finished:
            return None, status.status
        return {
            "status": status.status,
            "document_id": status.document_id,
            "error_document_id": status.error_document_id,
            "next_token": status.next_token,
            "resume": self.resume,
        }, status.status


class SpApiLatestReportTrigger(_PollingTrigger):
    """Poll getReports until a DONE report of ``report_type`` created since ``created_since`` exists (first poll after one interval).

    The deferrable form of :class:`~airflow_provider_spapi.sensors.reports.SpApiLatestReportSensor`:
    its ``finished`` event carries the newest such report (``report``: report id, type, document id,
    creation time and period), nothing secret.

    :param report_type: the report type.
    :param created_since: earliest creation time, ISO 8601.
    :param marketplace_ids: only reports for these marketplaces (None: any).
    """

    waits_before_first_poll = True

    def __init__(
        self,
        report_type: str,
        created_since: str,
        spapi_conn_id: str,
        marketplace_ids: list[str] | None = None,
        poll_interval: float = 300.0,
        deadline: float | None = None,
        try_number: int | None = None,
    ) -> None:
        super().__init__(spapi_conn_id, poll_interval, deadline, try_number)
        self.report_type = report_type
        self.created_since = created_since
        self.marketplace_ids = marketplace_ids

    def arguments(self) -> dict[str, Any]:
        return {"report_type": self.report_type, "created_since": self.created_since, "marketplace_ids": self.marketplace_ids}

    def identity(self) -> dict[str, Any]:
        return {"kind": "latest_report", "job_id": self.report_type}

    def check(self) -> tuple[dict[str, Any] | None, str]:
        found = scheduled_reports.find_done_reports(
            self.hook.client, self.report_type, created_since=self.created_since, marketplace_ids=self.marketplace_ids
        )
        if found:
            return {"report": found[-1].to_xcom()}, "DONE"
        return None, f"no DONE report created since {self.created_since} yet"


def status_from_event(event: dict[str, Any]) -> ProcessingStatus:
    """The trigger's event as a :class:`ProcessingStatus` again; an ``error`` or ``timeout`` event raises instead."""
    kind, job_id = event.get("kind"), str(event.get("job_id"))
    if event.get("event") == "error":
        raise SpApiServerError(f"Waiting for {kind} {job_id} failed: {event.get('message')}")
    if event.get("event") == "timeout":
        raise SpApiServerError(f"The {kind} {job_id} was still {event.get('status')} when the wait timed out; raise the timeout.")
    return ProcessingStatus(
        kind=event["kind"],
        job_id=job_id,
        status=str(event["status"]),
        document_id=event.get("document_id"),
        error_document_id=event.get("error_document_id"),
        next_token=event.get("next_token"),
    )


def try_number_of(context: Any) -> int | None:
    """The running try's number, or None where the context has no task instance."""
    ti = context.get("ti") or context.get("task_instance")
    number = getattr(ti, "try_number", None)
    return number if isinstance(number, int) else None


def event_is_from_another_try(event: dict[str, Any], context: Any) -> bool:
    """Whether ``event`` was produced for an earlier try than the one resuming.

    Airflow 3.0 hands a retry the event its failed try left pending; the try that receives it should
    start its wait afresh instead of acting on it.
    """
    deferred_by = event.get("try_number")
    return deferred_by is not None and try_number_of(context) not in (None, deferred_by)
