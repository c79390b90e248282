"""Numbered SQL migrations, applied in order and recorded in schema_migration."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .db import rows, run
from .errors import WarehouseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"(\d{3})_([a-z0-9_]+)\.sql")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migration (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    checksum   VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migration ORDER BY version"
RECORD_APPLIED = "INSERT INTO schema_migration (version, name, checksum) VALUES (?, ?, ?)"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def available_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files, numbered 001, 002, ... without gaps."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.fullmatch(path.name)
        if not match:
            raise WarehouseError(f"Migratiebestand met onjuiste naam: {path.name}",
                                 f"Migration file with a wrong name: {path.name}")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise WarehouseError(f"Migraties niet doorlopend genummerd bij {migration.version:03d}",
                                 f"Migrations are not numbered consecutively at {migration.version:03d}")
    return found


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied to this warehouse (0 when none)."""
    run(con, CREATE_LEDGER)
    applied = rows(con, SELECT_APPLIED)
    return applied[-1][0] if applied else 0


def apply_migrations(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the migrations not yet applied, each in its own transaction; return their versions."""
    migrations = available_migrations() if migrations is None else migrations
    run(con, CREATE_LEDGER)
    applied = {version: (name, checksum) for version, name, checksum in rows(con, SELECT_APPLIED)}
    newest_known = migrations[-1].version if migrations else 0
    newest_applied = max(applied, default=0)
    if newest_applied > newest_known:
        raise WarehouseError(
            f"Deze warehouse is geschreven door een nieuwere versie van het programma (schema {newest_applied}, "
            f"dit programma kent tot en met {newest_known}). Werk het programma bij of kies een andere --data-dir.",
            f"This warehouse was written by a newer version of the program (schema {newest_applied}; this "
            f"program knows up to {newest_known}). Upgrade the program or use another --data-dir.")
    done = []
    for migration in migrations:
        if migration.version in applied:
            if applied[migration.version][1] != migration.checksum:
                raise WarehouseError(
                    f"Migratie {migration.version:03d} ({migration.name}) is gewijzigd nadat hij is toegepast; "
                    "voeg een nieuwe migratie toe in plaats van een oude te wijzigen.",
                    f"Migration {migration.version:03d} ({migration.name}) changed after it was applied; "
                    "add a new migration instead of editing an old one.")
            continue
        _apply_one(con, migration)
        done.append(migration.version)
    return done


def _apply_one(con: duckdb.DuckDBPyConnection, migration: Migration) -> None:
    run(con, "BEGIN TRANSACTION")
    try:
        for statement in con.extract_statements(migration.sql):
            con.execute(statement).complete()
        run(con, RECORD_APPLIED, [migration.version, migration.name, migration.checksum])
        run(con, "COMMIT")
    except Exception:
        run(con, "ROLLBACK")
        raise
