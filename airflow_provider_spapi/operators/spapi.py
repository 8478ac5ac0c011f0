"""``SpApiOperator``: any SP-API operation as a task, with results to XCom or, for anything large or personal, to storage."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from airflow_provider_spapi._compat import BaseOperator, Context
from airflow_provider_spapi.errors import SpApiConfigError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.base import storage_path
from airflow_provider_spapi.operators.lineage import OpenLineageMixin
from airflow_provider_spapi.operators.output import OutputFormat, check_output_format, write_json_lines
from airflow_provider_spapi.spapi import catalog
from airflow_provider_spapi.spapi.client import authorization_for, check_path

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class SpApiOperator(OpenLineageMixin, BaseOperator):
    """Call one SP-API operation (every page of it with ``paginate=True``).

    The token follows the operation's authorization model (see ``SpApiHook.request``): grantless
    operations get a grantless token, restricted ones (or any call with ``data_elements``) a
    Restricted Data Token. Without ``output_path`` the decoded body (a list of pages with
    ``paginate``) goes to XCom, which suits small, non-personal results. With ``output_path`` the
    result is written there as JSON lines, one page a line (``output_format="pages"``, default) or one
    record a line (``output_format="records"``: the list inside each page, ``payload.Orders``,
    ``orders``, ``reports``…, ready for a warehouse load), and XCom gets ``{"path", "pages",
    "records"}``. Results of restricted operations hold PII and never go to XCom: such a call
    without ``output_path`` fails before it is made.

    :param method: HTTP method, e.g. ``GET``.
    :param path: the operation's path, e.g. ``/orders/v0/orders`` (templated).
    :param query_params: query parameters; lists are sent comma-separated (templated). Named so as
        not to clash with every operator's ``params``.
    :param body: JSON body (templated; for a restricted operation rendered at run time only, so the
        personal data in it never lands in Airflow's rendered-fields table).
    :param data_elements: restricted data elements, e.g. ``["buyerInfo", "shippingAddress"]`` (templated).
    :param restricted: force (True) or forbid (False) a Restricted Data Token; None decides from the catalog.
    :param grantless_scope: call with a grantless token of this scope (grantless operations get theirs automatically).
    :param paginate: follow next-page tokens and return or write every page.
    :param output_path: local path or ObjectStoragePath / URL for the JSON lines (templated).
    :param output_format: with ``output_path``, ``pages`` (one response a line) or ``records`` (one record a line).
    :param records_key: the dotted path of the record list in a page (e.g. ``payload.Orders``) when the
        first list of the (unwrapped) page is not it.
    :param token_key: the next-page token's name in the response, for operations the catalog does not know.
    :param spapi_conn_id: the ``spapi`` connection.
    """

    template_fields: Sequence[str] = ("path", "query_params", "body", "data_elements", "output_path")
    template_fields_renderers = {"query_params": "json", "body": "json"}
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        method: str,
        path: str,
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        data_elements: Sequence[str] | None = None,
        restricted: bool | None = None,
        grantless_scope: str | None = None,
        paginate: bool = False,
        output_path: Any = None,
        token_key: str = "NextToken",
        output_format: OutputFormat = "pages",
        records_key: str | None = None,
        spapi_conn_id: str = SpApiHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_format = check_output_format(output_format, SpApiConfigError)
        self.records_key = records_key
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise SpApiConfigError(f"Argument 'method' must be one of {', '.join(sorted(METHODS))}, not {method!r}.")
        self.method = method.upper()
        self.path = path
        self.query_params = query_params
        self.body = body
        self.data_elements = data_elements
        self.restricted = restricted
        self.grantless_scope = grantless_scope
        self.paginate = paginate
        self.output_path = output_path
        self.token_key = token_key
        self.spapi_conn_id = spapi_conn_id
        if self._body_holds_pii():
            # Airflow stores every rendered template field in its metadata DB (the UI's "Rendered Template"):
            # the body of a restricted call (a shipment's addresses) must not go there. It is rendered in execute().
            self.template_fields = tuple(field for field in type(self).template_fields if field != "body")

    def _body_holds_pii(self) -> bool:
        """Whether this call is restricted, as far as the (unrendered) arguments tell: then its body is personal data."""
        if self.restricted or self.data_elements:
            return True
        operation = catalog.find_operation(self.method, self.path) if isinstance(self.path, str) and "{{" not in self.path else None
        return operation is not None and operation.restricted == "always"

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def _call_kwargs(self, body: Any) -> dict[str, Any]:
        return {
            "params": self.query_params,
            "json": body,
            "data_elements": self.data_elements,
            "restricted": self.restricted,
            "grantless_scope": self.grantless_scope,
        }

    def _check_arguments(self) -> None:
        """Everything that can be wrong with the (rendered) arguments, raised before any request."""
        check_path(self.path)
        if self.query_params is not None and not isinstance(self.query_params, dict):
            raise SpApiConfigError(f"Argument 'query_params' must be a dict, not {type(self.query_params).__name__}.")
        auth = authorization_for(
            self.method,
            self.path,
            catalog.find_operation(self.method, self.path),
            data_elements=self.data_elements,
            restricted=self.restricted,
            grantless_scope=self.grantless_scope,
        )
        if auth.kind == "rdt" and self.output_path is None:
            raise SpApiConfigError(
                f"{self.method} {self.path} returns restricted data (PII), which never goes to XCom. "
                "Set 'output_path' to write it to storage; XCom then carries the path and counts."
            )
        if self.output_path is not None:
            storage_path(self.output_path)

    def execute(self, context: Context) -> Any:
        self._check_arguments()
        # A private body is rendered here, into a local: never onto the task, never into the rendered fields.
        body = self.body if "body" in self.template_fields else self.render_template(self.body, context)
        pages: Iterable[dict[str, Any]]
        if self.paginate:
            pages = self.hook.paginate(self.method, self.path, token_key=self.token_key, **self._call_kwargs(body))
        else:
            pages = [self.hook.request(self.method, self.path, **self._call_kwargs(body))]
        try:
            if self.output_path is None:
                result = list(pages)
                return result if self.paginate else result[0]
            return self._write(pages)
        finally:
            self.hook.log_stats()

    def _write(self, pages: Iterable[dict[str, Any]]) -> dict[str, Any]:
        destination = storage_path(self.output_path)
        result = write_json_lines(destination, pages, self.log, output_format=self.output_format, records_key=self.records_key)
        self.lineage_output(destination)
        return result
