"""Benchmark 3: client CPU per call, ours against raw ``requests`` and python-amazon-sp-api.

N sequential ``GET /sellers/v1/marketplaceParticipations`` (getMarketplaceParticipations) with an
emulator plan far above anything a client can send, so nobody is throttled. CPU is this process's
``time.process_time()`` (user + system of every thread): the emulator is another process, so its
work is not in the figure (its CPU per call is reported beside it, for context).

Variants, all with one warm connection pool and a token minted before measuring:

* ``ours``: ``SpApiClient.request("GET", path)``: operation lookup, token from the cache, the usage
  plan's bucket, retry wrapper, the call, status handling and JSON decoding.
* ``raw``: ``requests.Session().get(url, headers={"x-amz-access-token": token})``,
  ``raise_for_status()`` and ``.json()``: the least any requests-based client can do.
* ``python-amazon-sp-api``: ``Sellers().get_marketplace_participation()`` on one reused client
  (httpx underneath; builds its headers, with an ``x-amz-date``, on every call).
* two experiments, outside the goal: ``ours`` and ``raw`` again, each on a ``requests.Session``
  with ``trust_env = False`` (handed to ``SpApiClient(session=...)``, a public argument). With
  ``trust_env`` on (the default), requests re-reads the proxy environment variables and looks for a
  ``.netrc`` file on every request (``Session.merge_environment_settings``, ``get_netrc_auth``),
  which is a large share of its per-call CPU; httpx reads them once per client.

Each variant is warmed up, then measured ``repeats`` times; within a repeat the variants are
interleaved in small blocks (the order rotating) so that drift and noise from other processes on
the machine hit them alike; the figure is the median of the repeats.

Over loopback most of a call's CPU is the HTTP stack itself, and on a shared 2-core VM the
run-to-run noise is of the order of the differences being measured. So the client's own overhead
is also measured without any network (``overhead``): ``SpApiClient.request`` over a stub session
that returns a canned 200 instantly, against the stub's own cost (building the response and
decoding its JSON), with the limiter's and the retry wrapper's share measured separately.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import requests
from _common import EmulatorProcess, clear_peer_token_cache, our_client, our_settings, peer_client

from airflow_provider_spapi.core.ratelimit import RateLimiter, TokenBucket
from airflow_provider_spapi.core.retry import RetrySettings, run_with_retries
from airflow_provider_spapi.core.tokens import TokenCache
from airflow_provider_spapi.errors import SPAPI_ERRORS
from airflow_provider_spapi.spapi.client import SpApiClient

PATH = "/sellers/v1/marketplaceParticipations"
OPERATION = "sellers.getMarketplaceParticipations"
UNTHROTTLED_PLAN = [100000.0, 100000.0]
EXPERIMENT_OURS = "ours, trust_env=False (experiment)"
EXPERIMENT_RAW = "raw requests, trust_env=False (experiment)"


def _measure(call: Callable[[], Any], calls: int, emulator: EmulatorProcess) -> dict[str, float]:
    gc.collect()
    server_before = emulator.cpu_seconds()
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    for _ in range(calls):
        call()
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    server = emulator.cpu_seconds() - server_before
    return {"cpu_us": 1e6 * cpu / calls, "wall_us": 1e6 * wall / calls, "server_cpu_us": 1e6 * server / calls}


class _StubSession(requests.Session):
    """Answers every request at once: LWA with a token, anything else with a small JSON 200 (no header)."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        if str(url).endswith("/auth/o2/token"):
            response._content = b'{"access_token":"Atza|stub","token_type":"bearer","expires_in":3600}'
        else:
            response._content = b'{"payload":[{"marketplace":{"id":"ATVPDKIKX0DER"}}]}'
        return response


