"""Reports Amazon produces on its own schedule: settlement reports that appear as time passes.

Nobody calls createReport for a settlement report: Amazon makes one at the end of each settlement
period and the seller finds it with getReports. The emulator does the same for every seller:
``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE`` (and the ``_V2`` flat file) reports are created every
``period`` (default one day, Amazon's daily-disbursement schedule) at ``SCHEDULE_OFFSET`` past
midnight UTC, each covering the period before it. A report becomes visible once its creation time
has passed (so a report "appears" while the emulator runs) and disappears after 90 days, as
Amazon's do. They are DONE at once, with a document, and are listed, fetched (getReport) and
downloaded (getReportDocument) like any other report: this module puts them into the Reports API's
book just before a Reports call is served.

Settlement documents list the seller's orders purchased in the period (a principal and a
commission row per order, after Amazon's summary row). Documents for European marketplaces are
encoded in Cp1252 and carry German fee descriptions with umlauts, as Amazon's legacy flat files do,
so a client that assumes UTF-8 gets mojibake; everything else is ASCII.

``ScheduledReports.schedule(...)`` changes the period (an hour at least) and
``ScheduledReports.publish(...)`` makes one at once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial

from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.documents import Document, DocumentStore
from airflow_provider_spapi.emulator.jobs import Job
from airflow_provider_spapi.emulator.orders import OrderBook
from airflow_provider_spapi.emulator.reports import ReportsApi
from airflow_provider_spapi.emulator.responses import Response
from airflow_provider_spapi.emulator.seed import MARKETPLACES, Order, Seller
from airflow_provider_spapi.emulator.timefmt import utcnow

SETTLEMENT_TYPES = ("GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE", "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2")
SCHEDULE_OFFSET = timedelta(hours=6)
RETENTION = timedelta(days=90)
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
EU_MARKETPLACE_COUNTRIES = frozenset({"DE", "FR", "IT", "ES", "GB"})
SETTLEMENT_COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
    "transaction-type", "order-id", "merchant-order-id", "marketplace-name", "amount-type", "amount-description", "amount",
    "posted-date-time", "sku", "quantity-purchased",
)  # fmt: skip
# (principal, commission) descriptions per language: the European ones need Cp1252.
DESCRIPTIONS = {"de": ("Artikelpreis", "Verkaufsgebühr – Provision"), "en": ("Principal", "Commission")}
COMMISSION = Decimal("0.15")


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def encoding_for(marketplace_id: str) -> str:
    """The charset of the emulator's flat files for a marketplace (Amazon's legacy encodings)."""
    market = MARKETPLACES.get(marketplace_id)
    return "cp1252" if market is not None and market.country_code in EU_MARKETPLACE_COUNTRIES else "ascii"


def settlement_content(settlement_id: str, seller: Seller, orders: list[Order], start: datetime, end: datetime) -> Iterator[bytes]:
    """The document of one settlement: Amazon's summary row, then a principal and a commission row per order."""
    marketplace_id = seller.marketplace_ids[0]
    market = MARKETPLACES[marketplace_id]
    encoding = encoding_for(marketplace_id)
    principal_text, commission_text = DESCRIPTIONS["de" if encoding == "cp1252" else "en"]
    rows: list[list[str]] = []
    total = Decimal("0.00")
    for order in orders:
        if not start <= order.purchase_date < end or order.marketplace_id != marketplace_id:
            continue
        for item in order.items:
            principal = item.unit_price * item.quantity
            commission = -(principal * COMMISSION).quantize(Decimal("0.01"))
            total += principal + commission
            common = [settlement_id, "", "", "", "", "", "Order", order.order_id, order.seller_order_id, market.name]
            posted = _date(order.purchase_date)
            rows.append([*common, "ItemPrice", principal_text, str(principal), posted, item.sku, str(item.quantity)])
            rows.append([*common, "ItemFees", commission_text, str(commission), posted, item.sku, ""])
    deposit = end + timedelta(days=1)
    summary = [settlement_id, _date(start), _date(end), _date(deposit), str(total), market.currency] + [""] * (len(SETTLEMENT_COLUMNS) - 6)
    lines = ["\t".join(SETTLEMENT_COLUMNS), "\t".join(summary), *("\t".join(row) for row in rows)]
    yield ("\n".join(lines) + "\n").encode(encoding)


