"""What Airflow's providers manager reads about this package, and one table of form fields per connection type.

Airflow 3.2+ renders the connection form from ``conn-fields`` and ``ui-field-behaviour`` here,
without importing the hook; Airflow 2.x asks the hook's ``get_connection_form_widgets()`` and
``get_ui_field_behaviour()``, which build the same form from the same :class:`ConnectionForm`
(:data:`SPAPI_FORM`, :data:`TIKTOK_SHOP_FORM`) through :mod:`airflow_provider_spapi.hooks.form`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_spapi import __version__
from airflow_provider_spapi.spapi import catalog
from airflow_provider_spapi.tiktok import catalog as tiktok_catalog

CONN_TYPE = "spapi"
HOOK_NAME = "Amazon Selling Partner API"
HOOK_CLASS = "airflow_provider_spapi.hooks.spapi.SpApiHook"

TIKTOK_SHOP_CONN_TYPE = "tiktok_shop"
TIKTOK_SHOP_HOOK_NAME = "TikTok Shop"
TIKTOK_SHOP_HOOK_CLASS = "airflow_provider_spapi.hooks.tiktok_shop.TikTokShopHook"


@dataclass(frozen=True)
class FormField:
    """One extra field of a connection form."""

    name: str
    label: str
    description: str
    type: str = "string"
    format: str | None = None
    enum: tuple[str, ...] = ()
    default: Any = None
    minimum: int | None = None

    @property
    def sensitive(self) -> bool:
        return self.format == "password"

    def conn_field(self) -> dict[str, Any]:
        """This field in the provider info's ``conn-fields`` JSON-schema form."""
        schema: dict[str, Any] = {"type": [self.type, "null"]}
        if self.format:
            schema["format"] = self.format
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.default is not None:
            schema["default"] = self.default
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return {"label": self.label, "description": self.description, "schema": schema}


CONNECTION_FIELDS: tuple[FormField, ...] = (
    FormField(
        "refresh_token",
        "Refresh token",
        "The seller's LWA refresh token (Atzr|…). Leave empty for a grantless-only connection.",
        format="password",
    ),
    FormField("region", "Region", "SP-API region: na (North America), eu (Europe), fe (Far East).", enum=("na", "eu", "fe"), default="na"),
    FormField("sandbox", "Sandbox", "Call Amazon's sandbox hosts instead of production.", type="boolean", default=False),
    FormField(
        "endpoint",
        "SP-API endpoint override",
        "Base URL replacing the region's host, e.g. a proxy or the bundled emulator (http://127.0.0.1:8765).",
    ),
    FormField("lwa_endpoint", "LWA token URL", "Login with Amazon token endpoint.", default=catalog.lwa_endpoint()),
    FormField(
        "marketplace_ids",
        "Default marketplace IDs",
        "Comma-separated marketplace ids used when an operator names none, e.g. ATVPDKIKX0DER.",
    ),
    FormField(
        "app_type",
        "App type",
        "public: Appstore app, refresh tokens expire 365 days after authorisation. private: self-authorised, they never expire.",
        enum=("public", "private"),
        default="public",
    ),
    FormField(
        "refresh_token_issued_at",
        "Refresh token issued at",
        "Date the seller authorised the app (ISO, e.g. 2026-03-31); starts the 365-day clock.",
        format="date",
    ),
    FormField(
        "client_secret_expires_at",
        "Client secret expires at",
        "Date the LWA client secret expires (ISO); secrets last 180 days.",
        format="date",
    ),
    FormField(
        "expiry_warning_days",
        "Expiry warning days",
        "Warn this many days before a credential expires.",
        type="integer",
        default=30,
        minimum=0,
    ),
    FormField(
        "rate_limit_store",
        "Rate-limit store",
        "Optional redis://host:6379/0 URL: usage-plan buckets shared by every worker of these credentials (no token is stored there).",
    ),
)

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "port", "schema"],
    "relabeling": {"login": "LWA client ID", "password": "LWA client secret"},
    "placeholders": {
        "login": "amzn1.application-oa2-client.…",
        "password": "amzn1.oa2-cs.v1.…",
        "refresh_token": "Atzr|…",
        "endpoint": "https://sellingpartnerapi-na.amazon.com",
        "marketplace_ids": "ATVPDKIKX0DER",
    },
}


