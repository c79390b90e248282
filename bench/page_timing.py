"""Server time of each page's main callback (the layout render, which runs every query of the page).

    .venv/bin/python bench/page_timing.py DATA_DIR [--requests 200]

Each page is rendered with varied filters (levels, care types, target groups, regions, municipalities).
"cold" is the first render of each distinct view (every query runs); "all" is every render, where views
repeat within the minute and are answered from the per-published-copy cache. p50/p95 in milliseconds.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

import dash

from dashboard.app import create_app
from queries.paths import DataPaths

LEVELS = ("veilig_thuis", "veiligheidsregio", "jeugdregio", "provincie")
COMBOS = (("shelter", "adult_victim"), ("shelter", "child"), ("trauma_care", "child"),
          ("perpetrator_programme", "perpetrator"), ("peer_group", "adult_victim"))
REGIONS = ("VT01", "VT08", "VT13", "VT27", "VT20")
MUNICIPALITIES = ("GM0363", "GM0014", "GM0344", "GM0599", "GM0047", "GM0096")


def variations(page: str):
    if page == "overview":
        for level, (care, group), colour in itertools.product(LEVELS, COMBOS, ("status", "per_10k")):
            yield {"level": level, "care_type": care, "target_group": group, "colour": colour}
    elif page == "region":
        for region, (care, group) in itertools.product(REGIONS, COMBOS):
            yield {"region_code": region, "care_type": care, "target_group": group}
    elif page == "search":
        for gm, (care, group), available in itertools.product(MUNICIPALITIES, COMBOS, ("", "1")):
            yield {"gemeente": gm, "care_type": care, "target_group": group, "available": available}
    elif page == "purchasing":
        for level, (care, group), region in itertools.product(LEVELS, COMBOS, ("", "VT08")):
            yield {"level": level, "care_type": care, "target_group": group,
                   "region": region if level == "veilig_thuis" else ""}
    else:
        while True:
            yield {}


PAGES = {"overview": "pages.overview", "region": "pages.region", "search": "pages.search",
         "purchasing": "pages.purchasing", "sources": "pages.sources"}


def measure(requests: int) -> dict[str, dict[str, float]]:
    results = {}
    for page, module in PAGES.items():
        layout = dash.page_registry[module]["layout"]
        queries = list(itertools.islice(itertools.cycle(list(itertools.islice(variations(page), 200))), requests))
        layout(**{**queries[0], "at": "2020-01-01"})   # warm-up: imports, map shapes, first connection
        times, cold, seen = [], [], set()
        for query in queries:
            started = time.perf_counter()
            layout(**query)
            elapsed = (time.perf_counter() - started) * 1000
            times.append(elapsed)
            key = tuple(sorted(query.items()))
            if key not in seen:
                seen.add(key)
                cold.append(elapsed)
        results[page] = {**percentiles("cold", cold), **percentiles("all", times), "requests": len(times)}
    return results


def percentiles(label: str, values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {f"{label}_p50_ms": statistics.median(ordered), f"{label}_p95_ms": ordered[int(0.95 * (len(ordered) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    app = create_app(DataPaths(args.data_dir.resolve()))
    with app.server.test_request_context("/"):
        app.server.preprocess_request()   # the gate sets the visitor's role (login off: steward)
        results = measure(args.requests)
    for page, figures in results.items():
        print(f"{page:<11} cold p50 {figures['cold_p50_ms']:6.1f} p95 {figures['cold_p95_ms']:6.1f} ms | "
              f"all p50 {figures['all_p50_ms']:6.1f} p95 {figures['all_p95_ms']:6.1f} ms ({figures['requests']} renders)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
