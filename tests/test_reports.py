"""`capacity report`: the CLI export, formula-safe CSV/XLSX, and the totals property on real geography."""
from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

import shortfall_world
from ingest.load import refresh_first_valid_at
from queries.db import rows, run
from queries.derived import derive
from queries.export import to_csv, to_xlsx
from queries.paths import DataPaths
from queries.shortfall import REPORT_COLUMNS, Shortfall, figures_at, shortfall
from queries.warehouse import Warehouse
from support import run_cli


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    paths = DataPaths(tmp_path_factory.mktemp("world") / "data")
    shortfall_world.build(paths)
    return paths


def test_shortfall_report_as_csv_with_every_column(world: DataPaths) -> None:
    result = run_cli("report", "shortfall", "--level", "testregio", "--at", "2026-06-30", "--care-type",
                     "trauma_care", "--target-group", "child", "--data-dir", str(world.root))
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(table[0]) == REPORT_COLUMNS
    b = next(row for row in table if row["region_code"] == "B")
    assert (b["services"], b["places"], b["waiting"], b["median_wait_treatment_days"], b["status"]) == (
        "1", "10.0", "12.0", "98.0", "red")
    assert b["status_reasons"] == "mediane behandelwachttijd 98 dagen > norm 70"
    c = next(row for row in table if row["region_code"] == "C")
    assert c["waiting"] == "" and c["unmet_now"] == ""          # unknown stays empty, never 0


