"""Documents and storage: how compression is announced, what the wire says, where bytes land, and what failures mean.

Downloads go over real HTTP: the emulator for Amazon's document endpoints, and a small stdlib server
here for answers the emulator never gives (a GZIP body announced nowhere, a cut chunked body, a body
that lies about its Content-Encoding). Object storage is a real fsspec filesystem (memory://)
through Airflow's ObjectStoragePath.
"""

from __future__ import annotations

import gzip
import http.server
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
import pytest
import requests
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_spapi.core.documents import DocumentRef, download_document, read_document
from airflow_provider_spapi.core.errors import ConfigError
from airflow_provider_spapi.core.retry import RetrySettings
from airflow_provider_spapi.core.storage import as_path, atomic_write
from airflow_provider_spapi.emulator import Emulator
from airflow_provider_spapi.emulator.documents import fatal_report_content, gzip_chunks, report_content
from airflow_provider_spapi.errors import SPAPI_ERRORS, SpApiClientError, SpApiConfigError, SpApiProcessingError, SpApiServerError
from airflow_provider_spapi.spapi import processing_report

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
RESTRICTED = "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING"
SETTINGS = RetrySettings(max_attempts=3, max_retry_seconds=10, connect_timeout=2, read_timeout=5)
BODY = b"".join(f"sku-{n}\t{n * 7919 % 104729}\tActive\n".encode() for n in range(5000))


class Lines(logging.Handler):
    """Keeps the records a logger emitted, to count retries."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, Lines]]:
    logger = logging.getLogger("test_documents")
    lines = Lines()
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    yield logger, lines
    logger.removeHandler(lines)


# -- a small real HTTP server for answers the emulator never gives ------------------------------------


@dataclass
class Answer:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None  # close the connection after this many body bytes
    chunked: bool = False


class Documents(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: dict[str, Answer] = {}
        self.hits: dict[str, int] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Documents

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.hits[name] = self.server.hits.get(name, 0) + 1
        answer = self.server.answers[name]
        body = answer.body if answer.cut_after is None else answer.body[: answer.cut_after]
        self.send_response(200)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        if answer.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(body), body))
            if answer.cut_after is None:
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Documents]:
    running = Documents()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def fetch(server: Documents, name: str, destination: Any, logger: logging.Logger, compression: str | None = None) -> Any:
    url = server.url(name)
    return download_document(
        lambda: DocumentRef(name, url, compression),
        destination,
        session=requests.Session(),
        settings=SETTINGS,
        logger=logger,
        errors=SPAPI_ERRORS,
    )


# -- compression: announced by compressionAlgorithm, Content-Encoding, both or neither --------------------


@pytest.mark.parametrize(
    ("compression", "headers"),
    [
        ("GZIP", {}),
        ("GZIP", {"Content-Encoding": "gzip"}),  # S3 in June 2023: both
        (None, {"Content-Encoding": "gzip"}),  # Data Kiosk: the header only
        (None, {}),  # neither: GZIP's magic bytes tell
    ],
    ids=["algorithm", "both", "header", "neither"],
)
def test_a_gzip_document_is_decoded_once_however_announced(
    server: Documents, tmp_path: Path, log: Any, compression: str | None, headers: dict[str, str]
) -> None:
    compressed = gzip.compress(BODY, mtime=0)
    server.answers["doc"] = Answer(compressed, headers)

    result = fetch(server, "doc", tmp_path / "doc.tsv", log[0], compression)

    assert (tmp_path / "doc.tsv").read_bytes() == BODY
    assert result.bytes_written == len(BODY)
    assert result.bytes_received == len(compressed)  # Content-Length is checked against the wire, not the inflated size


def test_a_plain_document_announced_nowhere_passes_through(server: Documents, tmp_path: Path, log: Any) -> None:
    server.answers["doc"] = Answer(BODY, {"Content-Type": "text/tab-separated-values"})

    result = fetch(server, "doc", tmp_path / "doc.tsv", log[0])

    assert (tmp_path / "doc.tsv").read_bytes() == BODY
    assert result.bytes_received == result.bytes_written == len(BODY)


def test_a_body_that_is_not_the_gzip_its_content_encoding_says_fails_clearly(server: Documents, tmp_path: Path, log: Any) -> None:
    server.answers["doc"] = Answer(b"plain text, not gzip" * 10, {"Content-Encoding": "gzip"})

    with pytest.raises(SpApiServerError, match="not valid GZIP"):
        fetch(server, "doc", tmp_path / "doc.tsv", log[0])  # was requests' ContentDecodingError, raw
    assert list(tmp_path.iterdir()) == []


def test_a_content_encoding_amazon_never_uses_is_refused(server: Documents, tmp_path: Path, log: Any) -> None:
    server.answers["doc"] = Answer(b"x", {"Content-Encoding": "br"})

    with pytest.raises(SpApiClientError, match="'br'"):
        fetch(server, "doc", tmp_path / "doc.tsv", log[0])


def test_a_gzip_encoded_body_cut_short_is_retried_then_fails_leaving_nothing(server: Documents, tmp_path: Path, log: Any) -> None:
    compressed = gzip.compress(BODY, mtime=0)
    server.answers["doc"] = Answer(compressed, {"Content-Encoding": "gzip"}, cut_after=len(compressed) // 2)

    with pytest.raises(SpApiServerError, match=r"truncated|interrupted"):
        fetch(server, "doc", tmp_path / "doc.tsv", log[0])

    assert server.hits["doc"] == SETTINGS.max_attempts
    assert list(tmp_path.iterdir()) == []


def test_a_cut_chunked_body_is_retried_not_raised_raw(server: Documents, tmp_path: Path, log: Any) -> None:
    server.answers["doc"] = Answer(BODY, chunked=True, cut_after=1000)

    with pytest.raises(SpApiServerError):
        fetch(server, "doc", tmp_path / "doc.tsv", log[0])

    assert server.hits["doc"] == SETTINGS.max_attempts
    assert list(tmp_path.iterdir()) == []


def test_an_error_document_cut_short_still_explains_what_arrived(server: Documents) -> None:
    """read_document is tolerant: was urllib3's ProtocolError escaping from read_document_text."""
    server.answers["error"] = Answer(b'{"errorDetails": "the period is too long"}' + b" " * 5000, chunked=True, cut_after=40)

    text = read_document(DocumentRef("error", server.url("error")), session=requests.Session(), settings=SETTINGS, errors=SPAPI_ERRORS)

    assert text.startswith(b'{"errorDetails": "the period')


