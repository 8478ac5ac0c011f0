"""The Markdown summary of a results file: ``python benchmarks/_report.py [results.json]`` prints it again."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCENARIO_TITLES = {
    "header": "1a throughput, header sent",
    "no-header": "1b throughput, no header",
    "adaptive-faster": "1c adaptive: real plan faster, no header",
    "adaptive-slower": "1d adaptive: real plan slower, no header",
}


def _status(passed: bool | None) -> str:
    return "info" if passed is None else ("PASS" if passed else "**MISS**")


def _plan(plan: list[float]) -> str:
    return f"{plan[0]:g}/s burst {plan[1]:g}"


def _throughput_rows(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for row in rows:
        title = SCENARIO_TITLES.get(row["scenario"], row["scenario"])
        what = f"{title} ({row['operation']}, emulator {_plan(row['emulator_plan'])}; published {_plan(row['published_plan'])})"
        runs = row["trials"]
        elapsed = ", ".join(f"{value:.1f}" for value in row["elapsed_s_runs"])
        if runs > 1:
            pct = f"{row['ceiling_pct_median']} % of ceiling (median of {runs}; runs {', '.join(map(str, row['ceiling_pct_runs']))})"
        else:
            pct = f"{row['ceiling_pct_median']} % of ceiling"
        result = (
            f"{pct}: {row['calls_target']} calls in {elapsed} s (min {row['min_seconds']:.1f} s); "
            f"{row['failed_total']} failed; 429s {'/'.join(map(str, row['http_429_runs']))}"
        )
        if row.get("timed_out"):
            result += "; cut off at the time limit"
        goal = {"ceiling": "≥ 95 % every run, 0 failed", "no-failures": "0 failed"}.get(row["goal"], "report")
        ours = row["client"] == "ours"
        out.append(f"| {what} | {row['client']} | {result} | {goal if ours else '-'} | {_status(row['passed'] if ours else None)} |")
    return out


def markdown(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    lines = [
        f"Mode {meta.get('mode')}, {meta.get('date')}, Python {meta.get('python')}, {meta.get('cpu_count_logical')} logical CPUs, "
        f"python-amazon-sp-api {meta.get('python-amazon-sp-api')}, requests {meta.get('requests')}, httpx {meta.get('httpx')}, "
        f"{meta.get('duration_s')} s in all.",
        "",
        "| Benchmark | Client | Result | Goal | Status |",
        "|---|---|---|---|---|",
    ]
    throughput = results.get("throughput")
    if isinstance(throughput, list):
        lines += _throughput_rows(throughput)
    elif isinstance(throughput, dict):
        lines.append(f"| 1 throughput | - | error: {throughput.get('error')} | - | **MISS** |")

    cpu = results.get("cpu")
    if cpu and "error" not in cpu:
        variants = cpu["variants"]
        what = f"2 client CPU per call ({cpu['operation']}, {cpu['calls_per_run']} calls × {cpu['repeats']}, median)"
        for name, figures in variants.items():
            result = f"{figures['cpu_us_per_call']:.0f} µs CPU/call (wall {figures['wall_us_per_call']:.0f} µs)"
            if name == "ours":
                result += f"; ours/raw {cpu['ours_over_raw']:.2f}, ours/peer {cpu['ours_over_peer']:.2f}"
                goal, status = "ours/raw ≤ 1.3", _status(cpu["passed"])
            else:
                goal, status = "-", "info"
                raw = variants.get("raw requests", {}).get("cpu_us_per_call")
                if raw and name != "raw requests":
                    result += f"; {figures['cpu_us_per_call'] / raw:.2f} × raw requests"
            lines.append(f"| {what} | {name} | {result} | {goal} | {status} |")
        extra = cpu.get("overhead_without_network")
        if extra:
            lines.append(
                f"| 2 client overhead without network (stub session) | ours | {extra['client_overhead_us']:.0f} µs/call above the stub "
                f"(retry wrapper {extra['of_which_retry_wrapper_us']:.0f} µs, token bucket {extra['of_which_token_bucket_us']:.1f} µs) "
                "| - | info |"
            )
    elif cpu:
        lines.append(f"| 2 client CPU per call | - | error: {cpu.get('error')} | - | **MISS** |")

    lwa = results.get("lwa")
    if lwa and "error" not in lwa:
        what = f"3 LWA mints per {lwa['calls']} calls, {lwa['threads']} threads (cold process)"
        for name, runs in lwa["runs"].items():
            mints = [r["lwa_mints"] for r in runs]
            failed = sum(r["failed"] for r in runs)
            result = f"{max(mints)} mint(s) (runs: {', '.join(map(str, mints))}); {failed} failed calls"
            if name == "ours":
                lines.append(f"| {what} | {name} | {result} | 1 | {_status(lwa['passed'])} |")
            else:
                lines.append(f"| {what} | {name} | {result} | - | info |")
    elif lwa:
        lines.append(f"| 3 LWA mints | - | error: {lwa.get('error')} | - | **MISS** |")

    stream = results.get("streaming")
    if stream and "error" not in stream:
        mib = stream["document_bytes"] / 2**20
        result = (
            f"peak RSS +{stream['peak_rss_growth_mb']} MB (ru_maxrss +{stream['ru_maxrss_growth_mb']} MB); "
            f"{stream['file_size']} bytes written (size {'ok' if stream['size_ok'] else 'WRONG'}"
            f"{', SHA-256 ok' if stream.get('content_sha256_ok') else ''}) in {stream['elapsed_s']} s, "
            f"client CPU {stream['client_cpu_s']} s"
        )
        lines.append(f"| 4 streaming a {mib:.0f} MiB GZIP report to a file | ours | {result} | < 64 MB | {_status(stream['passed'])} |")
    elif stream:
        lines.append(f"| 4 streaming | - | error: {stream.get('error')} | - | **MISS** |")
    lines += _multiprocess_rows(results.get("multiprocess"))
    lines += _tiktok_rows(results.get("tiktok"))
    return "\n".join(lines)


def _multiprocess_rows(rows: Any) -> list[str]:
    if isinstance(rows, dict):
        return [f"| 5 worker processes | - | error: {rows.get('error')} | - | **MISS** |"]
    out = []
    for row in rows or []:
        what = f"5 {row['processes']} process(es) × {row['pages_each']} pages, one plan ({_plan(row['plan'])}, header sent)"
        result = (
            f"{row['ceiling_pct']} % of ceiling: {row['pages']} pages in {row['elapsed_s']} s (min {row['min_seconds']:.1f} s); "
            f"{row['http_429']} × 429 ({row['throttled_per_page']} per page); {row['failed_workers']} failed; "
            f"longest wait {row['longest_wait_s']} s"
        )
        client = "ours, shared store (Redis)" if row["store"] else "ours, no shared state"
        out.append(f"| {what} | {client} | {result} | {row['goal']} | {_status(row['passed'])} |")
    return out


def _tiktok_rows(tiktok: dict[str, Any] | None) -> list[str]:
    if not tiktok:
        return []
    if "error" in tiktok:
        return [f"| 6 TikTok Shop | - | error: {tiktok.get('error')} | - | **MISS** |"]
    runs = tiktok["refresh_runs"]
    refreshes = [run["refreshes"] for run in runs]
    failed = sum(run["failed"] for run in runs)
    lines = [
        f"| 6a TikTok Shop refreshes per {tiktok['calls']} access_token() calls, {tiktok['threads']} threads on "
        f"{tiktok['threads']} clients (cold caches) | ours | {max(refreshes)} refresh(es) (runs: {', '.join(map(str, refreshes))}); "
        f"{failed} failed | 1 | {_status(tiktok['refreshes_passed'])} |"
    ]
    for row in tiktok["paging"]:
        rate, burst = row["emulator_plan"]
        lines.append(
            f"| 6b TikTok Shop paging orders search, 1 order per page (emulator {rate:g}/s burst {burst:g}; no published plan) | ours | "
            f"{row['ceiling_pct_median']} % of ceiling (runs {', '.join(map(str, row['ceiling_pct_runs']))}; achieved "
            f"{'/'.join(map(str, row['achieved_rate_runs']))} calls/s): {row['pages']} pages in "
            f"{', '.join(map(str, row['elapsed_s_runs']))} s (min {row['min_seconds']} s); {row['failed_total']} failed; "
            f"429s {'/'.join(map(str, row['http_429_runs']))} | report | info |"
        )
    return lines


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results" / "latest.json"
    print(markdown(json.loads(path.read_text())))
