"""Fault injection: make the emulator fail the way Amazon and S3 sometimes do, on purpose and countably.

A fault is a dict (from ``--fault`` JSON, ``POST /_emulator/config {"faults": [...]}`` or
``Emulator(faults=[...])``)::

    {"kind": "status", "status": 503, "operation": "getOrders", "count": 3, "retry_after": 1}

``kind``
    ``status``: answer ``status`` with an SP-API error body (429 ``QuotaExceeded``, 500
    ``InternalFailure``, 503 ``ServiceUnavailable``, …; an LWA error body on the token endpoint).
    ``reset``: close the connection without answering (the client sees a connection error).
    ``lost``: *process* the request (the call takes effect: a feed is created, a label bought), then
    wait ``seconds`` (past the client's read timeout, to stage a timeout) and close the connection
    without answering: Amazon acted, the answer never arrived.
    ``delay``: wait ``seconds`` then answer normally.
    ``truncate``: send a document with the full Content-Length but close after about half of it.
    ``expired_url``: answer a document URL with S3's 403 ``AccessDenied`` "Request has expired".
``path_prefix`` / ``operation``
    Which requests it applies to: a path prefix, an operation name (``getOrders``) or key
    (``ordersV0.getOrders``). Without either, ``status``/``reset``/``delay`` apply to every SP-API
    call and ``truncate``/``expired_url`` to every document download. The LWA token endpoint and
    document URLs are hit by ``status``/``reset``/``delay`` only when ``path_prefix`` names them
    (``/auth/o2/token``, ``/_documents``).
``count``
    How many times it fires (default 1). ``every``: fire on every Nth matching request instead
    (then unlimited unless ``count`` is also given).
``retry_after``
    Seconds for a ``Retry-After`` header on a ``status`` answer.
``include_rate_header``
    Also send ``x-amzn-RateLimit-Limit`` on a ``status`` answer (Amazon does not; off by default).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "reset", "delay", "truncate", "expired_url", "lost"]
FAULT_KINDS: tuple[str, ...] = ("status", "reset", "delay", "truncate", "expired_url", "lost")
#: Kinds that end the request before it is handled (``delay`` only slows it down; ``lost`` acts after it).
TERMINAL_KINDS = frozenset({"status", "reset"})
DOCUMENT_KINDS = frozenset({"truncate", "expired_url"})

Target = Literal["spapi", "lwa", "document"]

_FIELDS = {"kind", "path_prefix", "operation", "status", "count", "every", "retry_after", "seconds", "include_rate_header"}


@dataclass
class Fault:
    """One configured fault and how often it has matched and fired."""

    kind: str
    path_prefix: str | None = None
    operation: str | None = None
    status: int = 503
    count: int | None = 1
    every: int | None = None
    retry_after: float | None = None
    seconds: float = 0.0
    include_rate_header: bool = False
    matched: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def applies_to(self, target: Target, path: str, operation_names: tuple[str, ...]) -> bool:
        if target != "document" and self.kind in DOCUMENT_KINDS:
            return False
        if target != "spapi" and self.kind == "lost":
            return False
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        if self.operation is not None and self.operation not in operation_names:
            return False
        if target == "spapi" or self.path_prefix is not None:
            return True
        # No path_prefix: a document fault still applies to every document download.
        return target == "document" and self.kind in DOCUMENT_KINDS and self.operation is None

    def should_fire(self) -> bool:
        """Count one matching request and say whether the fault fires on it."""
        self.matched += 1
        if self.count is not None and self.fired >= self.count:
            return False
        if self.every is not None and self.matched % self.every != 0:
            return False
        self.fired += 1
        return True

    def spec(self) -> dict[str, Any]:
        """The fault as it was configured, plus how often it fired (for ``GET /_emulator/config``)."""
        out: dict[str, Any] = {"kind": self.kind, "count": self.count, "fired": self.fired}
        for name in ("path_prefix", "operation", "every", "retry_after"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.kind == "status":
            out["status"] = self.status
            out["include_rate_header"] = self.include_rate_header
        if self.kind in ("delay", "lost"):
            out["seconds"] = self.seconds
        return out


def parse_fault(raw: Mapping[str, Any]) -> Fault:
    """Validate one fault dict; a mistake is a ``ValueError`` naming the field."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"a fault must be an object, got {type(raw).__name__}")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
    every = raw.get("every")
    count = raw.get("count", None if every is not None else 1)
    fault = Fault(
        kind=kind,
        path_prefix=_optional_str(raw, "path_prefix"),
        operation=_optional_str(raw, "operation"),
        status=_int(raw.get("status", 503), "status", 100, 599),
        count=None if count is None else _int(count, "count", 0),
        every=None if every is None else _int(every, "every", 1),
        retry_after=None if raw.get("retry_after") is None else _number(raw["retry_after"], "retry_after"),
        seconds=_number(raw.get("seconds", 0.0), "seconds"),
        include_rate_header=bool(raw.get("include_rate_header", False)),
    )
    if fault.path_prefix is not None and not fault.path_prefix.startswith("/"):
        raise ValueError("fault path_prefix must start with '/'")
    return fault


def _optional_str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"fault {name} must be a string")
    return value


def _int(value: Any, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValueError(f"fault {name} must be an integer >= {low}" + (f" and <= {high}" if high is not None else ""))
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"fault {name} must be a non-negative number")
    return float(value)


@dataclass(frozen=True)
class Firing:
    """What the faults decided for one request: an optional delay, then at most one terminal or document fault."""

    delay: float = 0.0
    fault: Fault | None = None
    fired: tuple[str, ...] = ()  # the kinds that fired, delays included, for the counters


class FaultInjector:
    """The live fault list; thread-safe, consulted once per request."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def replace(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self._faults = list(faults)

    def specs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.spec() for fault in self._faults]

    def check(self, target: Target, path: str, operation_names: tuple[str, ...] = (), kinds: frozenset[str] | None = None) -> Firing:
        """Decide which faults fire for this request (the caller counts ``fired`` and acts on the rest)."""
        delay = 0.0
        fired: list[str] = []
        with self._lock:
            for fault in self._faults:
                if kinds is not None and fault.kind not in kinds and fault.kind != "delay":
                    continue
                if not fault.applies_to(target, path, operation_names) or not fault.should_fire():
                    continue
                fired.append(fault.kind)
                if fault.kind == "delay":
                    delay += fault.seconds
                    continue
                return Firing(delay=delay, fault=fault, fired=tuple(fired))
        return Firing(delay=delay, fired=tuple(fired))
