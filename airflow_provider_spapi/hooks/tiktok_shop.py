"""``TikTokShopHook``: a ``tiktok_shop`` connection turned into signed TikTok Shop calls.

Like :class:`~airflow_provider_spapi.hooks.spapi.SpApiHook`, a thin Airflow adapter over the
Airflow-free :class:`~airflow_provider_spapi.tiktok.client.TikTokShopClient`: it reads and validates
the connection, registers the app secret and every token with Airflow's secrets masker, warns once
per process when the refresh token is about to expire, renders the connection form, and keeps a
refresh token TikTok rotated from being lost: it is written back to the connection where a task may
write it (Airflow 2.11, connection in the metadata database), and anywhere else a WARNING names the
connection and the command that stores a fresh pair (see :mod:`.connection_store` for the matrix).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any

from airflow_provider_spapi.core.expiry import ExpiryStatus
from airflow_provider_spapi.errors import TikTokShopError
from airflow_provider_spapi.hooks import connection_store
from airflow_provider_spapi.hooks._masking import mask_token
from airflow_provider_spapi.hooks.base import TEST_CONNECTION_RETRY, ClientHook
from airflow_provider_spapi.hooks.expiry import warn_expiry_once
from airflow_provider_spapi.hooks.form import connection_form_widgets, ui_field_behaviour
from airflow_provider_spapi.provider_info import TIKTOK_SHOP_CONN_TYPE, TIKTOK_SHOP_FORM, TIKTOK_SHOP_HOOK_NAME
from airflow_provider_spapi.tiktok.client import TikTokShopClient
from airflow_provider_spapi.tiktok.expiry import credential_expiries, due_warnings
from airflow_provider_spapi.tiktok.settings import TikTokShopSettings, parse_settings

#: The connection fields that hold secrets, also under older forms' ``extra__tiktok_shop__`` names.
SECRET_EXTRA_FIELDS = ("refresh_token", "access_token")


def _mask(secret: str | None) -> None:
    """Hide ``secret`` from logs through the one masking helper both hooks use.

    TikTok publishes no token shape, so its tokens are masked by value; an access token lives days, not
    an hour, so the masker grows by a handful of entries a week, not per call.
    """
    if isinstance(secret, str) and secret:
        mask_token(secret)


def store_command(conn_id: str) -> str:
    """The command that refreshes once more and stores the pair TikTok answers, where the connection is stored."""
    return f"python -m airflow_provider_spapi.credentials tiktok-refresh --conn-id {conn_id} [--json-file PATH]"


class TikTokShopHook(ClientHook):
    """Calls TikTok Shop's Open API with the credentials of a ``tiktok_shop`` connection.

    :param tiktok_shop_conn_id: the connection to use (login: app key, password: app secret, extra:
        refresh token and its expiry, shop cipher and the other fields in the README).
    """

    conn_name_attr = "tiktok_shop_conn_id"
    default_conn_name = "tiktok_shop_default"
    conn_type = TIKTOK_SHOP_CONN_TYPE
    form = TIKTOK_SHOP_FORM
    usage_label = "TikTok Shop"
    hook_name = TIKTOK_SHOP_HOOK_NAME

    def __init__(self, tiktok_shop_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tiktok_shop_conn_id = tiktok_shop_conn_id

    # -- connection ---------------------------------------------------------------------------

    @cached_property
    def settings(self) -> TikTokShopSettings:
        """The connection, validated: a wrong field raises TikTokShopConfigError naming it, before any request."""
        connection = self.get_connection(self.tiktok_shop_conn_id)
        extra = connection.extra_dejson if connection.extra else {}
        _mask(connection.password)
        for name in SECRET_EXTRA_FIELDS:
            _mask(extra.get(name))
            _mask(extra.get(f"extra__{TIKTOK_SHOP_CONN_TYPE}__{name}"))
        return parse_settings(connection.login, connection.password, connection.extra)

    @cached_property
    def client(self) -> TikTokShopClient:
        """The Airflow-free client doing the work; every token it receives is masked in logs at once.

        Creating it is the hook's first use of the connection: due expiry warnings are logged then, once per process.
        """
        settings = self.settings
        key = (settings.app_key, str(settings.refresh_token_expires_at))
        warn_expiry_once(self.log, self.tiktok_shop_conn_id, key, due_warnings(settings))
        return self._new_client(settings)

    def _new_client(self, settings: TikTokShopSettings) -> TikTokShopClient:
        return TikTokShopClient(settings, logger=self.log, on_token=_mask, on_refresh_token=self._keep_refresh_token)

    # -- tokens -------------------------------------------------------------------------------

    def get_access_token(self) -> str:
        """The access token: the connection's own while valid, else one refresh per lifetime for the whole process."""
        return self.client.access_token()

    def exchange_authorization_code(self, auth_code: str) -> dict[str, Any]:
        """The new authorisation for an auth code: ``refresh_token``, ``refresh_token_expires_at``, ``open_id``, ``seller_name``.

        Nothing is stored or logged; ``python -m airflow_provider_spapi.credentials tiktok-authorize`` stores the pair.
        """
        return self.client.exchange_authorization_code(auth_code)

    def _keep_refresh_token(self, refresh_token: str, expires_at: datetime | None) -> None:
        """TikTok rotated the refresh token: write it to the connection where a task may, else say loudly how to store one."""
        _mask(refresh_token)
        conn_id = self.tiktok_shop_conn_id
        until = f" (valid until {expires_at:%Y-%m-%d})" if expires_at else ""
        try:
            can_store, why_not = connection_store.task_can_store(conn_id)
            if can_store:
                changes: dict[str, Any] = {
                    "refresh_token": refresh_token,
                    "refresh_token_expires_at": expires_at.isoformat() if expires_at else None,
                    # The stored access token belongs to the old pair; the next process refreshes from the new one.
                    "access_token": None,
                    "access_token_expires_at": None,
                }
                connection_store.update_connection(conn_id, extra=changes)
                self.log.info("Connection %s: stored the new refresh token%s TikTok Shop returned.", conn_id, until)
                return
        except Exception as error:  # storing must not fail the call that already succeeded; the warning says what to do
            why_not = f"storing it failed ({type(error).__name__})"
        self.log.warning(
            "Connection %s: TikTok Shop issued a new refresh token%s. This process uses it, but it is not stored: %s. "
            "Store a fresh token pair where the connection lives with `%s`, or the next run may start from a refresh "
            "token TikTok no longer accepts.",
            conn_id,
            until,
            why_not,
            store_command(conn_id),
        )

    # -- calls --------------------------------------------------------------------------------

    def get_authorized_shops(self) -> list[dict[str, Any]]:
        """The shops the authorisation covers (``cipher``, ``code``, ``id``, ``name``, ``region``, ``seller_type``)."""
        return self.client.authorized_shops()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        shop_cipher: str | None = None,
    ) -> dict[str, Any]:
        """One signed call returning the envelope's ``data``; see :meth:`TikTokShopClient.request`."""
        return self.client.request(method, path, params=params, json=json, shop_cipher=shop_cipher)

    def paginate(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        page_size: int = 100,
        **request_kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page's ``data``, in order, each exactly once, following ``next_page_token``."""
        return self.client.paginate(method, path, params=params, json=json, page_size=page_size, **request_kwargs)

    # -- credential lifecycle -----------------------------------------------------------------

    def _newest_refresh_token_expiry(self) -> datetime | None:
        """The expiry of the newest refresh token this process holds (a rotation moves it), else the connection's."""
        return self.client.refresh_token_expires_at if "client" in self.__dict__ else None

    def credential_expiries(self) -> list[ExpiryStatus]:
        """The refresh token's expiry, a known date (TikTok returns it with every token), with the days left."""
        return credential_expiries(self.settings, refresh_token_expires_at=self._newest_refresh_token_expiry())

    def check_credentials_expiry(self) -> list[str]:
        """Warnings for a refresh token expiring within ``expiry_warning_days`` (or expired)."""
        return [status.message() for status in due_warnings(self.settings, refresh_token_expires_at=self._newest_refresh_token_expiry())]

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: get an access token and list the authorised shops, on a short retry budget."""
        try:
            settings = self.settings
            quick = self._new_client(dataclasses.replace(settings, retry=TEST_CONNECTION_RETRY))
            quick.access_token()
            shops = quick.authorized_shops()
        except TikTokShopError as error:
            return False, str(error)
        names = ", ".join(f"{shop.get('name')} ({shop.get('region')})" for shop in shops) or "none"
        message = f"Connection works: got an access token; the authorisation covers {len(shops)} shop(s): {names}."
        warnings = [status.message() for status in due_warnings(settings, refresh_token_expires_at=quick.refresh_token_expires_at)]
        return True, " ".join([message, *warnings])

    # -- connection form: defined here, not inherited, since Airflow reads it from the class's own __dict__ --

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return connection_form_widgets(cls.form)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ui_field_behaviour(cls.form)
