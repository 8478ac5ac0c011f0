"""The TikTok Shop emulator's knobs: ``Emulator(tiktok={...})``, ``--tiktok JSON``, ``POST /_emulator/tiktok/config``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STARTUP_ONLY = frozenset({"orders", "products", "statements", "seed"})
FAULT_KINDS = ("status", "reset", "delay")


@dataclass
class Fault:
    """The next ``count`` matching calls get HTTP ``status`` (code 36009003), a connection reset, or a ``seconds`` delay."""

    kind: str = "status"
    status: int = 503
    path_prefix: str = "/"
    count: int = 1
    seconds: float = 0.0

    def spec(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TikTokOptions:
    """Every knob of the TikTok side, with its default."""

    access_token_lifetime: int = 7 * 86400
    refresh_token_lifetime: int = 365 * 86400
    rotate_refresh_token: bool = False
    shops: int = 1
    rate: float = 50.0
    burst: float = 50.0
    throttle_status: int = 429
    check_timestamp: bool = True
    faults: list[Fault] = field(default_factory=list)
    orders: int = 150
    products: int = 60
    statements: int = 40
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["faults"] = [fault.spec() for fault in self.faults]
        return out


def _fault(spec: Any) -> Fault:
    if not isinstance(spec, Mapping):
        raise ValueError(f"a fault must be an object, got {spec!r}")
    unknown = set(spec) - {f.name for f in dataclasses.fields(Fault)}
    if unknown:
        raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    fault = Fault(**spec)
    if fault.kind not in FAULT_KINDS:
        raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {fault.kind!r}")
    return fault


def build_tiktok_options(changes: Mapping[str, Any], base: TikTokOptions | None = None, *, running: bool = False) -> TikTokOptions:
    """``base`` (or the defaults) with ``changes`` applied; ``ValueError`` naming the option otherwise."""
    base = base or TikTokOptions()
    names = {f.name for f in dataclasses.fields(TikTokOptions)}
    unknown = set(changes) - names
    if unknown:
        raise ValueError(f"unknown TikTok option(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
    if running and set(changes) & STARTUP_ONLY:
        raise ValueError(f"start-up only TikTok option(s): {', '.join(sorted(set(changes) & STARTUP_ONLY))}")
    values = dict(changes)
    if "faults" in values:
        values["faults"] = [_fault(spec) for spec in values["faults"] or []]
    options = dataclasses.replace(base, **values)
    if not 1 <= options.shops <= 3:
        raise ValueError(f"shops must be 1, 2 or 3, got {options.shops!r}")
    if options.throttle_status not in (200, 429):
        raise ValueError(f"throttle_status must be 429 or 200 (code 36009002 in the body either way), got {options.throttle_status!r}")
    if options.access_token_lifetime < 1 or options.refresh_token_lifetime < 1:
        raise ValueError("token lifetimes must be at least 1 second")
    return options
