"""Amazon's flat-file reports made ready to load: UTF-8, or JSON lines with one object per row. Streaming; no Airflow.

Flat files (tab-separated, one header row) arrive in whatever encoding the marketplace's report
generator uses: UTF-8 for most, Windows-1252 for many European and American reports, Windows-31J
(Shift_JIS) for Japan. getReportDocument says nothing about it, and the document's download is
served as ``application/octet-stream`` when compressed. So the charset is chosen, in this order:

1. one given explicitly (the operator's ``encoding``): it is used, and a file it cannot decode fails;
2. the download's ``Content-Type: …; charset=``, when the whole file decodes with it: a server's
   label is a hint, so a file it does not fit goes on to detection instead of failing;
3. UTF-8, when the whole file is valid UTF-8 (a byte-order mark is dropped): text in a legacy
   encoding with any non-ASCII letter is almost never valid UTF-8;
4. the marketplace's legacy charset from ``data/marketplaces.json`` (cp932 for Japan, cp1252
   elsewhere), which decodes any byte sequence, so nothing is lost.

Labels are read as the superset Amazon's generators write (``charset_supersets`` in the same file):
Shift_JIS and Windows-31J as cp932, ISO-8859-1 as cp1252, US-ASCII as UTF-8.

Both conversions read the source once more than they write (the UTF-8 check is a streaming pass),
line by line, so memory stays flat whatever the size. The destination is written atomically.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from airflow_provider_spapi.core.storage import WritablePath, as_path, atomic_write
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.spapi.marketplaces import charset_superset, flat_file_charset

OutputFormat = Literal["raw", "utf8", "jsonl"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("raw", "utf8", "jsonl")
READ_BYTES = 1 << 20
WRITE_BATCH = 1 << 16
EXTRA_FIELDS_KEY = "_extra"


@dataclass(frozen=True)
class Converted:
    """What a conversion wrote: the path, the charset it decoded, the data rows (header excluded) and bytes written."""

    path: str
    charset: str
    rows: int
    bytes_written: int


def check_output_format(value: object, argument: str = "output_format") -> OutputFormat:
    if value not in OUTPUT_FORMATS:
        raise SpApiConfigError(
            f"Argument '{argument}' must be 'raw' (Amazon's bytes), 'utf8' (the flat file re-encoded) or "
            f"'jsonl' (one JSON object per row), not {value!r}."
        )
    return value


def _codec(label: str) -> str:
    """The Python codec for a charset label, widened to the superset Amazon writes; LookupError if unknown."""
    widened = charset_superset(label)  # labels Python does not know itself (Windows-31J)
    if widened:
        return widened
    name = codecs.lookup(label.strip()).name
    return charset_superset(name) or name


def check_charset(value: str | None, argument: str = "encoding") -> str | None:
    """A Python codec name for ``value`` (``Shift_JIS``, ``Cp1252``, ``Windows-31J``…), or a clear error."""
    if value is None:
        return None
    try:
        return _codec(str(value))
    except LookupError:
        raise SpApiConfigError(
            f"Argument '{argument}' is not a known character set: {value!r}. Use e.g. 'cp1252' or 'shift_jis'."
        ) from None


def charset_from_content_type(content_type: str | None) -> str | None:
    """The Python codec of a Content-Type header's ``charset=`` (Java names such as ``Cp1252`` included), if any.

    A charset Python does not know is ignored (None), so detection decides instead of the download failing
    over a label: a server's header is a hint about the bytes, not the caller's mistake.
    """
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        label = value.strip().strip('"')
        if name.strip().lower() == "charset" and label:
            try:
                return _codec(label)
            except LookupError:
                return None
    return None


def _chunks(path: WritablePath) -> Iterator[bytes]:
    with as_path(path).open("rb") as handle:
        while chunk := handle.read(READ_BYTES):
            yield chunk


def decodes(path: WritablePath, charset: str) -> bool:
    """Whether the whole file decodes in ``charset`` (one streaming pass)."""
    decoder = codecs.getincrementaldecoder(charset)()
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _without_bom(codec: str) -> str:
    return "utf-8-sig" if codec == "utf-8" else codec  # UTF-8, minus a byte-order mark if there is one


def choose_charset(
    path: WritablePath, *, declared: str | None = None, hinted: str | None = None, marketplace_ids: Iterable[str] = ()
) -> str:
    """The charset to decode ``path`` with (see the module doc for the order): ``declared`` is the caller's, ``hinted`` the server's."""
    if declared:
        return _without_bom(check_charset(declared) or "utf-8")
    hinted_codec = _without_bom(check_charset(hinted, "Content-Type charset") or "utf-8") if hinted else None
    # The server's label, then UTF-8: one streaming pass each, and none twice when the label is UTF-8.
    for codec in dict.fromkeys(filter(None, (hinted_codec, "utf-8-sig"))):
        if decodes(path, codec):
            return codec
    return codecs.lookup(flat_file_charset(marketplace_ids)).name


def _lines(path: WritablePath, charset: str) -> Iterator[str]:
    # newline="": line endings come through untranslated (so utf8 output is the same text) and csv,
    # which wants exactly that, sorts out a \r\n or a line break inside a field.
    with as_path(path).open("rb") as raw, io.TextIOWrapper(raw, encoding=charset, errors="strict", newline="") as text:
        yield from text


def _write_text(destination: WritablePath, lines: Iterable[str]) -> int:
    written = 0
    batch: list[str] = []
    size = 0
    with atomic_write(as_path(destination)) as handle:
        for line in lines:
            batch.append(line)
            size += len(line)
            if size >= WRITE_BATCH:
                data = "".join(batch).encode("utf-8")
                handle.write(data)
                written += len(data)
                batch.clear()
                size = 0
        data = "".join(batch).encode("utf-8")
        handle.write(data)
        written += len(data)
    return written


def _decoded(path: WritablePath, charset: str) -> Iterator[str]:
    try:
        yield from _lines(path, charset)
    except UnicodeDecodeError as exc:
        raise SpApiConfigError(
            f"The report is not valid {charset} ({exc.reason} at byte {exc.start}). Set 'encoding' to the report's character set, "
            "or leave it unset to detect UTF-8 and fall back to the marketplace's."
        ) from None


def to_utf8(source: WritablePath, destination: str | os.PathLike[str] | WritablePath, charset: str) -> Converted:
    """Re-encode a flat file as UTF-8, byte for byte the same text."""
    rows = -1  # the header is not a row

    def counting() -> Iterator[str]:
        nonlocal rows
        for line in _decoded(source, charset):
            rows += 1
            yield line

    written = _write_text(destination, counting())
    return Converted(path=str(destination), charset=charset, rows=max(rows, 0), bytes_written=written)


def records(lines: Iterable[str], delimiter: str = "\t") -> Iterator[dict[str, object]]:
    """One dict per row, keyed by the header row's names; a row with more fields than the header keeps the rest under ``_extra``."""
    reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    header = next(reader, None)
    if header is None:
        return
    width = len(header)
    for row in reader:
        if not row:
            continue
        record: dict[str, object] = dict(zip(header, row[:width], strict=False))
        for name in header[len(row) :]:
            record[name] = ""
        if len(row) > width:
            record[EXTRA_FIELDS_KEY] = row[width:]
        yield record


