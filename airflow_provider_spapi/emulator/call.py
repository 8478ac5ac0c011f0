"""An authorised SP-API call, as the API handlers receive it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from airflow_provider_spapi.emulator.auth import Grant
from airflow_provider_spapi.emulator.responses import ApiError, Request, Response
from airflow_provider_spapi.spapi.catalog import Operation


@lru_cache(maxsize=1024)
def _param_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^/{}]+)\}", template)
    # re.split with a group alternates literal text and parameter names.
    body = "".join(re.escape(part) if i % 2 == 0 else f"(?P<p{i}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(f"^{body}$")


def path_params(template: str, path: str) -> dict[str, str]:
    """``/orders/v0/orders/{orderId}`` and ``/orders/v0/orders/1-2-3`` → ``{"orderId": "1-2-3"}``."""
    parts = re.split(r"\{([^/{}]+)\}", template)
    match = _param_regex(template).match(path)
    if not match:
        return {}
    return {parts[i]: match.group(f"p{i}") for i in range(1, len(parts), 2)}


@dataclass
class Call:
    """The request, the operation it belongs to, the grant that authorised it and the PII it unlocks."""

    request: Request
    operation: Operation
    grant: Grant
    params: dict[str, str]
    data_elements: frozenset[str]

    @property
    def seller(self) -> str:
        """The selling partner the call acts for (grantless calls have none and never ask)."""
        if self.grant.selling_partner_id is None:
            raise ApiError(403, "Unauthorized", details="This operation needs a selling partner's authorisation.")
        return self.grant.selling_partner_id

    def body(self) -> dict[str, object]:
        data = self.request.json()
        if not isinstance(data, dict):
            raise ApiError(400, "InvalidInput", "The request body must be a JSON object.")
        return data


Handler = Callable[[Call], Response]