def test_json_and_xlsx_formats(world: DataPaths, tmp_path: Path) -> None:
    as_json = run_cli("report", "shortfall", "--level", "testregio", "--at", "2026-06-30", "--format", "json",
                      "--care-type", "shelter", "--region", "A", "--data-dir", str(world.root), "--lang", "en")
    cells = json.loads(as_json.stdout)
    assert [(c["target_group"], c["places"], c["status"]) for c in cells] == [
        ("adult_victim", 12.0, "amber"), ("child", 12.0, "amber")]
    assert cells[0]["status_reasons"] == "1.2 more waiting than free places"
    out = tmp_path / "report.xlsx"
    assert run_cli("report", "providers", "--gemeente", "GM0003", "--at", "2026-06-30", "--format", "xlsx",
                   "--out", str(out), "--data-dir", str(world.root)).returncode == 0
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    ids = [row[header.index("service_id")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == ["TR3", "TR1", "SH1", "PP2"]
    assert not any("adres" in h or "address" in h for h in header)


def test_sources_report(world: DataPaths) -> None:
    result = run_cli("report", "sources", "--at", "2026-06-30", "--data-dir", str(world.root))
    (row,) = list(csv.DictReader(io.StringIO(result.stdout)))
    assert (row["source_id"], row["last_status"], row["consecutive_failures"], row["stale"]) == (
        "fixture", "ok", "0", "False")


@pytest.mark.parametrize("text", ["=1+1", "+31 6 000", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_exports_never_hand_a_formula_to_a_spreadsheet(text: str) -> None:
    rows_in = [{"name": text, "number": -5, "share": 0.12345}]
    (parsed,) = list(csv.DictReader(io.StringIO(to_csv(["name", "number", "share"], rows_in), newline="")))
    assert parsed["name"] == "'" + text and parsed["number"] == "-5" and parsed["share"] == "0.123"
    sheet = load_workbook(io.BytesIO(to_xlsx(["name", "number", "share"], rows_in))).active
    name, number, share = [c.value for c in sheet[2]]
    # (XML turns a stored CR into LF on reading; what matters is the leading apostrophe and text type)
    assert name[0] == "'" and name[1:].strip() == text.strip() and sheet["A2"].data_type == "s"
    assert number == -5 and share == 0.123                        # numbers stay numbers


def test_regional_totals_add_up_to_national_on_every_level(initialised_template: Path, tmp_path: Path) -> None:
    """Property: for random services over the real 342 municipalities, each level's regions sum to the nation."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(initialised_template, root)
    at = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
    with Warehouse(DataPaths(root)) as warehouse:
        con = warehouse.con
        municipalities = [code for (code,) in rows(con, "SELECT gemeente_code FROM municipality ORDER BY 1")]
        regions = rows(con, "SELECT level, region_code FROM region WHERE level NOT IN ('gemeente') ORDER BY 1, 2")
        levels = [level for (level,) in rows(con, "SELECT level FROM region_level WHERE level <> 'nederland'")]
        for seed in range(3):
            generator = random.Random(seed)
            run(con, "BEGIN TRANSACTION")
            _random_services(con, generator, municipalities, regions, at)
            refresh_first_valid_at(con)
            derive(con)
            national = {(c.care_type, c.target_group): c for c in shortfall(con, "nederland", at)}
            computed_at, valid_until = rows(con, "SELECT computed_at, valid_until FROM derived.now_window")[0]
            assert computed_at <= at and (valid_until is None or at <= valid_until), "the copy table is used"
            for level in levels:
                totals: dict[tuple, list[float]] = {}
                cells = shortfall(con, level, at)
                assert_same_cells(cells, figures_at(con, level, [at], precomputed=False))
                for cell in cells:
                    total = totals.setdefault((cell.care_type, cell.target_group), [0.0, 0.0, 0.0])
                    for i, figure in enumerate((cell.places, cell.available, cell.waiting)):
                        total[i] += figure or 0.0
                for key, (places, available, waiting) in totals.items():
                    whole = national[key]
                    assert abs(places - (whole.places or 0)) < 1e-6, (seed, level, key)
                    assert abs(available - (whole.available or 0)) < 1e-6, (seed, level, key)
                    assert abs(waiting - (whole.waiting or 0)) < 1e-6, (seed, level, key)
            run(con, "ROLLBACK")


def assert_same_cells(precomputed: list[Shortfall], computed: list[Shortfall]) -> None:
    """The table read from derived.shortfall equals the full computation (floats to rounding)."""
    assert len(precomputed) == len(computed)
    for fast, full in zip(precomputed, computed):
        for name, value in full._asdict().items():
            expected = pytest.approx(value) if isinstance(value, float) else value
            assert getattr(fast, name) == expected, (full.region_level, full.region_code, name)


def _random_services(con, generator: random.Random, municipalities: list[str], regions: list[tuple], at) -> None:
    run(con, "INSERT INTO source (source_id, kind, location, schedule, registered_at) VALUES ('random', 'file', 'x', '15m', now())")
    run(con, "INSERT INTO provider VALUES ('P', 'P', NULL, NULL, NULL, 'random', now())")
    combos = [("shelter", ["adult_victim", "child"]), ("trauma_care", ["child"]), ("trauma_care", ["adult_victim"]),
              ("perpetrator_programme", ["perpetrator"]), ("peer_group", ["adult_victim", "perpetrator"])]
    for number in range(120):
        care_type, groups = generator.choice(combos)
        service_id = f"R{number}"
        run(con, "INSERT INTO service (service_id, provider_id, name, care_type, source_id, updated_at) "
                 "VALUES (?, 'P', ?, ?, 'random', now())", [service_id, service_id, care_type])
        for group in groups:
            run(con, "INSERT INTO service_target_group VALUES (?, ?)", [service_id, group])
        if generator.random() < 0.5:
            for gm in generator.sample(municipalities, generator.randint(1, 6)):
                run(con, "INSERT INTO service_area VALUES (?, 'gemeente', ?)", [service_id, gm])
        else:
            level, code = generator.choice(regions)
            run(con, "INSERT INTO service_area VALUES (?, ?, ?)", [service_id, level, code])
        maximum = generator.randint(0, 40)
        run(con, "INSERT INTO capacity_observation VALUES (?, ?, 'random', 'place', ?, ?, 'open', ?, NULL, NULL, 1, "
                 "now())", [service_id, at - timedelta(hours=generator.randint(0, 30)), maximum,
                            generator.randint(0, maximum), generator.choice([None, generator.randint(0, 20)])])