class ScheduledReports:
    """Settlement reports per seller, put into the Reports API's book as their creation times pass."""

    def __init__(self, reports: ReportsApi, documents: DocumentStore, book: OrderBook, seller_lookup: Callable[[str], Seller]) -> None:
        self.reports = reports
        self.documents = documents
        self.book = book
        self.seller_lookup = seller_lookup
        self.period = timedelta(days=1)
        self.report_types: tuple[str, ...] = SETTLEMENT_TYPES
        self._lock = threading.Lock()
        self._made: set[tuple[str, str, datetime]] = set()  # (seller, report type, created time)

    def schedule(self, period: timedelta, report_types: tuple[str, ...] = SETTLEMENT_TYPES) -> None:
        """Make reports every ``period`` from now on (reports already made stay)."""
        if period < timedelta(hours=1):
            raise ValueError("period must be at least an hour (90 days of reports are kept); use publish() for one report now")
        with self._lock:
            self.period, self.report_types = period, tuple(report_types)

    def _due_times(self, now: datetime) -> Iterator[datetime]:
        """Creation times in the retention window, on the schedule (period steps from a fixed epoch, plus the offset)."""
        first = _EPOCH + SCHEDULE_OFFSET
        step = self.period
        n = max(0, int((now - RETENTION - first) / step))
        moment = first + n * step
        while moment <= now:
            if moment >= now - RETENTION:
                yield moment
            moment += step

    def publish(self, selling_partner_id: str, report_type: str = SETTLEMENT_TYPES[0], created: datetime | None = None) -> str:
        """Make one report now (or at ``created``); returns its report id."""
        with self._lock:
            return self._make(self.seller_lookup(selling_partner_id), report_type, created or utcnow())

    def _make(self, seller: Seller, report_type: str, created: datetime) -> str:
        self._made.add((seller.selling_partner_id, report_type, created))
        book = self.reports.book
        job_id = book.new_id()
        start = created - self.period
        document_id = f"amzn1.spdoc.1.4.na.{uuid.uuid5(uuid.NAMESPACE_URL, f'spapi-emulator:scheduled:{job_id}')}"
        settlement_id = str(10_000_000_000 + int(job_id) % 10_000_000_000)
        orders = self.book.orders(seller.selling_partner_id)
        content = partial(settlement_content, settlement_id, seller, orders, start, created)
        # Served uncompressed, so S3's Content-Type carries the charset, under the Java name Amazon uses.
        charset = "Cp1252" if encoding_for(seller.marketplace_ids[0]) == "cp1252" else "UTF-8"
        self.documents.add(
            Document(
                document_id,
                seller.selling_partner_id,
                "report",
                content=content,
                report_type=report_type,
                compressed=False,
                content_type=f"text/plain;charset={charset}",
            )
        )
        job = Job(
            job_id=job_id,
            owner=seller.selling_partner_id,
            job_type=report_type,
            marketplace_ids=[seller.marketplace_ids[0]],
            created_time=created,
            outcome="DONE",
            status="DONE",
            processing_start=created,
            processing_end=created,
            document_id=document_id,
            extra={"dataStartTime": _date(start), "dataEndTime": _date(created), "scheduled": True},
        )
        book.add(job)
        return job_id

    def catch_up(self, selling_partner_id: str) -> None:
        """Create every report of the seller whose time has come and that does not exist yet."""
        seller = self.seller_lookup(selling_partner_id)
        with self._lock:
            for created in self._due_times(utcnow()):
                for report_type in self.report_types:
                    if (seller.selling_partner_id, report_type, created) not in self._made:
                        self._make(seller, report_type, created)

    def handlers(self) -> dict[str, Handler]:
        """The Reports API's handlers that read reports, each preceded by :meth:`catch_up` (registered after the Reports API)."""

        def caught_up(handler: Handler) -> Handler:
            def handle(call: Call) -> Response:
                self.catch_up(call.seller)
                return handler(call)

            return handle

        served = self.reports.handlers()
        names = ("getReports", "getReport", "getReportDocument")
        return {f"reports_2021-06-30.{name}": caught_up(served[f"reports_2021-06-30.{name}"]) for name in names}