def test_read_document_decodes_a_gzip_encoded_error_document_up_to_the_limit(server: Documents) -> None:
    server.answers["error"] = Answer(gzip.compress(BODY), {"Content-Encoding": "gzip"})

    ref = DocumentRef("error", server.url("error"))
    text = read_document(ref, session=requests.Session(), settings=SETTINGS, errors=SPAPI_ERRORS, limit=100)

    assert text == BODY[:100]


# -- TLS and proxy failures fail at once ---------------------------------------------------------------


def test_a_tls_failure_fails_at_once_with_the_fix(server: Documents, tmp_path: Path, log: Any) -> None:
    server.answers["doc"] = Answer(BODY)
    url = server.url("doc").replace("http://", "https://")  # a TLS handshake against a plain HTTP server

    with pytest.raises(SpApiConfigError, match="TLS") as failure:
        download_document(
            lambda: DocumentRef("doc", url),
            tmp_path / "doc",
            session=requests.Session(),
            settings=SETTINGS,
            logger=log[0],
            errors=SPAPI_ERRORS,
        )

    assert "REQUESTS_CA_BUNDLE" in str(failure.value)
    assert not [line for line in log[1].lines if "retry" in line]
    assert url not in str(failure.value)


def test_a_proxy_failure_fails_at_once_with_the_fix(tmp_path: Path, log: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    session = requests.Session()
    session.proxies = {"http": f"http://127.0.0.1:{closed}"}

    with pytest.raises(SpApiConfigError, match="proxy"):
        download_document(
            lambda: DocumentRef("doc", "http://documents.example.invalid/doc"),
            tmp_path / "doc",
            session=session,
            settings=SETTINGS,
            logger=log[0],
            errors=SPAPI_ERRORS,
        )

    assert not [line for line in log[1].lines if "retry" in line]


# -- one path conversion ----------------------------------------------------------------------------------


def test_a_url_is_never_read_as_a_local_path() -> None:
    with pytest.raises(ConfigError, match="ObjectStoragePath"):
        as_path("s3://bucket/key")  # was PosixPath('s3:/bucket/key')
    made: list[str] = []
    assert as_path("s3://bucket/key", url_path=lambda url: made.append(url) or PurePosixPath("/made")) == PurePosixPath("/made")
    assert made == ["s3://bucket/key"]
    assert as_path(" reports/x.tsv ") == Path("reports/x.tsv")
    with pytest.raises(ConfigError, match="'output_path'"):
        as_path("  ")


@pytest.mark.airflow
def test_the_operators_and_the_core_read_a_destination_the_same_way(tmp_path: Path) -> None:
    from airflow_provider_spapi._compat import ObjectStoragePath
    from airflow_provider_spapi.errors import SpApiConfigError
    from airflow_provider_spapi.operators.base import storage_path

    for value in (f"file://{tmp_path}/a.tsv", str(tmp_path / "a.tsv"), tmp_path / "a.tsv"):
        assert str(storage_path(value)) == str(as_path(value, url_path=ObjectStoragePath))
    assert isinstance(storage_path(f"file://{tmp_path}/a.tsv"), ObjectStoragePath)
    with pytest.raises(SpApiConfigError, match="'output_path' is a nosuchscheme:// URL"):
        storage_path("nosuchscheme://bucket/key")
    with pytest.raises(SpApiConfigError, match="'input_path'"):
        storage_path(None, "input_path")


# -- object storage: one write, no folders, nothing left on failure ---------------------------------------


class CountingMemoryFileSystem(MemoryFileSystem):
    """fsspec's in-memory filesystem (a real one), counting the calls that would cost a copy or create a bucket."""

    protocol = "countmem"
    root_marker = "/"
    store: dict[str, Any] = {}  # fsspec keeps a memory filesystem's files on the class: this one's own
    pseudo_dirs = [""]
    calls: list[str] = []

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        return str(super()._strip_protocol(text.removeprefix("countmem://")))

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.calls.append(f"mkdir {path}")
        super().mkdir(path, create_parents, **kwargs)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.calls.append(f"makedirs {path}")
        super().makedirs(path, exist_ok)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        self.calls.append(f"copy {path1}")
        super().cp_file(path1, path2, **kwargs)

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode:
            self.calls.append(f"write {self._strip_protocol(path)}")
        return super()._open(path, mode, *args, **kwargs)


@pytest.fixture
def bucket() -> Iterator[tuple[Any, CountingMemoryFileSystem]]:
    """An ObjectStoragePath factory on a fresh counting in-memory filesystem, as Airflow would attach s3://."""
    from airflow_provider_spapi._compat import ObjectStoragePath

    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2.11
        from airflow.io.store import attach  # type: ignore[no-redef]

    fsspec.register_implementation("countmem", CountingMemoryFileSystem, clobber=True)
    fs = CountingMemoryFileSystem(skip_instance_cache=True)
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]
    CountingMemoryFileSystem.calls = []
    attach("countmem", fs=fs)
    yield ObjectStoragePath, fs