def to_json_lines(
    source: WritablePath, destination: str | os.PathLike[str] | WritablePath, charset: str, *, delimiter: str = "\t"
) -> Converted:
    """One JSON object per data row (header names as keys), UTF-8, one per line."""
    rows = 0

    def objects() -> Iterator[str]:
        nonlocal rows
        for record in records(_decoded(source, charset), delimiter):
            rows += 1
            yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"

    written = _write_text(destination, objects())
    return Converted(path=str(destination), charset=charset, rows=rows, bytes_written=written)


def convert(
    source: WritablePath,
    destination: str | os.PathLike[str] | WritablePath,
    output_format: OutputFormat,
    *,
    declared_charset: str | None = None,
    hinted_charset: str | None = None,
    marketplace_ids: Iterable[str] = (),
    delimiter: str = "\t",
) -> Converted:
    """``utf8`` or ``jsonl`` output of the flat file at ``source``, decoded with :func:`choose_charset`."""
    charset = choose_charset(source, declared=declared_charset, hinted=hinted_charset, marketplace_ids=marketplace_ids)
    if output_format == "jsonl":
        return to_json_lines(source, destination, charset, delimiter=delimiter)
    if output_format == "utf8":
        return to_utf8(source, destination, charset)
    raise SpApiConfigError(f"convert() makes 'utf8' or 'jsonl', not {output_format!r}.")
