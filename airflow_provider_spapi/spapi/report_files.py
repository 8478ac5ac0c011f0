"""A report document to storage as Amazon's bytes (``raw``), as UTF-8 text (``utf8``) or as JSON lines (``jsonl``).

``raw`` streams the download straight to the destination (:func:`workflows.download`). The other two
download to a local temporary file first, because choosing the charset needs a look at the whole
file (see :mod:`.flatfile`), then stream the conversion to the destination, atomically. The
temporary file is removed whatever happens. One function for every report operator, so a scheduled
settlement and a requested report come out the same way.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_spapi.core.storage import WritablePath
from airflow_provider_spapi.spapi import flatfile, workflows
from airflow_provider_spapi.spapi.client import SpApiClient
from airflow_provider_spapi.spapi.flatfile import OutputFormat


@dataclass(frozen=True)
class SavedReport:
    """Where the report went and what it holds; ``rows`` and ``charset`` only for converted output."""

    path: str
    bytes_written: int
    output_format: OutputFormat
    charset: str | None = None
    rows: int | None = None

    def to_xcom(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "bytes": self.bytes_written}
        if self.output_format != "raw":
            out.update({"output_format": self.output_format, "charset": self.charset, "rows": self.rows})
        return out


def save_report(
    client: SpApiClient,
    document_id: str,
    destination: str | os.PathLike[str] | WritablePath,
    *,
    restricted: bool = False,
    output_format: OutputFormat = "raw",
    encoding: str | None = None,
    marketplace_ids: Iterable[str] = (),
) -> SavedReport:
    """Download report document ``document_id`` to ``destination`` in ``output_format``."""
    if output_format == "raw":
        result = workflows.download(client, "report", document_id, destination, restricted=restricted)
        return SavedReport(path=result.path, bytes_written=result.bytes_written, output_format="raw")
    with tempfile.TemporaryDirectory(prefix="spapi-report-") as folder:
        local = Path(folder) / "document"
        downloaded = workflows.download(client, "report", document_id, local, restricted=restricted)
        converted = flatfile.convert(
            local,
            destination,
            output_format,
            declared_charset=encoding,
            hinted_charset=flatfile.charset_from_content_type(downloaded.content_type),
            marketplace_ids=marketplace_ids,
        )
    return SavedReport(
        path=converted.path,
        bytes_written=converted.bytes_written,
        output_format=output_format,
        charset=converted.charset,
        rows=converted.rows,
    )


def save_reports(
    client: SpApiClient,
    reports: Iterable[Mapping[str, Any]],
    destination_for: Callable[[str], str | os.PathLike[str] | WritablePath],
    *,
    output_format: OutputFormat = "raw",
    encoding: str | None = None,
) -> list[dict[str, object]]:
    """Save each ``{"report_id", "report_type", "document_id"}`` (a notification's, a listing's) to ``destination_for(report_id)``.

    Restricted report types get their Restricted Data Token.
    """
    saved = []
    for report in reports:
        result = save_report(
            client,
            str(report["document_id"]),
            destination_for(str(report["report_id"])),
            restricted=workflows.is_restricted_report(str(report.get("report_type") or "")),
            output_format=output_format,
            encoding=encoding,
            marketplace_ids=report.get("marketplace_ids") or client.settings.marketplace_ids,
        )
        saved.append({"report_id": report["report_id"], "report_type": report.get("report_type"), **result.to_xcom()})
    return saved