def keys(fs: MemoryFileSystem) -> list[str]:
    return sorted(fs.store)


@pytest.mark.airflow
def test_object_storage_is_written_once_without_folders(bucket: Any) -> None:
    make, fs = bucket
    target = make("countmem://reports-bucket/daily/2026-01-01/listings.tsv")

    with atomic_write(target) as handle:
        handle.write(b"half ")
        assert keys(fs) == [], "the object appears only when the upload completes"
        handle.write(b"a report")

    assert target.read_bytes() == b"half a report"
    assert keys(fs) == ["/reports-bucket/daily/2026-01-01/listings.tsv"]
    assert fs.calls == ["write /reports-bucket/daily/2026-01-01/listings.tsv"]  # no mkdir (a bucket from a typo), no copy


@pytest.mark.airflow
def test_a_failed_object_storage_write_leaves_no_key(bucket: Any) -> None:
    make, fs = bucket
    target = make("countmem://reports-bucket/listings.tsv")

    with pytest.raises(RuntimeError, match="cut"), atomic_write(target) as handle:
        handle.write(b"half a report")
        raise RuntimeError("connection cut")
    assert keys(fs) == []

    with atomic_write(target) as handle:
        handle.write(b"yesterday's report")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"partial")
        raise RuntimeError("again")
    assert target.read_bytes() == b"yesterday's report"
    assert keys(fs) == ["/reports-bucket/listings.tsv"]  # no .partial key beside it
    assert not fs._intrans  # the transaction ended: later writes are not deferred


@pytest.mark.airflow
def test_a_document_download_into_object_storage_lands_once(bucket: Any, server: Documents, log: Any) -> None:
    make, fs = bucket
    server.answers["doc"] = Answer(gzip.compress(BODY), {"Content-Encoding": "gzip"})

    fetch(server, "doc", make("countmem://reports-bucket/doc.tsv"), log[0])

    assert fs.cat_file("/reports-bucket/doc.tsv") == BODY
    assert fs.calls == ["write /reports-bucket/doc.tsv"]


# -- through the emulator: Content-Encoding on report documents, restricted FATAL --------------------------


def expected_wire(report_type: str, report_id: str) -> bytes:
    return b"".join(gzip_chunks(report_content(report_type, report_id, 20_000)))


