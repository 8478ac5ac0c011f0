"""``SpApiProcessingTrigger``: waits in the triggerer for a report, feed or Data Kiosk query to finish, holding no worker slot.

It polls getReport, getFeed or getQuery every ``poll_interval`` seconds. The calls are the same blocking
calls the operators make (same hook, same shared token cache and rate limits), run in a worker
thread with ``asgiref``'s ``sync_to_async`` so the triggerer's event loop never blocks. It yields
one event: the final status, a timeout, or an error whose message carries no token or secret.
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
from airflow_provider_spapi.spapi.workflows import Kind, ProcessingStatus, processing_status


class SpApiProcessingTrigger(BaseTrigger):
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
        super().__init__()
        self.kind = kind
        self.job_id = job_id
        self.spapi_conn_id = spapi_conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.resume = resume
        self.try_number = try_number

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kind": self.kind,
                "job_id": self.job_id,
                "spapi_conn_id": self.spapi_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "resume": self.resume,
                "try_number": self.try_number,
            },
        )

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def _poll(self) -> ProcessingStatus:
        return processing_status(self.hook.client, self.kind, self.job_id)

    def _event(self, payload: dict[str, Any]) -> TriggerEvent:
        return TriggerEvent({"kind": self.kind, "job_id": self.job_id, "try_number": self.try_number, **payload})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        poll = sync_to_async(self._poll, thread_sensitive=False)
        while True:
            try:
                status = await poll()
            except SpApiError as error:
                yield self._event({"event": "error", "message": str(error)})
                return
            if status.finished:
                yield self._event(
                    {
                        "event": "finished",
                        "status": status.status,
                        "document_id": status.document_id,
                        "error_document_id": status.error_document_id,
                        "next_token": status.next_token,
                        "resume": self.resume,
                    }
                )
                return
            if self.deadline is not None and time.time() + self.poll_interval > self.deadline:
                yield self._event({"event": "timeout", "status": status.status})
                return
            self.log.info("%s %s is %s; next poll in %ss", self.kind.title(), self.job_id, status.status, self.poll_interval)
            await asyncio.sleep(self.poll_interval)


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
