"""What reports and feeds share: a processing status that advances as the client polls, and a filtered, paged list.

A report or feed starts ``IN_QUEUE``. Polling it (``getReport``/``getFeed``) advances it: with
``report_polls = N`` the first N polls answer a non-final status (``IN_QUEUE`` on the first,
``IN_PROGRESS`` after) and poll N+1 answers the final one (``DONE``, ``CANCELLED`` or ``FATAL``,
from ``report_outcomes``/``feed_outcomes``, default ``DONE``). ``N = 0`` finishes on the first
poll. Listing (``getReports``/``getFeeds``) shows the current status without advancing it. Only an
``IN_QUEUE`` job can be cancelled.

Listings need a type filter or a ``nextToken``; a ``nextToken`` must come alone (Amazon fails the
request otherwise) and carries the whole query. They return newest first, ``pageSize`` (1-100,
default 10) at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from airflow_provider_spapi.emulator.call import Call
from airflow_provider_spapi.emulator.paging import Pager
from airflow_provider_spapi.emulator.responses import ApiError
from airflow_provider_spapi.emulator.timefmt import iso_offset, parse_time, utcnow

STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
FINAL = frozenset({"CANCELLED", "DONE", "FATAL"})


@dataclass
class Job:
    """A report or feed: who asked, for what, and how far processing got."""

    job_id: str
    owner: str
    job_type: str
    marketplace_ids: list[str]
    created_time: datetime
    outcome: str
    status: str = "IN_QUEUE"
    polls: int = 0
    processing_start: datetime | None = None
    processing_end: datetime | None = None
    document_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def poll(self, polls_before_final: int) -> bool:
        """Advance one poll; True when this poll made the job final (the caller then produces its document)."""
        if self.status in FINAL:
            return False
        self.polls += 1
        now = utcnow()
        if self.polls > polls_before_final:
            self.processing_start = self.processing_start or now
            self.processing_end = now
            self.status = self.outcome
            return True
        if self.polls > 1:
            self.status = "IN_PROGRESS"
            self.processing_start = self.processing_start or now
        return False

    def cancel(self) -> None:
        if self.status != "IN_QUEUE":
            raise ApiError(400, "InvalidInput", f"Only an IN_QUEUE job can be cancelled; {self.job_id} is {self.status}.")
        self.status = "CANCELLED"
        self.processing_end = utcnow()

    def times(self) -> dict[str, str]:
        out = {"createdTime": iso_offset(self.created_time)}
        if self.processing_start:
            out["processingStartTime"] = iso_offset(self.processing_start)
        if self.processing_end:
            out["processingEndTime"] = iso_offset(self.processing_end)
        return out


J = TypeVar("J", bound=Job)


class JobBook(Generic[J]):
    """Jobs by id with a sequence for new ids; thread-safe."""

    def __init__(self, first_id: int) -> None:
        self.lock = threading.RLock()
        self._jobs: dict[str, J] = {}
        self._next = first_id

    def new_id(self) -> str:
        with self.lock:
            self._next += 1
            return str(self._next)

    def add(self, job: J) -> J:
        with self.lock:
            self._jobs[job.job_id] = job
        return job

    def get(self, job_id: str, owner: str, what: str) -> J:
        with self.lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise ApiError(404, "NotFound", f"{what} {job_id} was not found.")
        return job

    def owned_by(self, owner: str) -> list[J]:
        with self.lock:
            return [job for job in self._jobs.values() if job.owner == owner]


def list_jobs(
    call: Call, jobs: list[J], pager: Pager, kind: str, types_param: str, render: Callable[[J], dict[str, Any]], key: str
) -> dict[str, Any]:
    """``getReports``/``getFeeds``: filter, sort newest first, page, and answer ``{key: [...], "nextToken"?}``."""
    r = call.request
    token = r.param("nextToken")
    if token:
        if set(r.query) != {"nextToken"}:
            raise ApiError(400, "InvalidInput", "nextToken must be the only parameter when it is given.")
        query = pager.decode(token, kind)
        if query is None or query.get("seller") != call.seller:
            raise ApiError(400, "InvalidInput", "Invalid nextToken.")
    else:
        types = r.csv_param(types_param)
        if not types:
            raise ApiError(400, "InvalidInput", f"Either {types_param} or nextToken is required.")
        statuses = r.csv_param("processingStatuses")
        bad = [s for s in statuses or () if s not in STATUSES]
        if bad:
            raise ApiError(400, "InvalidInput", f"Invalid processingStatuses value(s): {', '.join(bad)}.")
        page_size = r.param("pageSize") or "10"
        if not page_size.isdigit() or not 1 <= int(page_size) <= 100:
            raise ApiError(400, "InvalidInput", "pageSize must be an integer from 1 to 100.")
        now = utcnow()
        since = parse_time(r.param("createdSince") or "", "createdSince") if r.param("createdSince") else now - timedelta(days=90)
        until = parse_time(r.param("createdUntil") or "", "createdUntil") if r.param("createdUntil") else now
        query = {
            "kind": kind,
            "seller": call.seller,
            "types": types,
            "statuses": statuses,
            "marketplaces": r.csv_param("marketplaceIds"),
            "since": since.isoformat(),
            "until": until.isoformat(),
            "page": int(page_size),
            "offset": 0,
        }
    since, until = datetime.fromisoformat(query["since"]), datetime.fromisoformat(query["until"])
    selected = [
        job
        for job in jobs
        if job.job_type in query["types"]
        and (not query["statuses"] or job.status in query["statuses"])
        and (not query["marketplaces"] or set(job.marketplace_ids) & set(query["marketplaces"]))
        and since <= job.created_time <= until
    ]
    selected.sort(key=lambda job: (job.created_time, int(job.job_id) if job.job_id.isdigit() else 0), reverse=True)
    offset, page = query["offset"], query["page"]
    out: dict[str, Any] = {key: [render(job) for job in selected[offset : offset + page]]}
    if offset + page < len(selected):
        out["nextToken"] = pager.encode({**query, "offset": offset + page})
    return out