@pytest.mark.airflow
@pytest.mark.parametrize("mode", ["always", "header_only"])
def test_a_report_served_with_content_encoding_is_byte_identical(emu: Emulator, spapi_conn: Any, tmp_path: Path, mode: str) -> None:
    from airflow_provider_spapi.hooks.spapi import SpApiHook
    from airflow_provider_spapi.operators.reports import SpApiReportOperator
    from airflow_provider_spapi.spapi import workflows

    emu.configure(document_content_encoding=mode)
    result = SpApiReportOperator(
        task_id="report", report_type=LISTINGS, output_path=str(tmp_path / "r.tsv"), deferrable=False, poll_interval=0.05
    ).execute({})

    expected = b"".join(report_content(LISTINGS, result["report_id"], 20_000))
    assert (tmp_path / "r.tsv").read_bytes() == expected
    # What the emulator announced, and what went over the wire:
    client = SpApiHook().client
    ref = workflows.document_ref(client, "report", result["document_id"])
    assert ref.compression == ("GZIP" if mode == "always" else None)
    with requests.get(ref.url, stream=True, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert int(response.headers["Content-Length"]) == len(expected_wire(LISTINGS, result["report_id"]))
    again = workflows.download(client, "report", result["document_id"], tmp_path / "again.tsv")
    assert again.bytes_received == len(expected_wire(LISTINGS, result["report_id"]))
    assert (tmp_path / "again.tsv").read_bytes() == expected


@pytest.mark.airflow
def test_a_fatal_restricted_report_fails_with_its_error_document_not_an_authorisation_error(
    emu: Emulator, spapi_conn: Any, tmp_path: Path
) -> None:
    from airflow_provider_spapi.operators.reports import SpApiReportOperator

    emu.configure(report_outcomes={RESTRICTED: "FATAL"})

    with pytest.raises(SpApiProcessingError) as failure:
        SpApiReportOperator(
            task_id="report", report_type=RESTRICTED, output_path=str(tmp_path / "r.tsv"), deferrable=False, poll_interval=0.05
        ).execute({})

    report_id = re.search(r"Report (\d+)", str(failure.value)).group(1)  # type: ignore[union-attr]
    assert json.loads(fatal_report_content(RESTRICTED, report_id))["errorDetails"] in str(failure.value)
    assert emu.counters()["requests"].get("tokens_2021-03-01.createRestrictedDataToken", 0) >= 1


# -- feed processing reports in every format --------------------------------------------------------------

XML_REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A1EXAMPLE</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message>
    <MessageID>1</MessageID>
    <ProcessingReport>
      <DocumentTransactionID>50012345678</DocumentTransactionID>
      <StatusCode>Complete</StatusCode>
      <ProcessingSummary>
        <MessagesProcessed>3</MessagesProcessed>
        <MessagesSuccessful>1</MessagesSuccessful>
        <MessagesWithError>2</MessagesWithError>
        <MessagesWithWarning>1</MessagesWithWarning>
      </ProcessingSummary>
      <Result><MessageID>2</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>8560</ResultMessageCode></Result>
    </ProcessingReport>
  </Message>
</AmazonEnvelope>
"""

FLAT_FILE_REPORT = (
    b"Feed Processing Summary:\n"
    b"\tNumber of records processed\t\t4\n"
    b"\tNumber of records successful\t\t3\n"
    b"\n"
    b"original-record-number\tsku\terror-code\terror-type\terror-message\n"
    b"2\tSKU-2\t8560\tError\tThe SKU does not match any ASIN.\n"
    b"3\tSKU-3\t99010\tWarning\tA value is missing.\n"
)


def test_an_xml_processing_report_is_summed_up(tmp_path: Path) -> None:
    (tmp_path / "report.xml").write_bytes(XML_REPORT)

    summary = processing_report.summary(tmp_path / "report.xml")

    assert summary == {
        "errors": 2,
        "warnings": 1,
        "messagesProcessed": 3,
        "messagesSuccessful": 1,
        "messagesWithError": 2,
        "messagesWithWarning": 1,
    }


def test_a_flat_file_processing_report_is_summed_up(tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_bytes(FLAT_FILE_REPORT)

    summary = processing_report.summary(tmp_path / "report.txt")

    assert summary == {"errors": 1, "warnings": 1, "recordsProcessed": 4, "recordsSuccessful": 3}


def test_json_and_unknown_processing_reports(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"summary": {"errors": 0, "messagesProcessed": 5}}))
    (tmp_path / "other.txt").write_text("nothing Amazon would write\n")

    assert processing_report.summary(tmp_path / "report.json") == {"errors": 0, "messagesProcessed": 5}
    assert processing_report.summary(tmp_path / "other.txt") == {}
