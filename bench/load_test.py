"""Page renders under load on loopback while a new published copy appears every few seconds (issue 16).

    .venv/bin/python bench/load_test.py DATA_DIR [--users 32] [--seconds 120] [--think 0.5] [--publish-every 4]

DATA_DIR is a data folder built by bench/build_warehouse.py; no other process may write it during the run.

What runs:
- The default `capacity serve` (gunicorn, 2 workers x 4 threads, login off so every visitor is a steward) on a
  free port of 127.0.0.1, started with no CAPACITY_* variables; the load starts once it answers `/`.
- A publisher thread in this process, which opens the warehouse as its only writer (as `capacity ingest` would):
  every PUBLISH_EVERY seconds it adds one observation to a marker service (see below) and calls
  `Warehouse.publish()` (checkpoint, copy, derived tables, pointer); when a publication takes longer than the
  interval the next one starts at once. The workers switch copies at their next poll.
- USERS simulated visitors (threads, each with its own keep-alive httpx client, 30 s timeout) loop over the pages
  /, /regio/<region of the marker service>, /zoek?gemeente=<its municipality>, /inkoop and /databronnen, each
  visitor starting at another page, with a think time uniform in 0..THINK s before each page. A page is what
  headless Chromium sends for a navigation (recorded once; its scripts, styles and favicon are left out, a
  browser has them cached): (1) GET the page, (2) GET /_dash-layout, (3) GET /_dash-dependencies, (4) POST
  /_dash-update-component with Dash's page-routing request (outputs _pages_content.children and
  _pages_store.data, inputs _pages_location.pathname and .search, the `output` string as /_dash-dependencies
  names it, the page's signed endId) = the page render, then (5) every server callback Dash's renderer fires when
  the rendered layout arrives (an input in the new layout and no output in it: the filters-to-URL callback of
  the overview, region, search and purchasing pages and the overview's map click), with the values of the
  rendered layout. After SECONDS no visitor starts another page; a page under way is finished. Hard stop: visitors
  still busy SECONDS + 60 s after the start are abandoned (counted as unfinished_users) and the server is stopped.

What is measured:
- Per request kind (page, layout, dependencies, render, callback) and per page: count, errors, latency
  p50/p95/max, for the page render (4) and for the whole page (1-5, without think time). An error is a transport
  error (timeout, refused connection), any status other than 200 or an answer that cannot be read (a render
  that is no Dash layout, a page without Dash's config). Latencies include failed requests.
- Requests per second: all requests over the time from the start until the last visitor stopped.
- CPU ms per render: CPU time (utime + stime from /proc/<pid>/stat) of the gunicorn master, its reaped children
  (cutime + cstime) and its live workers, from the start to the end of the load, divided by the successful page
  renders; so it includes every request of a page and the workers' switching of copies. The visitors and the
  publisher run in this process on the same cores; its CPU time is shown beside it (bench_cpu_s, of which the
  visitor threads' own: visitors_cpu_s; the publisher's DuckDB work runs in DuckDB's threads).

What "no answer mixes two copies" checks (mixed_copies, unknown_copies), for every successful page render:
- Its answer is searched for "Gegevens bijgewerkt: dd-mm-YYYY HH:MM", which the page frame shows once (id
  `data-updated`: the publication time of the copy the page read, to the minute, Amsterdam time). Two different
  times in one answer count as mixed; none, or a minute that is no publication's (the one current at the start
  or one made here), count as unknown.
- The marker: with each publication the marker service gets a newer observation whose intake wait in days is the
  publication's own number (the service's wait at the start, plus 1, 2, ...). It is the first bench service with
  a municipality in its area; that municipality is the one searched and its default-level region the region
  page shown. The search page lists the service with "N dagen wachten", the result of a query on the copy that
  render read; publication N's minute must be the minute in the frame of the same answer, else mixed; a number
  that is no publication's, or no marker, counts as unknown.
This ties one query result and the frame of an answer to the same copy, but only to the minute: with a copy
every 4 s, a render that mixed two copies of the same minute would pass, and renders of the other pages are
checked only by their timestamp. That every query of a render reads one copy is what the code guarantees (a
layout reads through one `snapshot()`); this checks it from the outside only as far as the minute allows.

DATA_DIR changes: the warehouse gains one observation of the marker service per publication, new copies are
published and the pointer moves on; copies that existed before the run are held with a reader's lock during it,
so pruning deletes only copies made here (beyond the newest `publish_keep`). The server log goes to a temporary
file, kept (and named) only when there were errors.

Budget: page renders p95 <= 600 ms with 0 errors. Prints a summary; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, TypeVar
from zoneinfo import ZoneInfo

import httpx

from queries.db import rows, run
from queries.paths import DataPaths
from queries.publish import Publication, hold_shared, published_copies, read_pointer
from queries.warehouse import Warehouse

BUDGET_P95_MS = 600
TIMEOUT_S = 30
HARD_STOP_EXTRA_S = 60
START_TIMEOUT_S = 120
ROUTING = "_pages_content.children"
LOCATION = "_pages_location"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
UPDATED = re.compile(r"Gegevens bijgewerkt: (\d\d-\d\d-\d{4} \d\d:\d\d)")
WAIT = re.compile(r"(\d+) dagen wachten")
DASH_CONFIG = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)
MARKER_NUMBERS = 3651   # wait_days_intake is 0..3650
KINDS = ("page", "layout", "dependencies", "render", "callback")
PAGE_NAMES = ("overview", "region", "search", "purchasing", "sources")
T = TypeVar("T")

MARKER_SERVICE = """
SELECT a.service_id, a.area_code FROM service_area AS a JOIN service AS s USING (service_id)
WHERE s.source_id = 'bench' AND a.area_level = 'gemeente'
ORDER BY a.service_id, a.area_code LIMIT 1"""
REGION_OF = """
SELECT m.region_code FROM region_membership AS m JOIN region_level AS l USING (level)
WHERE m.gemeente_code = ? ORDER BY l.is_default DESC, l.sort_order LIMIT 1"""
LATEST_WAIT = """
SELECT coalesce(wait_days_intake, 0) FROM capacity_observation WHERE service_id = ?
ORDER BY valid_at DESC, ingested_at DESC LIMIT 1"""
ADD_MARKER = """
INSERT INTO capacity_observation (service_id, valid_at, source_id, unit, maximum, available, status, waiting_count,
                                  wait_days_intake, wait_days_treatment, run_id, ingested_at)
