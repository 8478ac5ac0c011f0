"""Report, feed and Data Kiosk documents: streamed between Amazon's pre-signed URLs and storage, never held in memory.

Amazon hands out documents as pre-signed S3 URLs that expire after five minutes. A document may be
GZIP-compressed, and says so in one of two ways, or both: ``compressionAlgorithm: GZIP`` in the
getReportDocument/getFeedDocument answer, or ``Content-Encoding: gzip`` on the download (Data Kiosk
documents always do it this way; S3 did it for report documents for days in June 2023). Letting
``requests`` undo the Content-Encoding and then inflating the result again breaks on one of them,
so this module reads the bytes *as they came over the wire* and decodes them exactly once: GZIP
when either announcement says so, or when neither does but the bytes start with GZIP's magic
``1f 8b``. Content-Length is compared with those wire bytes, not with the inflated size.

:func:`download_document` streams one document to a path in chunks, decompressing with bounded
output per step, so memory stays flat whatever the size; the write is atomic (see
:func:`~airflow_provider_spapi.core.storage.atomic_write`). A truncated or failed download is
retried with a fresh URL (the old one may have expired), then fails loudly; it never leaves a file
that looks complete. TLS and proxy failures fail at once (retrying cannot fix them).
:func:`read_document` reads a small document (an error document) into memory, bounded.
:func:`upload_document` PUTs a feed file to its upload URL with the same retries.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import requests
import urllib3.exceptions

from airflow_provider_spapi.core.errors import ErrorFamily
from airflow_provider_spapi.core.retry import (
    LoggerLike,
    Retryable,
    RetrySettings,
    raise_if_retryable,
    run_with_retries,
    transport_failure,
)
from airflow_provider_spapi.core.storage import UrlPath, WritablePath, as_path, atomic_write

CHUNK_SIZE = 1 << 20
# The most bytes one decompression step may produce, so a highly compressed chunk cannot balloon memory.
MAX_INFLATE_STEP = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"
_GZIP_ENCODINGS = frozenset({"gzip", "x-gzip"})
# How much of an error answer (S3's XML) is read to tell an expired URL from another refusal.
_ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class DocumentRef:
    """Where a document is right now: a pre-signed URL (short-lived) and its announced compression, if any."""

    document_id: str
    url: str
    compression: str | None = None

    def __repr__(self) -> str:
        # Pre-signed URLs are credentials for five minutes: keep them out of logs.
        return f"DocumentRef(document_id={self.document_id!r}, compression={self.compression!r})"


@dataclass(frozen=True)
class DownloadResult:
    """What landed in storage: the path, the bytes written (decompressed) and the bytes received (on the wire).

    ``content_type`` is the download's Content-Type header as served: its ``charset=`` is the only place
    Amazon declares a flat file's character set (a compressed document is ``application/octet-stream``).
    """

    path: str
    bytes_written: int
    bytes_received: int
    content_type: str | None = None


class TruncatedDownload(Exception):
    """The stream ended before Content-Length, or the GZIP stream never reached its end."""


def _compression(ref: DocumentRef, response: requests.Response, errors: ErrorFamily) -> str | None:
    """The compression of the wire bytes: announced by the document answer or by Content-Encoding (None: neither)."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity") and encoding not in _GZIP_ENCODINGS:
        raise errors.client(f"Document Content-Encoding {encoding!r} is not supported (Amazon documents gzip only).")
    return ref.compression or ("GZIP" if encoding else None)


def _sniffed(chunks: Iterator[bytes]) -> tuple[bool, Iterator[bytes]]:
    """Whether the stream starts with GZIP's magic bytes, and the stream with nothing consumed."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= len(GZIP_MAGIC):
            break

    def rest() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    return head.startswith(GZIP_MAGIC), rest()


def _inflate(chunks: Iterator[bytes], compression: str | None, errors: ErrorFamily) -> Iterator[bytes]:
    """The document's bytes, inflated once if GZIP, at most MAX_INFLATE_STEP bytes at a time.

    ``compression`` None (nothing announced) sniffs GZIP's magic bytes; a cut-off GZIP stream raises.
    """
    if compression is None:
        gzip, chunks = _sniffed(chunks)
    elif compression.upper() == "GZIP":
        gzip = True
    else:
        raise errors.client(f"Document compression {compression!r} is not supported (Amazon documents GZIP only).")
    if not gzip:
        yield from chunks
        return
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for chunk in chunks:
        data = chunk
        while data:
            if inflater.eof:
                # A GZIP file may hold several members one after another (RFC 1952): start on the next one.
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = inflater.decompress(data, MAX_INFLATE_STEP)
            except zlib.error as exc:
                raise errors.server(f"The document is not valid GZIP ({exc}).", operation="document download") from None
            if out:
                yield out
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    tail = inflater.flush()
    if tail:
        yield tail
    if not inflater.eof:
        raise TruncatedDownload("the GZIP stream ended early")


class _Wire:
    """A streamed response's body exactly as sent (no Content-Encoding undone), counting its bytes."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.received = 0

    def chunks(self) -> Iterator[bytes]:
        for chunk in self.response.raw.stream(CHUNK_SIZE, decode_content=False):
            self.received += len(chunk)
            yield chunk

    def check_length(self) -> None:
        expected = self.response.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and self.received != int(expected):
            raise TruncatedDownload(f"received {self.received} of {expected} bytes")


