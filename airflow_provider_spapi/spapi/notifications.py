"""Notifications v1 end to end: an SQS destination, subscriptions to it, and reading what Amazon sends there. No Airflow.

Amazon pushes events instead of being polled: ``REPORT_PROCESSING_FINISHED``,
``FEED_PROCESSING_FINISHED``, ``DATA_KIOSK_QUERY_PROCESSING_FINISHED``, ``ORDER_CHANGE`` and more go
to an SQS queue (or EventBridge) once the application has

1. a *destination*: ``POST /notifications/v1/destinations`` with the queue's ARN, a grantless call
   (scope ``sellingpartnerapi::notifications``) made once per application and queue; the queue's
   access policy must let Amazon's principal ``437568002678`` send to it;
2. a *subscription* per seller and notification type: ``POST /notifications/v1/subscriptions/{type}``
   with the seller's token, naming the destination.

Both are idempotent here: an existing destination for the same ARN, or an existing subscription of
the seller to the type, is returned instead of failing with Amazon's 409 Conflict, so a setup DAG can
run again. :func:`notifications_in` turns the bodies of SQS messages into :class:`Notification`
records, and :func:`finished_reports` picks the DONE reports out of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_spapi.errors import SpApiClientError, SpApiConfigError, SpApiServerError
from airflow_provider_spapi.spapi.client import SpApiClient

DESTINATIONS_PATH = "/notifications/v1/destinations"
SUBSCRIPTIONS_PATH = "/notifications/v1/subscriptions/{notification_type}"
#: The payload object of each processing notification (None: the payload itself, as Data Kiosk's
#: 2023-11-15 payload holds queryId, processingStatus... directly), and the fields naming the job and its document.
PROCESSING_PAYLOADS: dict[str, tuple[str | None, str, str]] = {
    "REPORT_PROCESSING_FINISHED": ("reportProcessingFinishedNotification", "reportId", "reportDocumentId"),
    "FEED_PROCESSING_FINISHED": ("feedProcessingFinishedNotification", "feedId", "resultFeedDocumentId"),
    "DATA_KIOSK_QUERY_PROCESSING_FINISHED": (None, "queryId", "dataDocumentId"),
}


def _sqs_arn(value: Any) -> str:
    parts = value.split(":") if isinstance(value, str) else []
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not all(parts[3:]):
        raise SpApiConfigError(
            f"Argument 'sqs_arn' must be an SQS queue ARN such as arn:aws:sqs:us-east-1:123456789012:spapi-notifications, not {value!r}."
        )
    return str(value)


def _notification_type(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or not value.replace("_", "").isalnum() or not value.isupper():
        raise SpApiConfigError(f"Argument 'notification_type' must be a type such as REPORT_PROCESSING_FINISHED, not {value!r}.")
    return value


def create_sqs_destination(client: SpApiClient, name: str, sqs_arn: str) -> dict[str, Any]:
    """The destination for ``sqs_arn``: the existing one, else a new one (grantless createDestination)."""
    arn = _sqs_arn(sqs_arn)
    if not isinstance(name, str) or not name.strip():
        raise SpApiConfigError("Argument 'name' is empty: give the destination a name, e.g. 'spapi-notifications'.")
    existing = client.request("GET", DESTINATIONS_PATH).get("payload") or []
    for destination in existing:
        if (destination.get("resource") or {}).get("sqs", {}).get("arn") == arn:
            return dict(destination)
    body = {"name": name.strip(), "resourceSpecification": {"sqs": {"arn": arn}}}
    return dict(client.request("POST", DESTINATIONS_PATH, json=body).get("payload") or {})


def subscribe(
    client: SpApiClient,
    notification_type: str,
    destination_id: str,
    *,
    payload_version: str = "1.0",
    processing_directive: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The seller's subscription to ``notification_type``: a new one, or the one that already exists."""
    kind = _notification_type(notification_type)
    if not isinstance(destination_id, str) or not destination_id.strip():
        raise SpApiConfigError("Argument 'destination_id' is empty: pass the destinationId createDestination returned.")
    path = SUBSCRIPTIONS_PATH.format(notification_type=kind)
    body: dict[str, Any] = {"payloadVersion": payload_version, "destinationId": destination_id}
    if processing_directive:
        body["processingDirective"] = dict(processing_directive)
    try:
        return dict(client.request("POST", path, json=body).get("payload") or {})
    except SpApiClientError as error:
        if error.status != 409:
            raise
    current = dict(client.request("GET", path).get("payload") or {})
    if current.get("destinationId") != destination_id:
        raise SpApiClientError(
            f"The seller is already subscribed to {kind} with destination {current.get('destinationId')}, not {destination_id}. "
            "Delete that subscription first (deleteSubscriptionById) to move it.",
            status=409,
            operation="createSubscription",
        )
    return current


