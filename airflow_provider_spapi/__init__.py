"""Apache Airflow provider for Amazon's Selling Partner API (SP-API).

This module must stay importable without Airflow: ``get_provider_info`` is plain data that
Airflow's providers manager reads through the ``apache_airflow_provider`` entry point.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    from airflow_provider_spapi.provider_info import provider_info

    return provider_info()
