"""What both platforms' hooks share: a repr naming the connection and the client's usage stats.

The connection form's two class methods stay on each hook: Airflow's providers manager only takes them
from the hook class's own ``__dict__``, never inherited (see :mod:`.form` for the one builder they call).

Each hook (``SpApiHook``, ``TikTokShopHook``) builds its client lazily as the ``client`` cached property;
this base reads it only once it exists, so asking for stats never opens a connection.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_spapi._compat import BaseHook
from airflow_provider_spapi.core.retry import RetrySettings
from airflow_provider_spapi.provider_info import ConnectionForm

#: The Test button's retry budget, for both platforms: two attempts within ten seconds, each request at most
#: fifteen, so the UI answers instead of hanging for the connection's full budget on a dead host.
TEST_CONNECTION_RETRY = RetrySettings(max_attempts=2, max_retry_seconds=10.0, connect_timeout=5.0, read_timeout=15.0)


class ClientHook(BaseHook):
    """A hook that is a thin adapter over one of the Airflow-free clients."""

    #: The connection form both UIs render for this hook's connection type.
    form: ClassVar[ConnectionForm]
    #: How the usage log line names the platform.
    usage_label: ClassVar[str]
    #: The attribute holding the connection id (``spapi_conn_id``, ``tiktok_shop_conn_id``), as Airflow's hooks declare.
    conn_name_attr: ClassVar[str]
    #: The Airflow-free client, a cached property of each hook.
    client: Any

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.conn_name_attr}={getattr(self, self.conn_name_attr)!r})"

    def get_conn(self) -> Any:
        return self.client

    @property
    def stats(self) -> dict[str, float]:
        """Calls, pages, retries, throttled answers, rate-limit waits and tokens minted by this hook."""
        client = self.__dict__.get("client")
        return dict(client.stats.as_dict()) if client is not None else {}

    def log_stats(self) -> None:
        if "client" in self.__dict__:
            self.log.info("%s usage: %s", self.usage_label, ", ".join(f"{key}={value}" for key, value in self.stats.items()))
