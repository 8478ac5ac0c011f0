"""Benchmark 1 and 2: throughput at the usage-plan ceiling, ours and python-amazon-sp-api side by side.

Amazon's usage plan is a token bucket (``rate`` per second refilling ``burst``), so no client can do
better than ``burst + rate * T`` successful calls in ``T`` seconds: that is the ceiling, and a
run's score is ``calls / ceiling``. Equivalently, N calls need at least ``(N - burst) / rate``
seconds. 429s are counted on the emulator (its bucket's refusals); a failed call is one the client
gave up on (an exception reaching the caller).

Scenarios (``plan`` is what the emulator enforces):

* ``header``: getOrders paged one order per page, emulator plan faster than Amazon's published
  default, with ``x-amzn-RateLimit-Limit`` on every answer: a client that reads the header can run
  at the real plan.
* ``no-header``: the header never sent (Amazon calls it best effort). Our client then follows the
  published default plan from the catalog; getOrders' (0.0167/s) is too slow to benchmark, so this
  pages getOrderItems (published 0.5/s burst 30) across orders, with the emulator enforcing exactly
  the published plan. (FBA getInventorySummaries, 2/s burst 2, was considered: the emulator has no
  model or sandbox case for it and answers 404.)
* ``adaptive-faster``: emulator plan 4x faster than published, no header. Nothing tells a client
  the real plan, so ours stays at the published rate: scored against the emulator's real ceiling.
* ``adaptive-slower``: emulator plan slower than published (rate and burst), no header. Ours
  learns from 429s (halve the rate, drain the bucket, climb back additively): the goal is no
  failed call, and the 429 count is reported.

The peer runs the same work with its own best tools: ``@load_all_pages(use_rate_limit_header=True)``
around a ``@throttle_retry()``-decorated call (the decorator order that actually retries each page:
``throttle_retry`` outside ``load_all_pages`` would wrap the generator factory and never see a 429).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from _common import EmulatorProcess, clear_peer_token_cache, our_client, peer_client

ORDERS_PATH = "/orders/v0/orders"
ITEMS_PATH = "/orders/v0/orders/{}/orderItems"
OPERATION_KEYS = {"getOrders": "ordersV0.getOrders", "getOrderItems": "ordersV0.getOrderItems"}
PUBLISHED = {"getOrders": (0.0167, 20.0), "getOrderItems": (0.5, 30.0)}
CREATED_AFTER = "2020-01-01T00:00:00Z"


@dataclass(frozen=True)
class Scenario:
    name: str
    operation: str
    header: str  # "always" | "never"
    plan: tuple[float, float]  # what the emulator enforces: (rate, burst)
    calls: int  # successful calls to make
    goal: str  # "ceiling" (>= 95 %, 0 failed), "no-failures", or "report" (informational)
    peer: bool = True
    trials: int = 1  # runs of our client (the peer runs once: its figures are for comparison, not a goal)

    @property
    def min_seconds(self) -> float:
        rate, burst = self.plan
        return max(0.0, (self.calls - burst) / rate)

    @property
    def deadline_seconds(self) -> float:
        # Generous but bounded: a client at half the ceiling still finishes; anything slower is cut off.
        return 3.0 * self.min_seconds + 60.0


def scenarios(quick: bool) -> list[Scenario]:
    published_items = PUBLISHED["getOrderItems"]
    if quick:
        return [
            Scenario("header", "getOrders", "always", (10.0, 20.0), 50, "ceiling"),
            Scenario("no-header", "getOrderItems", "never", published_items, 33, "ceiling"),
            Scenario("adaptive-faster", "getOrderItems", "never", (2.0, 30.0), 32, "report", peer=False),
            Scenario("adaptive-slower", "getOrderItems", "never", (0.25, 10.0), 11, "no-failures", peer=False),
        ]
    return [
        Scenario("header", "getOrders", "always", (10.0, 20.0), 200, "ceiling", trials=3),
        Scenario("no-header", "getOrderItems", "never", published_items, 45, "ceiling", trials=3),
        Scenario("adaptive-faster", "getOrderItems", "never", (2.0, 30.0), 40, "report"),
        Scenario("adaptive-slower", "getOrderItems", "never", (0.25, 10.0), 16, "no-failures"),
    ]


@dataclass
class Outcome:
    scenario: str
    client: str
    operation: str
    header: str
    emulator_plan: list[float]
    published_plan: list[float]
    calls_target: int
    calls_ok: int = 0
    failed: int = 0
    timed_out: bool = False
    elapsed_s: float = 0.0
    http_attempts: int = 0
    http_429: int = 0
    ceiling_calls: float = 0.0
    ceiling_pct: float = 0.0
    min_seconds: float = 0.0
    goal: str = ""
    passed: bool | None = None
    error: str | None = None
    client_stats: dict[str, Any] = field(default_factory=dict)

    def score(self, rate: float, burst: float) -> None:
        self.ceiling_calls = round(burst + rate * self.elapsed_s, 2)
        self.ceiling_pct = round(100.0 * self.calls_ok / self.ceiling_calls, 1) if self.ceiling_calls else 0.0
        self.min_seconds = round(max(0.0, (self.calls_ok - burst) / rate), 2)
        if self.goal == "ceiling":
            self.passed = self.ceiling_pct >= 95.0 and self.failed == 0 and not self.timed_out
        elif self.goal == "no-failures":
            self.passed = self.failed == 0 and not self.timed_out and self.calls_ok == self.calls_target
        else:
            self.passed = None  # informational


# workloads: each yields once per successful call ----------------------------------------------


def _ours_pages(client: Any, scenario: Scenario, order_ids: list[str]) -> Iterator[Any]:
    if scenario.operation == "getOrders":
        params = {"MarketplaceIds": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"], "CreatedAfter": CREATED_AFTER, "MaxResultsPerPage": 1}
        yield from client.paginate("GET", ORDERS_PATH, params=params)
        return
    for order_id in order_ids:
        yield from client.paginate("GET", ITEMS_PATH.format(order_id))


def _peer_pages(url: str, scenario: Scenario, order_ids: list[str]) -> Iterator[Any]:
    from sp_api.util import load_all_pages, throttle_retry

    orders = peer_client("orders", url)
    try:
        if scenario.operation == "getOrders":

            @load_all_pages(use_rate_limit_header=True)
            @throttle_retry()
            def order_pages(**kwargs: Any) -> Any:
                return orders.get_orders(**kwargs)

            yield from order_pages(MarketplaceIds=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"], CreatedAfter=CREATED_AFTER, MaxResultsPerPage=1)
            return

        @load_all_pages(use_rate_limit_header=True)
        @throttle_retry()
        def item_pages(order_id: str, **kwargs: Any) -> Any:
            return orders.get_order_items(order_id, **kwargs)

        for order_id in order_ids:
            yield from item_pages(order_id)
    finally:
        orders.close()


def order_ids_for_items(emulator: EmulatorProcess, count: int) -> list[str]:
    """Order ids to page getOrderItems over, listed once up front (with a fast plan) so no scenario pays for it."""
    emulator.fresh(usage_plans={"getOrders": [100.0, 100.0]})
    client = our_client(emulator.url)
    ids: list[str] = []
    params = {"MarketplaceIds": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"], "CreatedAfter": CREATED_AFTER, "MaxResultsPerPage": 100}
    for page in client.paginate("GET", ORDERS_PATH, params=params):
        ids.extend(order["AmazonOrderId"] for order in page["payload"]["Orders"])
        if len(ids) >= count:
            break
    return ids[:count]


def run_one(emulator: EmulatorProcess, scenario: Scenario, client_name: str, order_ids: list[str]) -> Outcome:
    rate, burst = scenario.plan
    outcome = Outcome(
        scenario=scenario.name,
        client=client_name,
        operation=scenario.operation,
        header=scenario.header,
        emulator_plan=[rate, burst],
        published_plan=list(PUBLISHED[scenario.operation]),
        calls_target=scenario.calls,
        goal=scenario.goal,
    )
    emulator.fresh(usage_plans={scenario.operation: [rate, burst]}, rate_limit_header=scenario.header)
    key = OPERATION_KEYS[scenario.operation]
    client: Any = None
    pages: Callable[[], Iterator[Any]]
    if client_name == "ours":
        client = our_client(emulator.url)
        pages = lambda: _ours_pages(client, scenario, order_ids)  # noqa: E731
    else:
        clear_peer_token_cache()  # the emulator's reset revoked the tokens a previous scenario cached
        pages = lambda: _peer_pages(emulator.url, scenario, order_ids)  # noqa: E731
    start = time.perf_counter()
    deadline = start + scenario.deadline_seconds
    iterator = pages()
    try:
        for _ in iterator:
            outcome.calls_ok += 1
            if outcome.calls_ok >= scenario.calls:
                break
            if time.perf_counter() > deadline:
                outcome.timed_out = True
                break
    except Exception as error:  # a call the client gave up on
        outcome.failed += 1
        outcome.error = f"{type(error).__name__}: {str(error)[:300]}"
    finally:
        outcome.elapsed_s = round(time.perf_counter() - start, 3)
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    counters = emulator.counters()
    outcome.http_attempts = int(counters["requests"].get(key, 0))
    outcome.http_429 = int(counters["throttled"].get(key, 0)) + int(counters["faults"].get("status", 0))
    if client is not None:
        outcome.client_stats = client.stats.as_dict()
        learned = client.rate_limiter.current_rate(getattr(client, "_seller", ""), key)
        if learned is not None:
            outcome.client_stats["final_client_rate"] = round(learned, 4)
        client.session.close()
    outcome.score(rate, burst)
    return outcome


def summarise(scenario: Scenario, client_name: str, outcomes: list[Outcome]) -> dict[str, Any]:
    """One row per (scenario, client): every trial's figures, the median, and the goal judged on the worst trial."""
    first = outcomes[0]
    pcts = [o.ceiling_pct for o in outcomes]
    passes = [o.passed for o in outcomes]
    return {
        "scenario": scenario.name,
        "client": client_name,
        "operation": scenario.operation,
        "header": scenario.header,
        "emulator_plan": first.emulator_plan,
        "published_plan": first.published_plan,
        "calls_target": scenario.calls,
        "trials": len(outcomes),
        "ceiling_pct_median": statistics.median(pcts),
        "ceiling_pct_min": min(pcts),
        "ceiling_pct_runs": pcts,
        "elapsed_s_runs": [o.elapsed_s for o in outcomes],
        "min_seconds": first.min_seconds,
        "calls_ok_runs": [o.calls_ok for o in outcomes],
        "failed_total": sum(o.failed for o in outcomes),
        "http_429_runs": [o.http_429 for o in outcomes],
        "timed_out": any(o.timed_out for o in outcomes),
        "goal": scenario.goal,
        "passed": None if passes[0] is None else all(bool(p) for p in passes),
        "trial_details": [asdict(o) for o in outcomes],
    }


