"""OpenLineage datasets for what a task read and wrote, when ``apache-airflow-providers-openlineage`` is installed.

The OpenLineage provider asks each finished task for ``get_openlineage_facets_on_complete``; operators
with this mixin answer with the files they actually wrote (after templating and ``{report_id}``
substitution) as output datasets, and a feed's uploaded file as its input. Without the provider the
method is never called, and nothing here imports it before then: it is an optional extra
(``airflow-provider-spapi[openlineage]``), never a dependency.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_spapi._compat import openlineage_classes
from airflow_provider_spapi.core.storage import WritablePath, lineage_name

log = logging.getLogger(__name__)


class OpenLineageMixin:
    """Keeps the paths a run read and wrote, and hands them to OpenLineage as datasets.

    Recording never fails the task: lineage is bookkeeping about work that already succeeded.
    """

    def _record(self, key: str, path: WritablePath) -> None:
        try:
            self.__dict__.setdefault(key, []).append(lineage_name(path))
        except Exception:
            log.warning("No OpenLineage dataset for %s: its name could not be read.", type(path).__name__, exc_info=True)

    def lineage_input(self, path: WritablePath) -> None:
        """Record ``path`` (a path object from ``storage_path``) as read by this run."""
        self._record("_lineage_inputs", path)

    def lineage_output(self, path: WritablePath) -> None:
        """Record ``path`` (a path object from ``storage_path``) as written by this run."""
        self._record("_lineage_outputs", path)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The OpenLineage provider's hook: this run's files as input and output datasets (nothing written: none)."""
        Dataset, OperatorLineage = openlineage_classes()

        def datasets(key: str) -> list[Any]:
            names = dict.fromkeys(self.__dict__.get(key, ()))  # in order, once each
            return [Dataset(namespace=namespace, name=name) for namespace, name in names]

        return OperatorLineage(inputs=datasets("_lineage_inputs"), outputs=datasets("_lineage_outputs"))
