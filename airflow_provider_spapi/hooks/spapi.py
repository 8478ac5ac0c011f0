"""``SpApiHook``: an ``spapi`` connection turned into SP-API calls.

The hook is a thin Airflow adapter over :class:`~airflow_provider_spapi.spapi.client.SpApiClient`:
it reads and validates the connection, registers every secret and minted token with Airflow's
secrets masker, warns once per process when a credential is about to expire, and renders the
connection form. Tokens, rate limits and retries live in the Airflow-free core, shared by every
hook of the same credentials in the process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

from airflow_provider_spapi._compat import mask_secret
from airflow_provider_spapi.errors import SpApiError
from airflow_provider_spapi.hooks._masking import SPAPI_TOKEN_SHAPE, mask_token
from airflow_provider_spapi.hooks.base import TEST_CONNECTION_RETRY, ClientHook
from airflow_provider_spapi.hooks.expiry import warn_expiry_once
from airflow_provider_spapi.hooks.form import connection_form_widgets, ui_field_behaviour
from airflow_provider_spapi.provider_info import CONN_TYPE, HOOK_NAME, SPAPI_FORM
from airflow_provider_spapi.spapi.client import SpApiClient
from airflow_provider_spapi.spapi.expiry import ExpiryStatus, credential_expiries, due_warnings
from airflow_provider_spapi.spapi.settings import SpApiSettings, parse_settings


def _mask_minted(token: str) -> None:
    """Every token a client mints is hidden from logs by its shape, so the masker does not grow per token."""
    mask_token(token, SPAPI_TOKEN_SHAPE)


class SpApiHook(ClientHook):
    """Calls Amazon's Selling Partner API with the credentials of an ``spapi`` connection.

    :param spapi_conn_id: the connection to use (login: LWA client id, password: LWA client secret,
        extra: refresh token, region and the other fields in the README).
    """

    conn_name_attr = "spapi_conn_id"
    default_conn_name = "spapi_default"
    conn_type = CONN_TYPE
    form = SPAPI_FORM
    usage_label = "SP-API"
    hook_name = HOOK_NAME

    def __init__(self, spapi_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spapi_conn_id = spapi_conn_id

    # -- connection ---------------------------------------------------------------------------

    @cached_property
    def settings(self) -> SpApiSettings:
        """The connection, validated: a wrong field raises SpApiConfigError naming it, before any request."""
        connection = self.get_connection(self.spapi_conn_id)
        extra = connection.extra_dejson if connection.extra else {}
        for secret in (connection.password, extra.get("refresh_token"), extra.get("extra__spapi__refresh_token")):
            if isinstance(secret, str) and secret:
                mask_secret(secret)
        return parse_settings(connection.login, connection.password, connection.extra)

    @cached_property
    def client(self) -> SpApiClient:
        """The Airflow-free client doing the work; every token it mints is masked in logs at once.

        Creating it is the hook's first use of the connection: due expiry warnings are logged then, once per process.
        """
        self._warn_expiry_once(self.settings)
        return SpApiClient(self.settings, logger=self.log, on_token=_mask_minted)

    # -- tokens -------------------------------------------------------------------------------

    def get_access_token(self, scope: str | None = None) -> str:
        """An LWA access token (with ``scope``: a grantless token), minted at most once per lifetime per process."""
        return self.client.access_token(scope)

    def get_restricted_data_token(
        self, method: str, path: str, data_elements: Sequence[str] | None = None, target_application: str | None = None
    ) -> str:
        """A Restricted Data Token for one resource; ``path`` may be generic (``/orders/v0/orders/{orderId}/address``)."""
        return self.client.restricted_data_token(method, path, data_elements, target_application)

    def exchange_authorization_code(self, code: str, redirect_uri: str) -> str:
        """The new refresh token for a website-workflow ``spapi_oauth_code`` (see ``python -m airflow_provider_spapi.credentials``)."""
        return self.client.exchange_authorization_code(code, redirect_uri)

    # -- calls --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data_elements: Sequence[str] | None = None,
        restricted: bool | None = None,
        grantless_scope: str | None = None,
    ) -> dict[str, Any]:
        """One SP-API call returning the decoded JSON body; see :meth:`SpApiClient.request`."""
        return self.client.request(
            method, path, params=params, json=json, data_elements=data_elements, restricted=restricted, grantless_scope=grantless_scope
        )

    def paginate(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        token_key: str = "NextToken",
        **request_kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a list operation, in order, each exactly once; see :meth:`SpApiClient.paginate`."""
        return self.client.paginate(method, path, params=params, json=json, token_key=token_key, **request_kwargs)

    # -- credential lifecycle -----------------------------------------------------------------

    def credential_expiries(self) -> list[ExpiryStatus]:
        """Every credential whose expiry the connection records, with the days left."""
        return credential_expiries(self.settings)

    def check_credentials_expiry(self) -> list[str]:
        """Warnings for a refresh token or client secret expiring within ``expiry_warning_days`` (or expired)."""
        return [status.message() for status in due_warnings(self.settings)]

    def _warn_expiry_once(self, settings: SpApiSettings) -> None:
        key = (settings.client_id, str(settings.refresh_token_issued_at), str(settings.client_secret_expires_at))
        warn_expiry_once(self.log, self.spapi_conn_id, key, due_warnings(settings))

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: mint a token and make one cheap call (a grantless mint without a refresh token).

        It runs with :data:`TEST_CONNECTION_RETRY`, not the connection's budget: a person is waiting
        for the answer, and a fault that minutes of retries would absorb is worth reporting.
        """
        try:
            settings = self.settings
            client = SpApiClient(replace(settings, retry=TEST_CONNECTION_RETRY), logger=self.log, on_token=_mask_minted)
            if settings.refresh_token:
                client.request("GET", "/sellers/v1/marketplaceParticipations")
                message = "Connection works: minted an LWA access token and called getMarketplaceParticipations."
            else:
                client.access_token("sellingpartnerapi::notifications")
                message = "Connection works for grantless operations: minted a grantless token (no refresh token set)."
        except SpApiError as error:
            return False, str(error)
        warnings = self.check_credentials_expiry()
        return True, " ".join([message, *warnings])

    # -- connection form: defined here, not inherited, since Airflow reads it from the class's own __dict__ --

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return connection_form_widgets(cls.form)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ui_field_behaviour(cls.form)
