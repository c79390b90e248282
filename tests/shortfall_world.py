"""A small hand-made world for the shortfall tests; every figure in test_shortfall is worked out from it.

Municipalities (inhabitants; aged 0-14; aged 15-24 -> children = 0-14 + 0.3 x 15-24):
  GM0001 40,000; 6,000; 5,000 -> 7,500      GM0004 50,000; 7,000; 4,000 -> 8,200
  GM0002 60,000; 9,000; 10,000 -> 12,000    GM0005 20,000; 3,000; 2,000 -> 3,600
  GM0003 50,000; 8,000; 6,000 -> 9,800      GM0006 22,000; 3,000; 2,000 -> 3,600
Level `testregio`: A = GM0001+GM0002 (100,000; children 19,500; adults 80,500),
B = GM0003+GM0004 (100,000; 18,000; 82,000), C = GM0005 (20,000; 3,600; 16,400; no service at all),
D = GM0006 (22,000; 3,600; 18,400). Level `nederland`: NL = all six.
"""
from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone

import shapely

from ingest.load import refresh_first_valid_at
from ingest.reference_load import store_care_domain
from queries.db import run, scalar
from queries.paths import DataPaths
from queries.settings import REFERENCE_DIR
from queries.warehouse import Warehouse

MUNICIPALITIES = {  # code: (inhabitants, aged 0-14, aged 15-24, level testregio)
    "GM0001": (40_000, 6_000, 5_000, "A"), "GM0002": (60_000, 9_000, 10_000, "A"),
    "GM0003": (50_000, 8_000, 6_000, "B"), "GM0004": (50_000, 7_000, 4_000, "B"),
    "GM0005": (20_000, 3_000, 2_000, "C"), "GM0006": (22_000, 3_000, 2_000, "D"),
}
SERVICES = {  # id: (care type, target groups, framework, area as [(level, code)])
    "SH1": ("shelter", ["adult_victim", "child"], None, [("gemeente", "GM0002"), ("gemeente", "GM0003")]),
    "SH2": ("shelter", ["adult_victim", "child"], None, [("testregio", "A")]),
    "SH3": ("shelter", ["adult_victim", "child"], None, [("gemeente", "GM0004")]),
    "SH5": ("shelter", ["adult_victim", "child"], None, [("gemeente", "GM0006")]),
    "TR1": ("trauma_care", ["child"], None, [("gemeente", "GM0003"), ("gemeente", "GM0004")]),
    "TR2": ("trauma_care", ["adult_victim", "child"], None, [("gemeente", "GM0001")]),
    "TR3": ("trauma_care", ["adult_victim"], None, [("gemeente", "GM0003")]),
    "TR4": ("trauma_care", ["adult_victim"], None, [("gemeente", "GM0004")]),
    "PP1": ("perpetrator_programme", ["perpetrator"], "voluntary", [("testregio", "A")]),
    "PP2": ("perpetrator_programme", ["perpetrator"], "mandated", [("gemeente", "GM0003")]),
}
ATTRIBUTES = {  # eligibility attributes used by the provider-search tests
    "SH1": {"languages": ["en", "nl"], "whole_family": True, "age_min": 0, "age_max": 99,
            "phone": "010-0000001", "referral_route": "via Veilig Thuis"},
    "TR1": {"age_min": 4, "age_max": 17, "violence_profiles": ["family_in_stress"]},
    "TR3": {"age_min": 18, "age_max": 120, "languages": ["ar", "nl"]},
}
OBSERVATIONS = [  # service, valid_at (UTC), maximum, available, waiting, intake days, treatment days
    ("SH1", "2026-06-09 10:00", 11, 3, 0, None, None), ("SH1", "2026-06-30 08:00", 11, 0, 4, None, None),
    ("SH2", "2026-06-29 12:00", 6, 2, 1, None, None),
    ("SH3", "2026-06-09 09:00", 8, 5, 0, None, None), ("SH3", "2026-06-20 09:00", 8, 8, 0, None, None),
    ("SH5", "2026-06-30 06:00", 2, 1, 0, None, None),
    ("TR1", "2026-05-01 10:00", 10, 2, 5, 14, 60), ("TR1", "2026-06-15 10:00", 10, 0, 12, 21, 98),
    ("TR2", "2026-06-10 08:00", 4, 1, 0, 10, 30),
    ("TR3", "2026-06-20 10:00", 3, 1, 0, 35, 50),
    ("TR4", "2026-06-25 10:00", 5, 2, 2, 10, 20),
    ("PP1", "2026-06-01 10:00", 20, 5, 3, 14, 20),
    ("PP2", "2026-04-01 10:00", 12, 0, 6, 40, 80),
]
SOURCE = "fixture"
LOADED_AT = datetime(2026, 7, 1, tzinfo=timezone.utc)


