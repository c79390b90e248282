"""Ingest throughput against DuckDB's own read_csv, and a full cycle of many small sources.

    .venv/bin/python bench/ingest_throughput.py WORK_DIR [--rows 1000000] [--sources 500]

Prints JSON with rows/s of the whole pipeline (parse, validate, load) on one canonical CSV, the floor
(read_csv of the same file into a table), their ratio, the peak memory of the ingest (this process), and
the seconds for one cycle of `--sources` small sources (files and loopback feeds).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
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


def write_csv(path: Path, rows: int, services: int = 2000) -> None:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            s = i % services
            moment = (start + timedelta(minutes=30 * (i // services))).isoformat()
            out.write(f"B{s:05d},Dienst {s},Aanbieder {s % 97},shelter,adult_victim;child,"
                      f"{MUNICIPALITIES[s % len(MUNICIPALITIES)]},{moment},place,20,{i % 20},{i % 7},{i % 30},"
                      f"{i % 90}\n")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=500)
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    csv_path = work / "canonical.csv"
    write_csv(csv_path, args.rows)
    floor = floor_read_csv(csv_path)
    seconds, loaded = pipeline(work, csv_path)
    if loaded != args.rows:
        raise SystemExit(f"pipeline loaded {loaded} of {args.rows} rows")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cycle_seconds = cycle(work, args.sources)
    print(json.dumps({"rows": args.rows, "loaded": loaded, "pipeline_seconds": seconds,
                      "pipeline_rows_per_s": loaded / seconds, "read_csv_seconds": floor,
                      "read_csv_rows_per_s": args.rows / floor, "ratio_to_read_csv": floor / seconds,
                      "ingest_peak_mb": peak_mb, "sources": args.sources, "cycle_seconds": cycle_seconds}))


if __name__ == "__main__":
    main()
