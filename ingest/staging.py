"""The raw cells of one extract in a DuckDB table, as text: what set-wise validation (ingest/validate.py) reads.

A plain CSV file (ingest/tabular.py `PlainCsv`: UTF-8, no quote, one line ending) is read by DuckDB itself:
each line one row, split on the delimiter, its number the line's; when a cell turns out to start or end
with white space (which the Python reader trims), the file is read in Python after all. Every other extract (CSV files with
quotes or other encodings, XLSX, feeds, HSDS, forms) is read in Python first and its rows copied in. Cells
keep what the reader gave: text as text; a number, yes/no or date of a spreadsheet or feed is tagged
(`staged_text`), as is text DuckDB cannot hold (a lone surrogate from a feed's JSON), and `cell_of` gives the
Python value back, so one rule set sees the same value either way.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from queries.db import rows, run

from .records import Extract, RowError
from .tabular import PlainCsv, width_problem_of

TAG = "\x01"   # starts a tagged cell; a text cell starting with it is tagged as text (a plain CSV has none)
_TYPES = {"s": str, "i": int, "f": float, "d": datetime.fromisoformat}
READ_LINES = """
CREATE TEMP TABLE {lines} AS
SELECT line FROM read_csv(?, columns = {{'line': 'VARCHAR'}}, delim = ?, quote = '', escape = '',
                          header = false, auto_detect = false, max_line_size = ?)"""
SPLIT_LINES = """
CREATE TEMP TABLE {table} AS
SELECT rowid + 1 AS row, CASE WHEN len(cells) <> $width THEN line END AS odd_line{cells}
FROM (SELECT rowid, line, string_split(line, $delimiter) AS cells FROM {lines} WHERE rowid > 0 AND line IS NOT NULL)
WHERE strlen(line) > (len(cells) - 1) * strlen($delimiter)   -- not blank: more than its delimiters"""
# a line of another width than the header's is kept whole, for the reader's rule (`width_problem_of`)
ODD_LINES = "SELECT row, odd_line FROM {table} WHERE odd_line IS NOT NULL ORDER BY row"
DROP_ROWS = "DELETE FROM {table} WHERE row IN (SELECT unnest(?::INTEGER[]))"
COUNT_ROWS = "SELECT count(*) FROM {table}"
DISTINCT = "SELECT {index}, {column} FROM (SELECT DISTINCT {column} FROM {table})"
ALL_CELLS = "SELECT {columns} FROM {table}"
FEW_ROWS = 500   # up to this many rows, reading them all is quicker than planning a DISTINCT per column
# up to this many rows (a feed's or form's few), bound VALUES are staged quicker than a registered pandas frame
# (1 row: 1.2 against 7.7 ms; they are even at about 100 rows)
BOUND_ROWS = 50
STAGE_BOUND = "CREATE TEMP TABLE {table} AS SELECT {casts} FROM (VALUES {rows}) AS v({names})"
LINE_READER_DELIMITER = "\x01"   # never in a plain CSV: DuckDB hands over each line whole
# DuckDB's read buffer grows with the longest line allowed (64 MB asked for a 526 MB buffer on a large file);
# a longer line than this (a hostile file) is read in Python
MAX_LINE_BYTES = 1024 * 1024
_names = itertools.count(1)


@dataclass
class Staged:
    """An extract's rows in `table` (column `row`, then one VARCHAR column per name in `columns`)."""

    table: str
    columns: dict[str, str]          # header column -> column of `table`
    rows: int                        # rows staged (blank lines and unreadable lines left out)
    errors: list[RowError]           # the reader's row errors
    _distinct: dict[str, list[str]] = field(default_factory=dict)

    def distinct(self, con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
        """The distinct staged texts of a header column (those of every column read at once, on first use)."""
        if not self._distinct and self.columns:
            self._distinct = self._all_cells(con) if self.rows <= FEW_ROWS else self._distinct_cells(con)
        return self._distinct[column]

    def _all_cells(self, con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
        found = rows(con, ALL_CELLS.format(columns=", ".join(self.columns.values()), table=self.table))
        return {column: list(dict.fromkeys(row[index] for row in found)) for index, column in enumerate(self.columns)}

    def _distinct_cells(self, con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
        found: dict[int, list[str]] = {}
        for index, text in rows(con, " UNION ALL ".join(DISTINCT.format(index=index, column=name, table=self.table)
                                                        for index, name in enumerate(self.columns.values()))):
            found.setdefault(index, []).append(text)
        return {column: found.get(index, []) for index, column in enumerate(self.columns)}


def new_name(prefix: str) -> str:
    """A name for a temporary table no other staging on this connection uses."""
    return f"{prefix}_{next(_names)}"


def staged_text(cell: object) -> str:
    """A cell as staged text: text as it is; None as ''; a number, yes/no or date tagged with its type."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        if not cell.isascii() and not _encodable(cell):
            return TAG + "x" + cell.encode("utf-8", "surrogatepass").hex()   # a lone surrogate: kept for its rule
        return TAG + "s" + cell if cell.startswith(TAG) else cell
    if isinstance(cell, bool):
        return TAG + ("b1" if cell else "b0")
    if isinstance(cell, int):
        return TAG + "i" + str(cell)
    if isinstance(cell, float):
        return TAG + "f" + repr(cell)
    if isinstance(cell, datetime):
        return TAG + "d" + cell.isoformat()
    return str(cell)


def cell_of(text: str) -> object:
    """The cell a staged text stands for (see `staged_text`)."""
    if not text.startswith(TAG):
        return text
    kind, body = text[1], text[2:]
    if kind == "b":
        return body == "1"
    if kind == "x":
        return bytes.fromhex(body).decode("utf-8", "surrogatepass")
    return _TYPES[kind](body)


def _encodable(text: str) -> bool:
    """Whether the text is valid Unicode for DuckDB (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stage(con: duckdb.DuckDBPyConnection, extract: Extract, columns: list[str]) -> Staged:
    """Stage `columns` of the extract's rows (with its reader's errors)."""
    names = {column: f"c{i}" for i, column in enumerate(columns, start=1)}
    table = new_name("staged")
    plain = getattr(extract, "plain", None)
    if plain is not None:
        try:
            errors = _stage_plain(con, plain, extract.header, names, table)
            staged = Staged(table, names, int(rows(con, COUNT_ROWS.format(table=table))[0][0]), errors)
            if not any(text != text.strip() for column in names for text in staged.distinct(con, column)):
                return staged
        except duckdb.InvalidInputException:
            pass   # DuckDB could not read it (a line too long, say); running out of memory is no reason
        run(con, f"DROP TABLE IF EXISTS {table}")   # or a cell needs trimming: the Python reader reads it
    _stage_rows(con, extract, names, table)
    return Staged(table, names, len(extract.rows), list(extract.errors))


def _stage_rows(con: duckdb.DuckDBPyConnection, extract: Extract, names: dict[str, str], table: str) -> None:
    casts = ", ".join(["row::INTEGER AS row", *(f"{name}::VARCHAR AS {name}" for name in names.values())])
    if 0 < len(extract.rows) <= BOUND_ROWS:
        row = "(" + ", ".join("?" * (len(names) + 1)) + ")"
        run(con, STAGE_BOUND.format(table=table, casts=casts, rows=", ".join([row] * len(extract.rows)),
                                    names=", ".join(["row", *names.values()])),
            [cell for raw in extract.rows
             for cell in (raw.row, *(staged_text(raw.values.get(column)) for column in names))])
        return
    frame = pd.DataFrame({"row": pd.array([raw.row for raw in extract.rows], dtype="Int64"),
                          **{name: [staged_text(raw.values.get(column)) for raw in extract.rows]
                             for column, name in names.items()}})
    frame = frame.astype({name: "object" for name in names.values()})
    view = new_name("frame")
    con.register(view, frame)
    try:
        run(con, f"CREATE TEMP TABLE {table} AS SELECT {casts} FROM {view}")
    finally:
        con.unregister(view)


def _stage_plain(con: duckdb.DuckDBPyConnection, plain: PlainCsv, header: list[str], names: dict[str, str],
                 table: str) -> list[RowError]:
    """Read a plain CSV with DuckDB: every line a row; blank lines left out, and lines of the wrong width too
    (as the reader's errors, in its words)."""
    lines = new_name("lines")
    position = {column: index for index, column in enumerate(header, start=1)}
    cells = "".join(f", cells[{position[column]}] AS {name}" for column, name in names.items())
    try:
        run(con, READ_LINES.format(lines=lines), [str(plain.path), LINE_READER_DELIMITER, MAX_LINE_BYTES])
        run(con, SPLIT_LINES.format(table=table, lines=lines, cells=cells),
            {"delimiter": plain.delimiter, "width": len(header)})
    finally:
        run(con, f"DROP TABLE IF EXISTS {lines}")
    odd = rows(con, ODD_LINES.format(table=table))
    errors, blank = [], []
    for row, line in odd:
        cells = [cell.strip() for cell in line.split(plain.delimiter)]
        error = width_problem_of(row, cells, len(header)) if any(cells) else None
        if error is not None:
            errors.append(error)
        elif not any(cells):
            blank.append(row)
    if errors or blank:
        run(con, DROP_ROWS.format(table=table), [[error.row for error in errors] + blank])
    return errors
