"""What the SP-API operators share: where output goes, and how to wait for a report or feed.

Waiting comes in two modes. Deferrable (default: ``[operators] default_deferrable``): the task hands
the wait to :class:`~airflow_provider_spapi.triggers.processing.SpApiProcessingTrigger` and frees
its worker slot until Amazon is done. Blocking: the task polls in place. Either way the result
reaches :meth:`SpApiProcessingOperator.finish`.

A job is created once per task instance, not once per try: :meth:`~SpApiProcessingOperator.start_or_resume`
keeps its id where Airflow keeps state between tries (:class:`~airflow_provider_spapi._compat.JobMemory`),
and a retry reconnects to it. Errors no retry can fix (configuration, a job Amazon finished as failed,
a write that may have been applied) fail the task without retries. ``on_kill`` cancels the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cached_property, partial
from typing import Any

import fsspec

from airflow_provider_spapi._compat import (
    AirflowFailException,
    AirflowSkipException,
    BaseOperator,
    Context,
    JobMemory,
    ObjectStoragePath,
    conf,
)
from airflow_provider_spapi.core.errors import ApiError, ConfigError
from airflow_provider_spapi.core.retry import OUTCOME_UNKNOWN
from airflow_provider_spapi.core.storage import as_path
from airflow_provider_spapi.errors import SpApiConfigError, SpApiError, SpApiProcessingError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.lineage import OpenLineageMixin
from airflow_provider_spapi.spapi import workflows
from airflow_provider_spapi.spapi.workflows import Kind, ProcessingStatus, processing_status
from airflow_provider_spapi.triggers.processing import (
    SpApiProcessingTrigger,
    event_is_from_another_try,
    status_from_event,
    try_number_of,
)


def storage_path(value: Any, argument: str = "output_path", error: type[ConfigError] = SpApiConfigError) -> Any:
    """A destination as a path object: ``scheme://…`` strings become ObjectStoragePath, other strings local Paths.

    The one conversion of :func:`airflow_provider_spapi.core.storage.as_path`, with Airflow's
    ObjectStoragePath for URLs, so the core and the operators read the same string the same way. A bad
    value raises ``error``: the calling platform's configuration error.
    """
    return as_path(value, argument, url_path=_object_storage_path, errors=error)


def _object_storage_path(url: str) -> Any:
    """``ObjectStoragePath(url)``, refusing a scheme no filesystem is known for on every Airflow version.

    With universal-pathlib 0.3 (Airflow 3.2+) ObjectStoragePath refuses such a scheme when built; with
    0.2 (2.11 to 3.1) it builds it and fail only at the first write, after the report was downloaded.
    Asking fsspec's registry (built-in and registered implementations, which is what 0.3 asks) makes
    every version fail up front, with the configuration error ``as_path`` raises for a ``ValueError``.
    """
    scheme = url.split("://", 1)[0]
    if scheme not in fsspec.available_protocols():
        raise ValueError(f"no filesystem is known for {scheme}://")
    return ObjectStoragePath(url)


def seconds(value: float | timedelta, argument: str) -> float:
    """A duration in seconds from a number or a timedelta; must be positive."""
    number = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(number, bool) or not isinstance(number, (int, float)) or number <= 0:
        raise SpApiConfigError(f"Argument '{argument}' must be a positive number of seconds or a timedelta, not {value!r}.")
    return float(number)


#: Job statuses a retry must not reconnect to: the task that saw them failed or skipped for good, so a
#: later try (a cleared task) asks Amazon for a new job.
ABANDONED_STATUSES = frozenset({"CANCELLED", "FATAL"})


def _is_final(error: BaseException) -> bool:
    """Whether a retry of the task cannot fix ``error``: bad input, a job Amazon failed, or a write that may have been applied."""
    return isinstance(error, (SpApiConfigError, SpApiProcessingError)) or (isinstance(error, ApiError) and error.code == OUTCOME_UNKNOWN)


_final_classes: dict[type[ApiError], type[ApiError]] = {}


def _final_class(cls: type[ApiError]) -> type[ApiError]:
    """``cls`` that is also Airflow's fail-without-retry exception: ``except SpApiProcessingError`` still catches it."""
    if cls not in _final_classes:

        def __reduce__(self: ApiError) -> tuple[Any, ...]:
            # Crossing a process boundary it becomes the plain error again (this class cannot be imported by name).
            rebuild = partial(cls, status=self.status, code=self.code, request_id=self.request_id, operation=self.operation)
            return (rebuild, (self.message,))

        _final_classes[cls] = type(cls.__name__, (cls, AirflowFailException), {"__module__": cls.__module__, "__reduce__": __reduce__})
    return _final_classes[cls]


def fail_without_retry(error: ApiError) -> ApiError:
    """The same error, raised so that Airflow fails the task at once instead of retrying it."""
    final = _final_class(type(error))(
        error.message, status=error.status, code=error.code, request_id=error.request_id, operation=error.operation
    )
    final.__cause__ = error.__cause__
    return final


@contextmanager
def failing_fast() -> Iterator[None]:
    """Re-raise errors no retry can fix (see :func:`_is_final`) as fail-without-retry errors of the same class."""
    try:
        yield
    except ApiError as error:
        if _is_final(error) and not isinstance(error, AirflowFailException):
            raise fail_without_retry(error) from error.__cause__
        raise


