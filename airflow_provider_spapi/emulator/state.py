"""Everything one running emulator knows, and the admin operations that change it.

The admin endpoints (``/_emulator/...``) and the ``Emulator`` methods both call the methods here,
so there is one implementation of each operation. ``reset`` puts the emulator back to how it
started: counters, faults, options, issued tokens and codes, buckets, revocations, rotations and
expired secrets, and every report, feed, document, destination and subscription created since.
Seeded data stays, and so do credentials added with ``register`` (tests register sentinel
credentials once and reset between tests).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from airflow_provider_spapi.emulator import seed
from airflow_provider_spapi.emulator.auth import TokenStore
from airflow_provider_spapi.emulator.call import Handler
from airflow_provider_spapi.emulator.config import Options, build_options
from airflow_provider_spapi.emulator.counters import Counters
from airflow_provider_spapi.emulator.datakiosk import DataKioskApi
from airflow_provider_spapi.emulator.documents import DocumentStore
from airflow_provider_spapi.emulator.faults import FaultInjector
from airflow_provider_spapi.emulator.feeds import FeedsApi
from airflow_provider_spapi.emulator.lwa import Credentials
from airflow_provider_spapi.emulator.notifications import NotificationsApi
from airflow_provider_spapi.emulator.orders import OrderBook, OrdersApi
from airflow_provider_spapi.emulator.paging import Pager
from airflow_provider_spapi.emulator.rdt import TokensApi
from airflow_provider_spapi.emulator.reports import ReportsApi
from airflow_provider_spapi.emulator.scheduled_reports import ScheduledReports
from airflow_provider_spapi.emulator.sqs_publisher import SqsPublisher
from airflow_provider_spapi.emulator.throttle import Throttler
from airflow_provider_spapi.emulator.tiktok.state import TikTokState


@dataclasses.dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str
    refresh_token: str | None
    selling_partner_id: str


class EmulatorState:
    """The emulator's state, shared by every request thread (each part guards itself with its own lock)."""

    def __init__(self, options: Options) -> None:
        self.start_options = options
        self.anchor = options.anchor or seed.default_anchor()
        self.sellers: dict[str, seed.Seller] = {s.selling_partner_id: s for s in seed.SELLERS}
        self.registrations: list[Registration] = []
        self.pager = Pager(options.seed)
        self.book = OrderBook(options.orders, options.seed, self.anchor, self.seller)
        self.counters = Counters()
        self.faults = FaultInjector()
        self.throttler = Throttler()
        self.tiktok = TikTokState()  # the TikTok Shop side (emulator/tiktok)
        self._lock = threading.Lock()
        self._build(options)

    def _build(self, options: Options) -> None:
        """(Re)create everything ``reset`` forgets."""
        fresh_faults = [dataclasses.replace(fault, matched=0, fired=0) for fault in options.faults]
        self.options = dataclasses.replace(options, faults=fresh_faults)
        self.counters.reset()
        self.faults.replace(fresh_faults)
        self.throttler.configure(options.rate_scale, options.usage_plans)
        self.throttler.reset()
        self.tokens = TokenStore()
        self.credentials = Credentials.seeded()
        for r in self.registrations:
            self.credentials.register(r.client_id, r.client_secret, r.refresh_token, r.selling_partner_id)
        self.documents = DocumentStore()
        self.orders_api = OrdersApi(self.book, self.pager, self.seller)
        self.reports_api = ReportsApi(self.documents, self.pager, lambda: self.options)
        self.feeds_api = FeedsApi(self.documents, self.pager, lambda: self.options)
        self.data_kiosk_api = DataKioskApi(self.documents, self.pager, lambda: self.options)
        self.notifications_api = NotificationsApi(self.credentials, self.counters)
        self.tokens_api = TokensApi(self.tokens, self.counters, lambda: self.options.expires_in)
        self.scheduled_reports = ScheduledReports(self.reports_api, self.documents, self.book, self.seller)  # after reports_api: wraps it
        # After the APIs whose create calls it wraps (createReport, createFeed, createQuery):
        self.sqs_publisher = SqsPublisher(self.reports_api, self.feeds_api, self.data_kiosk_api, self.notifications_api)
        handlers: dict[str, Handler] = {}
        apis = (self.orders_api, self.reports_api, self.feeds_api, self.data_kiosk_api, self.notifications_api, self.tokens_api)
        for api in (*apis, self.scheduled_reports, self.sqs_publisher):
            handlers.update(api.handlers())
        self.handlers = handlers

    def seller(self, selling_partner_id: str) -> seed.Seller:
        """A seeded or registered seller (an unknown id is a US seller, so its orders can be generated)."""
        return self.sellers.get(selling_partner_id) or seed.Seller(
            selling_partner_id, "", (seed.MARKETPLACE_ID_US,), f"Seller {selling_partner_id}"
        )

    # Admin operations ------------------------------------------------------------------------

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change options at run time (``ValueError`` for an unknown or invalid one); returns the options now in force."""
        with self._lock:
            options = build_options(changes, self.options, running=True)
            self.options = options
            self.faults.replace(options.faults)
            self.throttler.configure(options.rate_scale, options.usage_plans)
            return options.to_json()

    def reset(self) -> None:
        with self._lock:
            self._build(self.start_options)
        self.tiktok.reset()

    def register(
        self, client_id: str, client_secret: str, refresh_token: str | None = None, selling_partner_id: str | None = None
    ) -> dict[str, Any]:
        """Add credentials at run time; a new selling partner id becomes a US seller with its own seeded orders."""
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        spid = selling_partner_id or seed.SELLING_PARTNER_ID
        with self._lock:
            if spid not in self.sellers:
                self.sellers[spid] = seed.Seller(spid, refresh_token or "", (seed.MARKETPLACE_ID_US,), f"Registered seller {spid}")
            registration = Registration(client_id, client_secret, refresh_token, spid)
            self.registrations.append(registration)
            self.credentials.register(client_id, client_secret, refresh_token, spid)
        return {"client_id": client_id, "selling_partner_id": spid, "refresh_token_registered": bool(refresh_token)}

    def revoke(self, refresh_token: str) -> None:
        if not refresh_token:
            raise ValueError("refresh_token is required")
        self.credentials.revoke(refresh_token)

    def expire_tokens(self) -> int:
        return self.tokens.expire_all()

    def expire_secret(self, client_id: str) -> None:
        if not self.credentials.expire_secret(client_id):
            raise KeyError(f"unknown client_id {client_id}")

    def new_authorization_code(
        self, client_id: str | None = None, selling_partner_id: str | None = None, redirect_uri: str | None = None
    ) -> dict[str, str]:
        """A fresh one-time ``spapi_oauth_code``, as if a seller had just authorised the app on the website."""
        client = client_id or seed.CLIENT_ID
        spid = selling_partner_id or seed.SELLING_PARTNER_ID
        uri = redirect_uri or seed.REDIRECT_URI
        code = self.credentials.new_code(client, spid, uri, time.time())
        return {"code": code, "client_id": client, "selling_partner_id": spid, "redirect_uri": uri}

    def notifications(self) -> list[dict[str, Any]]:
        return self.notifications_api.notifications()
