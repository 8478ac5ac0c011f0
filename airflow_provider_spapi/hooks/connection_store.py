"""Where a connection lives, and writing renewed credentials back to it where the deployment allows that.

Credentials that renew themselves (TikTok Shop may answer a refresh with a new refresh token) must be
written back, or the next process starts from a token the platform may no longer accept. Who can
write depends on where the connection comes from:

=====================================  ==========================  =================================
connection comes from                  a task on Airflow 2.11      a task on Airflow 3.x / the CLI
=====================================  ==========================  =================================
metadata database                      yes (ORM session)           task: no (the Task SDK reads
                                                                   connections only); CLI: yes
``AIRFLOW_CONN_*`` environment var     no                          no (``--json-file`` for the CLI)
secrets backend (Vault, AWS SM, …)     no                          no (``--json-file`` for the CLI)
=====================================  ==========================  =================================

Airflow 3 tasks have no database access: the Execution API serves ``GET /connections/{id}`` and
nothing that writes a connection (Variables can be written, connections cannot), and the task
runner disables the ORM. Environment variables and secrets backends are read-only to Airflow.
The first backend that answers for a connection id is the one tasks read, so that is the one
checked: a database row shadowed by an environment variable is not "where the connection lives".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_spapi._compat import AIRFLOW_V_3
from airflow_provider_spapi.core.errors import ConfigError

METADATA_DB = "the metadata database"


@dataclass(frozen=True)
class StoredConnection:
    """The fields of a connection the credentials commands read, and whether the metadata database holds it."""

    login: str | None
    password: str | None = field(repr=False)
    extra: dict[str, Any] = field(repr=False)
    in_database: bool
    conn_type: str | None = None


def source_of(conn_id: str) -> str | None:
    """Which backend answers for ``conn_id`` first (:data:`METADATA_DB`, "an environment variable", "secrets backend X"), None if none.

    Reads the backends the way ``Connection.get_connection_from_secrets`` does; needs the metadata
    database only when the search reaches it (a CLI, a scheduler-side process, or an Airflow 2 task).
    """
    from airflow.configuration import ensure_secrets_loaded
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend
    from airflow.secrets.metastore import MetastoreBackend

    for backend in ensure_secrets_loaded():
        if backend.get_connection(conn_id) is None:
            continue
        if isinstance(backend, MetastoreBackend):
            return METADATA_DB
        if isinstance(backend, EnvironmentVariablesBackend):
            return "an environment variable"
        return f"secrets backend {type(backend).__name__}"
    return None


def task_can_store(conn_id: str) -> tuple[bool, str]:
    """Whether a task of this Airflow may write ``conn_id``, and why not (for the warning) when it may not."""
    if AIRFLOW_V_3:
        return False, "Airflow 3 tasks cannot write connections (the Task SDK reads them only)"
    source = source_of(conn_id)
    if source == METADATA_DB:
        return True, ""
    return False, f"the connection comes from {source or 'no backend'}, which Airflow cannot write"


def read_connection(conn_id: str) -> StoredConnection:
    """The connection from the metadata database (read directly: a CLI is no task), else from env vars or a secrets backend."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    from airflow_provider_spapi._compat import BaseHook

    with create_session() as session:
        stored = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        if stored is not None:
            return StoredConnection(stored.login, stored.password, dict(stored.extra_dejson or {}), True, stored.conn_type)
    found = BaseHook.get_connection(conn_id)
    return StoredConnection(found.login, found.password, dict(found.extra_dejson or {}), False, found.conn_type)


def merge_extra(current: dict[str, Any], changes: dict[str, Any], conn_type: str | None) -> dict[str, Any]:
    """``current`` with ``changes`` applied: a None value removes the key, and older forms' ``extra__<type>__<key>`` twins go."""
    merged = dict(current)
    for key, value in changes.items():
        if conn_type:
            merged.pop(f"extra__{conn_type}__{key}", None)
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def update_connection(
    conn_id: str,
    *,
    password: str | None = None,
    extra: dict[str, Any] | None = None,
    json_file: Path | None = None,
    missing_fix: str = "Pass --json-file PATH to write the updated connection, then load it there.",
    error: type[ConfigError] = ConfigError,
) -> str:
    """Merge ``extra`` into the connection's extra (and set ``password``), in the database or in ``json_file``; say where."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    if json_file is not None:
        current = read_connection(conn_id)
        document = {
            "conn_type": current.conn_type,
            "login": current.login,
            "password": password if password is not None else current.password,
            "extra": merge_extra(current.extra, extra or {}, current.conn_type),
        }
        json_file.touch(mode=0o600, exist_ok=True)
        os.chmod(json_file, 0o600)
        json_file.write_text(json.dumps(document, indent=2), encoding="utf-8")
        return f"wrote the updated connection to {json_file} (mode 0600); load it into your secrets backend"

    with create_session() as session:
        connection = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        if connection is None:
            raise error(
                f"Connection '{conn_id}' is not in Airflow's metadata database (an environment variable or a secrets backend "
                f"holds it). {missing_fix}"
            )
        connection.set_extra(json.dumps(merge_extra(dict(connection.extra_dejson or {}), extra or {}, connection.conn_type)))
        if password is not None:
            connection.set_password(password)
        session.merge(connection)
    return f"updated connection '{conn_id}' in the metadata database"
