"""Log a connection's due credential warnings once per process, whichever platform it belongs to.

A hook's first use of a connection is the moment a person reading task logs should learn that its
refresh token (or client secret) is about to die; every later hook of the same credentials in the
process stays quiet, so a DAG of fifty tasks does not log fifty copies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from airflow_provider_spapi.core.expiry import ExpiryStatus
from airflow_provider_spapi.core.tokens import fingerprint

# Connections whose expiry warnings this process has logged already (fingerprints, not ids or secrets).
_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_expiry_once(log: Any, conn_id: str, key: Iterable[str | None], due: Iterable[ExpiryStatus]) -> None:
    """Log each due warning at WARNING, the first time this process sees ``(conn_id, *key)``.

    ``key`` holds what the expiry depends on (client id, dates), so a connection edited to new dates warns again.
    """
    name = fingerprint(conn_id, *key)
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    for status in due:
        log.warning("Connection %s: %s", conn_id, status.message())
