"""The sandbox mode: the emulator answering as Amazon's sandbox hosts (``sandbox.sellingpartnerapi-*``) do.

Two ways in, on the same port as everything else:

* every SP-API path under ``/sandbox`` (``http://127.0.0.1:8765/sandbox/orders/v0/orders``):
  :attr:`Emulator.sandbox_url` is the endpoint of a connection that sets ``sandbox: true``, so one
  emulator serves a DAG's seller world and the sandbox side by side;
* ``--sandbox`` / ``Emulator(sandbox=True)``: the root paths are the sandbox (for SDKs and test
  suites written against Amazon's sandbox host, which cannot add a path prefix).

In the sandbox mode an SP-API call needs a valid access token from the emulator's LWA (any kind:
seller, grantless or RDT; Amazon asks for an RDT minted in production there, which an offline
emulator cannot tell apart), then spends a bucket of Amazon's uniform sandbox plan (5/s, burst
15), and gets:

1. the static case it matches (:mod:`.sandbox`), for every operation that has cases, Orders,
   Reports, Feeds and Notifications included;
2. for an operation without cases (Amazon's dynamic sandbox), a success answer built from the
   model (:mod:`.model_examples`);
3. otherwise Amazon's 400 ``InvalidInput`` "Could not match input arguments".

A path no model publishes (``GET /`` too) gets what Amazon's API gateway answers: 403
``MissingAuthenticationToken``. Faults apply as in the default mode; the seller world (orders,
report and feed jobs, RDT and grantless checks) does not.
"""

from __future__ import annotations

from airflow_provider_spapi.emulator.call import Call
from airflow_provider_spapi.emulator.config import Options
from airflow_provider_spapi.emulator.model import Operation
from airflow_provider_spapi.emulator.model_examples import example_response
from airflow_provider_spapi.emulator.responses import Response
from airflow_provider_spapi.emulator.sandbox import cases, static_response

SANDBOX_PREFIX = "/sandbox"


def sandbox_target(options: Options, path: str) -> tuple[bool, str]:
    """(whether this request is for the sandbox mode, its SP-API path without the ``/sandbox`` prefix)."""
    if path == SANDBOX_PREFIX or path.startswith(SANDBOX_PREFIX + "/"):
        return True, path[len(SANDBOX_PREFIX) :] or "/"
    return options.sandbox, path


def unknown_path(headers: dict[str, str]) -> Response:
    """Amazon's API gateway on a path (or method) it has no resource for."""
    body = {"errors": [{"message": "Access to requested resource is denied.", "code": "MissingAuthenticationToken"}]}
    return Response.json(403, body, {"x-amzn-ErrorType": "MissingAuthenticationTokenException", **headers})


def answer_without_state(operation: Operation, call: Call) -> Response:
    """The sandbox's answer: the matching static case, the model's example where there are no cases, or 400."""
    if not cases(operation):
        return example_response(operation)
    return static_response(operation, call)
