"""The error base classes both platforms share, and the family each platform raises through.

Every error carries what a person needs to act (HTTP status, the platform's error code and message,
the request id to quote to support, the operation) and never a token or secret: messages are built
from the platform's error bodies and our own text, never from request headers, forms or URLs.

The classes are ``AirflowException`` subclasses when Airflow is installed, so a task fails with them
like with any Airflow error; without Airflow (the core's own tests, the emulator's users) they are
plain exceptions. This module is the only place where the Airflow-free core meets Airflow.

The core raises through an :class:`ErrorFamily` it is handed (``SPAPI_ERRORS``, ``TIKTOK_SHOP_ERRORS``
in :mod:`airflow_provider_spapi.errors`), so a retry loop exhausted while calling TikTok raises a
``TikTokShopThrottledError`` and one calling Amazon an ``SpApiThrottledError``: one loop, two families.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

try:  # pragma: no cover - which branch runs depends on the environment
    from airflow.exceptions import AirflowException as _BaseError
except ImportError:  # pragma: no cover - the core without Airflow
    _BaseError = Exception  # type: ignore[assignment,misc]


class ApiError(_BaseError):
    """A call that failed and could not be absorbed by retries."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.operation = operation
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        status = f"HTTP {self.status} " if self.status is not None else ""
        code = f"{self.code}: " if self.code else ""
        request_id = f" (request id {self.request_id})" if self.request_id else ""
        return f"{where}{status}{code}{self.message}{request_id}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the keyword fields when the error crosses a process boundary (triggerer, executors).
        return (_rebuild, (type(self), self.message, self.status, self.code, self.request_id, self.operation))


def _rebuild(
    cls: type[ApiError], message: str, status: int | None, code: str | None, request_id: str | None, operation: str | None
) -> ApiError:
    return cls(message, status=status, code=code, request_id=request_id, operation=operation)


class ConfigError(ApiError, ValueError):
    """A connection field or argument is wrong; raised before any request is sent. The message names the field and the fix."""


class AuthError(ApiError):
    """The platform refused the credentials or the token. The message says how to fix it."""


class ThrottledError(ApiError):
    """The platform kept answering 429 after every retry the policy allows."""


class ClientError(ApiError):
    """A 4xx other than throttling or authentication: the request itself is wrong and retrying will not help."""


class ServerError(ApiError):
    """The platform (or the network) kept failing with 5xx, resets or timeouts after every retry the policy allows."""


class ProcessingError(ApiError):
    """An asynchronous job that the platform finished as failed."""


@dataclass(frozen=True)
class ErrorFamily:
    """One platform's error classes, handed to the core so that what it raises belongs to the platform called."""

    platform: str
    base: type[ApiError]
    config: type[ConfigError]
    auth: type[AuthError]
    throttled: type[ThrottledError]
    client: type[ClientError]
    server: type[ServerError]
    processing: type[ProcessingError]
    #: The platform's error code for "throttled", reported on the error raised once throttling outlives its retries.
    throttled_code: str | None = None