def build(paths: DataPaths, shift: timedelta = timedelta(0)) -> None:
    """Write the world into a fresh warehouse and publish it; `shift` moves every moment by that much
    (elapsed time), so that the picture at `moment + shift` is the picture at `moment` unshifted."""
    build_world(paths, MUNICIPALITIES, SERVICES, OBSERVATIONS, ATTRIBUTES, shift)


def build_world(paths: DataPaths, municipalities: dict, services: dict, observations: list,
                attributes: dict | None = None, shift: timedelta = timedelta(0)) -> None:
    """Another small world in the same shape as this module's constants (level `testregio`, regions named
    by the fourth value of each municipality)."""
    with Warehouse(paths) as warehouse:
        with warehouse.transaction() as con:
            _geography(con, municipalities)
            store_care_domain(con, tomllib.loads((REFERENCE_DIR / "care_domain.toml").read_text("utf-8")))
            _services(con, services, observations, attributes or {}, shift)
        warehouse.publish()


def shift_to_now(at: datetime) -> timedelta:
    """The shift that makes `at` now: the current picture (the only one the public sees) is then the
    picture at `at` that the hand-worked figures describe, as long as the test runs within minutes."""
    return datetime.now(timezone.utc) - at


def _box(gm: str) -> shapely.Polygon:
    """A made-up square per municipality, side by side along the coast."""
    index = int(gm[2:])
    return shapely.box(4.0 + 0.3 * index, 52.0, 4.3 + 0.3 * index, 52.3)


def _geography(con, municipalities: dict) -> None:
    for level in ("testregio", "nederland"):
        run(con, "INSERT INTO region_level VALUES (?, ?, ?, 'loaded', ?, 1, 'fixture', 'x', now())",
            [level, level, level, level == "testregio"])
    for code in sorted({values[3] for values in municipalities.values()}):
        shape = shapely.union_all([_box(gm) for gm, values in municipalities.items() if values[3] == code])
        run(con, "INSERT INTO region VALUES ('testregio', ?, ?, ?)", [code, f"Regio {code}", shapely.to_geojson(shape)])
    whole = shapely.union_all([_box(gm) for gm in municipalities])
    run(con, "INSERT INTO region VALUES ('nederland', 'NL', 'Nederland', ?)", [shapely.to_geojson(whole)])
    for gm, (inhabitants, young, youth, region) in municipalities.items():
        run(con, "INSERT INTO municipality VALUES (?, ?, ?)", [gm, f"Gemeente {gm[-1]}", shapely.to_geojson(_box(gm))])
        run(con, "INSERT INTO population VALUES (?, DATE '2024-01-01', ?, ?, ?, NULL, NULL, NULL, 'fixture')",
            [gm, inhabitants, young, youth])
        run(con, "INSERT INTO region_membership VALUES ('testregio', ?, ?)", [gm, region])
        run(con, "INSERT INTO region_membership VALUES ('nederland', ?, 'NL')", [gm])


def _services(con, services: dict, observations: list, attributes: dict, shift: timedelta) -> None:
    run(con, "INSERT INTO source (source_id, kind, location, schedule, freshness_days, registered_at) VALUES (?, 'file', 'fixture', '15m', NULL, now())", [SOURCE])
    run(con, "INSERT INTO provider VALUES ('P', 'Fictieve Aanbieder', NULL, NULL, NULL, ?, now())", [SOURCE])
    for service_id, (care_type, groups, framework, area) in services.items():
        run(con, """INSERT INTO service (service_id, provider_id, name, care_type, framework, source_id, updated_at)
                    VALUES (?, 'P', ?, ?, ?, ?, now())""", [service_id, f"Dienst {service_id}", care_type,
                                                             framework, SOURCE])
        for group in groups:
            run(con, "INSERT INTO service_target_group VALUES (?, ?)", [service_id, group])
        for level, code in area:
            run(con, "INSERT INTO service_area VALUES (?, ?, ?)", [service_id, level, code])
    for service_id, extra in attributes.items():
        for column, value in extra.items():
            run(con, f"UPDATE service SET {column} = ? WHERE service_id = ?", [value, service_id])
    run_id = scalar(con, "SELECT nextval('ingest_run_id')")
    run(con, "INSERT INTO ingest_run (run_id, source_id, started_at, finished_at, status, rows_in, rows_loaded, "
             "rows_rejected, file_name) VALUES (?, ?, now(), now(), 'ok', ?, ?, 0, 'fixture')",
        [run_id, SOURCE, len(observations), len(observations)])
    for service_id, valid_at, maximum, available, waiting, intake, treatment in observations:
        status = "open" if available else "full"
        moment = (valid_at if isinstance(valid_at, datetime) else datetime.fromisoformat(valid_at + "+00:00")) + shift
        run(con, """INSERT INTO capacity_observation VALUES (?, ?, ?, 'place', ?, ?, ?, ?, ?, ?, ?, ?)""",
            [service_id, moment, SOURCE, maximum, available, status, waiting, intake, treatment, run_id,
             LOADED_AT + shift])
    refresh_first_valid_at(con)
