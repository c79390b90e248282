"""Helpers for ingest tests: a file source on a real data folder, run through the real runner."""
from __future__ import annotations

import os
import time
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


def run_source(paths: DataPaths, config: Path, source_id: str = SOURCE_ID) -> Outcome:
    source = next(s for s in load_sources(config) if s.id == source_id)
    with Warehouse(paths) as warehouse:
        summary = SourceRunner(warehouse, paths).run(source)
    return Outcome(summary, paths)


def ingest_bytes(paths: DataPaths, folder: Path, name: str, content: bytes, extra: str = "") -> Outcome:
    config = write_config(folder, extra)
    drop(paths, name, content)
    return run_source(paths, config)
