"""Report and feed documents: their content, and the pre-signed URLs that serve them like S3 does.

Report content is a pure function of (report type, report id, size), so a test can rebuild the
exact bytes the emulator served::

    from airflow_provider_spapi.emulator.documents import report_content
    expected = b"".join(report_content("GET_MERCHANT_LISTINGS_ALL_DATA", report_id, 20_000))
    assert gzip.decompress(downloaded) == expected

``size`` is the ``report_document_bytes`` in force when the report was created; the document is
exactly that many bytes (tab-separated, one header line; the last row's last field is padded with
spaces to fit), or one header and one row if ``size`` is smaller than that. Order report types
have order rows; restricted report types (see ``facts.restricted_report_types()``) add buyer and
recipient columns whose values contain ``PII``. Documents are generated and GZIP-compressed on the
fly in chunks, never held in memory, so a 150 MB report costs no more memory than a small one; the
compressed length (for Content-Length) is computed by a first streaming pass and remembered.

How compression is announced is the ``document_content_encoding`` option (:data:`CONTENT_ENCODING_MODES`):
``on_request`` (default) announces GZIP with ``compressionAlgorithm`` and adds ``Content-Encoding: gzip``
only to URLs asked for with ``enableContentEncodingUrlHeader=true``; ``always`` adds the header to
every compressed document and keeps ``compressionAlgorithm`` (what S3 did for days in June 2023);
``header_only`` adds the header and drops ``compressionAlgorithm`` (how Data Kiosk documents always
announce theirs). The bytes on the wire are the same GZIP stream in every mode.

URLs look like S3 pre-signed URLs: ``/_documents/<id>?X-Amz-Date=…&X-Amz-Expires=<ttl>&…&X-Amz-Signature=…``.
They need no access token (one sent anyway is ignored), and answer S3's 403 XML ``AccessDenied``
"Request has expired" once ``ttl`` seconds have passed (the signing time is rounded up to the next
second, so a URL lives between ``ttl`` and ``ttl + 1`` seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal
from urllib.parse import urlencode

from airflow_provider_spapi.emulator.facts import restricted_report_types
from airflow_provider_spapi.emulator.responses import Request, Response, s3_error
from airflow_provider_spapi.emulator.seed import PRODUCTS, asin_for, sku_for

DOCUMENT_PATH = "/_documents/"
CHUNK_BYTES = 256 * 1024
# Level 1: several times faster than zlib's default on these rows, so a 150 MB document streams in seconds.
GZIP_LEVEL = 1
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
_ORDER_REPORT_WORDS = ("ORDER", "SHIPMENT", "FULFILLED", "EASYSHIP", "VAT", "TAX", "GST", "INVOIC")

DocumentKind = Literal["report", "feed_input", "feed_result", "query"]
CONTENT_ENCODING_MODES = ("on_request", "always", "header_only")


def is_order_report(report_type: str) -> bool:
    return any(word in report_type for word in _ORDER_REPORT_WORDS)


def _layout(report_type: str, report_id: str) -> tuple[str, Callable[[int], str]]:
    """The header line and a row maker for a report; rows depend only on (type, id, row number)."""
    digest = hashlib.sha256(f"{report_type}:{report_id}".encode()).digest()
    h1, h2 = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big")
    products = [(sku_for(n + 1), asin_for(n + 1), title, str(price)) for n, (title, price) in enumerate(PRODUCTS)]
    dates: dict[int, str] = {}

    def date(i: int) -> str:
        block = i >> 6
        text = dates.get(block)
        if text is None:
            dates.clear()
            text = dates[block] = (_EPOCH + timedelta(minutes=10 * block)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        return text

    if not is_order_report(report_type):
        header = "seller-sku\tasin1\titem-name\tprice\tquantity\topen-date\tstatus\tfulfillment-channel\n"

        def listing_row(i: int) -> str:
            sku, asin, title, price = products[(h1 + i) % len(products)]
            channel = "AMAZON_NA" if i % 3 == 0 else "DEFAULT"
            return f"{sku}-{i:07d}\t{asin}\t{title}\t{price}\t{(h2 + i * 13) % 500}\t{date(i)}\tActive\t{channel}\n"

        return header, listing_row

    restricted = report_type in restricted_report_types()
    columns = [
        "amazon-order-id", "merchant-order-id", "purchase-date", "order-status", "fulfillment-channel", "sku", "asin",
        "product-name", "quantity", "currency", "item-price",
    ]  # fmt: skip
    if restricted:
        columns += ["buyer-email", "buyer-name", "recipient-name", "ship-address-1", "ship-phone-number"]
    columns += ["ship-city", "ship-state", "ship-postal-code", "ship-country"]
    header = "\t".join(columns) + "\n"

    def order_row(i: int) -> str:
        order_id = f"{111 + i % 4}-{(h1 + i * 7919) % 10_000_000:07d}-{(h2 + i * 104_729) % 10_000_000:07d}"
        sku, asin, title, price = products[(h1 + i) % len(products)]
        status = "Shipped" if i % 11 else "Pending"
        channel = "Amazon" if i % 3 == 0 else "Merchant"
        pii = f"PII-buyer-{i:07d}@example.invalid\tPII Buyer {i:07d}\tPII Recipient {i:07d}\t{i} PII Street\t+1-555-PII-{i % 10_000:04d}\t"
        return (
            f"{order_id}\tEMU-{i:08d}\t{date(i)}\t{status}\t{channel}\t{sku}\t{asin}\t{title}\t{1 + i % 3}\tUSD\t{price}\t"
            f"{pii if restricted else ''}Seattle\tWA\t98109\tUS\n"
        )

    return header, order_row


def report_content(report_type: str, report_id: str, size: int) -> Iterator[bytes]:
    """The uncompressed bytes of a DONE report's document, in chunks: exactly ``size`` bytes (see the module doc)."""
    header, make_row = _layout(report_type, report_id)
    remaining = size - len(header)
    parts = [header]
    buffered = len(header)
    i = 0
    row = make_row(0)
    while True:
        following = make_row(i + 1)
        if len(row) + len(following) > remaining:
            break  # ``row`` is the last one
        parts.append(row)
        remaining -= len(row)
        buffered += len(row)
        if buffered >= CHUNK_BYTES:
            yield "".join(parts).encode()
            parts.clear()
            buffered = 0
        row, i = following, i + 1
    padding = max(0, remaining - len(row))
    parts.append(row[:-1] + " " * padding + "\n")
    yield "".join(parts).encode()


