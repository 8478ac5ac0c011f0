"""TikTok Shop as tasks: any call (results to XCom, or, for anything large or personal, to storage) and the credentials check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

from airflow_provider_spapi._compat import BaseOperator, Context
from airflow_provider_spapi.core.expiry import ExpiryStatus
from airflow_provider_spapi.errors import TikTokShopAuthError, TikTokShopConfigError
from airflow_provider_spapi.hooks.tiktok_shop import TikTokShopHook
from airflow_provider_spapi.operators.base import storage_path
from airflow_provider_spapi.operators.credentials import CredentialsCheckOperator
from airflow_provider_spapi.operators.lineage import OpenLineageMixin
from airflow_provider_spapi.operators.output import OutputFormat, check_output_format, write_json_lines
from airflow_provider_spapi.operators.spapi import METHODS
from airflow_provider_spapi.tiktok import catalog
from airflow_provider_spapi.tiktok.client import check_path

#: What the metadata DB's rendered-fields table shows instead of the body of a call that handles buyers' data.
WITHHELD_BODY = "<request body withheld: this call handles buyers' personal data>"


class TikTokShopOperator(OpenLineageMixin, BaseOperator):
    """Make one TikTok Shop call (every page of it with ``paginate=True``).

    Without ``output_path`` the call's ``data`` (a list of pages with ``paginate``) goes to XCom, which
    suits small, non-personal results (shops, products, statements). With ``output_path`` the pages
    are written there as JSON lines, one page's ``data`` a line, and XCom gets ``{"path", "pages",
    "records"}``. Orders, returns and fulfillment hold buyers' personal data: such a call without
    ``output_path`` fails before it is made, and its rendered request body is not kept in the
    metadata database (the task's *Rendered Template* view shows a placeholder).

    :param method: HTTP method, e.g. ``POST``.
    :param path: the versioned path, e.g. ``/order/202309/orders/search`` (templated).
    :param query_params: query parameters besides the signed ones (templated); ``page_size`` and
        ``page_token`` are set by ``paginate``.
    :param body: JSON body, e.g. ``{"update_time_ge": ...}`` (templated).
    :param paginate: follow ``next_page_token`` and return or write every page.
    :param output_path: local path or ObjectStoragePath / URL for the JSON lines (templated).
    :param output_format: with ``output_path``, ``pages`` (one response a line) or ``records`` (one
        record a line: the list inside each page, e.g. ``orders``).
    :param records_key: the dotted path of the record list in a page when the first list is not it.
    :param shop_cipher: the shop to call, overriding the connection's (templated).
    :param page_size: page size with ``paginate`` (TikTok allows at most 100).
    :param tiktok_shop_conn_id: the ``tiktok_shop`` connection.
    """

    template_fields: Sequence[str] = ("path", "query_params", "body", "output_path", "shop_cipher")
    template_fields_renderers = {"query_params": "json", "body": "json"}
    ui_color = "#25f4ee"

    def __init__(
        self,
        *,
        method: str,
        path: str,
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        paginate: bool = False,
        output_path: Any = None,
        output_format: OutputFormat = "pages",
        records_key: str | None = None,
        shop_cipher: str | None = None,
        page_size: int = 100,
        tiktok_shop_conn_id: str = TikTokShopHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise TikTokShopConfigError(f"Argument 'method' must be one of {', '.join(sorted(METHODS))}, not {method!r}.")
        if not isinstance(paginate, bool):
            raise TikTokShopConfigError(f"Argument 'paginate' must be True or False, not {paginate!r}.")
        self.method = method.upper()
        self.path = path
        self.query_params = query_params
        self.body = body
        self.paginate = paginate
        self.output_path = output_path
        self.output_format = check_output_format(output_format, TikTokShopConfigError)
        self.records_key = records_key
        self.shop_cipher = shop_cipher
        self.page_size = page_size
        self.tiktok_shop_conn_id = tiktok_shop_conn_id
        self._request_body: Any = None

    @cached_property
    def hook(self) -> TikTokShopHook:
        return TikTokShopHook(self.tiktok_shop_conn_id)

    @property
    def holds_personal_data(self) -> bool:
        return isinstance(self.path, str) and catalog.holds_personal_data(self.method, self.path)

    def _do_render_template_fields(self, parent: Any, *args: Any, **kwargs: Any) -> None:
        """Render as usual, then keep a personal-data call's body out of what Airflow stores as rendered fields.

        Airflow writes the rendered template fields to the metadata database before ``execute``; the
        body of an orders, returns or fulfillment call may name a buyer, so the operator keeps the
        rendered body for the call and leaves a placeholder in the field. This is the step both
        ``render_template_fields`` and a mapped task's rendering go through (on 2.11 and 3.x), so
        ``.partial().expand()`` tasks withhold the body too.
        """
        super()._do_render_template_fields(parent, *args, **kwargs)
        if parent is self and self.body is not None and self.body != WITHHELD_BODY and self.holds_personal_data:
            self._request_body, self.body = self.body, WITHHELD_BODY

    def _check_arguments(self) -> None:
        """Everything that can be wrong with the (rendered) arguments, raised before any request."""
        check_path(self.path)
        if self.query_params is not None and not isinstance(self.query_params, dict):
            raise TikTokShopConfigError(f"Argument 'query_params' must be a dict, not {type(self.query_params).__name__}.")
        if self.shop_cipher is not None and (not isinstance(self.shop_cipher, str) or not self.shop_cipher.strip()):
            raise TikTokShopConfigError(f"Argument 'shop_cipher' must be a non-empty string or None, not {self.shop_cipher!r}.")
        if self.holds_personal_data and self.output_path is None:
            raise TikTokShopConfigError(
                f"{self.method} {self.path} returns buyers' personal data, which never goes to XCom. "
                "Set 'output_path' to write it to storage; XCom then carries the path and counts."
            )
        if self.output_path is not None:
            storage_path(self.output_path, error=TikTokShopConfigError)

    def execute(self, context: Context) -> Any:
        self._check_arguments()
        body = self._request_body if self.body == WITHHELD_BODY else self.body
        call: dict[str, Any] = {"params": self.query_params, "json": body, "shop_cipher": self.shop_cipher}
        pages: Iterable[dict[str, Any]]
        if self.paginate:
            pages = self.hook.paginate(self.method, self.path, page_size=self.page_size, **call)
        else:
            pages = [self.hook.request(self.method, self.path, **call)]
        try:
            if self.output_path is None:
                result = list(pages)
                return result if self.paginate else result[0]
            destination = storage_path(self.output_path, error=TikTokShopConfigError)
            written = write_json_lines(destination, pages, self.log, output_format=self.output_format, records_key=self.records_key)
            self.lineage_output(destination)
            return written
        finally:
            self.hook.log_stats()


class TikTokShopCredentialsCheckOperator(CredentialsCheckOperator):
    """Check when the connection's refresh token expires (a known date); warn, notify, or fail once it has.

    XCom gets ``{"refresh_token_days_left": int | None, "warnings": [...]}`` (None where the
    connection records no ``refresh_token_expires_at``). Needs no call to TikTok.

    :param tiktok_shop_conn_id: the ``tiktok_shop`` connection to check.
    :param notifiers: called with the task context when a warning is due: Airflow ``BaseNotifier``
        instances or any callable taking the context; the warnings are in the context under
        ``tiktok_shop_credential_warnings`` (and ``credential_warnings``).
    :param fail_on_expired: fail the task once the refresh token has expired (default True), naming the fix:
        the seller authorises the app again.
    """

    template_fields: Sequence[str] = ("tiktok_shop_conn_id",)
    ui_color = "#25f4ee"
    warnings_key = "tiktok_shop_credential_warnings"
    credentials = ("refresh_token",)
    auth_error = TikTokShopAuthError
    config_error = TikTokShopConfigError

    def __init__(
        self,
        *,
        tiktok_shop_conn_id: str = TikTokShopHook.default_conn_name,
        notifiers: Sequence[Callable[..., Any]] | None = None,
        fail_on_expired: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(notifiers=notifiers, fail_on_expired=fail_on_expired, **kwargs)
        self.tiktok_shop_conn_id = tiktok_shop_conn_id

    @property
    def checked_conn_id(self) -> str:
        return self.tiktok_shop_conn_id

    @cached_property
    def hook(self) -> TikTokShopHook:
        return TikTokShopHook(self.tiktok_shop_conn_id)

    def expiry_statuses(self) -> tuple[list[ExpiryStatus], int]:
        return self.hook.credential_expiries(), self.hook.settings.expiry_warning_days
