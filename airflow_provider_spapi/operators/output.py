"""Pages to storage as JSON lines, written atomically, with the counts XCom gets instead of the data.

Both platforms' call operators (``SpApiOperator``, ``TikTokShopOperator``) write here: one page a line,
so a reader streams the file, and a file that exists is complete (a failed task leaves none).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_spapi.core.storage import atomic_write


def count_records(result: Any) -> int:
    """How many records a page's result holds: its length as a list, else the length of its first list value, else 1 (0 if empty)."""
    if isinstance(result, list):
        return len(result)
    if isinstance(result, dict):
        for value in result.values():
            if isinstance(value, list):
                return len(value)
    return 1 if result else 0


def write_json_lines(
    destination: Any, pages: Iterable[dict[str, Any]], record_count: Callable[[dict[str, Any]], int], log: Any
) -> dict[str, Any]:
    """Write every page as one JSON line to ``destination``; return ``{"path", "pages", "records"}`` for XCom."""
    page_count = records = 0
    with atomic_write(destination) as handle:
        for page in pages:
            handle.write(json.dumps(page, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")
            page_count += 1
            records += record_count(page)
    log.info("Wrote %d page(s), %d record(s) to %s", page_count, records, destination)
    return {"path": str(destination), "pages": page_count, "records": records}
