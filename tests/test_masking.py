"""Every token a hook mints is masked in Airflow's task log pipeline, and the masker does not grow per token."""

from __future__ import annotations

import inspect
import io
import json
import logging
from typing import Any

import pytest

from airflow_provider_spapi._compat import AIRFLOW_V_3, secrets_maskers
from airflow_provider_spapi.core.tokens import shared_token_cache
from airflow_provider_spapi.emulator import Emulator, seed
from airflow_provider_spapi.hooks.spapi import SpApiHook

pytestmark = pytest.mark.airflow

ADDRESS = "/orders/v0/orders/{orderId}/address"


def airflow_task_log(lines: list[str]) -> str:
    """``lines`` written through the log pipeline Airflow writes task logs with, as the file would hold them.

    Airflow 3: the Task SDK's structlog processors (those of the task supervisor's log file and the
    triggerer), masking included. Airflow 2: the ``airflow.task`` logger with its secrets-masker filter,
    switched on as ``airflow tasks run`` and the triggerer switch it on (``settings.MASK_SECRETS_IN_LOGS``;
    off by default, and then the filter passes every line unmasked).
    """
    if AIRFLOW_V_3:
        import structlog
        from airflow.sdk.log import logging_processors

        if "json_output" in inspect.signature(logging_processors).parameters:
            processors = list(logging_processors(json_output=True))
        else:  # Airflow 3.0: (processors, named ones), rendering JSON unless pretty
            processors = list(logging_processors(enable_pretty_log=False)[0])  # type: ignore[call-arg,index,unused-ignore]
        binary = io.BytesIO()  # the JSON renderer emits bytes, as into the task's log file
        logger = structlog.wrap_logger(structlog.BytesLogger(binary), processors=processors, wrapper_class=structlog.BoundLogger)
        for line in lines:
            logger.info(line)
        return binary.getvalue().decode("utf-8")
    from airflow import settings
    from airflow.utils.log.secrets_masker import _secrets_masker  # type: ignore[attr-defined]

    masking = settings.MASK_SECRETS_IN_LOGS
    settings.MASK_SECRETS_IN_LOGS = True
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(_secrets_masker())
    task_logger = logging.getLogger("airflow.task.spapi_masking_test")
    task_logger.addHandler(handler)
    try:
        for line in lines:
            task_logger.warning(line)
    finally:
        task_logger.removeHandler(handler)
        settings.MASK_SECRETS_IN_LOGS = masking
    return out.getvalue()


def test_every_minted_token_is_masked_in_the_task_log(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    order_id = emu.state.book.orders(seed.SELLING_PARTNER_ID)[0].order_id
    tokens = {
        "access": hook.get_access_token(),
        "grantless": hook.get_access_token("sellingpartnerapi::notifications"),
        "rdt": hook.get_restricted_data_token("GET", ADDRESS.replace("{orderId}", order_id)),
    }

    log = airflow_task_log([f"{kind} token is {value} (end)" for kind, value in tokens.items()])

    for kind, value in tokens.items():
        assert value not in log, f"the {kind} token reached the log"
        assert f"{kind} token is ***" in log


def test_the_masker_grows_by_one_pattern_however_many_tokens_are_minted(emu: Emulator, spapi_conn: Any) -> None:
    hook = SpApiHook()
    hook.get_access_token()
    before = [len(masker.patterns) for masker in secrets_maskers()]

    minted = []
    for _ in range(20):
        shared_token_cache.clear()  # as if an hour had passed: the next call mints a new token
        minted.append(hook.get_access_token())

    assert len(set(minted)) == 20
    assert [len(masker.patterns) for masker in secrets_maskers()] == before
    log = airflow_task_log([json.dumps({"tokens": minted})])
    assert not any(token in log for token in minted)
