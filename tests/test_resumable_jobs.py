"""A retried task reconnects to the report or feed its first try created; final errors fail without retries.

Real Airflow (``dag.test()`` runs retries and, for deferrable tasks, the trigger) against the emulator;
the first try dies on an injected getReport/getFeed fault after the job was created.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dagrun import run_dag, state_of
from test_operators import LISTINGS, _write_feed, feed_op, one_task_dag, report_op, requests_to, xcom_of

from airflow_provider_spapi import _compat
from airflow_provider_spapi._compat import AirflowSkipException
from airflow_provider_spapi.emulator import Emulator, seed

pytestmark = pytest.mark.airflow

RETRY_ONCE = {"retries": 1, "retry_delay": timedelta(0)}
MEMORIES = ["task_state_store", "variable"] if _compat.HAS_TASK_STATE_STORE else ["variable"]


@pytest.fixture
def home(airflow_db: Path) -> Path:
    return airflow_db


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture(params=MEMORIES)
def memory(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the job id is kept between tries: Airflow 3.3's task state store, or the Variable of older versions."""
    if request.param == "variable":
        monkeypatch.setattr(_compat, "HAS_TASK_STATE_STORE", False)
    return str(request.param)


def tries(dag_run: Any, task_id: str) -> int:
    return int(dag_run.get_task_instance(task_id).try_number)


def kept_variables(home: Path, dag_id: str) -> list[str]:
    """The job-id Variables this DAG's tasks left (other tests' tasks share the session's database)."""
    with sqlite3.connect(home / "airflow.db") as db:
        return [row[0] for row in db.execute("SELECT key FROM variable WHERE key LIKE ?", (f"spapi_job.{dag_id}.%",))]


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_a_retried_report_task_resumes_its_report(
    home: Path, emu: Emulator, spapi_conn: Any, out: Path, deferrable: bool, memory: str
) -> None:
    spapi_conn(max_attempts=1)  # one failed poll fails the try
    emu.configure(faults=[{"kind": "status", "status": 503, "operation": "getReport", "count": 1}])
    dag_id = f"test_resume_report_{memory}_{'deferrable' if deferrable else 'blocking'}"

    dag_run = run_dag(one_task_dag(dag_id, lambda: report_op(out, deferrable=deferrable, poll_interval=0.1, **RETRY_ONCE)))

    assert state_of(dag_run, "report") == "success"
    assert tries(dag_run, "report") == 2
    assert requests_to(emu, "createReport") == 1  # the retry reconnected instead of asking again
    assert emu.counters()["faults"]["status"] == 1
    assert xcom_of(home, dag_run, "report")["status"] == "DONE"
    assert kept_variables(home, dag_id) == []  # forgotten once the task was done with the report


def test_a_retried_feed_task_resumes_its_feed(home: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path, out: Path, memory: str) -> None:
    spapi_conn(max_attempts=1)
    emu.configure(faults=[{"kind": "status", "status": 503, "operation": "getFeed", "count": 1}])
    feed = _write_feed(tmp_path, broken=False)

    dag_run = run_dag(one_task_dag(f"test_resume_feed_{memory}", lambda: feed_op(feed, out, **RETRY_ONCE)))

    assert state_of(dag_run, "feed") == "success"
    assert tries(dag_run, "feed") == 2
    assert requests_to(emu, "createFeed") == 1
    assert emu.counters()["document_uploads"] == 1  # the content was not uploaded again either
    assert xcom_of(home, dag_run, "feed")["summary"]["messagesAccepted"] == 2


def test_a_fatal_report_fails_without_retries(home: Path, emu: Emulator, spapi_conn: Any, out: Path) -> None:
    emu.configure(report_outcomes={LISTINGS: "FATAL"})

    dag_run = run_dag(one_task_dag("test_resume_fatal_no_retry", lambda: report_op(out, **RETRY_ONCE)))

    assert state_of(dag_run, "report") == "failed"
    assert tries(dag_run, "report") == 1
    assert requests_to(emu, "createReport") == 1


def test_a_feed_whose_submission_may_have_been_applied_fails_without_retries(
    home: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path, out: Path
) -> None:
    emu.configure(faults=[{"kind": "lost", "operation": "createFeed"}])
    feed = _write_feed(tmp_path, broken=False)

    dag_run = run_dag(one_task_dag("test_resume_lost_feed", lambda: feed_op(feed, out, **RETRY_ONCE)))

    assert state_of(dag_run, "feed") == "failed"
    assert tries(dag_run, "feed") == 1  # a retry would submit the feed a second time
    assert requests_to(emu, "createFeed") == 1


def test_a_bad_argument_fails_without_retries(home: Path, emu: Emulator, spapi_conn: Any, out: Path) -> None:
    dag_run = run_dag(one_task_dag("test_resume_bad_argument", lambda: report_op(out, report_type=" ", **RETRY_ONCE)))

    assert state_of(dag_run, "report") == "failed"
    assert tries(dag_run, "report") == 1


def test_on_kill_cancels_the_report_the_task_created(emu: Emulator, spapi_conn: Any, out: Path) -> None:
    operator = report_op(out, poll_interval=3)

    def kill_once_polling() -> None:
        deadline = time.monotonic() + 20
        while requests_to(emu, "getReport") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        operator.on_kill()  # what Airflow calls while execute runs, when the task is killed (marked failed, SIGTERM)

    # execute stays on the main thread, as in a task: Airflow 2's ExecutorSafeguard fails it on any other.
    killer = threading.Thread(target=kill_once_polling)
    killer.start()
    try:
        with pytest.raises(AirflowSkipException):  # the next poll found it CANCELLED
            operator.execute({})
    finally:
        killer.join(timeout=30)

    assert requests_to(emu, "cancelReport") == 1
    report_id = getattr(operator, "_job_id", None)
    assert report_id and emu.state.reports_api.book.get(report_id, seed.SELLING_PARTNER_ID, "Report").status == "CANCELLED"


def test_a_rotation_whose_answer_was_lost_fails_without_retries(home: Path, emu: Emulator, spapi_conn: Any) -> None:
    from airflow_provider_spapi.operators.credentials import SpApiRotateClientSecretOperator

    emu.configure(faults=[{"kind": "status", "status": 500, "operation": "rotateApplicationClientSecret", "count": 5}])

    dag_run = run_dag(one_task_dag("test_resume_rotation", lambda: SpApiRotateClientSecretOperator(task_id="rotate", **RETRY_ONCE)))

    assert state_of(dag_run, "rotate") == "failed"
    assert tries(dag_run, "rotate") == 1  # a retry would ask Amazon for yet another secret
    assert requests_to(emu, "rotateApplicationClientSecret") == 1