@contextmanager
def _get(session: requests.Session, ref: DocumentRef, settings: RetrySettings, errors: ErrorFamily) -> Iterator[requests.Response]:
    """GET the pre-signed URL, streaming, and hand over a 200 response; everything else raises what it means."""
    timeout = (settings.connect_timeout, settings.read_timeout)
    try:
        with session.get(ref.url, stream=True, timeout=timeout) as response:
            if response.status_code == 403 and b"expired" in _error_body(response).lower():
                raise Retryable("the document URL expired; fetching a new one", status=403, retry_after=0.0)
            raise_if_retryable(response, "document download answered ")
            if response.status_code != 200:
                raise errors.client(
                    f"Document {ref.document_id} download failed.", status=response.status_code, operation="document download"
                )
            yield response
    except TruncatedDownload as exc:
        raise Retryable(f"document download truncated ({exc})") from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError) as exc:
        # Reading the raw stream raises urllib3's own errors (IncompleteRead, a reset, a read timeout), not requests'.
        raise Retryable(f"document download interrupted ({type(exc).__name__})") from None
    except urllib3.exceptions.HTTPError as exc:
        raise errors.server(f"Document {ref.document_id} download failed ({type(exc).__name__}).", operation="document download") from None
    except requests.RequestException as exc:
        raise transport_failure(exc, "document download", errors, "document download") from None


def _error_body(response: requests.Response) -> bytes:
    try:
        return bytes(response.raw.read(_ERROR_BODY_LIMIT, decode_content=False) or b"")
    except (urllib3.exceptions.HTTPError, OSError):
        return b""


def _stream_once(
    session: requests.Session, ref: DocumentRef, destination: WritablePath, settings: RetrySettings, errors: ErrorFamily
) -> DownloadResult:
    with _get(session, ref, settings, errors) as response:
        wire = _Wire(response)
        written = 0
        handle: IO[bytes]
        with atomic_write(destination) as handle:
            for block in _inflate(wire.chunks(), _compression(ref, response, errors), errors):
                handle.write(block)
                written += len(block)
            wire.check_length()
    return DownloadResult(
        path=str(destination), bytes_written=written, bytes_received=wire.received, content_type=response.headers.get("Content-Type")
    )


def download_document(
    fetch_ref: Callable[[], DocumentRef],
    destination: str | os.PathLike[str] | WritablePath,
    *,
    session: requests.Session,
    settings: RetrySettings,
    logger: LoggerLike,
    errors: ErrorFamily,
    url_path: UrlPath | None = None,
) -> DownloadResult:
    """Stream a document to ``destination`` atomically; ``fetch_ref`` is called for each attempt's fresh URL."""
    target = as_path(destination, "destination", url_path=url_path, errors=errors.config)
    return run_with_retries(
        lambda: _stream_once(session, fetch_ref(), target, settings, errors),
        settings,
        operation="document download",
        logger=logger,
        errors=errors,
    )


def read_document(
    ref: DocumentRef, *, session: requests.Session, settings: RetrySettings, errors: ErrorFamily, limit: int = 1 << 20
) -> bytes:
    """A small document (an error document) decoded into memory, at most ``limit`` bytes, in one attempt.

    Tolerant of a cut-off stream: this text explains a failure, it is not the data.
    """
    out = bytearray()
    try:
        with _get(session, ref, settings, errors) as response:
            for block in _inflate(_Wire(response).chunks(), _compression(ref, response, errors), errors):
                out += block
                if len(out) >= limit:
                    break
    except Retryable:
        pass  # truncated or interrupted: what arrived is still the best explanation there is
    return bytes(out[:limit])


def upload_document(
    url: str,
    source: str | os.PathLike[str] | WritablePath,
    content_type: str,
    *,
    session: requests.Session,
    settings: RetrySettings,
    logger: LoggerLike,
    errors: ErrorFamily,
    url_path: UrlPath | None = None,
) -> int:
    """PUT a file to a pre-signed upload URL with its content type, streaming it; returns the bytes sent."""
    path = as_path(source, "input_path", url_path=url_path, errors=errors.config)

    def put_once() -> int:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            try:
                response = session.put(
                    url,
                    data=handle,
                    headers={"Content-Type": content_type, "Content-Length": str(size)},
                    timeout=(settings.connect_timeout, settings.read_timeout),
                )
            except requests.RequestException as exc:
                raise transport_failure(exc, "feed upload", errors, "feed upload") from None
        raise_if_retryable(response, "feed upload answered ")
        if response.status_code >= 300:
            raise errors.client("Feed document upload was refused.", status=response.status_code, operation="feed upload")
        return size

    return run_with_retries(put_once, settings, operation="feed upload", logger=logger, errors=errors)