def fatal_report_content(report_type: str, report_id: str) -> bytes:
    """The error document of a FATAL report."""
    return json.dumps(
        {"errorDetails": f"Report {report_id} of type {report_type} failed: the emulator was configured to fail it (report_outcomes)."}
    ).encode()


def gzip_chunks(chunks: Iterable[bytes], level: int = GZIP_LEVEL) -> Iterator[bytes]:
    """GZIP-compress a stream chunk by chunk; deterministic (the gzip header carries no timestamp)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


@dataclass
class Document:
    """A stored document: where its bytes come from and how they are served."""

    document_id: str
    owner: str  # selling partner id
    kind: DocumentKind
    content: Callable[[], Iterable[bytes]] | None = None  # uncompressed bytes; None for a feed document not uploaded yet
    compressed: bool = True  # served GZIP-compressed (compressionAlgorithm GZIP)
    report_type: str | None = None
    content_type: str = "text/plain"
    _length: int | None = field(default=None, repr=False)

    def body(self) -> Iterator[bytes]:
        chunks = self.content() if self.content is not None else ()
        return gzip_chunks(chunks) if self.compressed else iter(chunks)

    def length(self) -> int:
        """Bytes on the wire, computed by a streaming pass the first time and remembered."""
        if self._length is None:
            self._length = sum(len(chunk) for chunk in self.body())
        return self._length


class DocumentStore:
    """Documents by id, and the signing key of their URLs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: dict[str, Document] = {}
        self._key = secrets.token_bytes(32)

    def add(self, document: Document) -> Document:
        with self._lock:
            self._documents[document.document_id] = document
        return document

    def get(self, document_id: str) -> Document | None:
        with self._lock:
            return self._documents.get(document_id)

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()

    def _signature(self, method: str, document_id: str, date: str, ttl: str, encoding: str) -> str:
        message = f"{method}\n{document_id}\n{date}\n{ttl}\n{encoding}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def presign(self, document_id: str, method: str, base_url: str, ttl: int, *, content_encoding: bool = False) -> str:
        """A pre-signed URL for ``method`` on the document, valid ``ttl`` seconds."""
        signed_at = datetime.fromtimestamp(math.ceil(time.time()), timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        encoding = "gzip" if content_encoding else ""
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": signed_at,
            "X-Amz-Expires": str(ttl),
            "X-Amz-SignedHeaders": "host",
        }
        if encoding:
            params["response-content-encoding"] = encoding
        params["X-Amz-Signature"] = self._signature(method, document_id, signed_at, str(ttl), encoding)
        return f"{base_url}{DOCUMENT_PATH}{document_id}?{urlencode(params)}"

    def download_answer(self, document: Document, request: Request, ttl: int, mode: str) -> dict[str, str]:
        """The ``url`` (and ``compressionAlgorithm``) of a get…Document answer, as ``mode`` announces compression."""
        requested = (request.param("enableContentEncodingUrlHeader") or "").lower() == "true"
        header = document.compressed and (requested or mode != "on_request")
        answer = {"url": self.presign(document.document_id, "GET", request.base_url, ttl, content_encoding=header)}
        if document.compressed and mode != "header_only":
            answer["compressionAlgorithm"] = "GZIP"
        return answer

    def check_url(self, request: Request, document_id: str) -> Response | None:
        """None if the request's pre-signed parameters are genuine and fresh, else S3's 403 answer."""
        date, ttl = request.param("X-Amz-Date") or "", request.param("X-Amz-Expires") or ""
        encoding = request.param("response-content-encoding") or ""
        expected = self._signature(request.method, document_id, date, ttl, encoding)
        if not hmac.compare_digest(expected, request.param("X-Amz-Signature") or ""):
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )
        signed_at = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        expires = signed_at + timedelta(seconds=int(ttl))
        if datetime.now(timezone.utc) > expires:
            return expired_url(ttl, expires)
        return None


