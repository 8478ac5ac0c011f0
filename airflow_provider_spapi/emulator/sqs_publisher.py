"""Delivering notifications to a real SQS-compatible queue, as Amazon does for subscribed sellers.

When a seller has a subscription to ``REPORT_PROCESSING_FINISHED`` (created through the emulator's
Notifications API), a report it creates is processed in the background, without being polled,
like Amazon's, and the notification is sent to the subscription's SQS destination once the report
is final: ``SendMessage`` over the SQS query API with the standard library, to
``<sqs_endpoint>/<account>/<queue name>`` taken from the destination's ARN. Point ``sqs_endpoint``
at any SQS-compatible server (``moto_server``, ElasticMQ, LocalStack); without one the notification
is only recorded (``Emulator.notifications()``). The body is Amazon's notification JSON. Requests
are not signed: local SQS servers accept them (see :func:`local_sqs_headers`); AWS would not.

Set it with ``emulator.state.sqs_publisher.sqs_endpoint = "http://127.0.0.1:5000"``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.jobs import Job
from airflow_provider_spapi.emulator.notifications import NotificationsApi
from airflow_provider_spapi.emulator.reports import ReportsApi
from airflow_provider_spapi.emulator.responses import Response
from airflow_provider_spapi.emulator.seed import APPLICATION_ID
from airflow_provider_spapi.emulator.timefmt import iso_z, utcnow

REPORT_FINISHED = "REPORT_PROCESSING_FINISHED"
#: Seconds a subscribed seller's report takes to process in the background.
PROCESSING_SECONDS = 0.2


def queue_url(endpoint: str, arn: str) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>`` on ``endpoint`` (the path-style URL SQS servers accept)."""
    _, _, _, _, account, name = arn.split(":", 5)
    return f"{endpoint.rstrip('/')}/{account}/{name}"


def local_sqs_headers(region: str = "us-east-1") -> dict[str, str]:
    """Headers a local SQS server routes by: an (unsigned) SigV4 Authorization naming the ``sqs`` service.

    Local servers (moto_server, ElasticMQ, LocalStack) do not check signatures but, serving several
    services on one port, read the service name from the credential scope.
    """
    scope = f"emulator/{time.strftime('%Y%m%d', time.gmtime())}/{region}/sqs/aws4_request"
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=unsigned",
    }


def send_message(url: str, body: str, timeout: float = 5.0) -> str:
    """SQS ``SendMessage`` (query API, form-encoded POST); returns the response text (holds the MessageId)."""
    data = urllib.parse.urlencode({"Action": "SendMessage", "MessageBody": body, "Version": "2012-11-05"}).encode()
    request = urllib.request.Request(url, data=data, headers=local_sqs_headers(), method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


def report_notification(job: Job, seller: str) -> dict[str, Any]:
    """Amazon's REPORT_PROCESSING_FINISHED notification (payload version 2020-09-04) for a final report."""
    finished: dict[str, Any] = {
        "sellerId": seller,
        "reportId": job.job_id,
        "reportType": job.job_type,
        "processingStatus": job.status,
    }
    if job.document_id:
        finished["reportDocumentId"] = job.document_id
    return {
        "notificationVersion": "2020-09-04",
        "notificationType": REPORT_FINISHED,
        "payloadVersion": "2020-09-04",
        "eventTime": iso_z(utcnow()),
        "payload": {"reportProcessingFinishedNotification": finished},
        "notificationMetadata": {
            "applicationId": APPLICATION_ID,
            "subscriptionId": "",
            "publishTime": iso_z(utcnow()),
            "notificationId": str(uuid.uuid4()),
        },
    }


class SqsPublisher:
    """Processes subscribed sellers' reports in the background and sends their notifications to SQS."""

    def __init__(self, reports: ReportsApi, notifications: NotificationsApi) -> None:
        self.reports = reports
        self.notifications = notifications
        self.sqs_endpoint: str | None = None
        self.delivered: list[dict[str, Any]] = []  # {"queue_url", "notification"} of every SendMessage that succeeded
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def _destinations(self, client_id: str, seller: str, notification_type: str) -> list[str]:
        """The SQS ARNs the client's subscription of ``seller`` to ``notification_type`` delivers to."""
        with self.notifications._lock:
            subscription = self.notifications.subscriptions.get((client_id, seller, notification_type))
            if subscription is None:
                return []
            destination = self.notifications.destinations.get(client_id, {}).get(subscription["destinationId"], {})
        arn = (destination.get("resource") or {}).get("sqs", {}).get("arn")
        return [arn] if arn else []

    def publish(self, client_id: str, seller: str, notification: dict[str, Any]) -> None:
        """Record the notification and send it to each SQS destination subscribed to its type."""
        arns = self._destinations(client_id, seller, str(notification["notificationType"]))
        with self.notifications._lock:
            self.notifications.sent.append(notification)
        for arn in arns:
            if not self.sqs_endpoint:
                continue
            url = queue_url(self.sqs_endpoint, arn)
            try:
                send_message(url, json.dumps(notification))
            except OSError as exc:
                with self._lock:
                    self.errors.append(f"SendMessage to {url} failed: {exc}")
                continue
            with self._lock:
                self.delivered.append({"queue_url": url, "notification": notification})

    def _process(self, client_id: str, seller: str, report_id: str) -> None:
        time.sleep(PROCESSING_SECONDS)
        job = self.reports.book.get(report_id, seller, "Report")
        with self.reports.book.lock:
            if job.poll(0):  # zero polls before final: this one finishes it
                self.reports._finish(job)
        self.publish(client_id, seller, report_notification(job, seller))

    def handlers(self) -> dict[str, Handler]:
        """createReport, followed by background processing when the seller is subscribed (registered after the Reports API)."""
        create = self.reports.handlers()["reports_2021-06-30.createReport"]

        def create_report(call: Call) -> Response:
            response = create(call)
            client_id, seller = call.grant.client_id, call.seller
            if self._destinations(client_id, seller, REPORT_FINISHED) and response.status == 202:
                report_id = json.loads(response.body)["reportId"]
                threading.Thread(target=self._process, args=(client_id, seller, report_id), daemon=True).start()
            return response

        return {"reports_2021-06-30.createReport": create_report}
