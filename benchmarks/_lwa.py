"""Benchmark 4: LWA token mints per 1,000 calls made from 8 threads.

Each client runs in a process of its own (``python benchmarks/_lwa.py worker ...``), so nothing
another client did is cached. A run: the emulator is reset (which also revokes every token issued
before), the client's process-wide token cache is emptied, as in a new task process; then eight
threads start together behind a barrier, each with its own client object of the same credentials,
and share ``calls`` cheap calls (getMarketplaceParticipations, unthrottled plan). The mints are
read from the emulator's counters (``lwa.refresh_token``: tokens actually issued).

* ``ours``: eight ``SpApiHook("spapi_bench")`` objects, the connection given to Airflow as an
  ``AIRFLOW_CONN_SPAPI_BENCH`` environment variable; the hooks share the process-wide token cache
  (single-flight per credentials).
* ``python-amazon-sp-api``: eight ``Sellers`` clients; the library caches tokens in a module-level
  ``cachetools.TTLCache`` (shared by the process, no lock around the mint).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PATH = "/sellers/v1/marketplaceParticipations"
OPERATION = "sellers.getMarketplaceParticipations"
UNTHROTTLED = {"getMarketplaceParticipations": [100000.0, 100000.0]}


def _ours() -> tuple[Callable[[], None], Callable[[], Callable[[], Any]]]:
    from airflow_provider_spapi.core.ratelimit import shared_rate_limiter
    from airflow_provider_spapi.core.tokens import shared_token_cache
    from airflow_provider_spapi.hooks.spapi import SpApiHook

    def cold() -> None:
        shared_token_cache.clear()
        shared_rate_limiter.clear()

    def make() -> Callable[[], Any]:
        hook = SpApiHook("spapi_bench")
        return lambda: hook.request("GET", PATH)

    return cold, make


def _peer(url: str) -> tuple[Callable[[], None], Callable[[], Callable[[], Any]]]:
    from _common import clear_peer_token_cache, peer_client

    def make() -> Callable[[], Any]:
        sellers = peer_client("sellers", url)
        return lambda: sellers.get_marketplace_participation()

    return clear_peer_token_cache, make


def one_run(make: Callable[[], Callable[[], Any]], threads: int, calls: int, timeout: float) -> dict[str, Any]:
    barrier = threading.Barrier(threads)
    per_thread = [calls // threads + (1 if i < calls % threads else 0) for i in range(threads)]
    ok = [0] * threads
    failed = [0] * threads
    errors: list[str] = []
    deadline = time.monotonic() + timeout

    def run(index: int) -> None:
        call = make()
        barrier.wait(timeout=60)
        for _ in range(per_thread[index]):
            if time.monotonic() > deadline:
                break
            try:
                call()
                ok[index] += 1
            except Exception as error:
                failed[index] += 1
                if len(errors) < 5:
                    errors.append(f"{type(error).__name__}: {str(error)[:200]}")

    pool = [threading.Thread(target=run, args=(i,), name=f"bench-{i}") for i in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout + 120)
    return {"calls_ok": sum(ok), "failed": sum(failed), "elapsed_s": round(time.perf_counter() - start, 3), "errors": errors}


def worker(variant: str, url: str, threads: int, calls: int, runs: int, timeout: float) -> list[dict[str, Any]]:
    from _common import admin, fresh

    cold, make = _ours() if variant == "ours" else _peer(url)
    outcomes = []
    for _ in range(runs):
        fresh(url, usage_plans=UNTHROTTLED)
        cold()
        outcome = one_run(make, threads, calls, timeout)
        counters = admin(url, "GET", "counters")
        outcome["lwa_mints"] = int(counters["lwa"]["refresh_token"])
        outcome["http_requests"] = int(counters["requests"].get(OPERATION, 0))
        outcomes.append(outcome)
    return outcomes


def _connection_env(url: str, home: str) -> dict[str, str]:
    from _common import seed_credentials

    creds = seed_credentials()
    connection = {
        "conn_type": "spapi",
        "login": creds["client_id"],
        "password": creds["client_secret"],
        "extra": {"refresh_token": creds["refresh_token"], "endpoint": url, "lwa_endpoint": url + "/auth/o2/token"},
    }
    return {
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_SPAPI_BENCH": json.dumps(connection),
    }


def run(emulator: Any, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    threads, calls = 8, 1000
    runs = 1 if quick else 3
    results: dict[str, Any] = {"threads": threads, "calls": calls, "runs": {}}
    for variant in ("ours", "python-amazon-sp-api"):
        command = [sys.executable, str(BENCH_DIR / "_lwa.py"), "worker", "--variant", variant, "--url", emulator.url]
        command += ["--threads", str(threads), "--calls", str(calls), "--runs", str(runs)]
        with tempfile.TemporaryDirectory(prefix="spapi-bench-airflow-") as home:
            env = {**os.environ, **_connection_env(emulator.url, home)} if variant == "ours" else dict(os.environ)
            done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=BENCH_DIR)
        if done.returncode != 0:
            raise RuntimeError(f"LWA worker {variant} failed: {done.stderr[-2000:]}")
        outcomes = json.loads(done.stdout.strip().splitlines()[-1])
        for number, outcome in enumerate(outcomes, 1):
            log(
                f"lwa {variant:21} run {number}: {outcome['lwa_mints']} mint(s) for {outcome['calls_ok']} calls "
                f"from {threads} threads ({outcome['failed']} failed)"
            )
        results["runs"][variant] = outcomes
    ours = results["runs"]["ours"]
    peer = results["runs"]["python-amazon-sp-api"]
    results["ours_mints"] = [r["lwa_mints"] for r in ours]
    results["peer_mints"] = [r["lwa_mints"] for r in peer]
    results["passed"] = all(r["lwa_mints"] == 1 and r["failed"] == 0 and r["calls_ok"] == calls for r in ours)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["worker"])
    parser.add_argument("--variant", choices=["ours", "python-amazon-sp-api"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    if not args.url.startswith("http://127.0.0.1:"):
        raise SystemExit("the benchmarks only talk to 127.0.0.1")
    print(json.dumps(worker(args.variant, args.url, args.threads, args.calls, args.runs, args.timeout)), flush=True)


if __name__ == "__main__":
    main()
