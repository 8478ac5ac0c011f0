"""Ready-to-load outputs: flat files to UTF-8 / JSON lines (streaming), records per line, against the emulator."""

from __future__ import annotations

import json
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dagrun import run_dag, state_of
from test_operators import LISTINGS, expected_report, one_task_dag, xcom_of

from airflow_provider_spapi.core.records import page_records
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.emulator.documents import Document
from airflow_provider_spapi.emulator.scheduled_reports import SETTLEMENT_TYPES
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.reports import SpApiReportOperator
from airflow_provider_spapi.operators.scheduled_reports import SpApiScheduledReportOperator
from airflow_provider_spapi.operators.spapi import SpApiOperator
from airflow_provider_spapi.spapi import flatfile, report_files
from airflow_provider_spapi.spapi.marketplaces import flat_file_charset, seller_central_host

HEADER = "sku\titem-name\tprice\n"


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


# -- the converter ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "marketplace", "name"),
    [
        ("cp1252", seed.MARKETPLACE_ID_DE, "Trinkflasche für Kühlschrank – 750 ml"),
        ("cp932", "A1VC38T7YXB528", "ステンレス水筒 750ml"),
        ("utf-8", "A1VC38T7YXB528", "Gourde inox – été ☀"),
    ],
)
def test_jsonl_decodes_the_marketplaces_charset_unless_the_file_is_utf8(tmp_path: Path, encoding: str, marketplace: str, name: str) -> None:
    source = write(tmp_path / "report.tsv", f"{HEADER}SKU-1\t{name}\t18.99\nSKU-2\tplain\t5.00\n", encoding)

    result = flatfile.convert(source, tmp_path / "out.jsonl", "jsonl", marketplace_ids=[marketplace])

    assert jsonl(tmp_path / "out.jsonl") == [
        {"sku": "SKU-1", "item-name": name, "price": "18.99"},
        {"sku": "SKU-2", "item-name": "plain", "price": "5.00"},
    ]
    assert result.rows == 2
    assert result.charset == {"cp1252": "cp1252", "cp932": "cp932", "utf-8": "utf-8-sig"}[encoding]


def test_utf8_output_is_the_same_text_with_bom_dropped_and_line_endings_kept(tmp_path: Path) -> None:
    text = f"{HEADER}SKU-1\tCafé crème\t3.50\r\nSKU-2\tNaïve\t1.00\r\n"
    source = write(tmp_path / "in.tsv", text, "cp1252")
    bom = tmp_path / "bom.tsv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

    result = flatfile.convert(source, tmp_path / "out.tsv", "utf8", marketplace_ids=[seed.MARKETPLACE_ID_US])
    flatfile.convert(bom, tmp_path / "from-bom.tsv", "utf8")

    assert (tmp_path / "out.tsv").read_bytes() == text.encode("utf-8")
    assert (tmp_path / "from-bom.tsv").read_bytes() == text.encode("utf-8")
    assert (result.rows, result.charset) == (2, "cp1252")


def test_a_declared_charset_wins_and_a_wrong_one_fails_clearly(tmp_path: Path) -> None:
    source = write(tmp_path / "in.tsv", f"{HEADER}S\tÄrger\t1\n", "latin-1")

    flatfile.convert(
        source, tmp_path / "ok.jsonl", "jsonl", declared_charset=flatfile.charset_from_content_type("text/plain; charset=ISO-8859-1")
    )
    assert jsonl(tmp_path / "ok.jsonl")[0]["item-name"] == "Ärger"
    with pytest.raises(SpApiConfigError, match=r"not valid utf-8.*encoding"):
        flatfile.convert(source, tmp_path / "bad.jsonl", "jsonl", declared_charset="utf-8")
    assert not (tmp_path / "bad.jsonl").exists()  # atomic: nothing half-written
    with pytest.raises(SpApiConfigError, match=r"encoding.*character set"):
        flatfile.check_charset("klingon-8")


@pytest.mark.parametrize(
    ("content_type", "codec"),
    [
        ("text/plain;charset=Cp1252", "cp1252"),  # Amazon's Java names
        ('text/plain; charset="Shift_JIS"', "cp932"),  # read as the superset Amazon Japan writes
        ("text/plain;charset=Windows-31J", "cp932"),  # a Java name Python does not know by itself
        ("text/plain;charset=ISO-8859-1", "cp1252"),
        ("text/plain;charset=US-ASCII", "utf-8"),
        ("text/plain;charset=UTF-8", "utf-8"),
        ("text/plain", None),
        ("application/octet-stream", None),
        (None, None),
        ("text/plain;charset=klingon-8", None),  # a label Python does not know: detection decides
    ],
)
def test_the_charset_of_a_content_type(content_type: str | None, codec: str | None) -> None:
    assert flatfile.charset_from_content_type(content_type) == codec


