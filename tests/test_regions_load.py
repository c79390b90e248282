"""`capacity regions load`: any further region set from a mapping file, all or nothing."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from ingest.config import load_sources
from ingest.reference_load import load_region_level
from ingest.runner import SourceRunner
from ingest_support import SOURCE_ID, drop, write_config
from queries.db import rows
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import REPO, run_cli
from test_ingest_files import csv_bytes

VEILIGHEIDSREGIO = REPO / "data" / "reference" / "regions" / "gemeente_veiligheidsregio.csv"


def write_mapping(path: Path, lines: list[tuple[str, str, str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["gemeente_code", "region_code", "region_name"])
        writer.writerows(lines)
    return path


def safety_region_lines() -> list[tuple[str, str, str]]:
    """A complete, valid mapping: the 25 safety regions under new codes (CG01..)."""
    with VEILIGHEIDSREGIO.open(encoding="utf-8") as handle:
        return [(r["gemeentecode"], "CG" + r["veiligheidsregio_code"][2:], r["veiligheidsregio_naam"])
                for r in csv.DictReader(handle)]


def level_rows(paths: DataPaths, level: str) -> list[tuple]:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return rows(con, "SELECT region_code, count(*) FROM region_membership WHERE level = ? GROUP BY 1 ORDER BY 1",
                    [level])
    finally:
        con.close()


def test_a_valid_mapping_loads_with_dissolved_boundaries(data_paths: DataPaths, tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path / "centrumgemeenten.csv", safety_region_lines(), delimiter=";")
    result = run_cli("regions", "load", "centrumgemeente_vo", str(mapping), "--label", "Centrumgemeente",
                     "--data-dir", str(data_paths.root))
    assert result.returncode == 0, result.stderr
    loaded = dict(level_rows(data_paths, "centrumgemeente_vo"))
    assert len(loaded) == 25 and sum(loaded.values()) == 342
    con = duckdb.connect(str(data_paths.warehouse), read_only=True)
    assert rows(con, "SELECT count(*) FROM region WHERE level = 'centrumgemeente_vo' AND boundary_geojson LIKE "
                     "'{\"type\":\"%Polygon%'") == [(25,)]
    assert rows(con, "SELECT origin FROM region_level WHERE level = 'centrumgemeente_vo'") == [("loaded",)]
    con.close()
    listing = run_cli("regions", "--data-dir", str(data_paths.root))
    assert "centrumgemeente_vo" in listing.stdout and "Centrumgemeente" in listing.stdout
    again = run_cli("regions", "load", "centrumgemeente_vo", str(mapping), "--label", "Centrumgemeente",
                    "--data-dir", str(data_paths.root))
    assert again.returncode == 0 and "niets gewijzigd" in again.stdout


def test_errors_are_reported_by_line_and_nothing_is_loaded(data_paths: DataPaths, tmp_path: Path) -> None:
    lines = safety_region_lines()
    dropped = lines.pop(10)                                           # one municipality missing
    amsterdam = next(i for i, line in enumerate(lines) if line[0] == "GM0363")
    lines[amsterdam] = ("GM9999", "CG13", "Amsterdam-Amstelland")   # unknown code, and Amsterdam goes missing
    lines.append(("GM0014", "CG02", "Fryslân"))                       # Groningen a second time
    mapping = write_mapping(tmp_path / "broken.csv", lines)
    result = run_cli("regions", "load", "broken_set", str(mapping), "--data-dir", str(data_paths.root),
                     "--lang", "en")
    assert result.returncode == 2
    # the header is line 1, so list index i sits on line i + 2
    assert f"line {amsterdam + 2}: municipality code 'GM9999' does not exist" in result.stderr
    assert f"line {len(lines) + 1}: GM0014 (Groningen) is already on line 2 (region CG01)" in result.stderr
    missing = sorted([dropped[0], "GM0363"])
    assert f"2 municipality(ies) missing: {missing[0]} (" in result.stderr
    assert "GM0363 (Amsterdam)" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert level_rows(data_paths, "broken_set") == []


def test_shipped_levels_cannot_be_replaced(data_paths: DataPaths, tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path / "m.csv", safety_region_lines())
    result = run_cli("regions", "load", "provincie", str(mapping), "--data-dir", str(data_paths.root))
    assert result.returncode == 2 and "meegeleverd" in result.stderr
    assert len(level_rows(data_paths, "provincie")) == 12


@pytest.mark.parametrize("header", ["gemeente,regio,naam", ""])
def test_a_wrong_header_is_named(data_paths: DataPaths, tmp_path: Path, header: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(header + ("\nGM0014,X,Y\n" if header else ""), encoding="utf-8")
    result = run_cli("regions", "load", "other", str(path), "--data-dir", str(data_paths.root))
    assert result.returncode == 2
    assert ("ontbreken in de kop" in result.stderr) if header else ("leeg" in result.stderr)


def test_a_running_ingester_knows_a_level_loaded_after_it_started(data_paths: DataPaths, tmp_path: Path) -> None:
    """The runner reads the code lists again once a region level is loaded (it keeps them between runs)."""
    config = write_config(tmp_path)
    source = next(s for s in load_sources(config) if s.id == SOURCE_ID)
    row = "S1,A,P,shelter,child,CG13,2026-11-24,place,5,1"
    with Warehouse(data_paths) as warehouse:
        runner = SourceRunner(warehouse, data_paths)
        drop(data_paths, "before.csv", csv_bytes(row))
        before = runner.run(source)
        load_region_level(warehouse, "centrumgemeente_vo", write_mapping(tmp_path / "cg.csv", safety_region_lines()))
        drop(data_paths, "after.csv", csv_bytes(row.replace("2026-11-24", "2026-11-25")))
        after = runner.run(source)
    assert (before.loaded, before.rejected, after.loaded, after.rejected) == (0, 1, 1, 0)