def _cpu_us(call: Callable[[], Any], calls: int, repeats: int = 5) -> float:
    for _ in range(calls // 10):
        call()
    samples = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            call()
        samples.append(1e6 * (time.process_time() - start) / calls)
    return statistics.median(samples)


def overhead(calls: int) -> dict[str, float]:
    """The client's own CPU per call, with no network: SpApiClient over a stub session, minus the stub itself."""
    import logging

    class NoWaitLimiter(RateLimiter):
        # The stub answers in microseconds: the real limiter would (rightly) sleep at its 1000/s cap.
        def acquire(self, principal: str, operation: str, rate: float | None, burst: float | None) -> float:
            return 0.0

    stub = _StubSession()
    client = SpApiClient(our_settings("http://127.0.0.1:9"), session=stub, token_cache=TokenCache(), rate_limiter=NoWaitLimiter())
    client.access_token()
    ours = _cpu_us(lambda: client.request("GET", PATH), calls)
    baseline = _cpu_us(lambda: stub.request("GET", "http://127.0.0.1:9" + PATH).json(), calls)
    settings = RetrySettings()
    quiet = logging.getLogger("spapi-bench")
    retry = _cpu_us(lambda: run_with_retries(lambda: None, settings, operation="x", logger=quiet, errors=SPAPI_ERRORS), calls)
    bucket = TokenBucket(1000.0, 1e12)
    limiter = _cpu_us(bucket.reserve, calls)
    return {
        "ours_request_over_stub_us": round(ours, 1),
        "stub_alone_us": round(baseline, 1),
        "client_overhead_us": round(ours - baseline, 1),
        "of_which_retry_wrapper_us": round(retry, 1),
        "of_which_token_bucket_us": round(limiter, 1),
    }


def run(emulator: EmulatorProcess, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    calls = 200 if quick else 1000
    warmup = 30 if quick else 100
    repeats = 3
    blocks = 4 if quick else 10
    emulator.fresh(usage_plans={"getMarketplaceParticipations": UNTHROTTLED_PLAN})
    clear_peer_token_cache()

    ours = our_client(emulator.url)
    token = ours.access_token()
    session = requests.Session()
    url = emulator.url + PATH
    headers = {"x-amz-access-token": token}

    def raw() -> Any:
        response = session.get(url, headers=headers, timeout=(10, 60))
        response.raise_for_status()
        return response.json()

    sellers = peer_client("sellers", emulator.url)

    quiet_session = requests.Session()
    quiet_session.trust_env = False
    ours_quiet = SpApiClient(our_settings(emulator.url), session=quiet_session, token_cache=TokenCache(), rate_limiter=RateLimiter())
    ours_quiet.access_token()
    raw_session_quiet = requests.Session()
    raw_session_quiet.trust_env = False

    def raw_quiet() -> Any:
        response = raw_session_quiet.get(url, headers=headers, timeout=(10, 60))
        response.raise_for_status()
        return response.json()

    variants: dict[str, Callable[[], Any]] = {
        "ours": lambda: ours.request("GET", PATH),
        "raw requests": raw,
        "python-amazon-sp-api": lambda: sellers.get_marketplace_participation().payload,
        EXPERIMENT_OURS: lambda: ours_quiet.request("GET", PATH),
        EXPERIMENT_RAW: raw_quiet,
    }
    # Same answer from each, before timing anything.
    answers = {name: call() for name, call in variants.items()}
    if any(answers[name] != answers["ours"] for name in ("raw requests", EXPERIMENT_OURS, EXPERIMENT_RAW)) or (
        answers["python-amazon-sp-api"] != answers["ours"]["payload"]
    ):
        raise RuntimeError("the three clients do not get the same answer")
    for call in variants.values():
        for _ in range(warmup):
            call()

    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    names = list(variants)
    for repeat in range(repeats):
        totals = {name: {"cpu_us": 0.0, "wall_us": 0.0, "server_cpu_us": 0.0} for name in names}
        for block in range(blocks):
            shift = (repeat * blocks + block) % len(names)
            for name in names[shift:] + names[:shift]:
                sample = _measure(variants[name], calls // blocks, emulator)
                for key, value in sample.items():
                    totals[name][key] += value / blocks
        for name in names:
            runs[name].append(totals[name])
        log("cpu repeat {}: {}".format(repeat + 1, ", ".join(f"{name} {totals[name]['cpu_us']:.0f} us" for name in names)))

    breakdown = overhead(1000 if quick else 5000)
    log(f"cpu client overhead without network: {breakdown}")
    counters = emulator.counters()
    throttled = int(counters["throttled"].get(OPERATION, 0))
    ours_stats = ours.stats.as_dict()
    sellers.close()
    for open_session in (session, ours.session, quiet_session, raw_session_quiet):
        open_session.close()

    medians = {
        name: {
            "cpu_us_per_call": round(statistics.median(r["cpu_us"] for r in result), 1),
            "wall_us_per_call": round(statistics.median(r["wall_us"] for r in result), 1),
            "server_cpu_us_per_call": round(statistics.median(r["server_cpu_us"] for r in result), 1),
            "cpu_us_runs": [round(r["cpu_us"], 1) for r in result],
        }
        for name, result in runs.items()
    }
    ours_cpu = medians["ours"]["cpu_us_per_call"]
    ratio_raw = round(ours_cpu / medians["raw requests"]["cpu_us_per_call"], 3)
    ratio_peer = round(ours_cpu / medians["python-amazon-sp-api"]["cpu_us_per_call"], 3)
    return {
        "operation": "getMarketplaceParticipations",
        "calls_per_run": calls,
        "warmup_calls": warmup,
        "repeats": repeats,
        "variants": medians,
        "ours_over_raw": ratio_raw,
        "ours_over_peer": ratio_peer,
        "goal_ours_over_raw": 1.3,
        "passed": ratio_raw <= 1.3 and throttled == 0,
        "http_429": throttled,
        "ours_client_stats": ours_stats,
        "overhead_without_network": breakdown,
    }
