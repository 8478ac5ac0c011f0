"""The one place that knows where Airflow keeps things, so the rest of the package runs on 2.11 and 3.x.

Airflow 3 moved the authoring interface to ``airflow.sdk``; Airflow 2.11 has it in the classic
modules. Everything else in this package imports from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow import __version__ as AIRFLOW_VERSION

# The same class on every version (3.x re-exports the Task SDK's), importable without a deprecation warning.
from airflow.exceptions import AirflowException

# Triggers run in the triggerer, which is part of Airflow core on every version.
from airflow.triggers.base import BaseTrigger, TriggerEvent

AIRFLOW_V_3 = int(AIRFLOW_VERSION.split(".")[0]) >= 3

if AIRFLOW_V_3 or TYPE_CHECKING:
    from airflow.sdk import (
        BaseHook,
        BaseNotifier,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        Connection,
        Context,
        ObjectStoragePath,
        PokeReturnValue,
        conf,
    )
    from airflow.sdk.exceptions import AirflowSkipException

    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow 3.0 kept it with the execution-time code
        from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]
else:  # pragma: no cover - exercised by the Airflow 2.11 CI job
    from airflow.configuration import conf
    from airflow.exceptions import AirflowSkipException
    from airflow.hooks.base import BaseHook
    from airflow.io.path import ObjectStoragePath
    from airflow.models import BaseOperator
    from airflow.models.baseoperatorlink import BaseOperatorLink
    from airflow.models.connection import Connection
    from airflow.notifications.basenotifier import BaseNotifier
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue
    from airflow.utils.context import Context
    from airflow.utils.log.secrets_masker import mask_secret

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3",
    "AirflowException",
    "AirflowSkipException",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "Connection",
    "Context",
    "ObjectStoragePath",
    "PokeReturnValue",
    "TriggerEvent",
    "conf",
    "mask_secret",
]
