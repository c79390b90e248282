"""What a field's cells mean, worked out once per distinct cell (or combination of cells) of a staged file.

A field's value comes from its column, the first non-empty of its fallback columns, or a template filled
from several (ingest/rules.py). For every distinct combination of those cells in the file, `cell_outcome`
applies the source's rules in Python, once: the empty words and `means` words, the check for characters
that do not belong in text and for a citizen service number, and the field's parser. The outcome is a row
of the lookup table (`LOOKUP_COLUMNS`, one table for all fields) that the set-wise row rules (ingest/row_checks.py) join to every row
holding that combination. Values travel as text (`encoded`) and are turned into their SQL type once per
lookup row (`decoded`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import duckdb
import pandas as pd

from queries.db import rows, run
from queries.text import first_unprintable, printable

from .fields import FIELD_BY_NAME, LIST_FIELDS, LIST_KINDS, SCREENED_FIELDS
from .privacy import bsn_error, has_bsn, has_street_address
from .records import RowError
from .rules import FieldSource, SourceRules
from .staging import Staged, cell_of, new_name
from .values import ValueProblem, as_text

EMPTY, GIVEN, PROBLEM, LEFT_OUT = 0, 1, 2, 3   # a field's state in a row
BSN, ADDRESS = -1, -2   # not states: mark the fields with a cell holding a BSN, or a street address
TEXT_CONTROLS = "\t\n\r"  # the only control characters a cell may hold (line breaks in a quoted cell)
SHOWN_VALUE = 200
LIST_SEP, PAIR_SEP = "\x1f", "\x1e"
LOOKUP_COLUMNS = ("id", "state", "means", "label", "shown", "nl", "en", "bsn", "kind", "v", "addr", "slug")
SQL_TYPES = {"int": "BIGINT", "text": "VARCHAR", "code": "VARCHAR", "datetime": "TIMESTAMPTZ", "bool": "BOOLEAN",
             "texts": "VARCHAR[]", "codes": "VARCHAR[]", "area": "STRUCT(area_level VARCHAR, area_code VARCHAR)[]"}
HELD_TYPES = {kind: "VARCHAR" if kind in LIST_KINDS else sql_type for kind, sql_type in SQL_TYPES.items()}
CREATE_LOOKUPS = """
CREATE TEMP TABLE {table} AS
SELECT field::INTEGER AS field, {keys}id::INTEGER AS id, state::TINYINT AS state, means::VARCHAR AS means,
       label::VARCHAR AS label, shown::VARCHAR AS shown, nl::VARCHAR AS nl, en::VARCHAR AS en, bsn::BOOLEAN AS bsn,
       {values}addr::BOOLEAN AS addr, slug::VARCHAR AS slug
FROM {frame}"""


def held(kind: str, text: str) -> str:
    """The SQL expression for a value as validation holds it per row: a list stays encoded (it is decoded for
    the newest row of each service only, ingest/load.py: most rows never need it), other kinds are typed."""
    return text if kind in LIST_KINDS else decoded(kind, text)


def decoded(kind: str, text: str) -> str:
    """The SQL expression turning `text` (an `encoded` value) into the field kind's SQL type."""
    if kind in ("texts", "codes"):
        return f"CASE WHEN {text} = '' THEN []::VARCHAR[] ELSE string_split({text}, chr(31)) END"
    if kind == "area":
        return (f"CASE WHEN {text} = '' THEN []::{SQL_TYPES['area']} ELSE list_transform(string_split({text}, "
                "chr(31)), lambda a: {'area_level': split_part(a, chr(30), 1), 'area_code': split_part(a, chr(30), 2)}) END")
    return f"{text}::{SQL_TYPES[kind]}"


LISTS_DECODED = {name: decoded(FIELD_BY_NAME[name].kind, name) for name in LIST_FIELDS}   # SQL over held columns