@pytest.mark.parametrize(
    ("label", "text", "written_in", "codec"),
    [
        ("Shift_JIS", "水筒①", "cp932", "cp932"),  # ① is cp932's, not Shift_JIS's
        ("ISO-8859-1", "„Trinkflasche“", "cp1252", "cp1252"),  # curly quotes are cp1252's, control codes in Latin-1
        ("UTF-8", "Kühlschrank", "cp1252", "cp1252"),  # a label the bytes do not fit: detection, then the marketplace's
    ],
)
def test_a_servers_charset_is_a_hint_the_bytes_must_fit(tmp_path: Path, label: str, text: str, written_in: str, codec: str) -> None:
    source = write(tmp_path / "in.tsv", f"{HEADER}S\t{text}\t1\n", written_in)
    marketplace = "A1VC38T7YXB528" if written_in == "cp932" else seed.MARKETPLACE_ID_DE

    result = flatfile.convert(
        source, tmp_path / "out.jsonl", "jsonl", hinted_charset=flatfile.charset_from_content_type(f"text/plain;charset={label}"),
        marketplace_ids=[marketplace],
    )  # fmt: skip

    assert result.charset == codec
    assert jsonl(tmp_path / "out.jsonl")[0]["item-name"] == text


def test_windows_31j_is_accepted_as_an_encoding() -> None:
    assert flatfile.check_charset("Windows-31J") == flatfile.check_charset("shift_jis") == "cp932"


def test_a_declared_utf8_file_loses_its_byte_order_mark(tmp_path: Path) -> None:
    source = write(tmp_path / "in.tsv", f"\ufeff{HEADER}S\tx\t1\n", "utf-8")

    flatfile.convert(source, tmp_path / "out.jsonl", "jsonl", declared_charset="UTF-8")

    assert list(jsonl(tmp_path / "out.jsonl")[0]) == ["sku", "item-name", "price"]


def test_rows_with_missing_or_extra_fields_and_quotes_are_kept(tmp_path: Path) -> None:
    source = write(tmp_path / "in.tsv", f'{HEADER}A\t"quoted" name\nB\tx\t1\tsurplus\n\nC\ty\t2\n', "utf-8")

    flatfile.convert(source, tmp_path / "out.jsonl", "jsonl")

    assert jsonl(tmp_path / "out.jsonl") == [
        {"sku": "A", "item-name": '"quoted" name', "price": ""},
        {"sku": "B", "item-name": "x", "price": "1", "_extra": ["surplus"]},
        {"sku": "C", "item-name": "y", "price": "2"},
    ]


