"""What the SP-API operators share: where output goes, and how to wait for a report or feed.

Waiting comes in two modes. Deferrable (default: ``[operators] default_deferrable``): the task hands
the wait to :class:`~airflow_provider_spapi.triggers.processing.SpApiProcessingTrigger` and frees
its worker slot until Amazon is done. Blocking: the task polls in place. Either way the result
reaches :meth:`SpApiProcessingOperator.finish`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow_provider_spapi._compat import BaseOperator, Context, ObjectStoragePath, conf
from airflow_provider_spapi.core.errors import ConfigError
from airflow_provider_spapi.errors import SpApiConfigError, SpApiError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.spapi.workflows import Kind, ProcessingStatus, processing_status
from airflow_provider_spapi.triggers.processing import SpApiProcessingTrigger, status_from_event


def storage_path(value: Any, argument: str = "output_path", error: type[ConfigError] = SpApiConfigError) -> Any:
    """A destination as a path object: ``scheme://…`` strings become ObjectStoragePath, other strings local Paths.

    A bad value raises ``error``: the calling platform's configuration error.
    """
    if isinstance(value, (ObjectStoragePath, Path)):
        return value
    if isinstance(value, (str, os.PathLike)) and str(value).strip():
        text = str(value).strip()
        return ObjectStoragePath(text) if "://" in text else Path(text)
    raise error(f"Argument '{argument}' must be a local path or a URL such as s3://bucket/key, not {value!r}.")


def seconds(value: float | timedelta, argument: str) -> float:
    """A duration in seconds from a number or a timedelta; must be positive."""
    number = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(number, bool) or not isinstance(number, (int, float)) or number <= 0:
        raise SpApiConfigError(f"Argument '{argument}' must be a positive number of seconds or a timedelta, not {value!r}.")
    return float(number)


class SpApiProcessingOperator(BaseOperator):
    """Base of the report and feed operators: start a job, wait for it, then :meth:`finish`.

    :param spapi_conn_id: the ``spapi`` connection.
    :param deferrable: free the worker slot while Amazon works (needs a running triggerer).
    :param poll_interval: seconds between status polls (getReport/getFeed allow 2 requests a second).
    :param timeout: give up (fail) after this many seconds of waiting, or a timedelta.
    """

    kind: Kind

    def __init__(
        self,
        *,
        spapi_conn_id: str = SpApiHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | timedelta = 30.0,
        timeout: float | timedelta = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spapi_conn_id = spapi_conn_id
        self.deferrable = deferrable
        self.poll_interval = seconds(poll_interval, "poll_interval")
        self.timeout = seconds(timeout, "timeout")

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def start_or_resume(self, context: Context, start: Callable[[], str]) -> str:
        """The id of the job this task created on an earlier try, else ``start()``'s new one.

        Every job-creating operator (reports, feeds, Data Kiosk queries) goes through here, so a task
        retried by Airflow reconnects to its job instead of asking Amazon for a second one.
        """
        return start()

    def wait_then_finish(self, context: Context, job_id: str) -> Any:
        """Wait for ``job_id`` (deferring when asked) and return what :meth:`finish` returns."""
        if self.deferrable:
            self.defer(
                trigger=SpApiProcessingTrigger(
                    kind=self.kind,
                    job_id=job_id,
                    spapi_conn_id=self.spapi_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=time.time() + self.timeout,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout + self.poll_interval),
            )
        deadline = time.monotonic() + self.timeout
        while True:
            status = processing_status(self.hook.client, self.kind, job_id)
            if status.finished:
                return self.finish(context, status)
            if time.monotonic() + self.poll_interval > deadline:
                raise self._timed_out(job_id, status.status)
            self.log.info("%s %s is %s; next poll in %ss", self.kind.title(), job_id, status.status, self.poll_interval)
            time.sleep(self.poll_interval)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger fired: finish on a final status, fail on an error or timeout."""
        return self.finish(context, status_from_event(event))

    def _timed_out(self, job_id: str, last_status: str) -> SpApiError:
        return SpApiError(
            f"{self.kind.title()} {job_id} was still {last_status} after {self.timeout:g}s. Raise 'timeout', or let a later run pick it up "
            "with the sensor."
        )

    def finish(self, context: Context, status: ProcessingStatus) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError
