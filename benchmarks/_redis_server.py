"""A private ``redis-server`` on a free port of 127.0.0.1, for the multi-process benchmark and its tests.

Started with no persistence (``--save ""``, no AOF), stopped by its own pid. An existing server can be
used instead by passing its URL; then nothing is started or stopped.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

HOST = "127.0.0.1"
INSTALL_HINT = "install Debian's redis-server package (apt-get install redis-server); .ci/run does this in CI"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class RedisServer:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or ""
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def start_or_use(cls, url: str | None = None) -> RedisServer:
        return cls(url) if url else cls()

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> RedisServer:
        if self.url:
            return self
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(f"redis-server is not on PATH: {INSTALL_HINT}")
        port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="spapi-redis-")
        command = [binary, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", self._dir.name]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"redis://{HOST}:{port}/0"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {stderr[-500:]}")
            try:
                if self.client().ping():
                    return self
            except Exception:  # not listening yet
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer PING within 15 s")

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def flush(self) -> None:
        self.client().flushdb()

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()  # this pid only
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


__all__ = ["INSTALL_HINT", "RedisServer", "free_port"]
