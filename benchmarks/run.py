"""Benchmarks of airflow-provider-spapi against the bundled emulator, side by side with python-amazon-sp-api.

    .venv/bin/python benchmarks/run.py            # full run, about 12.5 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # smoke run, about 80 seconds

1. throughput at the usage-plan ceiling (with and without ``x-amzn-RateLimit-Limit``, and the
   adaptive cases), ours and python-amazon-sp-api;
2. client CPU per call: ours, raw ``requests``, python-amazon-sp-api;
3. LWA token mints per 1,000 calls from 8 threads;
4. peak memory while streaming a >= 100 MiB report document to a file;
5. 1, 4, 8 and 16 worker processes paging one seller's plan, with and without the shared Redis store.
6. TikTok Shop: token refreshes per 1,000 access-token calls from 8 threads, paging at the throttle ceiling.

The emulator runs in a subprocess on 127.0.0.1 (a free port); CPU figures are this process's only.
Results go to ``benchmarks/results/latest.json`` (every run; ``meta.mode`` says which kind) and,
for a full run, also ``benchmarks/results/full.json``; a Markdown table is printed at the end.
See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cpu
import _lwa
import _multiprocess
import _streaming
import _throughput
import _tiktok
from _common import RESULTS_DIR, EmulatorProcess, machine_facts
from _report import markdown

BENCHMARKS: dict[str, Callable[[EmulatorProcess, bool, Callable[[str], None]], Any]] = {
    "throughput": _throughput.run,
    "cpu": _cpu.run,
    "lwa": _lwa.run,
    "streaming": _streaming.run,
    "multiprocess": _multiprocess.run,
    "tiktok": _tiktok.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (fewer calls, one LWA run each, 100 MiB report)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json", help="where to write the JSON results")
    args = parser.parse_args(argv)

    # Our client logs every usage-plan wait at INFO (useful in a task log); here it would drown the progress lines.
    logging.getLogger("airflow_provider_spapi").setLevel(logging.WARNING)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    results: dict[str, Any] = {"meta": {**machine_facts(), "mode": "quick" if args.quick else "full"}}
    failures = 0
    with EmulatorProcess(orders=400) as emulator:
        log(f"emulator pid {emulator.pid} on {emulator.url}")
        for name, bench in BENCHMARKS.items():
            if args.only and name not in args.only:
                continue
            log(f"== {name}")
            try:
                results[name] = bench(emulator, args.quick, log)
            except Exception as error:
                failures += 1
                results[name] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
                log(f"!! {name} failed: {error}")
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=False) + "\n"
    args.output.write_text(text)
    if not args.quick and not args.only and args.output == RESULTS_DIR / "latest.json":
        (RESULTS_DIR / "full.json").write_text(text)
    print()
    print(markdown(results))
    print()
    log(f"results written to {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
