"""Operators that set up SP-API notifications to an SQS queue: the destination (once per app) and each seller's subscriptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from airflow_provider_spapi._compat import BaseOperator, Context
from airflow_provider_spapi.hooks.spapi import SpApiHook
from airflow_provider_spapi.spapi import notifications


class SpApiCreateDestinationOperator(BaseOperator):
    """Make ``sqs_arn`` an SP-API notifications destination (grantless ``createDestination``); returns its ``destinationId``.

    Idempotent: an existing destination for the same queue is returned, so the setup DAG can run
    again. The connection needs no refresh token (the call is grantless, scope
    ``sellingpartnerapi::notifications``). The queue's access policy must allow Amazon's
    notifications principal (account ``437568002678``) to ``sqs:SendMessage``.

    :param sqs_arn: the queue, e.g. ``arn:aws:sqs:us-east-1:123456789012:spapi-notifications`` (templated).
    :param name: the destination's name (templated).
    """

    template_fields: Sequence[str] = ("sqs_arn", "name")
    ui_color = "#ff9900"

    def __init__(
        self, *, sqs_arn: str, name: str = "spapi-notifications", spapi_conn_id: str = SpApiHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sqs_arn = sqs_arn
        self.name = name
        self.spapi_conn_id = spapi_conn_id

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def execute(self, context: Context) -> str:
        destination = notifications.create_sqs_destination(self.hook.client, self.name, self.sqs_arn)
        self.log.info("Notifications destination %s delivers to %s", destination.get("destinationId"), self.sqs_arn)
        return str(destination["destinationId"])


class SpApiSubscribeOperator(BaseOperator):
    """Subscribe the connection's seller to ``notification_type`` on ``destination_id``; returns the ``subscriptionId``.

    Idempotent: an existing subscription of the seller to the type on the same destination is
    returned. Run it once per seller connection (``.expand(spapi_conn_id=[...])``) and type.

    :param notification_type: e.g. ``REPORT_PROCESSING_FINISHED``, ``ORDER_CHANGE`` (templated).
    :param destination_id: from :class:`SpApiCreateDestinationOperator` (templated, e.g. an XComArg).
    :param payload_version: the notification's payload version (``1.0`` for most types).
    :param processing_directive: e.g. ``{"eventFilter": {...}}`` for types that accept filters.
    """

    template_fields: Sequence[str] = ("notification_type", "destination_id")
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        notification_type: str,
        destination_id: str,
        payload_version: str = "1.0",
        processing_directive: Mapping[str, Any] | None = None,
        spapi_conn_id: str = SpApiHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.notification_type = notification_type
        self.destination_id = destination_id
        self.payload_version = payload_version
        self.processing_directive = processing_directive
        self.spapi_conn_id = spapi_conn_id

    @cached_property
    def hook(self) -> SpApiHook:
        return SpApiHook(self.spapi_conn_id)

    def execute(self, context: Context) -> str:
        subscription = notifications.subscribe(
            self.hook.client,
            self.notification_type,
            str(self.destination_id),
            payload_version=self.payload_version,
            processing_directive=self.processing_directive,
        )
        self.log.info("Subscribed to %s: subscription %s", self.notification_type, subscription.get("subscriptionId"))
        return str(subscription["subscriptionId"])
