"""Benchmark 5: TikTok Shop: token refreshes per 1,000 access-token calls from 8 threads, and paging at the throttle ceiling.

* **refreshes**: the process-wide caches are emptied (a cold task process), then eight threads start
  together behind a barrier, each with its own :class:`TikTokShopClient` of the same credentials,
  and make 125 ``access_token()`` calls each (what ``TikTokShopHook.get_access_token()`` does). The
  refreshes are read from the emulator's counters (``token.refresh``: tokens actually issued). Goal: 1.
* **paging at the ceiling**: the emulator's own bucket for orders search is set to ``rate``/s burst
  ``burst``; TikTok publishes no plan, so the client starts from the core's adaptive guess and learns
  from 429 / ``36009002``. One client pages ``POST /order/202309/orders/search`` one small page per
  call. No client can beat ``(calls - burst) / rate`` seconds, so the score is that bound ÷ the time
  taken ("% of ceiling", as benchmark 1), with the 429s the emulator counted.

Run through ``benchmarks/run.py`` (``--only tiktok``); the emulator is the subprocess every benchmark shares.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from statistics import median
from typing import Any

from _common import EmulatorProcess, admin

ORDERS = "/order/202309/orders/search"
THREADS = 8
CALLS = 1000


def _fresh(url: str, **options: Any) -> None:
    admin(url, "POST", "tiktok/reset")
    if options:
        admin(url, "POST", "tiktok/config", options)


def _counters(url: str) -> dict[str, Any]:
    counters: dict[str, Any] = admin(url, "GET", "tiktok/counters")
    return counters


def _cold() -> None:
    from airflow_provider_spapi.core.ratelimit import shared_rate_limiter
    from airflow_provider_spapi.core.tokens import shared_token_cache
    from airflow_provider_spapi.tiktok.grants import shared_grants

    shared_token_cache.clear()
    shared_rate_limiter.clear()
    shared_grants.clear()


def _settings(url: str) -> Any:
    from airflow_provider_spapi.emulator.tiktok import seed
    from airflow_provider_spapi.tiktok.settings import parse_settings

    return parse_settings(seed.APP_KEY, seed.APP_SECRET, {"refresh_token": seed.REFRESH_TOKEN, "api_endpoint": url, "auth_endpoint": url})


def refreshes_run(url: str) -> dict[str, Any]:
    from airflow_provider_spapi.tiktok.client import TikTokShopClient

    _fresh(url)
    _cold()
    settings = _settings(url)
    clients = [TikTokShopClient(settings) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    failed = 0
    values: set[str] = set()
    lock = threading.Lock()

    def work(client: TikTokShopClient) -> None:
        nonlocal failed
        barrier.wait()
        for _ in range(CALLS // THREADS):
            try:
                value = client.access_token()
            except Exception:
                with lock:
                    failed += 1
                continue
            with lock:
                values.add(value)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "refreshes": _counters(url)["token"]["refresh"],
        "distinct_tokens": len(values),
        "failed": failed,
        "elapsed_s": round(elapsed, 3),
    }


def paging_run(url: str, rate: float, burst: float, pages: int, page_size: int, time_limit: float) -> dict[str, Any]:
    from airflow_provider_spapi.tiktok.client import TikTokShopClient

    _fresh(url, rate=rate, burst=burst)
    _cold()
    client = TikTokShopClient(_settings(url))
    client.shop_cipher()  # the shop lookup is another API (its own bucket); keep it out of the timing
    calls = 0
    failed = 0
    started = time.perf_counter()
    try:
        for _ in client.paginate("POST", ORDERS, page_size=page_size):
            calls += 1
            if calls >= pages or time.perf_counter() - started > time_limit:
                break
    except Exception:
        failed += 1
    elapsed = time.perf_counter() - started
    minimum = max(0.0, (calls - burst) / rate)
    counters = _counters(url)
    return {
        "calls": calls,
        "elapsed_s": round(elapsed, 2),
        "min_seconds": round(minimum, 2),
        "ceiling_pct": round(100 * minimum / elapsed, 1) if elapsed > 0 else 0.0,
        "achieved_rate": round(calls / elapsed, 2) if elapsed > 0 else 0.0,
        "http_429": counters["throttled"],
        "failed": failed,
        "timed_out": calls < pages,
    }


def run(emulator: EmulatorProcess, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    url = emulator.url
    refresh_runs = []
    for trial in range(1 if quick else 3):
        result = refreshes_run(url)
        refresh_runs.append(result)
        log(f"tiktok refreshes run {trial + 1}: {result['refreshes']} refresh(es), {result['failed']} failed")
    scenarios = []
    # 150 seeded orders per shop: page_size 1 gives 150 pages.
    for rate, burst in ((10.0, 10.0), (50.0, 50.0)):
        pages = 150  # fewer would end inside the 50/s scenario's burst, where no ceiling applies
        trials = [paging_run(url, rate, burst, pages, 1, 60.0) for _ in range(1 if quick else 3)]
        pcts = [trial["ceiling_pct"] for trial in trials]
        scenarios.append(
            {
                "emulator_plan": [rate, burst],
                "pages": pages,
                "ceiling_pct_median": median(pcts),
                "ceiling_pct_runs": pcts,
                "achieved_rate_runs": [trial["achieved_rate"] for trial in trials],
                "http_429_runs": [trial["http_429"] for trial in trials],
                "failed_total": sum(trial["failed"] for trial in trials),
                "elapsed_s_runs": [trial["elapsed_s"] for trial in trials],
                "min_seconds": trials[0]["min_seconds"],
            }
        )
        log(f"tiktok paging at {rate:g}/s burst {burst:g}: {pcts} % of ceiling")
    return {
        "calls": CALLS,
        "threads": THREADS,
        "refresh_runs": refresh_runs,
        "refreshes_passed": all(run["refreshes"] == 1 and run["failed"] == 0 for run in refresh_runs),
        "paging": scenarios,
    }