def encoded(kind: str, value: Any) -> str | None:
    """A parsed value as text for `decoded`."""
    if value is None:
        return None
    if kind in ("texts", "codes"):
        return LIST_SEP.join(value)
    if kind == "area":
        return LIST_SEP.join(f"{level}{PAIR_SEP}{code}" for level, code in value)
    if kind == "datetime":
        return value.isoformat()
    if kind == "bool":
        return "true" if value else "false"
    return str(value)


def texts_of(value: object) -> list[str]:
    return value if isinstance(value, list) else [value] if isinstance(value, str) else []


def has_address(value: object) -> bool:
    """Whether a text value (or any text of a list) holds a street address or postcode."""
    return any(has_street_address(text) for text in texts_of(value))


@dataclass(frozen=True)
class Outcome:
    """What one combination of cells gives a field: its state, value, `means` word, or its problem."""

    state: int
    value: Any = None
    means: str | None = None
    problem: RowError | None = None
    bsn: bool = False


def cell_outcome(name: str, source: FieldSource, cells: dict[str, object], rules: SourceRules,
                 parse: Callable[[object], Any]) -> Outcome:
    """The rules of one field applied to the cells of one row (see the module docstring)."""
    empty = rules.empty_words(name)
    cell, column = source.raw(cells, empty)
    word = as_text(cell).lower()
    means = None
    if word in empty:
        cell = ""
    elif word in rules.means.get(name, {}):
        means, cell = word, ""
    if as_text(cell) == "":
        return Outcome(EMPTY, means=means)
    odd = first_unprintable(cell, allowed=TEXT_CONTROLS) if isinstance(cell, str) else None
    if odd is not None:
        return Outcome(PROBLEM, problem=character_error(0, column, cell, *odd))
    if name in SCREENED_FIELDS and has_bsn(cell):
        return Outcome(PROBLEM, problem=bsn_error(0, column), bsn=True)
    try:
        return Outcome(GIVEN, parse(cell))
    except ValueProblem as error:
        if name in rules.lenient:
            return Outcome(LEFT_OUT)
        return Outcome(PROBLEM, problem=RowError(0, column, as_text(cell), f"{column}: {error.nl}",
                                                 f"{column}: {error.en}"))


def character_error(row: int, column: str, cell: str, position: int, code: str) -> RowError:
    """A cell holding a control character, a lone surrogate or a non-character: refused, shown escaped."""
    return RowError(row, column, printable(cell)[:SHOWN_VALUE],
                    f"{column}: bevat een teken dat niet in tekst hoort ({code} op positie {position}); verwijder "
                    "het en stuur de regel opnieuw",
                    f"{column}: holds a character that does not belong in text ({code} at position {position}); "
                    "remove it and send the row again")


@dataclass(frozen=True)
class Only:
    """The outcome of a field whose cells are the same in every row (no join needed to give it to them)."""

    state: int
    id: int
    means: str | None
    v: str | None       # encoded
    addr: bool
    slug: str | None


@dataclass(frozen=True)
class Lookups:
    """The lookup table of a staged file (column `field`: the field's position in `sources`; None when no
    statement would read it), each field's key columns in it, per state the fields with a cell in it (and
    `BSN`, `ADDRESS`: those holding a BSN, a street address), the fields with one combination of cells
    in the whole file, none of them NULL (`only`), and the other fields of one column whose every cell is
    its own value as written (`identity`: given, no word, no address, and the value encoded is the cell's
    text), so that a row's value is its cell through the same SQL (`held`) as the lookup's, without a join."""

    table: str | None
    keys: dict[str, list[str]]
    seen: dict[int, set[str]]
    only: dict[str, Only]
    identity: frozenset[str] = frozenset()