def test_conversion_streams_in_bounded_memory(tmp_path: Path) -> None:
    row = "SKU-{:07d}\tTrinkflasche für Kühlschrank – 750 ml Edelstahl\t18.99\n"

    def peak_for(rows: int) -> tuple[int, int]:
        source = tmp_path / f"{rows}.tsv"
        with source.open("wb") as handle:
            handle.write(HEADER.encode())
            for block in range(rows // 1000):
                handle.write("".join(row.format(block * 1000 + i) for i in range(1000)).encode("cp1252"))
        tracemalloc.start()
        try:
            result = flatfile.convert(source, tmp_path / f"{rows}.jsonl", "jsonl", marketplace_ids=[seed.MARKETPLACE_ID_DE])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.rows == rows
        return source.stat().st_size, peak

    peak_for(1000)  # one-time imports and caches
    small_size, small_peak = peak_for(50_000)
    large_size, large_peak = peak_for(250_000)

    assert large_size > 4 * small_size
    assert large_peak < small_peak * 1.5  # the same memory for four times the file: it streams
    assert large_peak < large_size / 2


def test_marketplace_table_is_data() -> None:
    assert flat_file_charset(["A1VC38T7YXB528"]) == "cp932"
    assert flat_file_charset([seed.MARKETPLACE_ID_DE]) == flat_file_charset(["unknown"]) == "cp1252"
    assert seller_central_host([seed.MARKETPLACE_ID_UK]) == "sellercentral.amazon.co.uk"


@pytest.mark.parametrize(
    ("page", "key", "expected"),
    [
        ({"payload": {"Orders": [1, 2], "NextToken": "t"}}, None, [1, 2]),
        ({"orders": [1], "pagination": {"nextToken": "t"}}, None, [1]),
        ({"code": 0, "data": {"orders": [3, 4], "next_page_token": ""}}, None, [3, 4]),  # TikTok Shop's envelope
        ({"payload": {"AmazonOrderId": "1"}}, None, [{"AmazonOrderId": "1"}]),
        ({"payload": {"Other": [9], "Orders": [1]}}, "payload.Orders", [1]),
        ({"payload": {}}, None, []),
    ],
)
def test_page_records(page: dict[str, Any], key: str | None, expected: list[Any]) -> None:
    assert page_records(page, key) == expected


# -- through the operators ----------------------------------------------------------------------------


@pytest.mark.airflow
def test_report_operator_writes_json_lines_keyed_by_the_header(airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    dag = one_task_dag(
        "test_flatfile_report_jsonl",
        lambda: SpApiReportOperator(
            task_id="report",
            report_type=LISTINGS,
            output_path=str(tmp_path / "listings.jsonl"),
            output_format="jsonl",
            deferrable=False,
            poll_interval=0.05,
        ),
    )

    dag_run = run_dag(dag)

    assert state_of(dag_run, "report") == "success"
    result = xcom_of(airflow_db, dag_run, "report")
    raw = expected_report(LISTINGS, result["report_id"]).decode("ascii").splitlines()
    header = raw[0].split("\t")
    rows = jsonl(tmp_path / "listings.jsonl")
    assert rows == [dict(zip(header, line.split("\t"), strict=True)) for line in raw[1:]]
    assert (result["output_format"], result["rows"], result["charset"]) == ("jsonl", len(rows), "utf-8-sig")
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("output_format", ["utf8", "jsonl"])
def test_the_charset_the_download_declares_beats_the_marketplaces(
    emu: Emulator, spapi_conn: Any, tmp_path: Path, output_format: flatfile.OutputFormat
) -> None:
    # Greek in ISO-8859-7 is not UTF-8, and read as the US marketplace's cp1252 it would come out as
    # Latin letters: only the header's charset gives the right text.
    text = f"{HEADER}G-1\tΕλληνικό μπουκάλι\t9.99\n"
    emu.state.documents.add(
        Document(
            "amzn1.spdoc.1.4.na.greek",
            seed.SELLING_PARTNER_ID,
            "report",
            content=lambda: iter([text.encode("iso-8859-7")]),
            compressed=False,
            content_type="text/plain;charset=ISO-8859-7",
        )
    )
    client = SpApiHook().client

    saved = report_files.save_report(
        client, "amzn1.spdoc.1.4.na.greek", tmp_path / "out", output_format=output_format, marketplace_ids=[seed.MARKETPLACE_ID_US]
    )

    assert (saved.charset, saved.rows) == ("iso8859-7", 1)
    written = (tmp_path / "out").read_text("utf-8")
    assert "Ελληνικό μπουκάλι" in written
    # An explicit encoding still wins over the header.
    forced = report_files.save_report(client, "amzn1.spdoc.1.4.na.greek", tmp_path / "forced", output_format="utf8", encoding="cp1252")
    assert forced.charset == "cp1252"
    assert "Ελληνικό" not in (tmp_path / "forced").read_text("utf-8")


@pytest.mark.airflow
def test_european_settlements_come_out_as_utf8(airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    eu = seed.SELLERS[2]
    spapi_conn("spapi_eu", refresh_token=eu.refresh_token, marketplace_ids=list(eu.marketplace_ids))
    since = (datetime.now(timezone.utc) - timedelta(days=1, hours=12)).isoformat()
    dag = one_task_dag(
        "test_flatfile_settlement_utf8",
        lambda: SpApiScheduledReportOperator(
            task_id="settlement",
            spapi_conn_id="spapi_eu",
            report_type=SETTLEMENT_TYPES[0],
            created_since=since,
            output_path=str(tmp_path / "settlement.tsv"),
            output_format="utf8",
        ),
    )

    dag_run = run_dag(dag)

    (item,) = xcom_of(airflow_db, dag_run, "settlement")["reports"]
    text = (tmp_path / "settlement.tsv").read_text("utf-8")
    assert item["charset"] == "cp1252"
    assert "Verkaufsgebühr – Provision" in text
    assert item["rows"] == len(text.splitlines()) - 1


@pytest.mark.airflow
def test_spapi_operator_writes_one_record_a_line(airflow_db: Path, emu: Emulator, spapi_conn: Any, tmp_path: Path) -> None:
    since = (datetime.now(timezone.utc) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    dag = one_task_dag(
        "test_flatfile_records",
        lambda: SpApiOperator(
            task_id="orders",
            method="GET",
            path="/orders/2026-01-01/orders",
            query_params={"lastUpdatedAfter": since, "marketplaceIds": [seed.MARKETPLACE_ID_US], "maxResultsPerPage": 5},
            paginate=True,
            output_path=str(tmp_path / "orders.jsonl"),
            output_format="records",
        ),
    )

    dag_run = run_dag(dag)

    result = xcom_of(airflow_db, dag_run, "orders")
    lines = jsonl(tmp_path / "orders.jsonl")
    assert result["records"] == len(lines) > 5
    assert result["pages"] == (len(lines) + 4) // 5
    assert all("orderId" in line and "lastUpdatedTime" in line for line in lines)
    assert len({line["orderId"] for line in lines}) == len(lines)


@pytest.mark.airflow
def test_bad_output_format_fails_at_construction() -> None:
    with pytest.raises(SpApiConfigError, match="output_format"):
        SpApiReportOperator(task_id="r", report_type=LISTINGS, output_path="x", output_format="csv")  # type: ignore[arg-type]
    with pytest.raises(SpApiConfigError, match="output_format"):
        SpApiOperator(task_id="o", method="GET", path="/x", output_format="rows")  # type: ignore[arg-type]
    with pytest.raises(SpApiConfigError, match="encoding"):
        SpApiReportOperator(task_id="r2", report_type=LISTINGS, output_path="x", encoding="nope")
