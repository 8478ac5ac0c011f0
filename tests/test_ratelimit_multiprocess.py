"""Many task processes, one seller: real processes, each with its own client, against the emulator's usage plan.

Each worker is a process of its own (forked from a clean forkserver, as a task runner forks task
processes), with its own token cache and rate limiter, paging getOrders one order per page; all are
released together by a barrier. The emulator enforces the issue's plan, 4/s burst 5, and reports it
in ``x-amzn-RateLimit-Limit``. What is asserted is behaviour (nothing fails, 429s stay bounded, no
wait grows to minutes); speed against the ceiling is the benchmark's job (benchmarks/_multiprocess.py).
"""

from __future__ import annotations

import importlib

from redis_fixture import redis_server_fixture, redis_url_fixture  # noqa: F401 - fixtures

from airflow_provider_spapi.emulator import Emulator

# The benchmark's harness: redis_fixture (imported above) put benchmarks/ on sys.path.
harness = importlib.import_module("_multiprocess")
PLAN = harness.PLAN
PROCESSES = 6
PAGES = 5


def plan_with_header(emu: Emulator) -> None:
    emu.configure(usage_plans={"getOrders": list(PLAN)}, rate_limit_header="always")


def throttled(emu: Emulator) -> int:
    return int(emu.counters()["throttled"].get(harness.OPERATION_KEY, 0))


def test_uncoordinated_processes_share_the_plan_without_collapsing(emu: Emulator) -> None:
    plan_with_header(emu)
    result = harness.run_workers(emu.url, PROCESSES, pages=PAGES, throttled_count=lambda: throttled(emu), timeout=240)
    assert result.errors == [] and result.failed_workers == 0
    assert result.pages == PROCESSES * PAGES
    # Each worker learns its share from the 429s it sees: at most one 429 per page, where the old limiter
    # halved towards 0.001/s and waited minutes.
    assert 0 < result.http_429 <= result.pages
    rate, _ = PLAN
    assert result.longest_wait_s <= 4 * PROCESSES / rate  # a few of its fair-share intervals, never minutes


def test_processes_sharing_the_store_queue_instead_of_colliding(emu: Emulator, redis_url: str) -> None:
    plan_with_header(emu)
    result = harness.run_workers(emu.url, PROCESSES, pages=PAGES, store=redis_url, throttled_count=lambda: throttled(emu), timeout=240)
    assert result.errors == [] and result.failed_workers == 0
    assert result.pages == PROCESSES * PAGES
    # Only the first calls, sent before any answer reported the plan, may collide (published burst 20 > real 5).
    assert result.http_429 <= PROCESSES
