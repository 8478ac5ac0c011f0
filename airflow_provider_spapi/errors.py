"""Errors raised by the SP-API provider.

Every error carries what a person needs to act (HTTP status, Amazon's error code and message, the
request id to quote to Amazon support, the operation) and never a token or secret: messages are
built from Amazon's error bodies and our own text, never from request headers or form fields.

``SpApiError`` is an ``AirflowException`` when Airflow is installed, so a task fails with it like
with any Airflow error; without Airflow (the core, the emulator's users) it is a plain exception.
This module is the only place where the Airflow-free core meets Airflow.
"""

from __future__ import annotations

try:  # pragma: no cover - which branch runs depends on the environment
    from airflow.exceptions import AirflowException as _BaseError
except ImportError:  # pragma: no cover - the core without Airflow
    _BaseError = Exception  # type: ignore[assignment,misc]


class SpApiError(_BaseError):
    """An SP-API or LWA call that failed and could not be absorbed by retries."""

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

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keep the keyword fields when the error crosses a process boundary (triggerer, executors).
        return (_rebuild, (type(self), self.message, self.status, self.code, self.request_id, self.operation))


def _rebuild(
    cls: type[SpApiError], message: str, status: int | None, code: str | None, request_id: str | None, operation: str | None
) -> SpApiError:
    return cls(message, status=status, code=code, request_id=request_id, operation=operation)


class SpApiConfigError(SpApiError, ValueError):
    """A connection field or argument is wrong; raised before any request is sent. The message names the field and the fix."""


class SpApiAuthError(SpApiError):
    """LWA refused the credentials, or SP-API refused the token. The message says how to fix it."""


class SpApiThrottledError(SpApiError):
    """Amazon kept answering 429 QuotaExceeded after every retry the policy allows."""


class SpApiClientError(SpApiError):
    """A 4xx other than throttling or authentication: the request itself is wrong and retrying will not help."""


class SpApiServerError(SpApiError):
    """Amazon (or the network) kept failing with 5xx, resets or timeouts after every retry the policy allows."""


class SpApiProcessingError(SpApiError):
    """A report or feed that Amazon finished as FATAL (or CANCELLED, where that is configured to fail)."""
