"""The errors users catch: ``SpApiError`` for Amazon, ``TikTokShopError`` for TikTok Shop.

Both trees grow from the platform-neutral bases of :mod:`airflow_provider_spapi.core.errors`, so
``except ThrottledError`` catches either platform's throttling and ``except SpApiError`` only
Amazon's. Every class is an ``AirflowException`` when Airflow is installed. No message carries a
token or secret.
"""

from __future__ import annotations

from airflow_provider_spapi.core.errors import (
    ApiError,
    AuthError,
    ClientError,
    ConfigError,
    ErrorFamily,
    ProcessingError,
    ServerError,
    ThrottledError,
)

__all__ = [
    "SPAPI_ERRORS",
    "TIKTOK_SHOP_ERRORS",
    "ApiError",
    "SpApiAuthError",
    "SpApiClientError",
    "SpApiConfigError",
    "SpApiError",
    "SpApiProcessingError",
    "SpApiServerError",
    "SpApiThrottledError",
    "TikTokShopAuthError",
    "TikTokShopClientError",
    "TikTokShopConfigError",
    "TikTokShopError",
    "TikTokShopProcessingError",
    "TikTokShopServerError",
    "TikTokShopThrottledError",
]


class SpApiError(ApiError):
    """An SP-API or LWA call that failed and could not be absorbed by retries."""


class SpApiConfigError(SpApiError, ConfigError):
    """A connection field or argument is wrong; raised before any request is sent. The message names the field and the fix."""


class SpApiAuthError(SpApiError, AuthError):
    """LWA refused the credentials, or SP-API refused the token. The message says how to fix it."""


class SpApiThrottledError(SpApiError, ThrottledError):
    """Amazon kept answering 429 QuotaExceeded after every retry the policy allows."""


class SpApiClientError(SpApiError, ClientError):
    """A 4xx other than throttling or authentication: the request itself is wrong and retrying will not help."""


class SpApiServerError(SpApiError, ServerError):
    """Amazon (or the network) kept failing with 5xx, resets or timeouts after every retry the policy allows."""


class SpApiProcessingError(SpApiError, ProcessingError):
    """A report or feed that Amazon finished as FATAL (or CANCELLED, where that is configured to fail)."""


SPAPI_ERRORS = ErrorFamily(
    platform="SP-API",
    base=SpApiError,
    config=SpApiConfigError,
    auth=SpApiAuthError,
    throttled=SpApiThrottledError,
    client=SpApiClientError,
    server=SpApiServerError,
    processing=SpApiProcessingError,
    throttled_code="QuotaExceeded",
)


class TikTokShopError(ApiError):
    """A TikTok Shop call that failed and could not be absorbed by retries; ``code`` is TikTok's numeric code as text."""


class TikTokShopConfigError(TikTokShopError, ConfigError):
    """A connection field or argument is wrong; raised before any request is sent. The message names the field and the fix."""


class TikTokShopAuthError(TikTokShopError, AuthError):
    """TikTok refused the app credentials, the refresh token or the access token. The message says how to fix it."""


class TikTokShopThrottledError(TikTokShopError, ThrottledError):
    """TikTok kept answering 429 / ``36009002`` after every retry the policy allows."""


class TikTokShopClientError(TikTokShopError, ClientError):
    """A non-zero ``code`` that retrying will not cure: the request itself is wrong."""


class TikTokShopServerError(TikTokShopError, ServerError):
    """TikTok (or the network) kept failing with 5xx, resets or timeouts after every retry the policy allows."""


class TikTokShopProcessingError(TikTokShopError, ProcessingError):
    """An asynchronous TikTok job that finished as failed."""


TIKTOK_SHOP_ERRORS = ErrorFamily(
    platform="TikTok Shop",
    base=TikTokShopError,
    config=TikTokShopConfigError,
    auth=TikTokShopAuthError,
    throttled=TikTokShopThrottledError,
    client=TikTokShopClientError,
    server=TikTokShopServerError,
    processing=TikTokShopProcessingError,
    throttled_code="36009002",
)