def content_encoding_mode(name: str, value: object) -> str:
    """The ``document_content_encoding`` option, validated (``ValueError`` naming the choices)."""
    if value not in CONTENT_ENCODING_MODES:
        raise ValueError(f"{name} must be one of {', '.join(CONTENT_ENCODING_MODES)}, got {value!r}")
    return str(value)


def expired_url(ttl: str, expires: datetime | None = None) -> Response:
    """S3's answer to a pre-signed URL past its expiry."""
    now = datetime.now(timezone.utc)
    expires = expires or now
    return s3_error(
        403,
        "AccessDenied",
        "Request has expired",
        {"X-Amz-Expires": ttl, "Expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )


def document_response(document: Document, *, content_encoding: bool = False, truncate: bool = False) -> Response:
    """Stream a document with its full Content-Length (a ``truncate`` fault stops after about half)."""
    length = document.length()
    headers = {
        "Content-Type": "application/octet-stream" if document.compressed else document.content_type,
        "ETag": f'"{document.document_id}"',
    }
    if content_encoding and document.compressed:
        headers["Content-Encoding"] = "gzip"
    return Response(200, headers=headers, stream=document.body, length=length, truncate_after=length // 2 if truncate else None)


def _normalise_content_type(value: str) -> str:
    return ";".join(part.strip() for part in value.lower().split(";"))


def accept_upload(document: Document, request: Request) -> Response:
    """A feed upload: S3 refuses a ``Content-Type`` other than the one the URL was signed for."""
    if document.kind != "feed_input":
        return s3_error(403, "AccessDenied", "Access Denied")
    if _normalise_content_type(request.header("content-type") or "") != _normalise_content_type(document.content_type):
        return s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided: "
            f"upload with Content-Type {document.content_type}.",
        )
    body = request.body
    document.content = lambda: iter([body])
    document._length = None
    return Response(200, b"", {"ETag": f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'})
