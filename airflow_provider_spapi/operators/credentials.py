"""Credential lifecycle tasks: warn before a refresh token or client secret expires, and rotate the secret.

:class:`CredentialsCheckOperator` is what the platforms' checks share (``SpApiCredentialsCheckOperator``
here, ``TikTokShopCredentialsCheckOperator`` in :mod:`airflow_provider_spapi.operators.tiktok_shop`).

Schedule :class:`SpApiCredentialsCheckOperator` daily per connection: it warns (log and notifiers)
``expiry_warning_days`` ahead and fails once a credential has expired, with the fix in the message.
:class:`SpApiRotateClientSecretOperator` asks Amazon for a new LWA client secret; Amazon delivers it
through the ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` notification (see the README's credential
lifecycle section for storing it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, ClassVar

from airflow_provider_spapi._compat import BaseOperator, Context
from airflow_provider_spapi.core.errors import AuthError, ConfigError
from airflow_provider_spapi.core.expiry import ExpiryStatus
from airflow_provider_spapi.errors import SpApiAuthError, SpApiConfigError
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.operators.base import failing_fast

ROTATION_PATH = "/applications/2023-11-30/clientSecret"


class CredentialsCheckOperator(BaseOperator):
    """What every platform's credentials check does: warn, notify, fail once expired, and report the days left.

    A subclass says which connection it checks and how to read its expiries (:meth:`expiry_statuses`),
    which credentials go to XCom as ``<credential>_days_left``, and which errors it raises. Notifiers
    find the warnings in the context under the platform's key (``spapi_credential_warnings``,
    ``tiktok_shop_credential_warnings``) and under ``credential_warnings``, so one notifier serves both.

    :param notifiers: called with the task context when a warning is due: Airflow ``BaseNotifier``
        instances (Slack, SMTP, …) or any callable taking the context.
    :param fail_on_expired: fail the task once a credential has expired (default True).
    """

    #: The context key under which notifiers find this platform's warnings.
    warnings_key: ClassVar[str]
    #: The credentials reported in XCom, as ``<credential>_days_left`` (None where the connection records no date).
    credentials: ClassVar[tuple[str, ...]]
    auth_error: ClassVar[type[AuthError]]
    config_error: ClassVar[type[ConfigError]]

    def __init__(self, *, notifiers: Sequence[Callable[..., Any]] | None = None, fail_on_expired: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        notifiers = list(notifiers or [])
        for notifier in notifiers:
            if not callable(notifier):
                raise self.config_error(f"Argument 'notifiers' must hold BaseNotifiers or callables taking the context, not {notifier!r}.")
        self.notifiers = notifiers
        self.fail_on_expired = fail_on_expired

    @property
    def checked_conn_id(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def expiry_statuses(self) -> tuple[list[ExpiryStatus], int]:  # pragma: no cover - abstract
        """The connection's known expiries and its ``expiry_warning_days``."""
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        statuses, warning_days = self.expiry_statuses()
        due = [status for status in statuses if status.days_left <= warning_days]
        warnings = [status.message() for status in due]
        for warning in warnings:
            self.log.warning("Connection %s: %s", self.checked_conn_id, warning)
        if due:
            # Added to the task's own context (a copy would read every deprecated key on Airflow 2).
            context[self.warnings_key] = warnings  # type: ignore[literal-required]
            context["credential_warnings"] = warnings  # type: ignore[typeddict-unknown-key]
            for notifier in self.notifiers:
                notifier(context)
        else:
            self.log.info("Connection %s: no credential expires within %d days.", self.checked_conn_id, warning_days)
        expired = [status for status in due if status.expired]
        if expired and self.fail_on_expired:
            raise self.auth_error(" ".join(status.message() for status in expired), operation="credentials check")
        return {
            **{f"{credential}_days_left": _days_left(statuses, credential) for credential in self.credentials},
            "warnings": warnings,
        }


def _days_left(statuses: list[ExpiryStatus], credential: str) -> int | None:
    return next((status.days_left for status in statuses if status.credential == credential), None)


class SpApiCredentialsCheckOperator(CredentialsCheckOperator):
    """Check when the connection's refresh token and client secret expire; warn, notify, or fail.

    XCom gets ``{"refresh_token_days_left": int | None, "client_secret_days_left": int | None,
    "warnings": [...]}`` (None where the connection records no date, or for a private app's refresh
    token, which never expires).

    :param spapi_conn_id: the ``spapi`` connection to check.
    :param notifiers: called with the task context when a warning is due: Airflow ``BaseNotifier``
        instances (Slack, SMTP, …) or any callable taking the context. The warnings are in the
        context under ``spapi_credential_warnings``.
    :param fail_on_expired: fail the task once a credential has expired (default True).
    """

    template_fields: Sequence[str] = ("spapi_conn_id",)
    ui_color = "#ff9900"
    warnings_key = "spapi_credential_warnings"
    credentials = ("refresh_token", "client_secret")
    auth_error = SpApiAuthError
    config_error = SpApiConfigError

    def __init__(
        self,
        *,
        spapi_conn_id: str = SpApiHook.default_conn_name,
        notifiers: Sequence[Callable[..., Any]] | None = None,
        fail_on_expired: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(notifiers=notifiers, fail_on_expired=fail_on_expired, **kwargs)
        self.spapi_conn_id = spapi_conn_id

    @property
    def checked_conn_id(self) -> str:
        return self.spapi_conn_id

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def expiry_statuses(self) -> tuple[list[ExpiryStatus], int]:
        return self.hook.credential_expiries(), self.hook.settings.expiry_warning_days


class SpApiRotateClientSecretOperator(BaseOperator):
    """Ask Amazon to rotate the app's LWA client secret (``rotateApplicationClientSecret``, grantless).

    Amazon answers 204 and sends the new secret to the SQS destination subscribed to
    ``APPLICATION_OAUTH_CLIENT_NEW_SECRET``; the old secret keeps working for 7 days. Store the new
    one with ``python -m airflow_provider_spapi.credentials store-secret`` (README). The call
    cannot be made from a sandbox application.

    :param spapi_conn_id: the ``spapi`` connection whose client id is rotated (no refresh token needed).
    """

    template_fields: Sequence[str] = ("spapi_conn_id",)
    ui_color = "#ff9900"

    def __init__(self, *, spapi_conn_id: str = SpApiHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spapi_conn_id = spapi_conn_id

    def execute(self, context: Context) -> None:
        hook = SpApiHook(self.spapi_conn_id)
        # Not idempotent: an answer lost after Amazon rotated fails the task without retries (a retry would rotate again).
        with failing_fast():
            hook.request("POST", ROTATION_PATH)
        self.log.info(
            "Amazon accepted the rotation of the LWA client secret of connection %s. The new secret arrives in the "
            "APPLICATION_OAUTH_CLIENT_NEW_SECRET notification; the old one keeps working for 7 days.",
            self.spapi_conn_id,
        )