def run(emulator: EmulatorProcess, quick: bool, log: Callable[[str], None]) -> list[dict[str, Any]]:
    plan = scenarios(quick)
    needed = max(s.calls for s in plan if s.operation == "getOrderItems")
    order_ids = order_ids_for_items(emulator, needed)
    results: list[dict[str, Any]] = []
    for scenario in plan:
        clients = ["ours", "python-amazon-sp-api"] if scenario.peer else ["ours"]
        for client_name in clients:
            trials = scenario.trials if client_name == "ours" else 1
            outcomes = []
            for trial in range(trials):
                log(
                    f"throughput {scenario.name:16} {client_name:21} {scenario.operation} plan={scenario.plan} "
                    f"header={scenario.header} N={scenario.calls} (>= {scenario.min_seconds:.0f}s) trial {trial + 1}/{trials}"
                )
                outcome = run_one(emulator, scenario, client_name, order_ids)
                log(
                    f"  -> {outcome.calls_ok} calls in {outcome.elapsed_s:.1f}s = {outcome.ceiling_pct}% of ceiling, "
                    f"{outcome.failed} failed, {outcome.http_429} x 429" + (f" ({outcome.error})" if outcome.error else "")
                )
                outcomes.append(outcome)
            results.append(summarise(scenario, client_name, outcomes))
    return results
