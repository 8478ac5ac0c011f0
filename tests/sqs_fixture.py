"""A real local SQS server (``moto_server``, from the ``test`` extra) on a free port of 127.0.0.1, and stdlib SQS calls.

Test modules import the fixtures (``sqs_server_fixture``, ``queue_fixture``) and ask for them by
their names, ``sqs_server`` and ``queue``, as with :mod:`redis_fixture`. The SQS calls are the
query API over plain HTTP, what any SQS client sends, so the tests see what is really in a queue.
"""

from __future__ import annotations

import html
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from airflow_provider_spapi.emulator import Emulator
from airflow_provider_spapi.emulator.sqs_publisher import local_sqs_headers
from airflow_provider_spapi.operators.notifications import SpApiCreateDestinationOperator, SpApiSubscribeOperator

ACCOUNT = "123456789012"  # moto's default account


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def moto_server_executable() -> str | None:
    """``moto_server`` of this interpreter's environment, if installed."""
    return shutil.which("moto_server", path=str(Path(sys.executable).parent))


def sqs_call(url: str, **params: str) -> str:
    """One SQS query-API call (stdlib HTTP), as any SQS client makes it."""
    data = urllib.parse.urlencode({**params, "Version": "2012-11-05"}).encode()
    request = urllib.request.Request(url, data=data, headers=local_sqs_headers(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


@pytest.fixture(scope="module", name="sqs_server")
def sqs_server_fixture() -> Iterator[str]:
    """``moto_server`` on a free port of 127.0.0.1: a real SQS query/JSON API; its URL."""
    executable = moto_server_executable()
    if executable is None:
        pytest.skip("moto_server is not installed (pip install -e '.[test]')")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([executable, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sqs_call(url + "/", Action="ListQueues")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(name="queue")
def queue_fixture(sqs_server: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A fresh queue named after the test: (its URL, its ARN)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:70]
    answer = sqs_call(sqs_server + "/", Action="CreateQueue", QueueName=name)
    url = re.search(r"<QueueUrl>(.*?)</QueueUrl>", answer)
    assert url, answer
    return url.group(1), f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


def receive_bodies(queue_url: str, wanted: int, timeout: float = 20) -> list[str]:
    """Bodies of the messages in the queue, until ``wanted`` arrived or ``timeout`` passed."""
    bodies: list[str] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < wanted and time.monotonic() < deadline:
        answer = sqs_call(queue_url, Action="ReceiveMessage", MaxNumberOfMessages="10", WaitTimeSeconds="1")
        bodies += [html.unescape(body) for body in re.findall(r"<Body>(.*?)</Body>", answer, re.S)]
    return bodies


def subscribed(emu: Emulator, sqs_server: str, arn: str, notification_types: Iterable[str] = ("REPORT_PROCESSING_FINISHED",)) -> str:
    """Point the emulator at the SQS server and subscribe seller 1 to each of ``notification_types`` on ``arn``."""
    emu.state.sqs_publisher.sqs_endpoint = sqs_server
    destination_id = SpApiCreateDestinationOperator(task_id="d", sqs_arn=arn).execute({})
    for notification_type in notification_types:
        SpApiSubscribeOperator(task_id="s", notification_type=notification_type, destination_id=destination_id).execute({})
    return destination_id
