"""Does pacing at a known plan cost 429s? A deterministic simulation with the real rate limiter.

    .venv/bin/python benchmarks/_aimd_cost.py

Our ``RateLimiter`` (client side) and a ``TokenBucket`` standing for Amazon's (server side) run the
same plan on one fake clock, with no network latency. The only difference is when the server's
bucket started: with the client's, or ``lag`` seconds after it, as happens when the first request
takes a little longer to reach the server than a later one (on loopback, a millisecond of jitter;
on the internet, more). Without a margin the two buckets would run in lockstep and even
floating-point rounding could put the server a hair short of a token; the client's mirror therefore
runs ``CLIENT_LAG`` (50 ms) behind. The table shows the 429s and the seconds lost against the
plan's minimum time, also in refill intervals: with the lag, none, and at most the lag itself.
"""

from __future__ import annotations

from airflow_provider_spapi.core.ratelimit import RateLimiter, TokenBucket

PLANS = [
    ("getOrders, published plan", 0.0167, 20.0, 40),
    ("getOrderItems, published plan", 0.5, 30.0, 45),
    ("getOrders, seller plan from the header", 10.0, 20.0, 200),
]


def simulate(rate: float, burst: float, calls: int, lag: float) -> tuple[float, float, int]:
    now = [0.0]

    def clock() -> float:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(clock=clock, sleep=sleep)
    server: TokenBucket | None = None
    ok = throttled = 0
    for _ in range(10 * calls):  # bounded: every attempt either succeeds or is a 429
        if ok >= calls:
            break
        limiter.acquire("seller", "operation", rate, burst)
        if server is None:
            now[0] += lag
            server = TokenBucket(rate, burst, clock)
            now[0] -= lag
        if server.try_acquire() == 0.0:
            ok += 1
            limiter.record_success("seller", "operation")
        else:
            throttled += 1
            limiter.record_throttled("seller", "operation")
    return now[0], max(0.0, (calls - burst) / rate), throttled


def main() -> None:
    print("| plan | calls | server bucket starts | 429s | time | minimum | lost | lost in refill intervals |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rate, burst, calls in PLANS:
        for lag in (0.0, 0.001):
            elapsed, minimum, throttled = simulate(rate, burst, calls, lag)
            lost = elapsed - minimum
            print(
                f"| {name} ({rate:g}/s burst {burst:g}) | {calls} | {'with the client' if lag == 0 else f'{lag * 1000:g} ms later'} "
                f"| {throttled} | {elapsed:.1f} s | {minimum:.1f} s | {lost:.1f} s | {lost * rate:.2f} |"
            )


if __name__ == "__main__":
    main()
