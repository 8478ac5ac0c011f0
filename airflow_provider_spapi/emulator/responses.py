"""Requests and answers as the handlers see them, and the three error dialects the emulator speaks.

* SP-API: ``{"errors": [{"code", "message", "details"}]}`` with ``x-amzn-RequestId`` and
  ``x-amzn-ErrorType`` headers (:class:`ApiError`, :func:`sp_api_error`).
* Login with Amazon: ``{"error", "error_description"}`` (:func:`lwa_error`).
* S3 (document URLs): an XML ``<Error>`` document (:func:`s3_error`).

Handlers return a :class:`Response` or raise :class:`ApiError`; the transport in :mod:`.server`
writes it, streaming ``stream`` when the body is too large to build in memory.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

JSON_TYPE = "application/json"

#: Amazon's ``x-amzn-ErrorType`` per status, and the code and message of an error body for a bare status.
_ERROR_TYPES = {
    400: "InvalidInputException",
    403: "AccessDeniedException",
    404: "NotFoundException",
    409: "ConflictException",
    413: "RequestEntityTooLargeException",
    415: "UnsupportedMediaTypeException",
    429: "QuotaExceededException",
    500: "InternalFailure",
    503: "ServiceUnavailableException",
}
STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("InvalidInput", "Invalid Input"),
    401: ("Unauthorized", "Access to requested resource is denied."),
    403: ("Unauthorized", "Access to requested resource is denied."),
    404: ("NotFound", "Resource not found."),
    408: ("RequestTimeout", "The request timed out."),
    409: ("Conflict", "The resource is in a conflicting state."),
    413: ("RequestTooLarge", "The request size exceeded the maximum accepted size."),
    415: ("UnsupportedMediaType", "The request payload is in an unsupported format."),
    429: ("QuotaExceeded", "You exceeded your quota for the requested resource."),
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service temporarily unavailable. Please try again."),
}


@dataclass
class Request:
    """One HTTP request, already read off the socket."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    base_url: str  # scheme://host:port as the client addressed the server
    query: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.query = parse_qs(self.query_string, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def csv_param(self, name: str) -> list[str] | None:
        """A Swagger ``csv`` array parameter (``A,B``; repeated parameters are accepted too)."""
        values = self.query.get(name)
        if not values:
            return None
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body as JSON; an empty or malformed body is a 400 ``InvalidInput``."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ApiError(400, "InvalidInput", "The request body is not valid JSON.") from None


@dataclass
class Response:
    """An answer. ``stream`` (with ``length``) replaces ``body`` for large documents."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Callable[[], Iterable[bytes]] | None = None
    length: int | None = None
    truncate_after: int | None = None  # a ``truncate`` fault: close after this many body bytes
    reset: bool = False  # a ``reset`` fault: close the connection without answering

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})

    @classmethod
    def empty(cls, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, b"", dict(headers or {}))


class ApiError(Exception):
    """An SP-API error answer raised from anywhere in a handler."""

    def __init__(self, status: int, code: str | None = None, message: str | None = None, details: str = "") -> None:
        default_code, default_message = STATUS_ERRORS.get(status, ("InternalFailure", "Error."))
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.details = details
        super().__init__(f"{self.status} {self.code}: {self.message}")


def new_request_id() -> str:
    return str(uuid.uuid4())


def sp_api_error(error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    body = {"errors": [{"code": error.code, "message": error.message, "details": error.details}]}
    error_type = _ERROR_TYPES.get(error.status, "InternalFailure" if error.status >= 500 else "InvalidInputException")
    return Response.json(error.status, body, {"x-amzn-ErrorType": error_type, **(headers or {})})


def lwa_error(status: int, error: str, description: str) -> Response:
    return Response.json(status, {"error": error, "error_description": description}, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def s3_error(status: int, code: str, message: str, extra: Mapping[str, str] | None = None) -> Response:
    """S3's XML error document, as a pre-signed URL answers when it has expired or does not match."""
    request_id = uuid.uuid4().hex[:16].upper()
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in {**(extra or {}), "RequestId": request_id}.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}</Error>'
    return Response(status, body.encode(), {"Content-Type": "application/xml", "x-amz-request-id": request_id})