SELECT service_id, now() - INTERVAL 2 MINUTE, source_id, unit, maximum, available, status, waiting_count, ?,
       wait_days_treatment, run_id, now()
FROM capacity_observation WHERE service_id = ? ORDER BY valid_at DESC, ingested_at DESC LIMIT 1"""


@dataclass(frozen=True)
class Marker:
    """The service whose newest figure carries the number of the publication it was added for."""

    service_id: str
    gemeente: str
    region: str
    first: int   # its intake wait at the start: the number of the copy current then


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    search: str = ""


@dataclass
class Sample:
    kind: str   # one of KINDS, or "sequence" for a whole page
    page: str
    ms: float
    error: str | None = None


@dataclass
class Seen:
    """What one successful render showed of its copy."""

    page: str
    stamps: list[str]
    marker: int | None


@dataclass
class Visit:
    samples: list[Sample] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def minute_of(publication: Publication) -> str:
    """The publication time as the page frame shows it."""
    return f"{datetime.fromisoformat(publication.published_at).astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"


def choose_marker(warehouse: Warehouse) -> Marker:
    with warehouse.lock:
        found = rows(warehouse.con, MARKER_SERVICE)
        if not found:
            raise SystemExit("no bench services in this data folder: build it with bench/build_warehouse.py")
        service_id, gemeente = found[0]
        region = rows(warehouse.con, REGION_OF, [gemeente])[0][0]
        first = rows(warehouse.con, LATEST_WAIT, [service_id])[0][0]
    return Marker(service_id, gemeente, region, first)


def pages_of(marker: Marker) -> list[Page]:
    return [Page("overview", "/"), Page("region", f"/regio/{marker.region}"),
            Page("search", "/zoek", f"?gemeente={marker.gemeente}"), Page("purchasing", "/inkoop"),
            Page("sources", "/databronnen")]


class Publisher(threading.Thread):
    """Adds a marker observation and publishes a new copy every `every` seconds until `stop` is set."""

    def __init__(self, warehouse: Warehouse, marker: Marker, every: float, stop: threading.Event) -> None:
        super().__init__(name="publisher", daemon=True)
        self.warehouse, self.marker, self.every, self.stop = warehouse, marker, every, stop
        self.made: list[tuple[int, Publication, float]] = []   # marker number, publication, seconds taken
        self.failure: BaseException | None = None

    def run(self) -> None:
        due = time.monotonic() + self.every
        try:
            while not self.stop.wait(max(0.0, due - time.monotonic())):
                started = time.monotonic()
                number = (self.marker.first + len(self.made) + 1) % MARKER_NUMBERS
                with self.warehouse.transaction() as con:
                    run(con, ADD_MARKER, [number, self.marker.service_id])
                publication = self.warehouse.publish()
                self.made.append((number, publication, time.monotonic() - started))
                due = started + self.every
        except BaseException as error:   # reported by main(); a thread's exception would only be printed
            self.failure = error


class Visitor(threading.Thread):
    """One simulated user: pages in a loop with think time, until `stop` is set."""

    def __init__(self, url: str, pages: list[Page], number: int, think: float, marker: Marker,
                 stop: threading.Event) -> None:
        super().__init__(name=f"visitor-{number}", daemon=True)
        self.url, self.think, self.marker, self.stop = url, think, marker, stop
        self.pages = pages[number % len(pages):] + pages[:number % len(pages)]
        self.random = random.Random(number)
        self.visit = Visit()
        self.cpu_s = 0.0   # this thread's CPU time, once it has stopped

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=TIMEOUT_S) as client:
            while not self.stop.is_set():
                for page in self.pages:
                    if self.stop.wait(self.random.uniform(0, self.think)):
                        break
                    open_page(client, page, self.marker, self.visit)
        self.cpu_s = time.thread_time()


def open_page(client: httpx.Client, page: Page, marker: Marker, visit: Visit) -> None:
    """Steps (1)-(5) of one page as Chromium sends them; stops at the first failed step."""
    started = time.perf_counter()
    try:
        _page_steps(client, page, marker, visit)
        failed = None
    except StepFailed as failure:
        failed = str(failure)
    visit.samples.append(Sample("sequence", page.name, (time.perf_counter() - started) * 1000, failed))


def _page_steps(client: httpx.Client, page: Page, marker: Marker, visit: Visit) -> None:
    def step(kind: str, method: str, url: str, read: Callable[[httpx.Response], T], **kwargs: object) -> T:
        return timed(client, visit, Sample(kind, page.name, 0.0), method, url, read, **kwargs)

    end_id = step("page", "GET", page.path + page.search, end_id_of)
    step("layout", "GET", "/_dash-layout", lambda answer: None)
    routing, callbacks = step("dependencies", "GET", "/_dash-dependencies", callbacks_of)
    tree = step("render", "POST", "/_dash-update-component", lambda answer: rendered(answer, page, marker, visit),
                params={"endId": end_id}, json=routing_body(routing, page))
    components = {props["id"]: props for props in walk(tree) if isinstance(props.get("id"), str)}
    for body in fired_callbacks(callbacks, components, page):
        step("callback", "POST", "/_dash-update-component", lambda answer: None, params={"endId": end_id}, json=body)


class StepFailed(Exception):
    pass


def timed(client: httpx.Client, visit: Visit, sample: Sample, method: str, url: str,
          read: Callable[[httpx.Response], T], **kwargs: object) -> T:
    """One request, recorded in `visit` (its time without `read`); what `read` takes from the answer. Raises
    StepFailed on a transport error, a status other than 200 or an answer `read` cannot read."""
    started = time.perf_counter()
    try:
        answer = client.request(method, url, **kwargs)
    except httpx.TransportError as failure:
        sample.error = type(failure).__name__
    sample.ms = (time.perf_counter() - started) * 1000
    visit.samples.append(sample)
    if sample.error is None and answer.status_code != 200:
        sample.error = f"HTTP {answer.status_code}"
    if sample.error is None:
        try:
            return read(answer)
        except (ValueError, LookupError, AttributeError, TypeError, StopIteration) as failure:
            sample.error = f"unreadable answer ({type(failure).__name__})"
    raise StepFailed(sample.error)


def end_id_of(answer: httpx.Response) -> str:
    """The signed token of this page load, which the renderer adds to every callback request."""
    return json.loads(DASH_CONFIG.search(answer.text).group(1))["end_id"]


def callbacks_of(answer: httpx.Response) -> tuple[str, list[dict]]:
    """The page-routing callback's output string and every server callback."""
    callbacks = [d for d in answer.json() if not d.get("clientside_function")]
    return next(d["output"] for d in callbacks if ROUTING in d["output"]), callbacks


