"""Time the shortfall query on a published warehouse (see build_warehouse.py).

    .venv/bin/python bench/shortfall_timing.py DATA_DIR [--level veiligheidsregio] [--repeat 30]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from queries.connection import PublishedReader
from queries.moments import as_of
from queries.paths import DataPaths
from queries.shortfall import shortfall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--level", default="veiligheidsregio")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    reader = PublishedReader(DataPaths(args.data_dir.resolve()))
    with reader.cursor() as cur:
        observations = cur.execute("SELECT count(*) FROM capacity_observation").fetchall()[0][0]
        for label, moment in (("now", as_of(None)), ("as of a year ago", as_of(None).replace(year=as_of(None).year - 1))):
            times, cells = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                cells = shortfall(cur, args.level, moment)
                times.append(time.perf_counter() - started)
            times.sort()
            print(f"{args.level} {label}: {len(cells)} cells from {observations:,} observations; "
                  f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {times[int(0.95 * (len(times) - 1))] * 1000:.0f} ms, "
                  f"min {times[0] * 1000:.0f} ms")
    reader.close()


if __name__ == "__main__":
    main()
