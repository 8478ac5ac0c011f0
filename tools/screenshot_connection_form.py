"""Screenshot the Airflow 3 UI's "Add Connection" form for the ``spapi`` connection type.

Run it by hand (it is not part of the test suite) from the repository root, with the development
virtual environment (``make test`` creates it, Airflow 3.x) and Debian's Chromium::

    apt-get update && apt-get install -y chromium      # once
    .venv/bin/python tools/screenshot_connection_form.py                  # writes docs/connection-form.png
    .venv/bin/python tools/screenshot_connection_form.py --output /tmp/form.png --chromium /usr/bin/chromium

What it does, in a throw-away ``AIRFLOW_HOME`` (SQLite, deleted afterwards):

1. ``airflow db migrate``, then ``airflow api-server`` on a free port of 127.0.0.1, with the simple
   auth manager in "all admins" mode so that no login is needed;
2. headless Chromium, driven over the Chrome DevTools Protocol (the ``websockets`` package, which
   Airflow 3 already installs): Admin → Connections → "Add Connection", connection id
   ``spapi_default``, connection type "Amazon Selling Partner API" typed into the type picker;
3. two captures of the dialog, because its sections form an accordion that shows one at a time:
   "Standard Fields" (login and password relabelled "LWA client ID" / "LWA client secret"; host,
   port and schema hidden) and "Extra Fields" (refresh token, region dropdown, sandbox, …);
4. the two captures side by side in one PNG, composed by the same Chromium.

Both the API server and Chromium run in their own process groups and are always stopped on exit.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "docs" / "connection-form.png"
CONNECTION_TYPE_LABEL = "Amazon Selling Partner API"
VIEWPORT = {"width": 1280, "height": 1900}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
]


def log(message: str) -> None:
    print(f"[screenshot] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """Stop a process started with ``start_new_session=True``, with its children: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


# -- Airflow ------------------------------------------------------------------------------------


def airflow_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(64),
    )
    return env