def build_lookups(con: duckdb.DuckDBPyConnection, staged: Staged, sources: dict[str, FieldSource],
                  rules: SourceRules, parsers: dict[str, Callable[[object], Any]], slug: Callable[[str], str]
                  ) -> Lookups:
    """One lookup table for every field of `sources` over the distinct cells of its columns."""
    width = max((len(source.columns) for source in sources.values()), default=0)
    key_names = [f"k{i}" for i in range(1, width + 1)]
    names = list(sources)
    records = []
    seen: dict[int, set[str]] = {}
    found: dict[str, list[tuple[list[str], Only]]] = {}
    for number, (index, *key) in enumerate(_distinct_keys(con, staged, sources, width), start=1):
        name = names[index]
        source = sources[name]
        cells = {column: cell_of(text) for column, text in zip(source.columns, key)}
        outcome = cell_outcome(name, source, cells, rules, parsers[name])
        seen.setdefault(outcome.state, set()).add(name)
        if outcome.bsn:
            seen.setdefault(BSN, set()).add(name)
        problem, value = outcome.problem, outcome.value
        kind = FIELD_BY_NAME[name].kind
        given = Only(outcome.state, number, outcome.means, encoded(kind, value), has_address(value),
                     slug(value) if name == "provider_name" and value else None)
        if given.addr:
            seen.setdefault(ADDRESS, set()).add(name)
        records.append((index, *key, number, outcome.state, outcome.means, problem.column if problem else None,
                        problem.value if problem else None, problem.nl if problem else None,
                        problem.en if problem else None, outcome.bsn, kind, given.v, given.addr, given.slug))
        found.setdefault(name, []).append((key[:len(source.columns)], given))
    only = {name: cells[0][1] for name, cells in found.items() if len(cells) == 1 and None not in cells[0][0]}
    identity = frozenset(name for name, cells in found.items() if name not in only and name != "provider_name"
                         and len(sources[name].columns) == 1 and all(_as_written(key, given) for key, given in cells))
    needed = PROBLEM in seen or any(name not in only and name not in identity for name in sources)
    return Lookups(_lookup_table(con, records, key_names, sources) if needed else None, {
        name: key_names[:len(source.columns)] for name, source in sources.items()}, seen, only, identity)


def _as_written(key: list[str], given: Only) -> bool:
    """Whether a field's outcome for a cell is the cell itself: given as written, its encoded value the text."""
    return given.state == GIVEN and given.means is None and not given.addr and given.v == key[0] is not None


def _distinct_keys(con: duckdb.DuckDBPyConnection, staged: Staged, sources: dict[str, FieldSource], width: int
                   ) -> list[tuple]:
    """(field index, *key) for each distinct combination of a field's cells, padded to `width` with None."""
    found, selects = [], []
    for index, source in enumerate(sources.values()):
        if len(source.columns) == 1:
            found += [(index, text, *[None] * (width - 1)) for text in staged.distinct(con, source.columns[0])]
            continue
        keys = [staged.columns[column] for column in source.columns]
        padded = keys + ["NULL"] * (width - len(keys))
        selects.append(f"SELECT {index} AS field, {', '.join(padded)} FROM (SELECT DISTINCT {', '.join(keys)} "
                       f"FROM {staged.table})")
    return found + (rows(con, " UNION ALL ".join(selects)) if selects else [])


def _lookup_table(con: duckdb.DuckDBPyConnection, records: list[tuple], key_names: list[str],
                  sources: dict[str, FieldSource]) -> str:
    frame = pd.DataFrame(records, columns=["field", *key_names, *LOOKUP_COLUMNS], dtype="object")
    kinds = sorted({FIELD_BY_NAME[name].kind for name in sources})
    typed = "".join(f"CASE WHEN kind = $kind_{kind} THEN {held(kind, 'v::VARCHAR')} END AS v_{kind}, "
                    for kind in kinds)
    table, view = new_name("lookups"), new_name("frame")
    con.register(view, frame)
    try:
        run(con, CREATE_LOOKUPS.format(table=table, frame=view, values=typed,
                                       keys="".join(f"{k}::VARCHAR AS {k}, " for k in key_names)),
            {f"kind_{kind}": kind for kind in kinds})
    finally:
        con.unregister(view)
    return table


def column_flags(con: duckdb.DuckDBPyConnection, staged: Staged, columns: list[str],
                 test: Callable[[object], bool]) -> list[str]:
    """The columns in which some staged cell passes `test` (each distinct cell tested once)."""
    return [column for column in columns if any(test(cell_of(text)) for text in staged.distinct(con, column))]
