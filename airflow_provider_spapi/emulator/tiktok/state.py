"""Everything the TikTok side of the emulator holds: options, tokens, shop data, buckets, faults, counters."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Mapping
from typing import Any

from airflow_provider_spapi.emulator.tiktok import seed
from airflow_provider_spapi.emulator.tiktok.data import generate
from airflow_provider_spapi.emulator.tiktok.options import Fault, TikTokOptions, build_tiktok_options
from airflow_provider_spapi.emulator.tiktok.throttle import Buckets
from airflow_provider_spapi.emulator.tiktok.tokens import TokenStore


class TikTokCounters:
    """What the TikTok side has seen::

    {"token": {"get": n, "refresh": n}, "rotations": n, "requests": {api: n}, "throttled": n,
     "errors": {code: n}, "faults": {kind: n}}

    ``token`` counts tokens actually issued (a refused grant is not a mint); ``requests`` every call
    routed to an API, whatever its answer; ``errors`` every non-zero code answered (token endpoint too).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._data: dict[str, Any] = {
                "token": {"get": 0, "refresh": 0},
                "rotations": 0,
                "requests": {},
                "throttled": 0,
                "errors": {},
                "faults": {},
            }

    def add(self, name: str, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._data[name] += 1
            else:
                self._data[name][key] = self._data[name].get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._data)


class TikTokState:
    """The TikTok side of one emulator. Admin methods here are what ``/_emulator/tiktok/...`` calls."""

    def __init__(self, options: TikTokOptions | None = None) -> None:
        self.start_options = options or TikTokOptions()
        self.anchor = int(time.time()) // 3600 * 3600
        start = self.start_options
        self.data = generate(start.orders, start.products, start.statements, start.seed, self.anchor)
        self.counters = TikTokCounters()
        self.buckets = Buckets()
        self._lock = threading.Lock()
        self._build(self.start_options)

    def _build(self, options: TikTokOptions) -> None:
        self.options = dataclasses.replace(options, faults=[dataclasses.replace(fault) for fault in options.faults])
        self.tokens = TokenStore(options.refresh_token_lifetime)

    def shops(self) -> tuple[seed.Shop, ...]:
        """The shops the seeded authorisation covers (the ``shops`` knob)."""
        return seed.SHOPS[: self.options.shops]

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.options.faults:
                if fault.count > 0 and path.startswith(fault.path_prefix):
                    fault.count -= 1
                    self.counters.add("faults", fault.kind)
                    return fault
        return None

    # Admin -------------------------------------------------------------------------------------

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change run-time options (``faults`` replaced whole); returns the options in force."""
        with self._lock:
            self.options = build_tiktok_options(changes, self.options, running=True)
            return self.options.to_json()

    def reset(self) -> None:
        """Back to the start: options, tokens (the seeded refresh token works again), buckets and counters."""
        with self._lock:
            self._build(self.start_options)
        self.buckets.reset()
        self.counters.reset()

    def expire_tokens(self) -> int:
        """Every access token issued so far answers 105002 from now on; returns how many."""
        return self.tokens.expire_access_tokens()

    def new_authorization_code(self) -> str:
        """A one-time auth code for ``/api/v2/token/get``, as TikTok appends to the redirect URL (valid 30 minutes)."""
        return self.tokens.new_auth_code()

    def revoke(self, refresh_token: str) -> bool:
        """The seller deauthorised the app: the refresh token answers 36004005 and its access tokens 105001."""
        return self.tokens.revoke(refresh_token)

    def expire_refresh_token(self, refresh_token: str) -> bool:
        """The refresh token passed its ``refresh_token_expire_in``: refreshing answers 36004001."""
        return self.tokens.expire_refresh_token(refresh_token)
