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
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseHook,
    BaseNotifier,
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    Connection,
    Context,
    ObjectStoragePath,
    PokeReturnValue,
    XCom,
    conf,
)
from airflow.providers.common.compat.sdk import mask_secret as _airflow_mask_secret

# Triggers run in the triggerer, which is part of Airflow core on every version.
from airflow.triggers.base import BaseTrigger, TriggerEvent

AIRFLOW_V_3 = int(AIRFLOW_VERSION.split(".")[0]) >= 3

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
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
    "XCom",
    "conf",
    "mask_secret",
]


# -- safe writes: failing without retries, task state between tries, the secrets maskers -----------
# (an appended block; it keeps to the version split above)

import contextlib  # noqa: E402
import hashlib  # noqa: E402
import importlib  # noqa: E402
from typing import Any  # noqa: E402

#: Airflow 3.3 keeps key/value state per task instance across its tries: ``context["task_state_store"]``.
HAS_TASK_STATE_STORE = tuple(int(part) for part in AIRFLOW_VERSION.split(".")[:2]) >= (3, 3)
#: ... and per asset, for the tasks that have the asset among their outlets: ``context["asset_state_store"]``.
HAS_ASSET_STATE_STORE = HAS_TASK_STATE_STORE

# Where each Airflow version keeps its secrets-masker singletons, newest first. 3.1+ has two that log
# separately (the Task SDK's, which redacts task logs, and core's, used by the triggerer); 3.0 and 2.x one.
_MASKER_MODULES = (
    ("airflow.sdk._shared.secrets_masker", "airflow._shared.secrets_masker"),
    ("airflow.sdk.execution_time.secrets_masker",),
    ("airflow.utils.log.secrets_masker",),
)


def secrets_maskers() -> list[Any]:
    """Every secrets-masker singleton this process logs through, for the first layout of ``_MASKER_MODULES`` present."""
    for modules in _MASKER_MODULES:
        found: list[Any] = []
        for module in modules:
            with contextlib.suppress(ImportError, AttributeError):
                masker = importlib.import_module(module)._secrets_masker()
                if all(masker is not other for other in found):
                    found.append(masker)
        if found:
            return found
    return []


def _supervisor_comms() -> str | None:
    """The class name of this process's Task SDK supervisor channel (Airflow 3), or None outside a task or trigger."""
    if not AIRFLOW_V_3:
        return None
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # pragma: no cover
        return None
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return type(comms).__name__ if comms is not None else None


def supervisor_masks_logs() -> bool:
    """Whether this process's log lines are masked by a separate supervisor that only learns secrets by value.

    Airflow 3 task processes send their logs unmasked to the task supervisor (one per try), which masks
    what ``mask_secret`` told it. The triggerer's trigger runner, Airflow 2 and ``dag.test()`` mask in-process.
    """
    return _supervisor_comms() not in (None, "TriggerCommsDecoder", "InProcessSupervisorComms")


def mask_secret(secret: str, name: str | None = None) -> None:
    """Airflow's ``mask_secret``, except under Airflow 3's ``dag.test()``, where the value goes straight to the maskers.

    There the Task SDK hands ``MaskSecret`` to an in-process supervisor whose comms debug-log every
    request *with its body* (Airflow 3.0 prints those lines), so the secret would be written out by the
    very call meant to hide it. The supervisor is this process, so adding the value to its maskers is
    the same masking without the message.
    """
    maskers = secrets_maskers() if _supervisor_comms() == "InProcessSupervisorComms" else []
    if not maskers:
        _airflow_mask_secret(secret, name)
        return
    for masker in maskers:
        masker.add_mask(secret, name)


from airflow.providers.common.compat.sdk import Variable as _Variable  # noqa: E402


class JobMemory:
    """Where a task keeps the id of the job it created, so that its next try finds it (ids only, never secrets).

    Airflow 3.3+: the task state store, which Airflow keeps per task instance across tries and clears
    with the DAG run. Earlier versions have no such store (XCom of a failed try is cleared on retry),
    so the id goes into an Airflow Variable named after the task instance; the operator deletes it
    once the job is finished with.
    """

    def __init__(self, context: Any, key: str) -> None:
        self._store = context.get("task_state_store") if HAS_TASK_STATE_STORE else None
        self._key = key
        ti = context.get("ti") or context.get("task_instance")
        ids = (ti.dag_id, ti.run_id, ti.task_id, str(getattr(ti, "map_index", -1))) if ti is not None else None
        digest = hashlib.sha256("\x00".join(ids).encode("utf-8")).hexdigest()[:24] if ids else ""
        self._variable = f"spapi_job.{ids[0]}.{ids[2]}.{digest}"[:250] if ids else None

    @property
    def available(self) -> bool:
        return self._store is not None or self._variable is not None

    @property
    def where(self) -> str:
        return "the task state store" if self._store is not None else f"Airflow Variable {self._variable}"

    def get(self) -> str | None:
        if self._store is not None:
            value = self._store.get(self._key)
        elif self._variable is not None:
            value = _Variable.get(self._variable, None)  # the default, positional on 2.x (default_var) and 3.x (default)
        else:
            return None
        return str(value) if value else None

    def set(self, job_id: str) -> None:
        if self._store is not None:
            self._store.set(self._key, job_id)
        elif self._variable is not None:
            _Variable.set(self._variable, job_id, description="Job id kept between tries by airflow-provider-spapi")

    def forget(self) -> None:
        if self._store is not None:
            self._store.delete(self._key)
        elif self._variable is not None:
            # A Task SDK before Variable.delete (early 3.0) leaves the id behind: harmless, the job is final.
            with contextlib.suppress(AttributeError, NotImplementedError):
                _Variable.delete(self._variable)


__all__ += ["HAS_TASK_STATE_STORE", "JobMemory", "secrets_maskers", "supervisor_masks_logs"]


def openlineage_classes() -> tuple[Any, Any]:
    """``(Dataset, OperatorLineage)`` of the OpenLineage provider, imported only when it asks for lineage (an optional extra)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    return Dataset, OperatorLineage
