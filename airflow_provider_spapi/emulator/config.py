"""The emulator's knobs, one validated record shared by the CLI, ``Emulator(...)`` and ``POST /_emulator/config``.

Start-up options (``orders``, ``seed``, ``anchor``) shape the seeded data and cannot change while
the emulator runs; every other option can, through ``POST /_emulator/config`` or
``Emulator.configure(**changes)``. A dict option (``report_outcomes``, ``feed_outcomes``,
``usage_plans``) and ``faults`` are replaced as a whole, not merged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_spapi.emulator.datakiosk import DataKioskOptions, data_kiosk_option
from airflow_provider_spapi.emulator.documents import content_encoding_mode
from airflow_provider_spapi.emulator.faults import Fault, parse_fault

FINAL_STATUSES = ("DONE", "CANCELLED", "FATAL")
RATE_LIMIT_HEADER_MODES = ("always", "never")
STARTUP_ONLY = frozenset({"orders", "seed", "anchor"})


@dataclass
class Options:
    """Every knob, with its default. See ``python -m airflow_provider_spapi.emulator --help``."""

    rate_scale: float = 1.0
    rate_limit_header: str = "always"
    expires_in: int = 3600
    document_url_ttl: int = 300
    orders: int = 250
    report_polls: int = 2
    seed: int = 0
    report_document_bytes: int = 20_000
    document_content_encoding: str = "on_request"
    report_outcomes: dict[str, str] = field(default_factory=dict)
    feed_outcomes: dict[str, str] = field(default_factory=dict)
    data_kiosk: dict[str, Any] = field(default_factory=DataKioskOptions().to_json)
    usage_plans: dict[str, tuple[float, float]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    verbose: bool = False
    anchor: datetime | None = None
    sandbox: bool = False

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["usage_plans"] = {name: list(plan) for name, plan in self.usage_plans.items()}
        out["faults"] = [fault.spec() for fault in self.faults]
        out["anchor"] = self.anchor.isoformat() if self.anchor else None
        return out


def build_options(changes: Mapping[str, Any], base: Options | None = None, *, running: bool = False) -> Options:
    """A new, validated ``Options``: ``base`` (or the defaults) with ``changes`` applied.

    ``running`` refuses start-up-only options. Raises ``ValueError`` naming the offending option.
    """
    base = base or Options()
    names = {f.name for f in dataclasses.fields(Options)}
    unknown = set(changes) - names
    if unknown:
        raise ValueError(f"unknown option(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
    if running and STARTUP_ONLY & set(changes):
        raise ValueError(f"{', '.join(sorted(STARTUP_ONLY & set(changes)))} can only be set when the emulator starts")
    values = {f.name: getattr(base, f.name) for f in dataclasses.fields(Options)}
    for name, value in changes.items():
        values[name] = _VALIDATORS[name](name, value)
    return Options(**values)


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _int_at_least(low: int) -> Any:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        return value

    return check


def _choice(name: str, value: Any) -> str:
    if value not in RATE_LIMIT_HEADER_MODES:
        raise ValueError(f"{name} must be one of {', '.join(RATE_LIMIT_HEADER_MODES)}, got {value!r}")
    return str(value)


def _outcomes(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be an object mapping a type to one of {', '.join(FINAL_STATUSES)}")
    for kind, status in value.items():
        if status not in FINAL_STATUSES:
            raise ValueError(f"{name}[{kind!r}] must be one of {', '.join(FINAL_STATUSES)}, got {status!r}")
    return {str(kind): str(status) for kind, status in value.items()}


def _usage_plans(name: str, value: Any) -> dict[str, tuple[float, float]]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be an object mapping an operation name or key to [rate, burst]")
    plans: dict[str, tuple[float, float]] = {}
    for operation, plan in value.items():
        if not isinstance(plan, list | tuple) or len(plan) != 2:
            raise ValueError(f"{name}[{operation!r}] must be [rate, burst]")
        plans[str(operation)] = (
            _positive_float(f"{name}[{operation!r}] rate", plan[0]),
            _positive_float(f"{name}[{operation!r}] burst", plan[1]),
        )
    return plans


def _faults(name: str, value: Any) -> list[Fault]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list of fault objects")
    return [item if isinstance(item, Fault) else parse_fault(item) for item in value]


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _anchor(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} must be an ISO 8601 date-time, got {value!r}") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime or an ISO 8601 string")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


_VALIDATORS: dict[str, Any] = {
    "rate_scale": _positive_float,
    "rate_limit_header": _choice,
    "expires_in": _int_at_least(1),
    "document_url_ttl": _int_at_least(1),
    "orders": _int_at_least(0),
    "report_polls": _int_at_least(0),
    "seed": _int_at_least(-(2**63)),
    "report_document_bytes": _int_at_least(1),
    "document_content_encoding": content_encoding_mode,
    "report_outcomes": _outcomes,
    "feed_outcomes": _outcomes,
    "data_kiosk": data_kiosk_option,
    "usage_plans": _usage_plans,
    "faults": _faults,
    "verbose": _bool,
    "anchor": _anchor,
    "sandbox": _bool,
}
