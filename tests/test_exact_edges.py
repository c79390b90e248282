"""Numbers at their thresholds: statuses decided on exact values, freshness exactly at its window's edge
(also across both daylight-saving changes), the same in every query and whatever the host's time zone.
`make test` runs this file under TZ=UTC and again under TZ=Europe/Amsterdam. Worked out by hand.

World: municipalities GM0001 (1,000 inhabitants) and GM0003 (3,000) form region X; GM0002 (4,000) and
GM0004 (2,000) form region Y. S1 covers GM0001+GM0002 (weight in X = 1,000/5,000 = 1/5), S2 covers
GM0003+GM0004 (weight in X = 3,000/5,000 = 3/5).
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import shortfall_world
from queries.connection import PublishedReader
from queries.health import source_health
from queries.paths import DataPaths
from queries.providers import SearchFilters, search_providers
from queries.shortfall import figures_at, shortfall
from queries.status import number

UTC = timezone.utc
MUNICIPALITIES = {"GM0001": (1_000, 100, 100, "X"), "GM0002": (4_000, 400, 400, "Y"),
                  "GM0003": (3_000, 300, 300, "X"), "GM0004": (2_000, 200, 200, "Y")}
SPLIT = {"S1": ("trauma_care", ["child"], None, [("gemeente", "GM0001"), ("gemeente", "GM0002")]),
         "S2": ("trauma_care", ["child"], None, [("gemeente", "GM0003"), ("gemeente", "GM0004")])}
REPORTED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def reader_of(tmp_path: Path, services: dict, observations: list) -> PublishedReader:
    paths = DataPaths(tmp_path / "data")
    shortfall_world.build_world(paths, MUNICIPALITIES, services, observations)
    return PublishedReader(paths)


def test_a_split_exact_in_fractions_but_noisy_in_floats_is_no_unmet_demand(tmp_path: Path) -> None:
    """S1 has 3 waiting and none free, S2 none waiting and 1 free. In X: waiting 1/5 x 3 = 3/5, free 3/5 x 1 =
    3/5: no unmet demand (in binary floating point 0.2 x 3 is 0.6000000000000001, a hair above 0.6). Trauma
    care has no place norm and no waits are reported here, so X is green. In Y: waiting 4/5 x 3 = 12/5, free
    2/5 x 1 = 2/5: 2 more waiting than free places, amber."""
    reader = reader_of(tmp_path, SPLIT, [("S1", REPORTED, 10, 0, 3, None, None),
                                         ("S2", REPORTED, 10, 1, 0, None, None)])
    at = REPORTED + timedelta(days=1)
    for precomputed in (True, False):
        with reader.cursor() as cur:
            found = {c.region_code: c for c in figures_at(cur, "testregio", [at], "trauma_care", "child",
                                                           precomputed=precomputed)}
        x, y = found["X"], found["Y"]
        assert (x.unmet_now, x.status, x.reasons_en) == (0, "green", ("no shortfall found",)), precomputed
        assert abs(y.unmet_now - 2) < 1e-9 and y.status == "amber"
        assert y.reasons_en == ("2 more waiting than free places",)
    reader.close()


def test_a_cause_never_reads_zero() -> None:
    assert number(0.02, "nl") == "0,02" and number(0.004, "en") == "0.004"
    assert number(0.0, "nl") == "0" and number(3.5, "nl") == "3,5" and number(2.0000000001, "en") == "2"


# --- freshness exactly at the edge -------------------------------------------------------------------------

EDGES = [  # care type, window in days, report moment (UTC), over which change
    ("peer_group", 100, datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "spring and autumn change inside"),
    ("shelter", 2, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "spring change (29 March) inside"),
    ("shelter", 2, datetime(2026, 10, 24, 12, 0, tzinfo=UTC), "autumn change (25 October) inside"),
    ("trauma_care", 35, datetime(2026, 3, 10, 9, 30, 15, 123456, tzinfo=UTC), "spring change, to the microsecond"),
]
GROUP = {"peer_group": "adult_victim", "shelter": "child", "trauma_care": "child"}


@pytest.mark.parametrize("care_type, days, reported, why", EDGES)
def test_a_figure_exactly_as_old_as_its_window_is_fresh_everywhere(tmp_path: Path, care_type: str, days: int,
                                                                  reported: datetime, why: str) -> None:
    """Fresh while age <= window, in elapsed time (N days = N x 24 hours): at reported + N x 24 h the figure
    counts, one microsecond later it is stale, in the shortfall (from the copy's precomputed table, computed
    in full, and among other moments), the provider search and the source health."""
    services = {"E1": (care_type, [GROUP[care_type]], None, [("gemeente", "GM0001")])}
    reader = reader_of(tmp_path, services, [("E1", reported, 8, 2, 0, None, None)])
    edge = reported + timedelta(hours=24 * days)
    with reader.cursor() as cur:
        for at, fresh in ((edge, 1), (edge + MICROSECOND, 0), (edge - MICROSECOND, 1)):
            for precomputed in (True, False):
                (x,) = [c for c in figures_at(cur, "testregio", [at], care_type, GROUP[care_type],
                                              precomputed=precomputed) if c.region_code == "X"]
                assert (x.services, x.services_fresh, x.places) == (1, fresh, 8 if fresh else None), \
                    (why, at, precomputed)
            among = figures_at(cur, "testregio", [reported + timedelta(days=1), at], care_type, GROUP[care_type])
            assert [c.services_fresh for c in among if c.region_code == "X"] == [1, fresh], (why, at)
            (match,) = search_providers(cur, SearchFilters(gemeente="GM0001", care_type=care_type), at)
            assert match.fresh == bool(fresh), (why, at)
            (health,) = source_health(cur, at)
            assert health.stale == (not fresh), (why, at)
    reader.close()


def test_the_host_time_zone_is_what_make_test_says() -> None:
    """`make test` runs this file a second time under TZ=Europe/Amsterdam: that run must really be in Dutch
    time (else it would prove nothing)."""
    if os.environ.get("TZ") == "Europe/Amsterdam":
        assert time.strftime("%Z", time.localtime(REPORTED.timestamp())) == "CEST"
    else:
        assert time.localtime(REPORTED.timestamp()).tm_gmtoff == 0
