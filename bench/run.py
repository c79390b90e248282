"""`make bench`: every benchmark of the project in one run, with its baseline measured in the same run.

Writes bench/results/<timestamp>.json and bench/results/latest.md (the table shown in the README).
    .venv/bin/python bench/run.py [--scale 1] [--rows 1000000] [--sources 500]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def run_json(*args: str) -> dict:
    """Run one benchmark script; its last output line is its JSON result (its errors are shown)."""
    out = subprocess.run([sys.executable, *args], stdout=subprocess.PIPE, text=True, check=True, cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="x1: 2,000 services, 3.5 million observations")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="capacity-bench-"))
    started = time.perf_counter()
    try:
        data = work / "data"
        subprocess.run([sys.executable, str(HERE / "build_warehouse.py"), str(data), "--services",
                        str(2000 * args.scale), "--observations", str(3_500_000 * args.scale)], check=True,
                       cwd=HERE.parent)
        callbacks = run_json(str(HERE / "callback_timing.py"), str(data))
        browser = run_json(str(HERE / "page_ready.py"), str(data))
        load = run_json(str(HERE / "load_test.py"), str(data))
        ingest = run_json(str(HERE / "ingest_throughput.py"), str(work / "ingest"), "--rows", str(args.rows),
                          "--sources", str(args.sources))
        form = run_json(str(HERE / "form_latency.py"))
        alerts = run_json(str(HERE / "alert_latency.py"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "scale": args.scale, "callbacks": callbacks, "browser": browser, "load": load, "ingest": ingest,
              "form": form, "alerts": alerts,
              "seconds": time.perf_counter() - started}
    RESULTS.mkdir(exist_ok=True)
    stamp = result["when"].replace(":", "").replace("-", "")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    table = markdown(result)
    (RESULTS / "latest.md").write_text(table, encoding="utf-8")
    print(table)


def markdown(result: dict) -> str:
    lines = [f"Measured {result['when']} on {result['machine']}; scale ×{result['scale']} "
             f"({result['callbacks']['observations']:,} observations); whole run {result['seconds']:.0f} s.", "",
             "| page | callback p50 ms | p95 ms | cold p50 ms | cold p95 ms | bare SQL p50 ms | cold / SQL | "
             "pandas p50 ms | page ready s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for page, figures in result["callbacks"]["pages"].items():
        ready = result["browser"].get(page)
        pandas = f"{figures['pandas_p50_ms']:.0f}" if "pandas_p50_ms" in figures else "–"
        lines.append(f"| {page} | {figures['p50_ms']:.0f} | {figures['p95_ms']:.0f} | {figures['cold_p50_ms']:.0f} | "
                     f"{figures['cold_p95_ms']:.0f} | {figures['sql_p50_ms']:.0f} | "
                     f"{figures['cold_p50_ms'] / figures['sql_p50_ms']:.1f}× | {pandas} | {ready:.2f} |")
    ingest = result["ingest"]
    lines += ["", "| measure | value | budget |", "| --- | --- | --- |",
              f"| ingest of {ingest['rows']:,} CSV rows (parse, validate, load) | {_ingest_figures(ingest)} "
              "| ≥ 40% |",
              *([f"| ingest of {ingest['with_errors']['rows']:,} CSV rows, 5% of them bad | "
                 f"{_ingest_figures(ingest['with_errors'])} | ≥ 25% |"] if "with_errors" in ingest else []),
              f"| one cycle of {ingest['sources']} small sources | {ingest['cycle_seconds']:.1f} s | ≤ 60 s |",
              f"| peak memory, web worker (all page renders) | {result['callbacks']['worker_peak_mb']:.0f} MB | ≤ 400 MB |",
              f"| peak memory, ingest ({ingest['rows']:,}-row file) | {ingest['ingest_peak_mb']:.0f} MB | ≤ 500 MB |"]
    if "load" in result:
        load = result["load"]
        lines.append(f"| page renders under load ({load['users']} users, {load['seconds']:.0f} s, "
                     f"{load['publications']} new copies) | p50 {load['render_p50_ms']:.0f} ms, p95 "
                     f"{load['render_p95_ms']:.0f} ms, {load['errors']} errors, {load['requests_per_s']:.0f} req/s, "
                     f"{load['cpu_ms_per_render']:.0f} ms CPU per render | p95 ≤ 600 ms, 0 errors |")
    if "form" in result:
        form = result["form"]
        lines.append(f"| provider form: saved to on the dashboard ({form['trials']} tries, default schedule) | "
                     f"median {form['median_s']:.1f} s, max {form['max_s']:.1f} s | ≤ 60 s |")
    if "alerts" in result:
        alerts = result["alerts"]
        lines.append(f"| alert e-mail after the publication that causes it ({alerts['trials']} changes) | median "
                     f"{alerts['median_s'] * 1000:.0f} ms, max {alerts['max_s'] * 1000:.0f} ms (one direct SMTP send: "
                     f"{alerts['smtp_send_s'] * 1000:.0f} ms) | |")
    return "\n".join(lines) + "\n"


def _ingest_figures(ingest: dict) -> str:
    """An ingest's rows/s against read_csv's on the same file, and the seconds of each (medians of its runs)."""
    return (f"{ingest['pipeline_rows_per_s']:,.0f} rows/s = {ingest['ratio_to_read_csv']:.1%} of read_csv "
            f"({ingest['read_csv_rows_per_s']:,.0f} rows/s; {ingest['pipeline_seconds']:.2f} s against "
            f"{ingest['read_csv_seconds']:.2f} s, medians of {ingest.get('runs', 1)} runs)")


if __name__ == "__main__":
    main()
