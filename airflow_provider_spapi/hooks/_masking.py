"""Hide minted tokens from task logs without making Airflow's secrets masker grow with every token.

Airflow's masker keeps one escaped pattern per secret and recompiles their union each time one is
added; nothing is ever removed. Masking each access token (one an hour per seller, one per RDT
resource) that way makes a long-lived triggerer hold and recompile an ever larger pattern. Tokens
of one platform share a shape (Amazon's start ``Atza|``, ``Atzr|``, ``Atz.sprdt|``), so
:func:`mask_token` registers the *shape* once instead: every token of that shape is masked, those
minted later and in other processes included, and the masker grows by one pattern per platform.
A token that does not have the expected shape, or a masker this code does not know, falls back to
Airflow's own ``mask_secret`` of the value. So does an Airflow 3 task process: its supervisor masks
the task's log and learns secrets only by value, but it lives for one try, so what it holds stays
small; the long-lived triggerer masks in the process that mints. Both hooks (SP-API, TikTok Shop)
call this function.
"""

from __future__ import annotations

import re
import threading

from airflow_provider_spapi._compat import mask_secret, secrets_maskers, supervisor_masks_logs

#: Amazon's LWA access and refresh tokens and Restricted Data Tokens: a fixed prefix, then URL-safe characters.
SPAPI_TOKEN_SHAPE = re.compile(r"Atz(?:a|r|\.sprdt)\|[A-Za-z0-9\-_.~+/=|%]{16,}")

_registered: set[tuple[int, str]] = set()
_lock = threading.Lock()


def mask_token(value: str, shape: re.Pattern[str] | None = None) -> None:
    """Mask ``value`` in every log line: by its ``shape`` (registered once per masker), else by value."""
    if not value:
        return
    by_shape = shape is not None and shape.fullmatch(value) is not None and _register_shape(shape)
    if not by_shape or supervisor_masks_logs():
        mask_secret(value)


def _register_shape(shape: re.Pattern[str]) -> bool:
    """Add ``shape`` as one pattern to each secrets masker of this process; False if none can take it."""
    maskers = [masker for masker in secrets_maskers() if isinstance(getattr(masker, "patterns", None), set)]
    if not maskers:
        return False
    with _lock:
        for masker in maskers:
            key = (id(masker), shape.pattern)
            if key in _registered and shape.pattern in masker.patterns:
                continue
            masker.patterns.add(shape.pattern)
            masker.replacer = re.compile("|".join(masker.patterns))
            _registered.add(key)
    return True
