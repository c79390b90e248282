"""Helpers for ingest tests: a file source on a real data folder, run through the real runner."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.config import load_sources
from ingest.runner import RunSummary, SourceRunner
from queries.db import rows
from queries.paths import DataPaths
from queries.warehouse import Warehouse

SOURCE_ID = "provider-a"


@dataclass
class Outcome:
    summary: RunSummary
    paths: DataPaths

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.paths.warehouse), read_only=True)
        try:
            return rows(con, sql, params)
        finally:
            con.close()

    def rejected(self) -> list[tuple]:
        """(row, column, value, message_en) of every rejected row, in row order."""
        return self.query("SELECT row_number, column_name, value, message_en FROM rejected_row "
                          "ORDER BY row_number, column_name")

    def last_run(self) -> tuple:
        return self.query("SELECT status, rows_in, rows_loaded, rows_rejected, error_en FROM ingest_run "
                          "ORDER BY run_id DESC LIMIT 1")[0]


def write_config(folder: Path, extra: str = "", source_id: str = SOURCE_ID) -> Path:
    config = folder / "sources.toml"
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    config.write_text(text + f'\n[[sources]]\nid = "{source_id}"\nkind = "file"\nschedule = "15m"\n'
                             f"settle_seconds = 0\n{extra}\n", encoding="utf-8")
    return config


def drop(paths: DataPaths, name: str, content: bytes, source_id: str = SOURCE_ID, age_seconds: float = 60) -> Path:
    """Put a finished file into the source's inbox (modified `age_seconds` ago)."""
    inbox = paths.inbox / source_id
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(content)
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return path


def query(paths: DataPaths, sql: str, params: list | None = None) -> list[tuple]:
    """A read-only look at the warehouse (after a killed writer it replays the log in memory only)."""
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return rows(con, sql, params)
    finally:
        con.close()


def run_source(paths: DataPaths, config: Path, source_id: str = SOURCE_ID) -> Outcome:
    source = next(s for s in load_sources(config) if s.id == source_id)
    with Warehouse(paths) as warehouse:
        summary = SourceRunner(warehouse, paths).run(source)
    return Outcome(summary, paths)


def ingest_bytes(paths: DataPaths, folder: Path, name: str, content: bytes, extra: str = "") -> Outcome:
    config = write_config(folder, extra)
    drop(paths, name, content)
    return run_source(paths, config)


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def leaks(paths: DataPaths, secrets: tuple[str, ...]) -> list[str]:
    """Every place under the data folder holding a secret: other files by their bytes, DuckDB files by
    SQL over every text column of every table (their strings are compressed on disk)."""
    found = []
    for path in files_under(paths.root):
        if path.suffix == ".duckdb":
            found += [f"{path.name}: {hit}" for hit in database_hits(path, secrets)]
        else:
            data = path.read_bytes()
            found += [f"{path.relative_to(paths.root)}: {secret}" for secret in secrets if secret.encode() in data]
    return found


def database_hits(path: Path, secrets: tuple[str, ...]) -> Iterator[str]:
    """Each text column holding a secret; every column's distinct values are read once."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = rows(con, "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns AS c "
                            "JOIN information_schema.tables AS t USING (table_catalog, table_schema, table_name) "
                            "WHERE t.table_type = 'BASE TABLE' AND c.data_type LIKE 'VARCHAR%'")
        for schema, table, column in columns:
            values = [value for (value,) in rows(con, f'SELECT DISTINCT CAST("{column}" AS VARCHAR) '
                                                      f'FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL')]
            for secret in secrets:
                if any(secret in value for value in values):
                    yield f"{schema}.{table}.{column} holds {secret!r}"
    finally:
        con.close()