@contextlib.contextmanager
def api_server(env: dict[str, str], startup_timeout: float = 180.0) -> Iterator[str]:
    """``airflow api-server`` on a free local port; yields its base URL once it answers."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_file = Path(env["AIRFLOW_HOME"]) / "api-server.log"
    with log_file.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"airflow api-server exited with {process.returncode}:\n{log_file.read_text()[-4000:]}")
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).ok:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"airflow api-server did not answer within {startup_timeout:g}s")
                time.sleep(0.5)
            log(f"api-server answers at {base_url}")
            yield base_url
        finally:
            stop(process)


# -- Chromium over the DevTools Protocol --------------------------------------------------------


class Page:
    """A Chromium tab driven over the DevTools Protocol (only the handful of commands needed here)."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.ids = itertools.count(1)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        self.websocket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:  # events arrive in between; only the answer to this command matters
            message = json.loads(self.websocket.recv(timeout=60))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {expression}\n{result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"Timed out after {timeout:g}s waiting for {what}")

    def click(self, finder: str, what: str) -> None:
        """A real mouse click (press and release) in the middle of the element ``finder`` evaluates to."""
        rect = self.wait_for(
            f"(() => {{ const e = {finder}; if (!e) return null; e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()",
            what,
        )
        for event in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=event, x=rect["x"], y=rect["y"], button="left", clickCount=1)

    def type_text(self, text: str) -> None:
        self.send("Input.insertText", text=text)

    def press_enter(self) -> None:
        self.send("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13, text="\r")
        self.send("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13)

    def screenshot(self, element: str, margin: int = 8) -> bytes:
        """A PNG of the element ``element`` evaluates to, with a margin, even where it overflows the viewport."""
        box = self.evaluate(
            f"(() => {{ const r = ({element}).getBoundingClientRect(); return {{x: r.x, y: r.y, w: r.width, h: r.height}}; }})()"
        )
        clip = {
            "x": max(box["x"] - margin, 0),
            "y": max(box["y"] - margin, 0),
            "width": box["w"] + 2 * margin,
            "height": box["h"] + 2 * margin,
            "scale": 1,
        }
        return base64.b64decode(self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)["data"])


@contextlib.contextmanager
def chromium(executable: str, startup_timeout: float = 30.0) -> Iterator[Page]:
    """Headless Chromium with a fresh profile; yields its first tab."""
    profile = Path(tempfile.mkdtemp(prefix="spapi-chromium-"))
    process = subprocess.Popen(
        [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + startup_timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Chromium ({executable}) did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        tab = next(target for target in targets if target["type"] == "page")
        with connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as websocket:
            page = Page(websocket)
            page.send("Page.enable")
            page.send("Emulation.setDeviceMetricsOverride", deviceScaleFactor=1, mobile=False, **VIEWPORT)
            yield page
    finally:
        stop(process)
        shutil.rmtree(profile, ignore_errors=True)


# -- the form -----------------------------------------------------------------------------------

DIALOG = "document.querySelector('[role=dialog]')"


def button(text: str, within: str = "document") -> str:
    return f"[...({within}).querySelectorAll('button')].find(b => b.innerText.trim() === {json.dumps(text)})"


def open_spapi_form(page: Page, base_url: str) -> None:
    page.send("Page.navigate", url=f"{base_url}/connections")
    page.click(button("Add Connection"), "the Connections page's Add Connection button")
    page.click(f"{DIALOG}.querySelector('input[name=connection_id]')", "the Connection ID input")
    page.type_text("spapi_default")
    page.click(f"{DIALOG}.querySelector('input[role=combobox]')", "the Connection Type picker")
    page.type_text(CONNECTION_TYPE_LABEL)
    page.wait_for(
        f"[...document.querySelectorAll('[role=option]')].some(o => o.innerText.trim() === {json.dumps(CONNECTION_TYPE_LABEL)})",
        f"the option {CONNECTION_TYPE_LABEL!r}",
    )
    page.press_enter()
    page.wait_for(f"{DIALOG}.innerText.includes('LWA client ID')", "the spapi standard fields (LWA client ID)")


def side_by_side(page: Page, images: list[bytes], gap: int = 24) -> bytes:
    """The PNGs next to each other on a white background, composed and captured by the same Chromium."""
    tags = "".join(f'<img src="data:image/png;base64,{base64.b64encode(image).decode()}">' for image in images)
    html = (
        "<!doctype html><html><body style='margin:0;background:#fff'>"
        f"<div id='all' style='display:inline-flex;align-items:flex-start;gap:{gap}px;padding:{gap}px'>{tags}</div></body></html>"
    )
    page.send("Page.navigate", url="data:text/html;base64," + base64.b64encode(html.encode()).decode())
    page.wait_for("[...document.images].length > 0 && [...document.images].every(i => i.complete)", "the composed page")
    return page.screenshot("document.getElementById('all')", margin=0)


def capture(base_url: str, executable: str) -> bytes:
    with chromium(executable) as page:
        open_spapi_form(page, base_url)
        standard = page.screenshot(DIALOG)
        page.click(button("Extra Fields", DIALOG), "the Extra Fields section")
        page.wait_for(f"!!{DIALOG}.querySelector('[name=element_refresh_token]')", "the spapi extra fields")
        page.wait_for(f"{DIALOG}.querySelector('[name=element_refresh_token]').getBoundingClientRect().height > 0", "the section to open")
        time.sleep(0.5)  # the accordion animates open
        extra = page.screenshot(DIALOG)
        return side_by_side(page, [standard, extra])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"PNG to write (default: {DEFAULT_OUTPUT.relative_to(REPO)})")
    parser.add_argument(
        "--chromium", default=shutil.which("chromium") or "chromium", help="Chromium executable (default: chromium on PATH)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="spapi-airflow-ui-") as tmp:
        home = Path(tmp)
        (home / "dags").mkdir()
        env = airflow_env(home)
        log(f"airflow db migrate in {home}")
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
        with api_server(env) as base_url:
            png = capture(base_url, args.chromium)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(png)
    log(f"wrote {args.output} ({len(png)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
