"""Benchmark 5: memory while streaming a large report document to a file.

A fresh process (``python benchmarks/_streaming.py worker ...``) creates a report on the emulator
(document size ``report_document_bytes``, served GZIP-compressed from a pre-signed-style URL), waits
for DONE, then measures around ``core.workflows.download`` (getReportDocument, then the streamed,
decompressed, atomic write): the peak resident set size, sampled every 5 ms by a psutil thread,
minus the RSS just before the download; and ``ru_maxrss`` before and after, as a cross-check
(``ru_maxrss`` is a high-water mark, so it can only show growth above the process's earlier peak).
The wall time includes the emulator generating and compressing the document on the fly (in Python,
in the other process), so it is not the client's speed; the client's own CPU time is reported too.
The file's size must equal the document size; its SHA-256 is compared with the emulator's own
generator of that document (``emulator.documents.report_content``), after the measurement (full run only).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"
MB = 1024 * 1024


class PeakSampler(threading.Thread):
    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop_event = threading.Event()
        self.peak = self._process.memory_info().rss
        self.samples = 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self.samples += 1
            self._stop_event.wait(self._interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join(5)
        return self.peak


def _maxrss_bytes() -> int:
    # Linux reports kilobytes, macOS bytes.
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def worker(url: str, size: int, directory: str, verify: bool) -> dict[str, Any]:
    import psutil
    from _common import our_client

    from airflow_provider_spapi.spapi import workflows

    client = our_client(url)
    report_id = workflows.create_report(client, REPORT_TYPE, marketplace_ids=["ATVPDKIKX0DER"])
    status = None
    for _ in range(30):
        status = workflows.processing_status(client, "report", report_id)
        if status.finished:
            break
        time.sleep(0.2)
    if status is None or status.status != "DONE" or not status.document_id:
        raise RuntimeError(f"report {report_id} did not finish: {status}")
    target = Path(directory) / "report.tsv"

    gc.collect()
    process = psutil.Process()
    rss_before = process.memory_info().rss
    maxrss_before = _maxrss_bytes()
    sampler = PeakSampler()
    sampler.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = workflows.download(client, "report", status.document_id, target)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = sampler.stop()
    maxrss_after = _maxrss_bytes()
    rss_after = process.memory_info().rss

    on_disk = target.stat().st_size
    outcome: dict[str, Any] = {
        "document_bytes": size,
        "bytes_written": result.bytes_written,
        "bytes_received_compressed": result.bytes_received,
        "file_size": on_disk,
        "size_ok": on_disk == size == result.bytes_written,
        "elapsed_s": round(elapsed, 2),
        "throughput_mb_s": round(size / MB / elapsed, 1) if elapsed else None,
        "client_cpu_s": round(cpu, 2),
        "rss_before_mb": round(rss_before / MB, 1),
        "rss_peak_mb": round(peak / MB, 1),
        "rss_after_mb": round(rss_after / MB, 1),
        "peak_rss_growth_mb": round((peak - rss_before) / MB, 1),
        "ru_maxrss_before_mb": round(maxrss_before / MB, 1),
        "ru_maxrss_after_mb": round(maxrss_after / MB, 1),
        "ru_maxrss_growth_mb": round(max(0, maxrss_after - maxrss_before) / MB, 1),
        "rss_samples": sampler.samples,
    }
    if verify:
        from airflow_provider_spapi.emulator.documents import report_content

        expected, actual = hashlib.sha256(), hashlib.sha256()
        for chunk in report_content(REPORT_TYPE, report_id, size):
            expected.update(chunk)
        with target.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                actual.update(block)
        outcome["content_sha256_ok"] = expected.hexdigest() == actual.hexdigest()
    target.unlink()
    return outcome


def run(emulator: Any, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    size = 104_857_600 if quick else 157_286_400  # 100 MiB smoke, 150 MiB full
    emulator.fresh(report_document_bytes=size, report_polls=0)
    with tempfile.TemporaryDirectory(prefix="spapi-bench-stream-") as directory:
        command = [sys.executable, str(BENCH_DIR / "_streaming.py"), "worker", "--url", emulator.url, "--bytes", str(size)]
        command += ["--dir", directory] + ([] if quick else ["--verify"])
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=BENCH_DIR)
    if done.returncode != 0:
        raise RuntimeError(f"streaming worker failed: {done.stderr[-2000:]}")
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    outcome["goal_mb"] = 64
    outcome["passed"] = outcome["peak_rss_growth_mb"] < 64 and outcome["size_ok"] and outcome.get("content_sha256_ok", True)
    log(
        f"streaming {size / MB:.0f} MiB: peak RSS +{outcome['peak_rss_growth_mb']} MB "
        f"(ru_maxrss +{outcome['ru_maxrss_growth_mb']} MB), {outcome['file_size']} bytes written in {outcome['elapsed_s']}s"
    )
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["worker"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--verify", action="store_true")
    args = parser.parse_args()
    if not args.url.startswith("http://127.0.0.1:"):
        raise SystemExit("the benchmarks only talk to 127.0.0.1")
    import logging

    logging.getLogger("airflow_provider_spapi").setLevel(logging.WARNING)
    print(json.dumps(worker(args.url, args.bytes, args.dir, args.verify)), flush=True)


if __name__ == "__main__":
    main()
