"""Notifications v1 and Application Management: destinations, subscriptions, client-secret rotation.

Destinations belong to the application (grantless calls, scope ``sellingpartnerapi::notifications``);
a subscription belongs to the application and one seller: ``createSubscription`` and
``getSubscription`` are called with the seller's token, ``getSubscriptionById`` and
``deleteSubscriptionById`` grantlessly. Every notification the emulator sends is kept and served at
``GET /_emulator/notifications``; the processing notifications of subscribed sellers also go to their
SQS destinations when an SQS endpoint is set (:mod:`.sqs_publisher`). Nothing goes to EventBridge.

``rotateApplicationClientSecret`` (grantless, scope ``sellingpartnerapi::client_credential:rotation``)
answers 204, gives the calling application a new LWA client secret at once (the old one keeps
working seven days) and records the ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` notification that
carries it. Unlike Amazon, the emulator does not insist on a subscription to that notification
first: there is no queue to deliver it to anyway.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.counters import Counters
from airflow_provider_spapi.emulator.lwa import Credentials, rotation_notification
from airflow_provider_spapi.emulator.responses import ApiError, Response
from airflow_provider_spapi.emulator.seed import APPLICATION_ID


class NotificationsApi:
    def __init__(self, credentials: Credentials, counters: Counters) -> None:
        self.credentials = credentials
        self.counters = counters
        self._lock = threading.Lock()
        self.destinations: dict[str, dict[str, dict[str, Any]]] = {}  # client id -> destination id -> destination
        self.subscriptions: dict[tuple[str, str, str], dict[str, Any]] = {}  # (client, seller, type) -> subscription
        self.sent: list[dict[str, Any]] = []

    def clear(self) -> None:
        with self._lock:
            self.destinations.clear()
            self.subscriptions.clear()
            self.sent.clear()

    def notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.sent)

    def handlers(self) -> dict[str, Handler]:
        return {
            "notifications.createDestination": self.create_destination,
            "notifications.getDestinations": self.get_destinations,
            "notifications.getDestination": self.get_destination,
            "notifications.deleteDestination": self.delete_destination,
            "notifications.createSubscription": self.create_subscription,
            "notifications.getSubscription": self.get_subscription,
            "notifications.getSubscriptionById": self.get_subscription_by_id,
            "notifications.deleteSubscriptionById": self.delete_subscription_by_id,
            "application_2023-11-30.rotateApplicationClientSecret": self.rotate_client_secret,
        }

    # Destinations ----------------------------------------------------------------------------

    def create_destination(self, call: Call) -> Response:
        body = call.body()
        name, spec = body.get("name"), body.get("resourceSpecification")
        if not isinstance(name, str) or not name or not isinstance(spec, dict):
            raise ApiError(400, "InvalidInput", "name and resourceSpecification are required.")
        resource: dict[str, Any]
        sqs, bridge = spec.get("sqs"), spec.get("eventBridge")
        if isinstance(sqs, dict) and isinstance(sqs.get("arn"), str) and sqs["arn"].startswith("arn:aws:sqs:"):
            resource = {"sqs": {"arn": sqs["arn"]}}
        elif isinstance(bridge, dict) and bridge.get("region") and bridge.get("accountId"):
            source = f"aws.partner/sellingpartnerapi.amazon/{bridge['accountId']}/{APPLICATION_ID}"
            resource = {"eventBridge": {"name": source, "region": bridge["region"], "accountId": bridge["accountId"]}}
        else:
            raise ApiError(
                400, "InvalidInput", "resourceSpecification needs sqs.arn (an SQS queue ARN) or eventBridge.region and accountId."
            )
        client = call.grant.client_id
        with self._lock:
            mine = self.destinations.setdefault(client, {})
            if any(existing["resource"] == resource for existing in mine.values()):
                raise ApiError(409, "Conflict", "A destination for this resource already exists.")
            destination: dict[str, Any] = {"name": name, "destinationId": str(uuid.uuid4()), "resource": resource}
            mine[str(destination["destinationId"])] = destination
        return Response.json(200, {"payload": destination})

    def get_destinations(self, call: Call) -> Response:
        with self._lock:
            return Response.json(200, {"payload": list(self.destinations.get(call.grant.client_id, {}).values())})

    def _destination(self, client: str, destination_id: str) -> dict[str, Any]:
        destination = self.destinations.get(client, {}).get(destination_id)
        if destination is None:
            raise ApiError(404, "NotFound", f"Destination {destination_id} was not found.")
        return destination

    def get_destination(self, call: Call) -> Response:
        with self._lock:
            return Response.json(200, {"payload": self._destination(call.grant.client_id, call.params["destinationId"])})

    def delete_destination(self, call: Call) -> Response:
        with self._lock:
            self._destination(call.grant.client_id, call.params["destinationId"])
            del self.destinations[call.grant.client_id][call.params["destinationId"]]
        return Response.json(200, {})

    # Subscriptions ---------------------------------------------------------------------------

    def create_subscription(self, call: Call) -> Response:
        body = call.body()
        destination_id, version = body.get("destinationId"), body.get("payloadVersion")
        if not isinstance(destination_id, str) or not isinstance(version, str):
            raise ApiError(400, "InvalidInput", "destinationId and payloadVersion are required.")
        key = (call.grant.client_id, call.seller, call.params["notificationType"])
        with self._lock:
            if destination_id not in self.destinations.get(call.grant.client_id, {}):
                raise ApiError(400, "InvalidInput", f"Destination {destination_id} does not exist.")
            if key in self.subscriptions:
                raise ApiError(409, "Conflict", f"A subscription to {key[2]} already exists for this seller.")
            subscription: dict[str, Any] = {"subscriptionId": str(uuid.uuid4()), "payloadVersion": version, "destinationId": destination_id}
            if isinstance(body.get("processingDirective"), dict):
                subscription["processingDirective"] = body["processingDirective"]
            self.subscriptions[key] = subscription
        return Response.json(200, {"payload": subscription})

    def get_subscription(self, call: Call) -> Response:
        with self._lock:
            subscription = self.subscriptions.get((call.grant.client_id, call.seller, call.params["notificationType"]))
        if subscription is None:
            raise ApiError(404, "NotFound", f"No subscription to {call.params['notificationType']} exists.")
        return Response.json(200, {"payload": subscription})

    def _by_id(self, call: Call) -> tuple[str, str, str]:
        wanted = (call.grant.client_id, call.params["notificationType"], call.params["subscriptionId"])
        for key, subscription in self.subscriptions.items():
            client, _, notification_type = key
            if (client, notification_type, subscription["subscriptionId"]) == wanted:
                return key
        raise ApiError(404, "NotFound", f"Subscription {call.params['subscriptionId']} was not found.")

    def get_subscription_by_id(self, call: Call) -> Response:
        with self._lock:
            return Response.json(200, {"payload": self.subscriptions[self._by_id(call)]})

    def delete_subscription_by_id(self, call: Call) -> Response:
        with self._lock:
            del self.subscriptions[self._by_id(call)]
        return Response.json(200, {})

    # Application Management ------------------------------------------------------------------

    def rotate_client_secret(self, call: Call) -> Response:
        rotation = self.credentials.rotate_secret(call.grant.client_id, time.time())
        with self._lock:
            self.sent.append(rotation_notification(rotation))
        self.counters.add("rotations")
        return Response.empty(204)
