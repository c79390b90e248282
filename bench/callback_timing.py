"""Each page's main callback (its layout render) against the bare SQL it runs, and a pandas baseline.

    .venv/bin/python bench/callback_timing.py DATA_DIR [--requests 200] [--pages region purchasing]

All renders run as in production: a view repeated within the minute is answered from the per-copy
result cache. The first render of each distinct view is "cold" (every query runs); for those, the bare
SQL floor re-runs exactly the statements the render executed (recorded), with no Python around them.
The pandas baseline computes the overview's figures for each distinct view. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import dash

import dashboard.data as data
from dashboard.app import create_app
from page_timing import PAGES, variations
from pandas_baseline import PandasShortfall
from queries.moments import as_of
from queries.paths import DataPaths


class RecordingCursor:
    """A cursor that remembers every statement it ran."""

    def __init__(self, cur) -> None:  # noqa: ANN001
        self.cur = cur
        self.calls: list[tuple[str, object]] = []

    def execute(self, sql, params=None):  # noqa: ANN001, ANN201
        self.calls.append((sql, params))
        return self.cur.execute(sql, params)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.cur, name)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES),
                        help="only these pages (the pandas baseline comes with the overview)")
    args = parser.parse_args()
    app = create_app(DataPaths(args.data_dir.resolve()))
    context = app.server.test_request_context("/")
    context.push()
    app.server.preprocess_request()   # the gate sets the visitor's role (login off: steward)
    recorded: list[RecordingCursor] = []
    original = data.snapshot

    @contextmanager
    def recording_snapshot():  # noqa: ANN202
        with original() as (publication, cur):
            recorder = RecordingCursor(cur)
            recorded.append(recorder)
            yield publication, recorder

    pages = {}
    for page in args.pages:
        module = PAGES[page]
        layout = dash.page_registry[module]["layout"]
        queries = list(itertools.islice(itertools.cycle(list(itertools.islice(variations(page), 200))),
                                        args.requests))
        module_obj = __import__(module, fromlist=["snapshot"])
        module_obj.snapshot = recording_snapshot
        layout(**queries[0])
        data._results.clear()
        render, cold, sql, seen = [], [], [], set()
        for query in queries:
            recorded.clear()
            started = time.perf_counter()
            layout(**query)
            elapsed = (time.perf_counter() - started) * 1000
            render.append(elapsed)
            view = tuple(sorted(query.items()))
            if view in seen:
                continue
            seen.add(view)
            cold.append(elapsed)
            with data.reader().cursor() as cur:
                started = time.perf_counter()
                for statement, params in recorded[0].calls:
                    cur.execute(statement, params).fetchall()
                sql.append((time.perf_counter() - started) * 1000)
        module_obj.snapshot = original
        pages[page] = {"p50_ms": statistics.median(render), "p95_ms": p(render, 0.95),
                       "cold_p50_ms": statistics.median(cold), "cold_p95_ms": p(cold, 0.95),
                       "sql_p50_ms": statistics.median(sql), "sql_p95_ms": p(sql, 0.95), "requests": len(render),
                       "distinct_views": len(cold)}
    worker_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with data.reader().cursor() as cur:
        observations = cur.execute("SELECT count(*) FROM capacity_observation").fetchall()[0][0]
        if "overview" in pages:
            pandas_baseline(PandasShortfall(cur), pages["overview"])
    print(json.dumps({"observations": observations, "pages": pages, "worker_peak_mb": worker_peak_mb}))


def pandas_baseline(baseline: PandasShortfall, overview: dict) -> None:
    """The overview's figures computed with pandas for 12 views, p50 and p95 into `overview`."""
    timings = []
    for level, (care, group) in itertools.product(
            ("veilig_thuis", "veiligheidsregio", "jeugdregio", "provincie"),
            (("shelter", "child"), ("trauma_care", "child"), ("peer_group", "adult_victim"))):
        started = time.perf_counter()
        baseline.shortfall(level, as_of(None), care, group)
        timings.append((time.perf_counter() - started) * 1000)
    overview["pandas_p50_ms"] = statistics.median(timings)
    overview["pandas_p95_ms"] = p(timings, 0.95)


if __name__ == "__main__":
    main()
