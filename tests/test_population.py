"""Population: the shipped CBS file, and a newer file accepted without code changes."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from queries.db import rows
from queries.paths import DataPaths
from support import REPO, run_cli

SHIPPED = REPO / "data" / "reference" / "population" / "gemeente_bevolking_2024.csv"


def test_a_newer_population_file_loads_and_keeps_history(data_paths: DataPaths, tmp_path: Path) -> None:
    with SHIPPED.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, records = reader.fieldnames, list(reader)
    for record in records:
        record["peildatum"] = "2025-01-01"
        record["inwoners"] = str(int(record["inwoners"]) + 10)
    newer = tmp_path / "gemeente_bevolking_2025.csv"
    with newer.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    result = run_cli("population", "load", str(newer), "--data-dir", str(data_paths.root))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(data_paths.warehouse), read_only=True)
    # 17,942,942 in 2024 (shipped); every one of the 342 municipalities gained 10 in the test file
    assert rows(con, "SELECT reference_date::VARCHAR, sum(inhabitants) FROM population GROUP BY 1 ORDER BY 1") == [
        ("2024-01-01", 17_942_942), ("2025-01-01", 17_942_942 + 3_420)]


def test_a_bad_population_file_names_line_and_column(data_paths: DataPaths, tmp_path: Path) -> None:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    cells = lines[5].split(",")
    cells[3] = "12.5k"
    lines[5] = ",".join(cells)
    bad = tmp_path / "bevolking.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("population", "load", str(bad), "--data-dir", str(data_paths.root), "--lang", "en")
    assert result.returncode == 2
    assert "line 6: column inwoners: '12.5k' is not a whole number" in result.stderr
    con = duckdb.connect(str(data_paths.warehouse), read_only=True)
    assert rows(con, "SELECT count(DISTINCT reference_date) FROM population") == [(1,)]
