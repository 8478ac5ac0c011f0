"""A real redis-server for the rate-limit store tests, started on a free port of 127.0.0.1.

Test modules import the fixtures (``redis_server_fixture``, ``redis_url_fixture``) and ask for them
by their names, ``redis_server`` and ``redis_url``.

Without ``redis-server`` on PATH the tests that need it are skipped on a workstation, but fail under
CI (``CI=true``): ``.ci/run`` installs Debian's ``redis-server`` package, so a missing one there is a
broken setup, not a reason to test less.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from _redis_server import HOST, INSTALL_HINT, RedisServer, free_port


@pytest.fixture(scope="module", name="redis_server")
def redis_server_fixture() -> Iterator[RedisServer]:
    if not RedisServer.available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"redis-server is missing under CI: {INSTALL_HINT}")
        pytest.skip(f"redis-server is not installed: {INSTALL_HINT}")
    with RedisServer() as server:
        yield server


@pytest.fixture(name="redis_url")
def redis_url_fixture(redis_server: RedisServer) -> str:
    """The module's redis-server, emptied before each test."""
    redis_server.flush()
    return redis_server.url


def free_port_url(password: str | None = None) -> str:
    """A redis:// URL on a port of 127.0.0.1 where nothing listens: a store that is down."""
    auth = f":{password}@" if password else ""
    return f"redis://{auth}{HOST}:{free_port()}/0"