TIKTOK_SHOP_CONNECTION_FIELDS: tuple[FormField, ...] = (
    FormField(
        "refresh_token",
        "Refresh token",
        "The seller's refresh token from authorising the app; `python -m airflow_provider_spapi.credentials tiktok-authorize` stores it.",
        format="password",
    ),
    FormField(
        "refresh_token_expires_at",
        "Refresh token expires at",
        "When the refresh token dies: ISO datetime or Unix seconds (TikTok returns it with every token).",
    ),
    FormField(
        "access_token",
        "Access token",
        "Optional: an access token still valid from the authorisation, used until it expires.",
        format="password",
    ),
    FormField("access_token_expires_at", "Access token expires at", "When that access token expires: ISO datetime or Unix seconds."),
    FormField(
        "shop_cipher",
        "Shop cipher",
        "The shop to call. Leave empty when the authorisation covers exactly one shop: it is looked up.",
    ),
    FormField(
        "api_endpoint", "API endpoint", "TikTok Shop Open API base URL (or the bundled emulator's).", default=tiktok_catalog.api_endpoint()
    ),
    FormField("auth_endpoint", "Auth endpoint", "TikTok Shop token service base URL.", default=tiktok_catalog.auth_endpoint()),
    FormField(
        "expiry_warning_days",
        "Expiry warning days",
        "Warn this many days before the refresh token expires.",
        type="integer",
        default=30,
        minimum=0,
    ),
)

TIKTOK_SHOP_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "port", "schema"],
    "relabeling": {"login": "App key", "password": "App secret"},
    "placeholders": {"api_endpoint": tiktok_catalog.api_endpoint(), "auth_endpoint": tiktok_catalog.auth_endpoint()},
}


@dataclass(frozen=True)
class ConnectionForm:
    """Everything both UIs need to render one connection type's form."""

    conn_type: str
    hook_name: str
    hook_class: str
    fields: tuple[FormField, ...]
    behaviour: dict[str, Any]

    def connection_type(self) -> dict[str, Any]:
        """This form as an entry of the provider info's ``connection-types``."""
        return {
            "connection-type": self.conn_type,
            "hook-class-name": self.hook_class,
            "hook-name": self.hook_name,
            "conn-fields": {field.name: field.conn_field() for field in self.fields},
            "ui-field-behaviour": self.behaviour,
        }


SPAPI_FORM = ConnectionForm(CONN_TYPE, HOOK_NAME, HOOK_CLASS, CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR)
TIKTOK_SHOP_FORM = ConnectionForm(
    TIKTOK_SHOP_CONN_TYPE, TIKTOK_SHOP_HOOK_NAME, TIKTOK_SHOP_HOOK_CLASS, TIKTOK_SHOP_CONNECTION_FIELDS, TIKTOK_SHOP_UI_FIELD_BEHAVIOUR
)


def provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-spapi",
        "name": HOOK_NAME,
        "description": (
            "Hooks, operators, sensors and triggers for Amazon's Selling Partner API (SP-API) and TikTok Shop, with a local emulator."
        ),
        "versions": [__version__],
        "connection-types": [SPAPI_FORM.connection_type(), TIKTOK_SHOP_FORM.connection_type()],
        "hooks": [
            {"integration-name": HOOK_NAME, "python-modules": ["airflow_provider_spapi.hooks.spapi"]},
            {"integration-name": TIKTOK_SHOP_HOOK_NAME, "python-modules": ["airflow_provider_spapi.hooks.tiktok_shop"]},
        ],
        "operators": [
            {
                "integration-name": HOOK_NAME,
                "python-modules": [
                    "airflow_provider_spapi.operators.spapi",
                    "airflow_provider_spapi.operators.reports",
                    "airflow_provider_spapi.operators.feeds",
                    "airflow_provider_spapi.operators.datakiosk",
                    "airflow_provider_spapi.operators.credentials",
                    "airflow_provider_spapi.operators.scheduled_reports",
                    "airflow_provider_spapi.operators.orders",
                    "airflow_provider_spapi.operators.notifications",
                ],
            },
            {"integration-name": TIKTOK_SHOP_HOOK_NAME, "python-modules": ["airflow_provider_spapi.operators.tiktok_shop"]},
        ],
        "sensors": [{"integration-name": HOOK_NAME, "python-modules": ["airflow_provider_spapi.sensors.reports"]}],
        "triggers": [{"integration-name": HOOK_NAME, "python-modules": ["airflow_provider_spapi.triggers.processing"]}],
        "extra-links": [
            "airflow_provider_spapi.operators.links.SellerCentralReportLink",
            "airflow_provider_spapi.operators.links.SellerCentralFeedLink",
        ],
        "integrations": [
            {"integration-name": HOOK_NAME, "external-doc-url": "https://developer-docs.amazon.com/sp-api/", "tags": ["service"]},
            {"integration-name": TIKTOK_SHOP_HOOK_NAME, "external-doc-url": "https://partner.tiktokshop.com/docv2", "tags": ["service"]},
        ],
    }
