"""Ingest throughput against DuckDB's own read_csv, and a full cycle of many small sources.

    .venv/bin/python bench/ingest_throughput.py WORK_DIR [--rows 1000000] [--sources 500]

Prints JSON with rows/s of the whole pipeline (parse, validate, load) on a clean canonical CSV of `--rows`
rows and on one of a fifth of that with 5% bad rows (every 20th row has one of several errors), each
against the floor (read_csv of the same file into a table) and their ratio, each side the median of three
runs; the peak memory of each ingest (run in a process of its own, so that nothing else counts); and the
seconds for one cycle of `--sources` small sources (files and loopback feeds).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

from ingest.config import SourceConfig
from ingest.reference_load import initialise
from ingest.runner import SourceRunner
from queries.paths import DataPaths
from queries.warehouse import Warehouse

HEADER = ("service_id,service_name,provider_name,care_type,target_groups,service_area,valid_at,unit,maximum,"
          "available,waiting_count,wait_days_intake,wait_days_treatment")
MUNICIPALITIES = ("GM0014", "GM0034", "GM0363", "GM0344", "GM0599", "GM0518", "GM0772", "GM0935")


BAD_CELLS = (  # (column index, value): each makes a row an error of its own kind
    (8, "1,5"), (3, "onbekende zorg"), (9, "25"), (1, ""), (6, "31-02-2025 10:00"), (5, "Nergenshuizen"),
    (11, "4000"), (12, "x"))


def write_csv(path: Path, rows: int, services: int = 2000, bad_every: int = 0) -> int:
    """A canonical CSV of `rows` rows; with `bad_every`, every so many rows has one of BAD_CELLS. Returns the
    number of rows that should load."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    bad = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            s = i % services
            moment = (start + timedelta(minutes=30 * (i // services))).isoformat()
            cells = [f"B{s:05d}", f"Dienst {s}", f"Aanbieder {s % 97}", "shelter", "adult_victim;child",
                     MUNICIPALITIES[s % len(MUNICIPALITIES)], moment, "place", "20", str(i % 20), str(i % 7),
                     str(i % 30), str(i % 90)]
            if bad_every and i % bad_every == bad_every - 1:
                column, value = BAD_CELLS[(i // bad_every) % len(BAD_CELLS)]
                cells[column] = value
                bad += 1
            out.write(",".join(cells) + "\n")
    return rows - bad


def floor_read_csv(path: Path) -> float:
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)]).fetchall()
    return time.perf_counter() - started


def pipeline(work: Path, path: Path) -> tuple[float, int]:
    paths = DataPaths(work / "data")
    with Warehouse(paths) as warehouse:
        initialise(warehouse)
        inbox = paths.inbox / "big"
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, inbox / path.name)
        source = SourceConfig("big", "file", "1h", options={"settle_seconds": 0, "max_bytes": 2 * 1024 ** 3})
        started = time.perf_counter()
        summary = SourceRunner(warehouse, paths).run(source)
        return time.perf_counter() - started, summary.loaded


class _Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        number = int(self.path.strip("/").split("-")[-1])
        body = json.dumps([{"service_id": f"F{number}", "service_name": f"Feed {number}", "provider_name": "Feed",
                            "care_type": "peer_group", "target_groups": "adult_victim", "service_area": "GM0363",
                            "valid_at": datetime.now(timezone.utc).isoformat(), "unit": "group_seat",
                            "maximum": 10, "available": number % 10}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def cycle(work: Path, count: int) -> float:
    """One run of `count` sources, half small CSV files and half loopback feeds, then one publication."""
    paths = DataPaths(work / "cycle")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sources = []
    for n in range(count):
        if n % 2:
            sources.append(SourceConfig(f"feed-{n}", "http", "15m", url=f"http://127.0.0.1:{server.server_port}/f-{n}"))
        else:
            inbox = paths.inbox / f"file-{n}"
            inbox.mkdir(parents=True, exist_ok=True)
            (inbox / "report.csv").write_text(
                HEADER + f"\nC{n},Dienst {n},Aanbieder,shelter,child,GM0014,"
                f"{datetime.now(timezone.utc).isoformat()},place,10,{n % 10},0,0,0\n", encoding="utf-8")
            sources.append(SourceConfig(f"file-{n}", "file", "15m", options={"settle_seconds": 0}))
    with Warehouse(paths) as warehouse:
        initialise(warehouse)
        runner = SourceRunner(warehouse, paths)
        started = time.perf_counter()
        failed = [s.id for s in sources if runner.run(s).status == "failed"]
        warehouse.publish()
        elapsed = time.perf_counter() - started
    server.shutdown()
    if failed:
        raise SystemExit(f"cycle: failed sources {failed[:5]}")
    return elapsed


def measured(work: Path, rows: int, bad_every: int = 0, repeats: int = 3) -> dict:
    """One file through the floor and the pipeline `repeats` times each, by turns, every time in a process of
    its own (its peak memory its own, its memory new to it) on a new warehouse: the median seconds of each
    side (one run on this machine varies by a fifth) and the highest peak."""
    work.mkdir(parents=True)
    csv_path = work / "canonical.csv"
    expected = write_csv(csv_path, rows, bad_every=bad_every)
    floors, ingests = [], []
    for _ in range(repeats):
        floors.append(_child("floor", csv_path))
        shutil.rmtree(work / "data", ignore_errors=True)
        ingests.append(_child("pipeline", csv_path))
    wrong = [ingest["loaded"] for ingest in ingests if ingest["loaded"] != expected]
    if wrong:
        raise SystemExit(f"pipeline loaded {wrong[0]} of {expected} rows")
    floor = statistics.median(run["seconds"] for run in floors)
    seconds = statistics.median(run["seconds"] for run in ingests)
    return {"rows": rows, "loaded": expected, "runs": repeats, "pipeline_seconds": seconds,
            "pipeline_rows_per_s": rows / seconds, "read_csv_seconds": floor, "read_csv_rows_per_s": rows / floor,
            "ratio_to_read_csv": floor / seconds, "ingest_peak_mb": max(run["peak_mb"] for run in ingests),
            "pipeline_seconds_each": [run["seconds"] for run in ingests],
            "read_csv_seconds_each": [run["seconds"] for run in floors]}


def _child(step: str, csv_path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, str(csv_path.parent), "--step", step], check=True,
                         stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _step(step: str, work: Path) -> None:
    """The child's part: one measurement on work/canonical.csv, printed as JSON."""
    csv_path = work / "canonical.csv"
    if step == "floor":
        figures = {"seconds": floor_read_csv(csv_path)}
    else:
        seconds, loaded = pipeline(work, csv_path)
        figures = {"seconds": seconds, "loaded": loaded}
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--step", choices=("floor", "pipeline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.step:
        _step(args.step, work)
        return
    shutil.rmtree(work, ignore_errors=True)
    clean = measured(work / "clean", args.rows)
    with_errors = measured(work / "with-errors", args.rows // 5, bad_every=20)
    cycle_seconds = cycle(work, args.sources)
    print(json.dumps({**clean, "with_errors": with_errors, "sources": args.sources, "cycle_seconds": cycle_seconds}))


if __name__ == "__main__":
    main()
