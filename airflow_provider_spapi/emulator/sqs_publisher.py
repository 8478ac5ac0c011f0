"""Delivering notifications to a real SQS-compatible queue, as Amazon does for subscribed sellers.

When a seller has a subscription to one of the processing notifications (created through the
emulator's Notifications API), each report, feed or Data Kiosk query it creates is processed in the
background, without being polled, like Amazon's, and the notification is sent to the
subscription's SQS destination once the job is final (DONE, FATAL or CANCELLED):

==========================================  ==============  =============================================
notification type                           after           payload (Amazon's shape and version)
==========================================  ==============  =============================================
``REPORT_PROCESSING_FINISHED``              createReport    ``reportProcessingFinishedNotification``:
                                                            sellerId, accountId, reportId, reportType,
                                                            processingStatus, reportDocumentId (2020-09-04)
``FEED_PROCESSING_FINISHED``                createFeed      ``feedProcessingFinishedNotification``:
                                                            sellerId, accountId, feedId, feedType,
                                                            processingStatus, resultFeedDocumentId
                                                            (2020-09-04)
``DATA_KIOSK_QUERY_PROCESSING_FINISHED``    createQuery     the payload itself: accountId, queryId, query,
                                                            processingStatus, dataDocumentId,
                                                            errorDocumentId, pagination (2023-11-15)
==========================================  ==============  =============================================

Document ids and ``pagination`` appear only when the job has them, as in getReport/getFeed/getQuery,
whose rendering they are taken from. A job of a seller without the subscription advances only as
it is polled, as before. Delivery is ``SendMessage`` over the SQS query API with the standard
library, to ``<sqs_endpoint>/<account>/<queue name>`` taken from the destination's ARN. Point
``sqs_endpoint`` at any SQS-compatible server (``moto_server``, ElasticMQ, LocalStack); without one
the notification is only recorded (``Emulator.notifications()``). The body is Amazon's notification
JSON. Requests are not signed: local SQS servers accept them (see :func:`local_sqs_headers`); AWS
would not.

Set it with ``emulator.state.sqs_publisher.sqs_endpoint = "http://127.0.0.1:5000"``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_spapi.emulator.call import Call, Handler
from airflow_provider_spapi.emulator.datakiosk import DataKioskApi
from airflow_provider_spapi.emulator.feeds import FeedsApi
from airflow_provider_spapi.emulator.jobs import Job, JobBook
from airflow_provider_spapi.emulator.notifications import NotificationsApi
from airflow_provider_spapi.emulator.reports import ReportsApi
from airflow_provider_spapi.emulator.responses import Response
from airflow_provider_spapi.emulator.seed import APPLICATION_ID
from airflow_provider_spapi.emulator.timefmt import iso_z, utcnow

REPORT_FINISHED = "REPORT_PROCESSING_FINISHED"
FEED_FINISHED = "FEED_PROCESSING_FINISHED"
QUERY_FINISHED = "DATA_KIOSK_QUERY_PROCESSING_FINISHED"
#: Seconds a subscribed seller's report, feed or query takes to process in the background.
PROCESSING_SECONDS = 0.2


class JobsApi(Protocol):
    """What the Reports, Feeds and Data Kiosk APIs share: their jobs, their rendering, and producing a final job's documents."""

    book: JobBook[Job]

    def handlers(self) -> dict[str, Handler]: ...

    def render(self, job: Job) -> dict[str, Any]: ...

    def _finish(self, job: Job) -> None: ...


@dataclass(frozen=True)
class Processing:
    """One processing notification: the operation it follows, and which fields of the job's rendering it carries, where."""

    notification_type: str
    create_operation: str  # the handler key of the create call it follows
    id_field: str  # the job id's name in the create call's answer
    what: str  # the job's name in a 404
    version: str  # notificationVersion and payloadVersion
    fields: tuple[str, ...]  # taken from the API's rendering of the job, when present
    wrapper: str | None  # the payload's one key; None: the fields are the payload itself
    names_seller: bool  # sellerId beside accountId


