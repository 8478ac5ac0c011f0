"""A feed's processing report, summed up: how many messages Amazon processed, and how many failed.

Amazon answers a feed in the format of the feed type, so one parser reads all three:

* JSON (``JSON_LISTINGS_FEED``): ``{"summary": {"errors", "warnings", "messagesProcessed", …}}``;
* XML (``POST_PRODUCT_DATA`` and the other XML feeds): ``<ProcessingReport><ProcessingSummary>`` with
  ``MessagesProcessed``, ``MessagesSuccessful``, ``MessagesWithError``, ``MessagesWithWarning``;
* text (flat-file feeds): ``Number of records processed`` / ``Number of records successful`` lines,
  then a tab-separated table whose ``error-type`` column says ``Error`` or ``Warning`` per row.

Every summary has ``errors`` and ``warnings`` (what ``fail_on_errors`` looks at) beside the format's own
counts, so a failing XML or flat-file feed fails the task like a failing JSON feed. A report in none
of these shapes gives ``{}``. The XML and text readers stream, so a large report costs no memory.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ElementTree
from typing import IO, Any

from airflow_provider_spapi.core.storage import WritablePath, as_path

_XML_COUNTS = {
    "MessagesProcessed": "messagesProcessed",
    "MessagesSuccessful": "messagesSuccessful",
    "MessagesWithError": "messagesWithError",
    "MessagesWithWarning": "messagesWithWarning",
}
_TEXT_COUNT = re.compile(r"number of records (processed|successful)\s*[:\t ]\s*(\d+)", re.IGNORECASE)


def summary(path: str | os.PathLike[str] | WritablePath) -> dict[str, Any]:
    """The summary of the processing report at ``path`` (see the module doc); ``{}`` when it has none."""
    with as_path(path).open("rb") as handle:
        start = handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
        handle.seek(0)
        if start.startswith((b"{", b"[")):
            return _json_summary(handle)
        if start.startswith(b"<"):
            return _xml_summary(handle)
        return _text_summary(handle)


def _json_summary(handle: IO[bytes]) -> dict[str, Any]:
    try:
        report = json.load(handle)
    except (ValueError, UnicodeDecodeError):
        return {}
    found = report.get("summary") if isinstance(report, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_summary(handle: IO[bytes]) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    try:
        for _, element in ElementTree.iterparse(handle, events=("end",)):
            name = _local_name(element.tag)
            if name in _XML_COUNTS and (element.text or "").strip().isdigit():
                counts[_XML_COUNTS[name]] = int((element.text or "").strip())
            elif name == "ProcessingSummary":
                break
            if name == "Result":
                element.clear()  # results can be many: keep memory flat
    except ElementTree.ParseError:
        pass
    if not counts:
        return {}
    return {"errors": counts.get("messagesWithError", 0), "warnings": counts.get("messagesWithWarning", 0), **counts}


def _text_summary(handle: IO[bytes]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    error_type_column: int | None = None
    warnings = 0
    for raw in handle:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        match = _TEXT_COUNT.search(line)
        if match:
            counts[match.group(1).lower()] = int(match.group(2))
            continue
        cells = [cell.strip().lower() for cell in line.split("\t")]
        if error_type_column is None:
            if "error-type" in cells:
                error_type_column = cells.index("error-type")
        elif len(cells) > error_type_column and cells[error_type_column] == "warning":
            warnings += 1
    if "processed" not in counts:
        return {}
    processed = counts["processed"]
    successful = counts.get("successful", processed)
    return {
        "errors": max(0, processed - successful),
        "warnings": warnings,
        "recordsProcessed": processed,
        "recordsSuccessful": successful,
    }