@dataclass(frozen=True)
class Notification:
    """One SP-API notification as it arrives in SQS."""

    notification_type: str
    payload: dict[str, Any]
    notification_id: str | None = None
    event_time: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def processing(self) -> dict[str, Any]:
        """The job part of a processing notification (``reportProcessingFinishedNotification``…), else {}."""
        row = PROCESSING_PAYLOADS.get(self.notification_type)
        if row is None:
            return {}
        inner = self.payload.get(row[0]) if row[0] else self.payload
        return dict(inner) if isinstance(inner, dict) else {}

    def job_and_document(self) -> tuple[Any, Any]:
        """The job id and result document id a processing notification names (``reportId``, ``reportDocumentId``…), else Nones."""
        row = PROCESSING_PAYLOADS.get(self.notification_type)
        if row is None:
            return None, None
        job = self.processing()
        return job.get(row[1]), job.get(row[2])


def parse_notification(body: str | bytes | Mapping[str, Any]) -> Notification:
    """An SQS message body (the JSON Amazon sends) as a :class:`Notification`."""
    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else dict(body)
    except ValueError:
        raise SpApiServerError("An SQS message is not JSON, so it is not an SP-API notification.") from None
    kind = data.get("NotificationType") or data.get("notificationType")
    payload = data.get("Payload") or data.get("payload")
    if not isinstance(kind, str) or not isinstance(payload, dict):
        raise SpApiServerError("An SQS message has no NotificationType/Payload, so it is not an SP-API notification.")
    metadata = data.get("NotificationMetadata") or data.get("notificationMetadata") or {}
    return Notification(kind, payload, metadata.get("NotificationId"), data.get("EventTime") or data.get("eventTime"), data)


def notifications_in(bodies: Iterable[str | bytes | Mapping[str, Any]]) -> list[Notification]:
    return [parse_notification(body) for body in bodies]


def sqs_bodies(event_payload: Any) -> list[str]:
    """The message bodies inside an SQS trigger event (``{"message_batch": [{"Body": …}, …]}``, the Amazon provider's shape)."""
    if not isinstance(event_payload, Mapping):
        return []
    batch = event_payload.get("message_batch") or event_payload.get("messages") or []
    return [str(message["Body"]) for message in batch if isinstance(message, Mapping) and "Body" in message]


def asset_event_bodies(extras: Iterable[Any]) -> list[str]:
    """The SQS message bodies behind asset events an ``AssetWatcher`` made: each event's ``extra["payload"]`` is the trigger's event."""
    bodies: list[str] = []
    for extra in extras:
        if isinstance(extra, Mapping):
            bodies.extend(sqs_bodies(extra.get("payload")))
    return bodies


def finished_reports(notifications: Iterable[Notification], report_types: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The DONE reports announced by ``REPORT_PROCESSING_FINISHED`` notifications (optionally of ``report_types``), once each."""
    wanted = set(report_types) if report_types is not None else None
    seen: set[str] = set()
    out = []
    for notification in notifications:
        if notification.notification_type != "REPORT_PROCESSING_FINISHED":
            continue
        job = notification.processing()
        report_id, document_id = notification.job_and_document()
        if job.get("processingStatus") != "DONE" or not report_id or not document_id or report_id in seen:
            continue
        if wanted is not None and job.get("reportType") not in wanted:
            continue
        seen.add(report_id)
        out.append({"report_id": str(report_id), "report_type": job.get("reportType"), "document_id": str(document_id)})
    return out
