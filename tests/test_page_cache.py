"""A page's body is built once per published copy and view, then served from memory: the same answer every
time within a copy, and the new copy's figures as soon as it is published (a real `capacity serve`); and a
result many threads ask for at once is computed once."""
from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from typing import Iterator

import pytest

import shortfall_world
from dashboard.data import remembered
from queries.db import run
from queries.paths import DataPaths
from queries.publish import Publication
from queries.warehouse import Warehouse
from support import dashboard
from web_client import Visitor

VIEW = "?level=testregio&care_type=trauma_care&target_group=child&at=2026-06-30"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DataPaths, Visitor]]:
    """The hand-made world (shortfall_world.py); login off, every visitor a steward."""
    paths = DataPaths(tmp_path_factory.mktemp("cache") / "data")
    shortfall_world.build(paths)
    with dashboard(paths) as url:
        visitor = Visitor(url)
        yield paths, visitor
        visitor.close()


def render(visitor: Visitor, path: str, search: str) -> bytes:
    """The page-routing answer, as Dash's renderer asks for it on a navigation."""
    routing = next(d["output"] for d in visitor.get("/_dash-dependencies").json()
                   if "_pages_content.children" in d["output"])
    body = {"output": routing,
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname"]}
    answer = visitor.post("/_dash-update-component", json=body)
    assert answer.status_code == 200
    return answer.content


def trend_rows(answer: bytes) -> dict[str, list[str]]:
    """The region page's trend table (week end -> waiting, free, waits) from a rendered answer."""
    found: dict[str, list[str]] = {}

    def texts(node: object) -> list[str]:
        if isinstance(node, dict):
            return texts(node.get("props", {}).get("children"))
        if isinstance(node, list):
            return [text for child in node for text in texts(child)]
        return [] if node is None else [str(node)]

    def walk(node: object, inside: bool) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            inside = inside or props.get("id") == "region-trend-table"
            if inside and node.get("type") == "Tr" and node.get("props", {}).get("children"):
                cells = texts(props["children"])
                found[cells[0]] = cells[1:]
            for value in node.values():
                walk(value, inside)
        elif isinstance(node, list):
            for item in node:
                walk(item, inside)

    walk(json.loads(answer), False)
    return found


def test_a_view_is_the_same_within_a_copy_and_new_with_the_next_copy(site: tuple[DataPaths, Visitor]) -> None:
    """Trauma care for children in B on 30 June: TR1's figure of 15 June, 12 waiting (test_shortfall). Asked
    three times (built, then kept as Dash sends it, then served from that) the answer is the same bytes. A new
    copy in which TR1 reports 20 waiting on 30 June 09:00 UTC shows 20 in the same view."""
    paths, visitor = site
    answers = [render(visitor, "/regio/B", VIEW) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert trend_rows(answers[0])["30-06-2026"][0] == "12,0"
    with Warehouse(paths) as warehouse:
        with warehouse.transaction() as con:
            run(con, """INSERT INTO capacity_observation
                        SELECT service_id, TIMESTAMPTZ '2026-06-30 09:00:00+00', source_id, unit, maximum,
                               available, status, 20, wait_days_intake, wait_days_treatment, run_id, ingested_at
                        FROM capacity_observation
                        WHERE service_id = 'TR1' AND valid_at = TIMESTAMPTZ '2026-06-15 10:00:00+00'""")
        warehouse.publish()
    deadline = time.monotonic() + 15
    while (waiting := trend_rows(render(visitor, "/regio/B", VIEW))["30-06-2026"][0]) == "12,0":
        assert time.monotonic() < deadline, "the new copy never showed"
        time.sleep(0.2)
    assert waiting == "20,0"
    assert trend_rows(render(visitor, "/regio/B", VIEW))["21-06-2026"][0] == "12,0"   # the week before: unchanged


def test_threads_asking_for_the_same_result_compute_it_once() -> None:
    """Right after a new copy appears every request misses at once: one thread computes, the others wait for
    its result; when that computation fails, a waiting thread computes it itself."""
    copy = Publication(sequence=987_654, file="x.duckdb", published_at="2026-06-30T10:00:00+00:00",
                       schema_version=1)
    calls, started = [], threading.Event()

    def slow() -> str:
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return "figures"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        first = pool.submit(remembered, copy, ("slow",), slow)
        started.wait(5)
        others = [pool.submit(remembered, copy, ("slow",), slow) for _ in range(3)]
        assert [f.result(5) for f in [first, *others]] == ["figures"] * 4
    assert len(calls) == 1

    def failing() -> str:
        started.set()
        time.sleep(0.2)
        raise RuntimeError("copy went away")

    started.clear()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(remembered, copy, ("failing",), failing)
        started.wait(5)
        second = pool.submit(remembered, copy, ("failing",), lambda: "second try")
        with pytest.raises(RuntimeError):
            first.result(5)
        assert second.result(5) == "second try"