PROCESSINGS = (
    Processing(
        REPORT_FINISHED,
        "reports_2021-06-30.createReport",
        "reportId",
        "Report",
        "2020-09-04",
        ("reportId", "reportType", "processingStatus", "reportDocumentId"),
        "reportProcessingFinishedNotification",
        names_seller=True,
    ),
    Processing(
        FEED_FINISHED,
        "feeds_2021-06-30.createFeed",
        "feedId",
        "Feed",
        "2020-09-04",
        ("feedId", "feedType", "processingStatus", "resultFeedDocumentId"),
        "feedProcessingFinishedNotification",
        names_seller=True,
    ),
    Processing(
        QUERY_FINISHED,
        "dataKiosk_2023-11-15.createQuery",
        "queryId",
        "Query",
        "2023-11-15",
        ("queryId", "query", "processingStatus", "dataDocumentId", "errorDocumentId", "pagination"),
        None,
        names_seller=False,
    ),
)


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


def account_id(seller: str) -> str:
    """The merchant account id Amazon's notifications name a seller by (``accountId``)."""
    return f"amzn1.merchant.o.{seller}"


def processing_notification(processing: Processing, rendered: dict[str, Any], seller: str) -> dict[str, Any]:
    """Amazon's notification of a final job, from the job as its get operation renders it."""
    names: dict[str, Any] = {"sellerId": seller} if processing.names_seller else {}
    finished = {**names, "accountId": account_id(seller), **{key: rendered[key] for key in processing.fields if key in rendered}}
    return {
        "notificationVersion": processing.version,
        "notificationType": processing.notification_type,
        "payloadVersion": processing.version,
        "eventTime": iso_z(utcnow()),
        "payload": {processing.wrapper: finished} if processing.wrapper else finished,
        "notificationMetadata": {
            "applicationId": APPLICATION_ID,
            "subscriptionId": "",
            "publishTime": iso_z(utcnow()),
            "notificationId": str(uuid.uuid4()),
        },
    }


class SqsPublisher:
    """Processes subscribed sellers' reports, feeds and queries in the background and sends their notifications to SQS."""

    def __init__(self, reports: ReportsApi, feeds: FeedsApi, data_kiosk: DataKioskApi, notifications: NotificationsApi) -> None:
        apis: dict[str, JobsApi] = {REPORT_FINISHED: reports, FEED_FINISHED: feeds, QUERY_FINISHED: data_kiosk}
        self.kinds = tuple((processing, apis[processing.notification_type]) for processing in PROCESSINGS)
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

    def _process(self, processing: Processing, api: JobsApi, client_id: str, seller: str, job_id: str) -> None:
        """Finish the job unless polling or a cancel already made it final, then notify (once, whichever made it final)."""
        time.sleep(PROCESSING_SECONDS)
        job = api.book.get(job_id, seller, processing.what)
        with api.book.lock:
            if job.poll(0):  # zero polls before final: this one finishes it
                api._finish(job)
            rendered = api.render(job)
        self.publish(client_id, seller, processing_notification(processing, rendered, seller))

    def _after_create(self, processing: Processing, api: JobsApi, create: Handler) -> Handler:
        def create_then_process(call: Call) -> Response:
            response = create(call)
            client_id, seller = call.grant.client_id, call.seller
            if response.status == 202 and self._destinations(client_id, seller, processing.notification_type):
                job_id = json.loads(response.body)[processing.id_field]
                threading.Thread(target=self._process, args=(processing, api, client_id, seller, job_id), daemon=True).start()
            return response

        return create_then_process

    def handlers(self) -> dict[str, Handler]:
        """createReport, createFeed and createQuery, each followed by background processing when the seller is subscribed.

        Registered after the APIs' own handlers, which these wrap.
        """
        handlers: dict[str, Handler] = {}
        for processing, api in self.kinds:
            handlers[processing.create_operation] = self._after_create(processing, api, api.handlers()[processing.create_operation])
        return handlers