def rendered(answer: httpx.Response, page: Page, marker: Marker, visit: Visit) -> object:
    """The rendered page layout; what it shows of its copy goes to `visit`."""
    tree = answer.json()["response"]["_pages_content"]["children"]
    visit.seen.append(seen_in(page, answer.text, tree, marker))
    return tree


def routing_body(output: str, page: Page) -> dict:
    """Dash's page-routing request as Chromium sends it on a navigation."""
    changed = [f"{LOCATION}.pathname", f"{LOCATION}.search"]
    return {"output": output, "outputs": outputs_of(output),
            "inputs": [{"id": LOCATION, "property": "pathname", "value": page.path},
                       {"id": LOCATION, "property": "search", "value": page.search}],
            "changedPropIds": changed, "parsedChangedPropsIds": changed}


def outputs_of(output: str) -> list[dict]:
    """'..a.x...b.y..' (several outputs) or 'a.x' (one) as Dash's renderer lists them."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.split(".", 1))) for part in parts]


def walk(node: object) -> Iterator[dict]:
    """The props of every component of a rendered layout, through `children` (where this app nests them)."""
    if isinstance(node, list):
        for item in node:
            yield from walk(item)
    elif isinstance(node, dict) and "props" in node:
        yield node["props"]
        yield from walk(node["props"].get("children"))


def fired_callbacks(callbacks: list[dict], components: dict[str, dict], page: Page) -> Iterator[dict]:
    """The requests Dash's renderer sends when a rendered layout arrives: each server callback with an input in
    the new layout, unless it is prevent_initial_call and has an output there too."""
    location = {"pathname": page.path, "search": page.search}
    for spec in callbacks:
        inputs = [i for i in spec["inputs"] if i["id"] in components]
        outputs = outputs_of(spec["output"])
        if not inputs or (spec["prevent_initial_call"] and any(o["id"] in components for o in outputs)):
            continue
        changed = [f"{i['id']}.{i['property']}" for i in inputs]
        body = {"output": spec["output"], "outputs": outputs if spec["output"].startswith("..") else outputs[0],
                "inputs": [current(i, components, location) for i in spec["inputs"]],
                "changedPropIds": changed, "parsedChangedPropsIds": changed}
        if spec["state"]:
            body["state"] = [current(s, components, location) for s in spec["state"]]
        yield body


def current(dependency: dict, components: dict[str, dict], location: dict[str, str]) -> dict:
    """An input or state with its value in the page (no value at all when the component has none, as Dash)."""
    props = location if dependency["id"] == LOCATION else components.get(dependency["id"], {})
    entry = {"id": dependency["id"], "property": dependency["property"]}
    if dependency["property"] in props:
        entry["value"] = props[dependency["property"]]
    return entry


def seen_in(page: Page, text: str, tree: object, marker: Marker) -> Seen:
    """The frame's timestamps of one render and, on the search page, the marker service's number."""
    number = None
    if page.name == "search":
        service = next((p for p in walk(tree) if p.get("data-service") == marker.service_id), None)
        found = WAIT.search(json.dumps(service["children"])) if service else None
        number = int(found.group(1)) if found else None
    return Seen(page.name, UPDATED.findall(text), number)


def check_copies(seen: list[Seen], publications: dict[int, Publication]) -> dict[str, int]:
    """Renders whose answer shows two copies (mixed) or a copy that is no publication (unknown)."""
    minutes = {minute_of(p) for p in publications.values()}
    outcome: Counter[str] = Counter()
    for render in seen:
        stamps = set(render.stamps)
        if len(stamps) > 1:
            outcome["mixed"] += 1
        elif not stamps or not stamps <= minutes:
            outcome["unknown"] += 1
        elif render.page == "search":
            publication = publications.get(render.marker) if render.marker is not None else None
            outcome["unknown" if publication is None else
                    "ok" if {minute_of(publication)} == stamps else "mixed"] += 1
        else:
            outcome["ok"] += 1
    return {"mixed_copies": outcome["mixed"], "unknown_copies": outcome["unknown"], "renders_checked": len(seen),
            "renders_with_marker": sum(1 for r in seen if r.page == "search" and r.marker is not None)}


def cpu_seconds(master: int) -> float:
    """CPU time of a process, its reaped children and its live children (seconds)."""
    fields = _stat(master)
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))   # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child = _stat(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(child[1]) == master:
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on; the command name may hold spaces."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "ingest.cli", "serve", "--data-dir", str(data_dir),
                                 "--host", "127.0.0.1", "--port", str(port)], env=env,
                                cwd=Path(__file__).resolve().parent.parent, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"capacity serve stopped (exit {server.returncode})")
        try:
            if httpx.get(url + "/", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"capacity serve did not answer within {START_TIMEOUT_S} s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def drive(url: str, server: subprocess.Popen, publisher: Publisher, marker: Marker, args: argparse.Namespace,
          stop: threading.Event) -> dict:
    """Run the visitors and the publisher for `seconds`; return the raw measurements."""
    visitors = [Visitor(url, pages_of(marker), n, args.think, marker, stop) for n in range(args.users)]
    cpu_before, bench_before = cpu_seconds(server.pid), _own_cpu()
    started = time.monotonic()
    publisher.start()
    for visitor in visitors:
        visitor.start()
    time.sleep(args.seconds)
    stop.set()
    hard_stop = started + args.seconds + HARD_STOP_EXTRA_S
    for visitor in visitors:
        visitor.join(max(0.0, hard_stop - time.monotonic()))
    return {"elapsed_s": time.monotonic() - started, "server_cpu_s": cpu_seconds(server.pid) - cpu_before,
            "bench_cpu_s": _own_cpu() - bench_before, "visitors_cpu_s": sum(visitor.cpu_s for visitor in visitors),
            "unfinished_users": sum(visitor.is_alive() for visitor in visitors),
            "samples": [s for v in visitors for s in list(v.visit.samples)],
            "seen": [s for v in visitors for s in list(v.visit.seen)]}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def latency(samples: list[Sample]) -> dict:
    times = sorted(s.ms for s in samples)
    return {"count": len(times), "errors": sum(1 for s in samples if s.error),
            "p50_ms": round(statistics.median(times), 1) if times else None,
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1) if times else None,
            "max_ms": round(times[-1], 1) if times else None}


def summarise(raw: dict, publisher: Publisher, initial: tuple[int, Publication], args: argparse.Namespace) -> dict:
    samples = raw["samples"]
    requests = [s for s in samples if s.kind != "sequence"]
    by_page: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        by_page[(sample.page, sample.kind)].append(sample)
    renders = latency([s for s in samples if s.kind == "render"])
    succeeded = renders["count"] - renders["errors"]
    publications = dict([initial] + [(number, publication) for number, publication, _ in publisher.made])
    publish_s = sorted(seconds for _, _, seconds in publisher.made)
    errors = sum(1 for s in requests if s.error)
    return {
        "users": args.users, "seconds": args.seconds, "think_s": args.think, "publish_every_s": args.publish_every,
        "requests": len(requests), "requests_per_s": round(len(requests) / raw["elapsed_s"], 1), "errors": errors,
        "renders": renders["count"], "render_p50_ms": renders["p50_ms"], "render_p95_ms": renders["p95_ms"],
        "render_max_ms": renders["max_ms"],
        "per_page": {page: {**latency(by_page[(page, "render")]),
                            **{f"page_{k}": v for k, v in latency(by_page[(page, "sequence")]).items()
                               if k.endswith("_ms")}} for page in PAGE_NAMES},
        "kinds": {kind: latency([s for s in requests if s.kind == kind]) for kind in KINDS},
        "error_kinds": dict(Counter(s.error for s in requests if s.error)),
        "cpu_ms_per_render": round(raw["server_cpu_s"] * 1000 / succeeded, 1) if succeeded else None,
        "server_cpu_s": round(raw["server_cpu_s"], 1), "bench_cpu_s": round(raw["bench_cpu_s"], 1),
        "visitors_cpu_s": round(raw["visitors_cpu_s"], 1),
        "publications": len(publisher.made), "publication_sequences": [p.sequence for _, p, _ in publisher.made],
        "publish_p50_s": round(statistics.median(publish_s), 2) if publish_s else None,
        "publish_max_s": round(publish_s[-1], 2) if publish_s else None,
        **check_copies(raw["seen"], publications),
        "unfinished_users": raw["unfinished_users"], "elapsed_s": round(raw["elapsed_s"], 1),
        "budget_met": errors == 0 and renders["p95_ms"] is not None and renders["p95_ms"] <= BUDGET_P95_MS,
    }


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def report(result: dict) -> None:
    print(f"{result['users']} users for {result['seconds']:.0f} s (think 0..{result['think_s']} s), a new copy every "
          f"{result['publish_every_s']} s: {result['publications']} publications (each p50 "
          f"{result['publish_p50_s']} s, max {result['publish_max_s']} s)")
    print(f"{result['requests']:,} requests, {result['requests_per_s']}/s, {result['errors']} errors "
          f"{result['error_kinds'] if result['errors'] else ''}; unfinished users {result['unfinished_users']}")
    print(f"{'request':<13}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind, f in result["kinds"].items():
        print(f"{kind:<13}{f['count']:>8}{f['errors']:>8}{_ms(f['p50_ms']):>9}{_ms(f['p95_ms']):>9}"
              f"{_ms(f['max_ms']):>9}")
    print(f"{'page render':<13}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
          f"{'whole p50':>11}{'whole p95':>11}")
    for page, f in result["per_page"].items():
        print(f"{page:<13}{f['count']:>8}{f['errors']:>8}{_ms(f['p50_ms']):>9}{_ms(f['p95_ms']):>9}"
              f"{_ms(f['max_ms']):>9}{_ms(f['page_p50_ms']):>11}{_ms(f['page_p95_ms']):>11}")
    print(f"CPU: {result['server_cpu_s']} s in gunicorn = {result['cpu_ms_per_render']} ms per render; this process "
          f"{result['bench_cpu_s']} s (visitors {result['visitors_cpu_s']} s, the rest mostly the publisher)")
    print(f"copies: {result['renders_checked']} renders checked ({result['renders_with_marker']} with the marker), "
          f"{result['mixed_copies']} mixed, {result['unknown_copies']} unknown")
    print(f"budget: page render p95 {_ms(result['render_p95_ms'])} ms <= {BUDGET_P95_MS} ms with 0 errors: "
          f"{'met' if result['budget_met'] else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--publish-every", type=float, default=4.0)
    args = parser.parse_args()
    paths = DataPaths(args.data_dir.resolve())
    initial = read_pointer(paths)
    if initial is None:
        raise SystemExit(f"nothing published in {paths.root}: build it with bench/build_warehouse.py")
    warehouse = Warehouse(paths)
    held = [hold_shared(path) for _, path in published_copies(paths)]
    log = Path(tempfile.mkstemp(prefix="capacity-load-", suffix=".log")[1])
    stop = threading.Event()
    publisher: Publisher | None = None
    try:
        marker = choose_marker(warehouse)
        publisher = Publisher(warehouse, marker, args.publish_every, stop)
        raw = serve_and_drive(paths, log, publisher, marker, args, stop)
    finally:
        stop.set()
        if _join_publisher(publisher):
            warehouse.close()
        for fd in held:
            os.close(fd)
    if publisher.failure is not None:
        raise SystemExit(f"the publisher failed: {publisher.failure!r}")
    result = summarise(raw, publisher, (marker.first, initial), args)
    report(result)
    if result["errors"]:
        print(f"server log: {log}")
    else:
        log.unlink()
    print(json.dumps(result))


def serve_and_drive(paths: DataPaths, log: Path, publisher: Publisher, marker: Marker, args: argparse.Namespace,
                    stop: threading.Event) -> dict:
    """Start `capacity serve`, run the load against it, always stop it."""
    port = free_port()
    server = start_server(paths.root, port, log)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server)
        return drive(f"http://127.0.0.1:{port}", server, publisher, marker, args, stop)
    finally:
        stop.set()
        stop_server(server)


def _join_publisher(publisher: Publisher | None) -> bool:
    """Wait for a publication under way; False when it is still running (its warehouse stays open)."""
    if publisher is None or not publisher.is_alive():
        return True
    publisher.join(HARD_STOP_EXTRA_S)
    return not publisher.is_alive()


if __name__ == "__main__":
    main()
