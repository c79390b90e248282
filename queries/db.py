"""Small helpers over a DuckDB connection: open one, run a statement, run a .sql file."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import duckdb

SQL_DIR = Path(__file__).resolve().parent / "sql"
PART = re.compile(r"^\{([a-z_]+)\}", re.MULTILINE)
SESSION_TIME_ZONE = "UTC"  # every connection: results never depend on the host's TZ


def connect(path: Path | str, read_only: bool = False, config: dict[str, Any] | None = None
            ) -> duckdb.DuckDBPyConnection:
    """A connection to a warehouse or published copy with the session time zone fixed to UTC; a requested
    `lock_configuration` is applied after that setting (the time zone needs ICU, loaded on first use)."""
    options = dict(config or {})
    lock = options.pop("lock_configuration", False)
    con = duckdb.connect(str(path), read_only=read_only, config=options)
    con.execute("SET TimeZone = ?", [SESSION_TIME_ZONE]).fetchall()
    if lock:
        con.execute("SET lock_configuration = true").fetchall()
    return con


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
    """The text of queries/sql/<name>.sql, with each `{part}` replaced by queries/sql/<part>.sql (shared CTEs;
    only SQL text is composed this way, values are always bound parameters)."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    for part in PART.findall(text):
        text = text.replace("{" + part + "}", sql_file(part).rstrip())
    return text
