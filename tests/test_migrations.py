"""Schema migrations: applied in order, recorded, idempotent, refusing newer warehouses."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from queries.db import rows, run
from queries.errors import WarehouseError
from queries.migrate import Migration, apply_migrations, available_migrations, schema_version
from queries.paths import DataPaths
from queries.warehouse import Warehouse


def test_applies_all_migrations_in_order_and_records_them(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    applied = apply_migrations(con)
    known = available_migrations()
    assert applied == [m.version for m in known]
    assert rows(con, "SELECT version, name FROM schema_migration ORDER BY version") == [
        (m.version, m.name) for m in known]


def test_applying_twice_is_a_no_op(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
    tables_before = rows(con, "SELECT table_name FROM information_schema.tables ORDER BY 1")
    assert apply_migrations(con) == []
    assert rows(con, "SELECT table_name FROM information_schema.tables ORDER BY 1") == tables_before
    assert rows(con, "SELECT count(*) FROM schema_migration")[0][0] == len(available_migrations())


def test_the_put_away_listing_of_007_run_again_changes_nothing(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
    run(con, "INSERT INTO pending_put_away VALUES ('s', ?, 'a.csv', now(), NULL, NULL, 1)", ["0" * 64])
    (listing,) = [migration for migration in available_migrations() if migration.version == 7]
    for statement in con.extract_statements(listing.sql):
        con.execute(statement).complete()
    assert rows(con, "SELECT source_id, file_name, run_id FROM pending_put_away") == [("s", "a.csv", 1)]


def test_warehouse_from_a_newer_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    Warehouse(paths).close()
    con = duckdb.connect(str(paths.warehouse))
    future = schema_version(con) + 1
    run(con, "INSERT INTO schema_migration (version, name, checksum) VALUES (?, 'from_the_future', 'x')", [future])
    con.close()
    with pytest.raises(WarehouseError) as caught:
        Warehouse(paths)
    assert f"schema {future}" in caught.value.en and "newer version" in caught.value.en
    assert "nieuwere versie" in caught.value.nl


def test_a_migration_edited_after_it_was_applied_is_refused(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    first = Migration(1, "demo", "CREATE TABLE demo (a INTEGER);")
    apply_migrations(con, [first])
    with pytest.raises(WarehouseError) as caught:
        apply_migrations(con, [Migration(1, "demo", "CREATE TABLE demo (a BIGINT);")])
    assert "changed after it was applied" in caught.value.en


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    broken = Migration(1, "broken", "CREATE TABLE half (a INTEGER); CREATE TABLE half (b INTEGER);")
    with pytest.raises(duckdb.Error):
        apply_migrations(con, [broken])
    assert rows(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'half'")[0][0] == 0
    assert schema_version(con) == 0


@pytest.mark.parametrize("statement", [
    # available above maximum
    "INSERT INTO capacity_observation VALUES ('s', now(), 'src', 'place', 3, 4, 'open', 0, 0, 0, 1, now())",
    # negative available
    "INSERT INTO capacity_observation VALUES ('s', now(), 'src', 'place', 3, -1, 'open', 0, 0, 0, 1, now())",
    # unknown status
    "INSERT INTO capacity_observation VALUES ('s', now(), 'src', 'place', 3, 1, 'vol', 0, 0, 0, 1, now())",
    # wait beyond ten years
    "INSERT INTO capacity_observation VALUES ('s', now(), 'src', 'place', 3, 1, 'open', 0, 4000, 0, 1, now())",
    # a municipality code that is not a GM code
    "INSERT INTO municipality VALUES ('0363', 'Amsterdam', '{}')",
    # a membership for a municipality that does not exist
    "INSERT INTO region_membership VALUES ('veilig_thuis', 'GM9999', 'VT01')",
    # a care type that does not exist
    "INSERT INTO care_type_target_group VALUES ('astrology', 'child')",
])
def test_constraints_make_bad_states_impossible(data_paths: DataPaths, statement: str) -> None:
    with Warehouse(data_paths) as warehouse:
        with pytest.raises(duckdb.ConstraintException):
            run(warehouse.con, statement)


def test_013_keeps_every_observation_when_it_drops_the_key_index(tmp_path: Path) -> None:
    """Observations written under 012 are all there, unchanged, after 013 rebuilds the table."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    known = available_migrations()
    apply_migrations(con, [m for m in known if m.version <= 12])
    written = [("s1", "2026-01-01 10:00:00+00", "src", "place", 3, 1, "open", 0, 0, 0, 1),
               ("s1", "2026-01-01 11:00:00+00", "src", "bed", None, None, "unknown", None, None, None, 2),
               ("s2", "2026-01-01 10:00:00+00", "other", "group_seat", 8, 0, "full", 4, 12, 30, 3)]
    for row in written:
        run(con, "INSERT INTO capacity_observation VALUES (?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            list(row))
    assert apply_migrations(con, known) == [m.version for m in known if m.version > 12]
    assert rows(con, "SELECT service_id, strftime(timezone('UTC', valid_at), '%Y-%m-%d %H:%M:%S+00'), source_id, "
                     "unit, maximum, available, status, waiting_count, wait_days_intake, wait_days_treatment, run_id "
                     "FROM capacity_observation ORDER BY run_id") == written
