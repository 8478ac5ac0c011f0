"""A local SP-API and Login-with-Amazon emulator, to run DAGs and tests offline.

One port serves LWA (``POST /auth/o2/token``), SP-API (seeded sellers, orders, reports, feeds,
notifications; Amazon's static sandbox cases for the rest), pre-signed document URLs and admin
endpoints under ``/_emulator/``. It enforces what Amazon enforces (token expiry, grantless scopes,
Restricted Data Tokens, usage plans with 429 ``QuotaExceeded``) and can inject faults. Under
``/sandbox`` (or everywhere, with ``sandbox=True``) it answers as Amazon's sandbox hosts do
instead (:mod:`.sandbox_mode`). Standard library only; no Airflow needed, and nothing a worker
runs imports it (it learns Amazon's facts from its own copy of the models, :mod:`.model`).

From the command line::

    python -m airflow_provider_spapi.emulator --host 127.0.0.1 --port 8765

From Python (tests)::

    from airflow_provider_spapi.emulator import Emulator, seed

    with Emulator(port=0, rate_scale=100) as emulator:
        emulator.url        # http://127.0.0.1:54321 (the SP-API endpoint)
        emulator.sandbox_url  # http://127.0.0.1:54321/sandbox (Amazon's sandbox, static cases)
        emulator.lwa_url    # http://127.0.0.1:54321/auth/o2/token
        emulator.configure(faults=[{"kind": "status", "status": 503, "operation": "getOrders"}])
        emulator.counters()["requests"]

Seeded credentials are in :mod:`.seed`; the knobs are :class:`.config.Options`. The same port serves
TikTok Shop (:mod:`.tiktok`: ``Emulator(tiktok={...})``, ``emulator.tiktok``, ``tiktok_connection_json()``).
"""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import Any

from airflow_provider_spapi.emulator import seed
from airflow_provider_spapi.emulator.config import Options, build_options
from airflow_provider_spapi.emulator.sandbox_mode import SANDBOX_PREFIX
from airflow_provider_spapi.emulator.server import EmulatorHTTPServer
from airflow_provider_spapi.emulator.state import EmulatorState
from airflow_provider_spapi.emulator.tiktok import seed as tiktok_seed
from airflow_provider_spapi.emulator.tiktok.options import build_tiktok_options
from airflow_provider_spapi.emulator.tiktok.state import TikTokState

__all__ = ["Emulator", "Options"]


