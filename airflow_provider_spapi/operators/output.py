"""Pages to storage as JSON lines, written atomically, with the counts XCom gets instead of the data.

Both platforms' call operators (``SpApiOperator``, ``TikTokShopOperator``) write here: one page a line
(``pages``) or one record a line (``records``: the list inside each page, found by
:func:`~airflow_provider_spapi.core.records.page_records`), so a reader streams the file or loads it
as rows; a file that exists is complete (a failed task leaves none).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from airflow_provider_spapi.core.errors import ConfigError
from airflow_provider_spapi.core.records import page_records
from airflow_provider_spapi.core.storage import atomic_write

OutputFormat = Literal["pages", "records"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("pages", "records")


def check_output_format(value: Any, error: type[ConfigError]) -> OutputFormat:
    """``value`` if it is an output format, else ``error`` naming the argument and the choices."""
    if value not in OUTPUT_FORMATS:
        raise error(f"Argument 'output_format' must be 'pages' (one response a line) or 'records' (one record a line), not {value!r}.")
    return value


def _line(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def write_json_lines(
    destination: Any,
    pages: Iterable[dict[str, Any]],
    log: Any,
    *,
    output_format: OutputFormat = "pages",
    records_key: str | None = None,
) -> dict[str, Any]:
    """Write every page (or every record of every page) as JSON lines; return ``{"path", "pages", "records"}`` for XCom."""
    page_count = records = 0
    with atomic_write(destination) as handle:
        for page in pages:
            found = page_records(page, records_key)
            handle.write(b"".join(_line(record) for record in found) if output_format == "records" else _line(page))
            page_count += 1
            records += len(found)
    log.info("Wrote %d page(s), %d record(s) to %s", page_count, records, destination)
    return {"path": str(destination), "pages": page_count, "records": records}
