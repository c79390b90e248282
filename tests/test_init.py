"""`capacity init`: the warehouse with real reference data, idempotent."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import shapely

from queries.db import rows
from queries.paths import DataPaths
from queries.publish import published_copies

from support import run_cli

TABLES = ["municipality", "region_level", "region", "region_membership", "population", "care_type",
          "target_group", "care_type_target_group", "reference_load"]


def snapshot(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: rows(con, f"SELECT * EXCLUDE (loaded_at) FROM {table} ORDER BY ALL")
                if table in ("region_level", "reference_load") else rows(con, f"SELECT * FROM {table} ORDER BY ALL")
                for table in TABLES}
    finally:
        con.close()


def test_init_on_an_empty_folder_builds_every_shipped_level(tmp_path: Path) -> None:
    data = tmp_path / "empty" / "data"
    result = run_cli("init", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    counts = dict(rows(con, "SELECT level, count(*) FROM region GROUP BY level"))
    assert counts == {"veilig_thuis": 25, "veiligheidsregio": 25, "jeugdregio": 42, "provincie": 12,
                      "gemeente": 342, "nederland": 1}
    assert rows(con, "SELECT count(*) FROM municipality") == [(342,)]
    # every municipality is in exactly one region of every level (the key makes two impossible; none missing)
    assert rows(con, "SELECT level, count(*) FROM region_membership GROUP BY level HAVING count(*) <> 342") == []
    assert rows(con, "SELECT level FROM region_level WHERE is_default") == [("veilig_thuis",)]
    # the population total of CBS 2024 as documented with the file
    assert rows(con, "SELECT sum(inhabitants) FROM population") == [(17_942_942,)]


def test_provinces_are_derived_by_containment_with_the_known_2025_counts(data_paths: DataPaths) -> None:
    con = duckdb.connect(str(data_paths.warehouse), read_only=True)
    counts = dict(rows(con, """SELECT r.region_name, count(*) FROM region_membership m
                               JOIN region r USING (level, region_code) WHERE level = 'provincie' GROUP BY 1"""))
    # number of municipalities per province on 1 January 2025
    assert counts == {"Groningen": 10, "Fryslân": 18, "Drenthe": 12, "Overijssel": 25, "Flevoland": 6,
                      "Gelderland": 51, "Utrecht": 26, "Noord-Holland": 44, "Zuid-Holland": 50, "Zeeland": 13,
                      "Noord-Brabant": 56, "Limburg": 31}
    assert rows(con, """SELECT region_code FROM region_membership
                        WHERE level = 'provincie' AND gemeente_code = 'GM0363'""") == [("PV27",)]


def test_region_boundaries_are_the_dissolved_municipalities(data_paths: DataPaths) -> None:
    con = duckdb.connect(str(data_paths.warehouse), read_only=True)
    members = rows(con, """SELECT m.boundary_geojson FROM region_membership r JOIN municipality m USING (gemeente_code)
                           WHERE r.level = 'veilig_thuis' AND r.region_code = 'VT08'""")
    region = shapely.from_geojson(rows(con, """SELECT boundary_geojson FROM region
                                               WHERE level = 'veilig_thuis' AND region_code = 'VT08'""")[0][0])
    union = shapely.union_all([shapely.from_geojson(g) for (g,) in members])
    assert region.is_valid and region.geom_type in ("Polygon", "MultiPolygon")
    assert abs(region.area - union.area) < 1e-9
    assert shapely.equals_exact(shapely.normalize(region), shapely.normalize(union), tolerance=1e-9)
    assert json.loads(rows(con, "SELECT boundary_geojson FROM region WHERE level = 'nederland'")[0][0])["type"] in (
        "Polygon", "MultiPolygon")


def test_second_init_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("init", "--data-dir", str(data)).returncode == 0
    before = snapshot(data / "warehouse.duckdb")
    copies_before = published_copies(DataPaths(data))
    second = run_cli("init", "--data-dir", str(data))
    assert second.returncode == 0, second.stderr
    assert "niets gewijzigd" in second.stdout
    assert snapshot(data / "warehouse.duckdb") == before
    assert published_copies(DataPaths(data)) == copies_before


def test_init_publishes_again_when_the_copy_lacks_this_versions_derived_tables(tmp_path: Path) -> None:
    """A copy published by an older version (no derived tables) is replaced by the next `capacity init`, so
    readers never meet a copy the queries cannot read."""
    data = tmp_path / "data"
    assert run_cli("init", "--data-dir", str(data)).returncode == 0
    (sequence, copy), = published_copies(DataPaths(data))[-1:]
    con = duckdb.connect(str(copy))
    con.execute("DROP SCHEMA derived CASCADE")
    con.close()
    assert run_cli("init", "--data-dir", str(data)).returncode == 0
    newest, newest_copy = published_copies(DataPaths(data))[-1]
    assert newest == sequence + 1
    con = duckdb.connect(str(newest_copy), read_only=True)
    assert rows(con, "SELECT count(*) FROM derived.shortfall") == [(0,)]   # no figures yet, the table exists
    con.close()