class Emulator:
    """The emulator in a daemon thread of this process.

    Keyword arguments are the options of :class:`.config.Options` (``rate_scale``,
    ``rate_limit_header``, ``expires_in``, ``document_url_ttl``, ``orders``, ``report_polls``,
    ``seed``, ``report_document_bytes``, ``document_content_encoding``, ``report_outcomes``,
    ``feed_outcomes``, ``data_kiosk``, ``usage_plans``, ``faults``, ``verbose``, ``anchor``, ``sandbox``).
    The admin methods act on the state directly, exactly as the ``/_emulator/`` endpoints do.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tiktok: dict[str, Any] | None = None, **options: Any) -> None:
        self.host = host
        self.port = port
        self.state = EmulatorState(build_options(options))
        if tiktok:  # TikTok Shop knobs: emulator.tiktok.options.TikTokOptions
            self.state.tiktok = TikTokState(build_tiktok_options(tiktok))
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve in a daemon thread; with ``port=0`` the OS picks a free port (see ``url``)."""
        if self._server is not None:
            return self
        self._server = EmulatorHTTPServer((self.host, self.port), self.state)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="spapi-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The SP-API base URL (use it as the connection's ``endpoint``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def sandbox_url(self) -> str:
        """The endpoint that answers as Amazon's sandbox hosts (the root itself with ``sandbox=True``)."""
        return self.url if self.state.options.sandbox else self.url + SANDBOX_PREFIX

    @property
    def lwa_url(self) -> str:
        """The LWA token URL (use it as the connection's ``lwa_endpoint``)."""
        return self.url + "/auth/o2/token"

    def connection_json(
        self,
        *,
        login: str = seed.CLIENT_ID,
        password: str = seed.CLIENT_SECRET,
        refresh_token: str | None = seed.REFRESH_TOKEN,
        marketplace_ids: list[str] | None = None,
        **extra: Any,
    ) -> str:
        """An ``spapi`` connection to this emulator in the JSON form of ``AIRFLOW_CONN_<ID>`` (seeded seller 1 by default).

        Extra fields given as None are left out, so ``refresh_token=None`` makes a grantless-only connection.
        ``sandbox=True`` points the connection at :attr:`sandbox_url`, as ``sandbox: true`` points
        a connection at Amazon's sandbox host.
        """
        fields: dict[str, Any] = {
            "refresh_token": refresh_token,
            "endpoint": self.sandbox_url if extra.get("sandbox") else self.url,
            "lwa_endpoint": self.lwa_url,
            "marketplace_ids": [seed.MARKETPLACE_ID_US] if marketplace_ids is None else marketplace_ids,
            **extra,
        }
        fields = {key: value for key, value in fields.items() if value is not None}
        return json.dumps({"conn_type": "spapi", "login": login, "password": password, "extra": fields})

    @property
    def tiktok(self) -> TikTokState:
        """The TikTok Shop side: ``.counters.snapshot()``, ``.configure()``, ``.expire_tokens()``... (see :mod:`.tiktok`)."""
        return self.state.tiktok

    def tiktok_connection_json(
        self,
        *,
        login: str = tiktok_seed.APP_KEY,
        password: str = tiktok_seed.APP_SECRET,
        refresh_token: str | None = tiktok_seed.REFRESH_TOKEN,
        **extra: Any,
    ) -> str:
        """A ``tiktok_shop`` connection to this emulator (seeded app and authorisation), as ``AIRFLOW_CONN_<ID>`` JSON.

        Both ``api_endpoint`` and ``auth_endpoint`` point here; extra fields given as None are left out.
        """
        fields = {"refresh_token": refresh_token, "api_endpoint": self.url, "auth_endpoint": self.url, **extra}
        fields = {key: value for key, value in fields.items() if value is not None}
        return json.dumps({"conn_type": "tiktok_shop", "login": login, "password": password, "extra": fields})

    # Admin -----------------------------------------------------------------------------------

    def counters(self) -> dict[str, Any]:
        return self.state.counters.snapshot()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change run-time options (``faults`` and dict options are replaced whole); returns the options in force."""
        return self.state.configure(changes)

    def reset(self) -> None:
        """Back to how the emulator started (seeded data and registered credentials stay)."""
        self.state.reset()

    def revoke(self, refresh_token: str) -> None:
        self.state.revoke(refresh_token)

    def expire_tokens(self) -> int:
        """Make every access token and RDT issued so far answer "expired"; returns how many."""
        return self.state.expire_tokens()

    def register(
        self, client_id: str, client_secret: str, refresh_token: str | None = None, selling_partner_id: str | None = None
    ) -> dict[str, Any]:
        return self.state.register(client_id, client_secret, refresh_token, selling_partner_id)

    def expire_secret(self, client_id: str) -> None:
        """From now on that client's secret answers ``invalid_client``."""
        self.state.expire_secret(client_id)

    def new_authorization_code(
        self, client_id: str | None = None, selling_partner_id: str | None = None, redirect_uri: str | None = None
    ) -> dict[str, str]:
        return self.state.new_authorization_code(client_id, selling_partner_id, redirect_uri)

    def notifications(self) -> list[dict[str, Any]]:
        """Notifications the emulator would have sent (e.g. ``APPLICATION_OAUTH_CLIENT_NEW_SECRET``)."""
        return self.state.notifications()
