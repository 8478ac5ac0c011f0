"""Report and feed documents: streamed between Amazon's pre-signed URLs and storage, never held in memory.

Amazon hands out documents as pre-signed S3 URLs that expire after five minutes and may be
GZIP-compressed. :func:`download_document` streams one to a path in chunks, decompressing on the fly
with bounded output per step, so memory stays flat whatever the size. The write is atomic: bytes go
to a hidden sibling that is renamed over the target only once the download is complete and
checked (Content-Length matched, GZIP stream ended). A truncated or failed download is retried with
a fresh URL (the old one may have expired), then fails loudly; it never leaves a file that looks
complete. :func:`upload_document` PUTs a feed file to its upload URL with the same retries.

``destination`` is anything path-like with ``open``, ``rename`` and ``unlink``: a ``pathlib.Path``
or an Airflow ``ObjectStoragePath`` (s3://, gs://, file://), so this module needs no Airflow.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from airflow_provider_spapi.core.errors import ErrorFamily
from airflow_provider_spapi.core.retry import LoggerLike, Retryable, RetrySettings, raise_if_retryable, run_with_retries
from airflow_provider_spapi.core.storage import WritablePath, as_path, atomic_write

CHUNK_SIZE = 1 << 20
# The most bytes one decompression step may produce, so a highly compressed chunk cannot balloon memory.
MAX_INFLATE_STEP = 4 << 20


@dataclass(frozen=True)
class DocumentRef:
    """Where a document is right now: a pre-signed URL (short-lived) and its compression, if any."""

    document_id: str
    url: str
    compression: str | None = None

    def __repr__(self) -> str:
        # Pre-signed URLs are credentials for five minutes: keep them out of logs.
        return f"DocumentRef(document_id={self.document_id!r}, compression={self.compression!r})"


@dataclass(frozen=True)
class DownloadResult:
    """What landed in storage: the path, the bytes written (decompressed) and the bytes received."""

    path: str
    bytes_written: int
    bytes_received: int


class TruncatedDownload(Exception):
    """The stream ended before Content-Length, or the GZIP stream never reached its end."""


def _inflate(chunks: Iterator[bytes], compression: str | None, errors: ErrorFamily) -> Iterator[bytes]:
    """Decompress GZIP chunks on the fly, at most MAX_INFLATE_STEP bytes at a time; raise if the stream is cut short."""
    if not compression:
        yield from chunks
        return
    if compression.upper() != "GZIP":
        raise errors.client(f"Document compression {compression!r} is not supported (Amazon documents GZIP only).")
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


def _stream_once(
    session: requests.Session, ref: DocumentRef, destination: WritablePath, settings: RetrySettings, errors: ErrorFamily
) -> DownloadResult:
    try:
        with session.get(ref.url, stream=True, timeout=(settings.connect_timeout, settings.read_timeout)) as response:
            if response.status_code == 403 and b"expired" in response.content.lower():
                raise Retryable("the document URL expired; fetching a new one", status=403, retry_after=0.0)
            raise_if_retryable(response, "document download answered ")
            if response.status_code != 200:
                raise errors.client(
                    f"Document {ref.document_id} download failed.", status=response.status_code, operation="document download"
                )
            expected = response.headers.get("Content-Length")
            received = 0

            def counted() -> Iterator[bytes]:
                nonlocal received
                for chunk in response.iter_content(CHUNK_SIZE):
                    received += len(chunk)
                    yield chunk

            written = 0
            with atomic_write(destination) as handle:
                for block in _inflate(counted(), ref.compression, errors):
                    handle.write(block)
                    written += len(block)
                if expected is not None and received != int(expected):
                    raise TruncatedDownload(f"received {received} of {expected} bytes")
    except TruncatedDownload as exc:
        raise Retryable(f"document download truncated ({exc})") from None
    except requests.exceptions.ChunkedEncodingError:
        # urllib3 raises this (not a ConnectionError) when the body ends before its Content-Length.
        raise Retryable("document download truncated (the connection closed before Content-Length)") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise Retryable(f"document download interrupted ({type(exc).__name__})") from None
    return DownloadResult(path=str(destination), bytes_written=written, bytes_received=received)


def download_document(
    fetch_ref: Callable[[], DocumentRef],
    destination: str | os.PathLike[str] | WritablePath,
    *,
    session: requests.Session,
    settings: RetrySettings,
    logger: LoggerLike,
    errors: ErrorFamily,
) -> DownloadResult:
    """Stream a document to ``destination`` atomically; ``fetch_ref`` is called for each attempt's fresh URL."""
    target = as_path(destination)
    return run_with_retries(
        lambda: _stream_once(session, fetch_ref(), target, settings, errors),
        settings,
        operation="document download",
        logger=logger,
        errors=errors,
    )


def upload_document(
    url: str,
    source: str | os.PathLike[str] | WritablePath,
    content_type: str,
    *,
    session: requests.Session,
    settings: RetrySettings,
    logger: LoggerLike,
    errors: ErrorFamily,
) -> int:
    """PUT a file to a pre-signed upload URL with its content type, streaming it; returns the bytes sent."""
    path = as_path(source)

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
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Retryable(f"feed upload interrupted ({type(exc).__name__})") from None
        raise_if_retryable(response, "feed upload answered ")
        if response.status_code >= 300:
            raise errors.client("Feed document upload was refused.", status=response.status_code, operation="feed upload")
        return size

    return run_with_retries(put_once, settings, operation="feed upload", logger=logger, errors=errors)
