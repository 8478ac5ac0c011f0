"""An authorised SP-API call, as the API handlers receive it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_spapi.emulator.auth import Grant
from airflow_provider_spapi.emulator.model import Operation, path_params
from airflow_provider_spapi.emulator.responses import ApiError, Request, Response

__all__ = ["Call", "Handler", "path_params"]


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
