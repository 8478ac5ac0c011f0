"""Shared pieces of the benchmarks: the emulator in a subprocess, and the clients under test pointed at it.

The emulator runs as ``python -m airflow_provider_spapi.emulator`` in its own process, so the CPU
it burns answering requests is never counted in the client's process. It is driven through its
admin endpoints (``/_emulator/reset``, ``/_emulator/config``, ``/_emulator/counters``) with
``urllib``, which keeps the clients' own HTTP sessions untouched.

Clients:

* ours: :class:`~airflow_provider_spapi.spapi.client.SpApiClient`, built from the emulator's seeded
  credentials with ``endpoint``/``lwa_endpoint`` pointing at it (the documented connection fields).
* the peer: python-amazon-sp-api (``sp_api``). Redirecting it needs no edit of its files and no
  patched module attribute: its ``Client(auth_token_client_class=...)`` argument takes a subclass of
  ``AccessTokenClient`` whose ``scheme``/``host`` class attributes name the emulator's LWA, and the
  SP-API base URL is the client instance's ``endpoint`` attribute, set after construction (the
  library reads it from a ``Marketplaces`` member, which has no override). Side effect, kept as is:
  the library derives its explicit ``host`` header as ``endpoint[8:]`` (written for ``https://``), so
  over ``http://`` it sends ``Host: 27.0.0.1:<port>``; the TCP connection still goes to 127.0.0.1 and
  the emulator only uses the host header to build document URLs, which these benchmarks do not
  request through the peer.
"""

from __future__ import annotations

import json
import os
import platform
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"


def seed_credentials() -> dict[str, str]:
    from airflow_provider_spapi.emulator import seed

    return {"client_id": seed.CLIENT_ID, "client_secret": seed.CLIENT_SECRET, "refresh_token": seed.REFRESH_TOKEN}


def admin(url: str, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
    """Call one of the emulator's admin endpoints (``/_emulator/<name>``) and return its JSON answer."""
    data = json.dumps(body or {}).encode() if method == "POST" else None
    request = urllib.request.Request(f"{url}/_emulator/{name}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def fresh(url: str, **options: Any) -> None:
    """Reset the emulator (counters, buckets, issued tokens, jobs) and apply ``options``: every scenario starts from here."""
    admin(url, "POST", "reset")
    if options:
        admin(url, "POST", "config", options)


@dataclass
class EmulatorProcess:
    """``python -m airflow_provider_spapi.emulator`` on a free port of 127.0.0.1, stopped by its own pid."""

    orders: int = 400
    startup_timeout: float = 60.0
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    stderr_path: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="spapi-bench-emulator-", suffix=".log")[1]))

    def start(self) -> EmulatorProcess:
        if self.process is not None and self.process.poll() is None:
            return self  # already running (``with EmulatorProcess().start() as emulator`` starts one process, not two)
        command = [
            sys.executable,
            "-m",
            "airflow_provider_spapi.emulator",
            "--host",
            HOST,
            "--port",
            "0",
            "--orders",
            str(self.orders),
        ]
        stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=REPO)
        stderr.close()
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        text = line.decode(errors="replace").strip()
        if "listening on " not in text:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {text!r}; stderr: {self.stderr_path.read_text(errors='replace')[-2000:]}")
        self.url = text.split("listening on ", 1)[1].strip()
        if not self.url.startswith(f"http://{HOST}:"):
            self.stop()
            raise RuntimeError(f"the emulator listens on {self.url}, not on {HOST}")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def lwa_url(self) -> str:
        return self.url + "/auth/o2/token"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM to this pid only: the emulator shuts down cleanly
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        if self.stderr_path.exists() and self.stderr_path.stat().st_size == 0:
            self.stderr_path.unlink()  # keep the log only if the emulator had something to say

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # admin endpoints ----------------------------------------------------------------------

    def counters(self) -> dict[str, Any]:
        return dict(admin(self.url, "GET", "counters"))

    def fresh(self, **options: Any) -> None:
        fresh(self.url, **options)

    def cpu_seconds(self) -> float:
        import psutil

        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


# clients ----------------------------------------------------------------------------------


def our_settings(url: str, **extra: Any) -> Any:
    from airflow_provider_spapi.spapi.settings import parse_settings

    creds = seed_credentials()
    fields = {"refresh_token": creds["refresh_token"], "endpoint": url, "lwa_endpoint": url + "/auth/o2/token", **extra}
    return parse_settings(creds["client_id"], creds["client_secret"], fields)


def our_client(url: str, *, fresh_state: bool = True, **extra: Any) -> Any:
    """An ``SpApiClient`` on the emulator; ``fresh_state`` gives it its own token cache and rate limiter, as a new task process has."""
    from airflow_provider_spapi.core.ratelimit import RateLimiter
    from airflow_provider_spapi.core.tokens import TokenCache
    from airflow_provider_spapi.spapi.client import SpApiClient

    settings = our_settings(url, **extra)
    if fresh_state:
        return SpApiClient(settings, token_cache=TokenCache(), rate_limiter=RateLimiter())
    return SpApiClient(settings)


def peer_credentials() -> dict[str, str]:
    creds = seed_credentials()
    return {"refresh_token": creds["refresh_token"], "lwa_app_id": creds["client_id"], "lwa_client_secret": creds["client_secret"]}


def peer_token_client_class(url: str) -> type:
    """python-amazon-sp-api's ``AccessTokenClient`` aimed at the emulator's LWA (a subclass; the library is not modified)."""
    from sp_api.auth import AccessTokenClient

    scheme, host = url.split("://", 1)
    return type("EmulatorAccessTokenClient", (AccessTokenClient,), {"scheme": scheme + "://", "host": host})


def peer_client(kind: str, url: str) -> Any:
    """A python-amazon-sp-api client (``orders`` = Orders v0, ``reports``, ``sellers``) whose SP-API endpoint is the emulator."""
    from sp_api.api import Orders, Reports, Sellers
    from sp_api.base import Marketplaces

    cls = {"orders": Orders, "reports": Reports, "sellers": Sellers}[kind]
    client = cls(marketplace=Marketplaces.US, credentials=peer_credentials(), auth_token_client_class=peer_token_client_class(url))
    client.endpoint = url
    return client


def clear_peer_token_cache() -> None:
    """python-amazon-sp-api caches access tokens in a module-level TTLCache; a new process starts without them."""
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()
    access_token_client.grantless_cache.clear()


def machine_facts() -> dict[str, Any]:
    import psutil

    from airflow_provider_spapi import __version__ as ours

    facts: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count_logical": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "airflow_provider_spapi": ours,
    }
    for dist in ("apache-airflow", "python-amazon-sp-api", "requests", "httpx", "psutil"):
        try:
            from importlib.metadata import version

            facts[dist] = version(dist)
        except Exception:  # pragma: no cover - a missing optional distribution
            facts[dist] = None
    return facts
