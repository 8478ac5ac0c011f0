"""The HTTP transport: a threading HTTP/1.1 server that reads requests, dispatches them and writes answers.

It keeps connections alive (clients pool them), streams large bodies chunk by chunk, and carries
out the two faults that live below HTTP: ``reset`` (close the socket without answering, with a TCP
reset) and ``truncate`` (stop sending a body half way and close). It is quiet: with ``verbose``
it logs one line per request (method, path without the query string, status), never headers or
bodies, so no token or secret reaches the log.
"""

from __future__ import annotations

import socket
import struct
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_spapi.emulator.responses import ApiError, Request, Response, sp_api_error
from airflow_provider_spapi.emulator.routing import dispatch
from airflow_provider_spapi.emulator.state import EmulatorState

MAX_BODY = 512 * 1024 * 1024


class EmulatorHTTPServer(ThreadingHTTPServer):
    """One thread per connection; daemon threads, so a stopped emulator never blocks interpreter exit."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        super().__init__(address, EmulatorRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is routine here (faults, aborted downloads): stay quiet.
        if self.state.options.verbose:
            super().handle_error(request, client_address)


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle's algorithm on, the client's delayed ACK
    # would hold every response back by ~40 ms on loopback.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer
    server_version = "SPAPIEmulator/1.0"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        state = self.server.state
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send_error(400, "Bad request body")
            return
        url = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        request = Request(
            method=self.command,
            path=url.path,
            query_string=url.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            base_url=f"http://{host}",
        )
        try:
            response = dispatch(state, request)
        except Exception:  # a bug in the emulator: answer 500 rather than drop the connection
            print(f"spapi-emulator: internal error on {self.command} {url.path}", file=sys.stderr)
            if state.options.verbose:
                traceback.print_exc()
            response = sp_api_error(ApiError(500))
        if response.reset:
            self._log(url.path, "reset")
            self._close_connection(hard=True)
            return
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        self._log(url.path, str(response.status) + (" truncated" if response.truncate_after is not None else ""))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204 and response.status >= 200:
            length = response.length if response.stream is not None else len(response.body)
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD" or response.status == 204:
            return
        if response.stream is None:
            self.wfile.write(response.body)
            return
        sent = 0
        limit = response.truncate_after
        for chunk in response.stream():
            if limit is not None and sent + len(chunk) >= limit:
                self.wfile.write(chunk[: limit - sent])
                self.wfile.flush()
                self._close_connection(hard=False)
                return
            self.wfile.write(chunk)
            sent += len(chunk)

    def _close_connection(self, *, hard: bool) -> None:
        """End the connection now: ``hard`` with a TCP reset (no answer at all), else after what was sent (a short body)."""
        self.close_connection = True
        try:
            if hard:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _log(self, path: str, outcome: str) -> None:
        if self.server.state.options.verbose:
            sys.stderr.write(f"{self.address_string()} {self.command} {path} {outcome}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by ``_log``, which leaves the query string out."""

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.state.options.verbose:
            super().log_message(format, *args)
