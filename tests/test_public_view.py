"""The public role over HTTP: one region level, cells of fewer than 3 services hidden (primary), and one
more cell hidden where a total would otherwise give a hidden cell away (secondary). Worked out by hand from
the hand-made world (shortfall_world.py) plus seven peer groups added here, at 30 June 2026, moved in time so
that 30 June 2026 is now: the public sees the current picture only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator
from urllib.parse import urlencode

import pytest

import shortfall_world
from queries.connection import PublishedReader
from queries.db import run, scalar
from queries.moments import as_of
from queries.paths import DataPaths
from queries.shortfall import shortfall
from queries.warehouse import Warehouse
from support import dashboard
from web_client import Visitor

AT = "2026-06-30"
# Peer groups for adult victims: (service, area, maximum, available). A gets 3, B 3, D 1, C none.
PEER_GROUPS = [("PG1", ("testregio", "A"), 10, 1), ("PG2", ("testregio", "A"), 10, 2),
               ("PG3", ("testregio", "A"), 10, 3), ("PG4", ("testregio", "B"), 10, 4),
               ("PG5", ("testregio", "B"), 10, 5), ("PG6", ("testregio", "B"), 10, 6),
               ("PG7", ("gemeente", "GM0006"), 8, 7)]


def add_peer_groups(paths: DataPaths, shift: timedelta) -> None:
    with Warehouse(paths) as warehouse:
        with warehouse.transaction() as con:
            run_id = scalar(con, "SELECT nextval('ingest_run_id')")
            run(con, "INSERT INTO ingest_run (run_id, source_id, started_at, finished_at, status, rows_in, "
                     "rows_loaded, rows_rejected, file_name) VALUES (?, 'fixture', now(), now(), 'ok', 7, 7, 0, 'peer')",
                [run_id])
            for service_id, (level, code), maximum, available in PEER_GROUPS:
                run(con, """INSERT INTO service (service_id, provider_id, name, care_type, source_id, updated_at)
                            VALUES (?, 'P', ?, 'peer_group', 'fixture', now())""", [service_id, f"Groep {service_id}"])
                run(con, "INSERT INTO service_target_group VALUES (?, 'adult_victim')", [service_id])
                run(con, "INSERT INTO service_area VALUES (?, ?, ?)", [service_id, level, code])
                run(con, """INSERT INTO capacity_observation VALUES (?, TIMESTAMPTZ '2026-06-29 10:00+00' + ?, 'fixture',
                            'place', ?, ?, 'open', 0, NULL, NULL, ?, now())""",
                    [service_id, shift, maximum, available, run_id])
            shortfall_world.refresh_first_valid_at(con)
        warehouse.publish()


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visitor]:
    paths = DataPaths(tmp_path_factory.mktemp("public") / "data")
    shift = shortfall_world.shift_to_now(as_of(AT))
    shortfall_world.build(paths, shift)
    add_peer_groups(paths, shift)
    env = {"CAPACITY_ANONYMOUS_ROLE": "public", "CAPACITY_PUBLIC_LEVEL": "testregio"}
    with dashboard(paths, env) as url:
        visitor = Visitor(url)
        yield visitor
        visitor.close()


def rows(public: Visitor, **params: str) -> dict[str, dict]:
    answer = public.get("/api/v1/shortfall", params=params)
    assert answer.status_code == 200, answer.text
    return {row["region_code"]: row for row in answer.json()["rows"]}


FIGURES = ("services", "services_fresh", "places", "available", "waiting", "unmet_now", "norm_places", "norm_gap",
           "per_10k", "national_median_per_10k", "median_wait_intake_days", "median_wait_treatment_days",
           "wait_breaches")


def assert_hidden(row: dict) -> None:
    assert row["status"] == "suppressed"
    assert all(row[name] is None for name in FIGURES), {name: row[name] for name in FIGURES}


def test_primary_suppression_of_shelter_places_for_children(public: Visitor) -> None:
    """Shelter x child: A has SH1 (via GM0002) and SH2, B has SH1 (via GM0003) and SH3, D has SH5: each rests
    on fewer than 3 services, so all three are hidden; C has no service and is shown as such. The national
    total rests on 4 services (3 fresh) and stays: it is the sum of three hidden cells, which cannot be split."""
    cells = rows(public, care_type="shelter", target_group="child")
    for code in "ABD":
        assert_hidden(cells[code])
        assert "minder dan 3" in cells[code]["status_reasons"]
    assert cells["C"]["status"] != "suppressed" and cells["C"]["services"] == 0


def test_secondary_suppression_of_peer_groups(public: Visitor) -> None:
    """Peer groups x adult victims: A 3 services (30 places, 6 free), B 3 (30, 15), D 1 (8, 7), C none.
    D is hidden (1 service). National 68 places - B 30 = 38 would be D's 8 if A stayed visible, so one more
    cell is hidden: the visible one with fewest services, A and B tie at 3, A first by code. Then 68 - 30 = 38
    is A + D together (4 services), which cannot be split."""
    cells = rows(public, care_type="peer_group", target_group="adult_victim")
    assert_hidden(cells["D"])
    assert_hidden(cells["A"])
    assert "minder dan 3" in cells["D"]["status_reasons"] and "terug te rekenen" in cells["A"]["status_reasons"]
    assert (cells["B"]["services"], cells["B"]["places"], cells["B"]["available"]) == (3, 30, 15)
    assert cells["C"]["services"] == 0


def test_region_filter_does_not_change_what_is_hidden(public: Visitor) -> None:
    only_a = rows(public, care_type="peer_group", target_group="adult_victim", region="A")
    assert list(only_a) == ["A"]
    assert_hidden(only_a["A"])


@pytest.mark.parametrize("params, name", [({"level": "nederland"}, "level"), ({"framework": "mandated"}, "framework")])
def test_the_public_cannot_pick_another_level_or_split_by_framework(public: Visitor, params: dict, name: str) -> None:
    answer = public.get("/api/v1/shortfall", params=params)
    assert answer.status_code == 400 and name in answer.json()["error"]["en"]


def test_overview_page_for_the_public(public: Visitor) -> None:
    """The page as Dash renders it for the public: the national headline (68 places, 28 free: 6 + 15 + 7)
    stays; A and D say 'afgeschermd' without figures; region names are not links; one level to choose."""
    dependencies = public.get("/_dash-dependencies").json()
    routing = next(d["output"] for d in dependencies if "_pages_content.children" in d["output"])
    body = {"output": routing,
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/"},
                       {"id": "_pages_location", "property": "search",
                        "value": "?level=testregio&care_type=peer_group&target_group=adult_victim"}],
            "changedPropIds": ["_pages_location.pathname"]}
    page = public.post("/_dash-update-component", json=body).json()
    found = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props, dict):
                if props.get("id") in ("headline-places", "headline-available", "overview-level", "public-notice"):
                    found[props["id"]] = props
                if "data-region" in props:
                    found["row-" + props["data-region"]] = props
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(page)
    assert found["headline-places"]["children"] == "68" and found["headline-available"]["children"] == "28"
    assert [o["value"] for o in found["overview-level"]["options"]] == ["testregio"]
    assert "public-notice" in found

    def text(node: object) -> str:
        if isinstance(node, dict):
            return text(node.get("props", {}).get("children")) if "props" in node else ""
        if isinstance(node, list):
            return " ".join(text(n) for n in node)
        return "" if node is None else str(node)

    for code in "AD":
        row = text(found[f"row-{code}"]["children"])
        assert "afgeschermd" in row and "30" not in row and "8,0" not in row, row
    assert "30,0" in text(found["row-B"]["children"])
    assert '"href"' not in str(found["row-B"]).replace("'", '"')


def test_the_public_cannot_difference_two_moments(public: Visitor, tmp_path_factory) -> None:
    """The attack of asking two moments a minute apart: SH2 (6 places, 2 free, 1 waiting) goes stale 48 hours
    after its report of 29 June 12:00, and only it changes then, so the national shelter figures a minute
    before and after differ by exactly SH2's report (19 -> 13 places). The public may ask for neither
    moment: 403 on the API and on the page, whatever the two moments are."""
    shift = shortfall_world.shift_to_now(as_of(AT))
    stale = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc) + shift
    before, after = (stale - timedelta(seconds=30)).isoformat(), (stale + timedelta(seconds=30)).isoformat()
    dependencies = public.get("/_dash-dependencies").json()
    routing = next(d["output"] for d in dependencies if "_pages_content.children" in d["output"])
    for moment in (before, after):
        answer = public.get("/api/v1/shortfall", params={"at": moment, "care_type": "shelter"})
        assert answer.status_code == 403 and "professional" in answer.json()["error"]["en"]
        body = {"output": routing,
                "outputs": [{"id": "_pages_content", "property": "children"},
                            {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/"},
                           {"id": "_pages_location", "property": "search",
                            "value": "?care_type=shelter&target_group=child&" + urlencode({"at": moment})}],
                "changedPropIds": ["_pages_location.pathname"]}
        assert public.post("/_dash-update-component", json=body).status_code == 403
    paths = DataPaths(tmp_path_factory.mktemp("attack") / "data")
    shortfall_world.build(paths, shift)
    reader = PublishedReader(paths)
    with reader.snapshot() as (_, cur):
        national = [shortfall(cur, "nederland", as_of(m), "shelter", "child")[0] for m in (before, after)]
    reader.close()
    assert (national[0].places, national[1].places) == (19, 13)  # the attack is real for whoever may use `at`
