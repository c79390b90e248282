"""Small helpers over a DuckDB connection: run a statement, run a .sql file."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import duckdb

SQL_DIR = Path(__file__).resolve().parent / "sql"


def run(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None) -> None:
    """Execute one statement to its end, discarding any result."""
    con.execute(sql, params).complete()


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
    """Execute one query and return all its rows."""
    return con.execute(sql, params).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None) -> Any:
    """Execute one query and return the first column of its first row (None when empty)."""
    found = con.execute(sql, params).fetchall()
    return found[0][0] if found else None


@lru_cache(maxsize=None)
def sql_file(name: str) -> str:
    """The text of queries/sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
