"""The one place that knows where Airflow keeps things, so the rest of the package runs on 2.11 and 3.0 to 3.3.

Airflow moved its authoring interface into the Task SDK (``airflow.sdk``) over several minors:
3.0 has no ``airflow.sdk.BaseHook``, 3.1 no ``airflow.sdk.conf``, 2.11 no ``airflow.sdk`` at all.
Airflow's own ``apache-airflow-providers-common-compat`` (a dependency of Airflow on every supported
version) keeps that map: ``airflow.providers.common.compat.sdk`` tries the newest home of each name
first and falls back to the older ones. So this module asks it, instead of branching on versions
itself; what it does not cover (the triggerer's classes, which never moved) is imported directly.
Everything else in this package imports Airflow from here.
"""

from __future__ import annotations

from airflow import __version__ as AIRFLOW_VERSION
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    BaseHook,
    BaseNotifier,
    BaseOperator,
    BaseSensorOperator,
    Connection,
    Context,
    ObjectStoragePath,
    PokeReturnValue,
    conf,
    mask_secret,
)

# Triggers run in the triggerer, which is part of Airflow core on every version.
from airflow.triggers.base import BaseTrigger, TriggerEvent

AIRFLOW_V_3 = int(AIRFLOW_VERSION.split(".")[0]) >= 3

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3",
    "AirflowException",
    "AirflowFailException",
    "AirflowSkipException",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
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
