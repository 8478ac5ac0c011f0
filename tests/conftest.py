"""Shared fixtures: a private Airflow home on SQLite, the bundled emulator on 127.0.0.1, and connections to it.

Airflow reads its configuration when first imported, so the environment is set here, at import
time, before any test module imports Airflow. ``airflow db migrate`` runs once per session, and
only when a test asks for the ``airflow_db`` fixture.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

_home = Path(os.environ.get("SPAPI_TEST_AIRFLOW_HOME") or tempfile.mkdtemp(prefix="spapi-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "example_dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
# Where apache-airflow-providers-openlineage is installed (an optional extra), its listener writes every
# task's lineage events here for the whole session: the provider keeps one client per process.
OPENLINEAGE_EVENTS = _home / "openlineage.jsonl"
os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps({"type": "file", "log_file_path": str(OPENLINEAGE_EVENTS), "append": True})
os.environ["AIRFLOW__OPENLINEAGE__NAMESPACE"] = "spapi-tests"

from airflow_provider_spapi.core.ratelimit import shared_rate_limiter  # noqa: E402
from airflow_provider_spapi.core.tokens import shared_token_cache  # noqa: E402
from airflow_provider_spapi.emulator import Emulator  # noqa: E402


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator for the session, on a free port of 127.0.0.1."""
    with Emulator(host="127.0.0.1", port=0) as running:
        yield running


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator, reset (counters, faults, issued tokens) and with this process's caches cleared."""
    emulator.reset()
    shared_token_cache.clear()
    shared_rate_limiter.clear()
    yield emulator
    emulator.reset()


@pytest.fixture
def spapi_conn(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Define ``spapi_default`` (and any other id) as environment-variable connections to the emulator."""

    def define(conn_id: str = "spapi_default", **extra: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", emu.connection_json(**extra))
        return conn_id

    define()
    return define


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata database in the session's Airflow home."""
    marker = _home / ".migrated"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
        marker.touch()
    _share_the_in_process_execution_api()
    return _home


def _share_the_in_process_execution_api() -> None:
    """One in-process Execution API per test process, as one api-server serves every task in a deployment.

    On Airflow 3, ``dag.test()`` builds a new in-process Execution API app for every task it runs, and
    Cadwyn compiles that app's versioned routes on its first request: 3 to 8 s of CPU per task on a
    2-core machine, about a third of each Airflow leg. The app holds no per-run state (each task run
    still installs its own DAG bag into it), so the factory is memoised for the session. Airflow 2
    has no such API.
    """
    try:
        from airflow.sdk.execution_time import supervisor
    except ImportError:
        return
    factory = getattr(supervisor, "in_process_api_server", None)
    if factory is not None and not hasattr(factory, "cache_info"):
        supervisor.in_process_api_server = functools.cache(factory)
