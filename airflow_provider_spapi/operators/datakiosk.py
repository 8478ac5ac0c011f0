"""``SpApiDataKioskOperator``: run a Data Kiosk GraphQL query, wait for it, and stream every page's JSON lines to storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_spapi._compat import Context
from airflow_provider_spapi.errors import SpApiProcessingError
from airflow_provider_spapi.operators.base import SpApiProcessingOperator, storage_path
from airflow_provider_spapi.spapi import workflows
from airflow_provider_spapi.spapi.workflows import ProcessingStatus


class SpApiDataKioskOperator(SpApiProcessingOperator):
    """createQuery, wait until Amazon is done, getDocument, and stream the JSON lines to ``output_path``.

    A result too large for one document comes in pages: the query's ``pagination.nextToken`` is
    passed to createQuery again until there is none, and every page lands in the one output file,
    in order (each page is downloaded with retries first, so the file appears complete or not at
    all). A query DONE without a ``dataDocumentId`` had no data for the period: the task succeeds
    with zero records and an empty file, so downstream loads see an empty day, not a missing one.
    A FATAL query fails with the content of its error document; a CANCELLED one (someone cancelled
    it) fails too. Data Kiosk documents are GZIP announced only by ``Content-Encoding``; they are
    decoded once, byte for byte. ``timeout`` bounds the wait for each page.

    XCom gets ``query_ids`` (one per page), ``document_ids``, ``path``, ``records`` (JSON lines) and
    ``bytes``, never the data. A task retried by Airflow reconnects to the query its first try created.

    :param query: the GraphQL query, e.g. a ``salesAndTrafficByAsin`` query of ``analytics_salesAndTraffic_2024_04_24``,
        with dates from ``{{ data_interval_start | ds }}`` (templated).
    :param output_path: a local path or an ObjectStoragePath / URL such as ``s3://bucket/key.jsonl`` (templated).
    """

    kind = "query"
    template_fields: Sequence[str] = ("query", "output_path")
    ui_color = "#ff9900"

    def __init__(self, *, query: str, output_path: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.output_path = output_path

    def execute(self, context: Context) -> Any:
        query = workflows.check_query(self.query)
        storage_path(self.output_path)  # a bad destination fails here, before Amazon runs a query
        query_id = self.start_or_resume(context, lambda: workflows.create_query(self.hook.client, query))
        self.log.info("Created Data Kiosk query %s", query_id)
        return self.wait_then_finish(context, query_id, pages=[])

    def finish(self, context: Context, status: ProcessingStatus, pages: list[dict[str, Any]] | None = None) -> Any:
        client = self.hook.client
        if status.status == "FATAL":
            detail = (
                workflows.read_document_text(client, "query", status.error_document_id) if status.error_document_id else "no error document"
            )
            raise SpApiProcessingError(f"Data Kiosk query {status.job_id} ended FATAL: {detail}", operation="getQuery")
        if status.status == "CANCELLED":
            raise SpApiProcessingError(f"Data Kiosk query {status.job_id} was CANCELLED before it ran.", operation="getQuery")
        done = [*(pages or []), {"query_id": status.job_id, "document_id": status.document_id}]
        if status.next_token:
            next_id = workflows.create_query(client, self.query, status.next_token)
            self.log.info("Data Kiosk query %s has another page: created query %s", status.job_id, next_id)
            return self.wait_then_finish(context, next_id, pages=done)
        document_ids = [page["document_id"] for page in done if page["document_id"]]
        destination = storage_path(self.output_path)
        result = workflows.download_pages(client, document_ids, destination)
        self.lineage_output(destination)
        self.log.info(
            "Data Kiosk: %d page(s), %d record(s), %d bytes written to %s", len(done), result.records, result.bytes_written, result.path
        )
        self.hook.log_stats()
        return {
            "query_ids": [page["query_id"] for page in done],
            "document_ids": document_ids,
            "path": result.path,
            "records": result.records,
            "bytes": result.bytes_written,
        }