class SpApiProcessingOperator(OpenLineageMixin, BaseOperator):
    """Base of the report and feed operators: start a job, wait for it, then :meth:`finish`.

    :param spapi_conn_id: the ``spapi`` connection.
    :param deferrable: free the worker slot while Amazon works (needs a running triggerer).
    :param poll_interval: seconds between status polls (getReport/getFeed allow 2 requests a second).
    :param timeout: give up (fail) after this many seconds of waiting, or a timedelta.
    """

    kind: Kind
    # The job this try created or resumed, and where its id is kept between tries (set by start_or_resume).
    _job_id: str | None = None
    _job_memory: JobMemory | None = None

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
        retried by Airflow reconnects to its job instead of asking Amazon for a second one. The id is
        kept before the first poll (:class:`~airflow_provider_spapi._compat.JobMemory`), and forgotten
        once the task is done with the job (:meth:`done_with_job`). A kept job Amazon cancelled or
        failed is not reconnected to: that try failed or skipped for good, so a cleared task starts over.
        """
        self._job_memory = JobMemory(context, self._memory_key)
        kept = self._job_memory.get()
        if kept:
            status = processing_status(self.hook.client, self.kind, kept)
            if status.status not in ABANDONED_STATUSES:
                self.log.info("Resuming %s %s (%s), created by an earlier try of this task", self.kind, kept, status.status)
                self._job_id = kept
                return kept
            self.log.info("The %s %s kept by an earlier try ended %s; starting a new one", self.kind, kept, status.status)
        job_id = start()
        self._job_id = job_id
        if self._job_memory.available:
            self._job_memory.set(job_id)
            self.log.info("Kept %s id %s in %s, so that a retry resumes it", self.kind, job_id, self._job_memory.where)
        return job_id

    @property
    def _memory_key(self) -> str:
        return f"spapi_{self.kind}_id"

    def done_with_job(self) -> None:
        """Forget the kept job id: the task finished with the job (succeeded, skipped, or failed for good)."""
        if self._job_memory is not None and self._job_memory.available:
            self._job_memory.forget()

    def on_kill(self) -> None:
        """Cancel the job this try created or resumed (Amazon cancels only a job still IN_QUEUE; later ones run on).

        A cancelled job is forgotten; one Amazon would not cancel stays kept, so a retry resumes it.
        """
        job_id = self._job_id
        if not job_id or workflows.WORKFLOWS[self.kind].cancel_path is None:
            return
        try:
            workflows.cancel(self.hook.client, self.kind, job_id)
        except SpApiError as error:
            self.log.warning("Could not cancel %s %s: %s", self.kind, job_id, error)
            return
        self.log.info("Cancelled %s %s", self.kind, job_id)
        self.done_with_job()

    def _finish_once(self, context: Context, status: ProcessingStatus, **resume: Any) -> Any:
        """:meth:`finish`, failing without retries where no retry can help, and forgetting the job unless a retry needs it."""
        try:
            with failing_fast():
                result = self.finish(context, status, **resume)
        except (AirflowSkipException, AirflowFailException):
            self.done_with_job()
            raise
        self.done_with_job()
        return result

    def wait_then_finish(self, context: Context, job_id: str, **resume: Any) -> Any:
        """Wait for ``job_id`` (deferring when asked) and return what :meth:`finish` returns.

        ``resume`` (JSON-serialisable) reaches :meth:`finish` as keyword arguments, across a deferral
        too (it rides in the trigger and comes back in its event): how a multi-step job (Data
        Kiosk's pages) carries what it has done so far.
        """
        if self.deferrable:
            self.defer(
                trigger=SpApiProcessingTrigger(
                    kind=self.kind,
                    job_id=job_id,
                    spapi_conn_id=self.spapi_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=time.time() + self.timeout,
                    resume=resume or None,
                    try_number=try_number_of(context),
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout + self.poll_interval),
            )
        deadline = time.monotonic() + self.timeout
        while True:
            status = processing_status(self.hook.client, self.kind, job_id)
            if status.finished:
                return self._finish_once(context, status, **resume)
            if time.monotonic() + self.poll_interval > deadline:
                raise self._timed_out(job_id, status.status)
            self.log.info("%s %s is %s; next poll in %ss", self.kind.title(), job_id, status.status, self.poll_interval)
            time.sleep(self.poll_interval)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger fired: finish on a final status, fail on an error or timeout (a retry resumes the job)."""
        if event_is_from_another_try(event, context):
            # Start this try afresh (execute() reconnects to the kept job), rather than failing again on a stale error.
            self.log.info("Event from try %s reached try %s; resuming the job from the start", event["try_number"], try_number_of(context))
            return self.execute(context)
        self._job_memory = JobMemory(context, self._memory_key)  # a new instance of the operator runs this
        self._job_id = str(event.get("job_id") or "") or None
        return self._finish_once(context, status_from_event(event), **(event.get("resume") or {}))

    def _timed_out(self, job_id: str, last_status: str) -> SpApiError:
        return SpApiError(
            f"{self.kind.title()} {job_id} was still {last_status} after {self.timeout:g}s. Raise 'timeout', or let a later run pick it up "
            "with the sensor."
        )

    def finish(self, context: Context, status: ProcessingStatus) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError
