"""The set-wise half of validation: SQL over a staged file and its lookup tables (ingest/cell_lookups.py).

`values_sql` gives every row its fields' final values (the row's own, else what a `means` word implies,
else the default), their states and problems; `CHECKS` are the rules between fields, applied to the rows
without a problem in a single value; `ROW_CLASHES` compares the rows that remain (duplicates, and one
provider with two names).
Statements that depend on a source's rules are generated here, with every value a bound parameter.
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Any

from .cell_lookups import GIVEN, HELD_TYPES, LEFT_OUT, PROBLEM, Only, held
from .fields import FIELD_BY_NAME, FIELDS, LIST_KINDS, REQUIRED
from .privacy import address_error

TEXT_FIELDS = tuple(f.name for f in FIELDS if f.kind in ("text", "texts"))
SECRET_LOCATION_CARE_TYPES = ("shelter",)  # whose address is never stored
RECORD_DEFAULTS = """
coalesce(provider_id, provider_name__slug) AS provider_id,
coalesce(status, CASE WHEN available IS NULL THEN 'unknown' WHEN available > 0 THEN 'open' ELSE 'full' END) AS status,
coalesce(whole_family, false) AS whole_family, coalesce(languages, '') AS languages,
coalesce(violence_profiles, '') AS violence_profiles"""   # '': an empty list as rows hold it (cell_lookups.held)
COUNTS = """
SELECT count(*) FILTER (WHERE NOT keep), {left_out} FROM {values}"""
MASKED = """
SELECT DISTINCT l.label FROM {values} AS v JOIN {lookups} AS l ON l.id = v."{name}__id"
WHERE v.keep AND v."{name}__state" = {problem} AND l.bsn"""
VALUE_PROBLEMS = """
SELECT v.row, 1 AS phase, {seq} AS seq, l.label, l.shown, l.nl, l.en FROM {values} AS v
JOIN {lookups} AS l ON l.id = v."{name}__id" WHERE v.keep AND v."{name}__state" = {problem}"""
IMPLIED_PROBLEMS = """
SELECT v.row, 1 AS phase, 1000 + v."{name}__imp_order", i.column_name, i.shown, i.nl, i.en FROM {values} AS v
JOIN {implied} AS i ON i.id = v."{name}__imp" WHERE v.keep AND NOT i.ok AND {not_given}"""
ROW_CLASHES = """
INSERT INTO {problems}
WITH twice AS (SELECT service_id, valid_at FROM {values} WHERE loadable GROUP BY service_id, valid_at
               HAVING count(*) > 1),
     listed AS (SELECT service_id, valid_at, strftime(timezone('UTC', valid_at), '%Y-%m-%d %H:%M') AS moment,
                       string_agg(row::VARCHAR, ', ' ORDER BY row) AS listed, list(row) AS numbers
                FROM {values} JOIN twice USING (service_id, valid_at) WHERE loadable GROUP BY service_id, valid_at),
     named AS (SELECT provider_id, min(row) AS first_row, arg_min(provider_name, row) AS first_name
               FROM {values} WHERE loadable GROUP BY provider_id)
SELECT unnest(numbers), 3, 0, $service_column, service_id,
       'dienst ' || service_id || ' staat meer dan eens in dit bestand met peilmoment ' || moment
           || ' UTC (regels ' || listed || '); geen van deze regels is geladen',
       'service ' || service_id || ' occurs more than once in this file at ' || moment || ' UTC (rows '
           || listed || '); none of them was loaded'
FROM listed
UNION ALL
SELECT c.row, 4, 0, $provider_column, c.provider_name,
       $provider_column || ': aanbieder ' || c.provider_id || ' heet in regel ' || f.first_row::VARCHAR || ' '''
           || f.first_name || ''' en hier ''' || c.provider_name
           || '''; één aanbieder heeft één naam (deze regel is niet geladen)',
       $provider_column || ': provider ' || c.provider_id || ' is called ''' || f.first_name || ''' on row '
           || f.first_row::VARCHAR || ' and ''' || c.provider_name || ''' here; one provider has one name (this row '
           || 'was not loaded)'
FROM {values} AS c JOIN named AS f USING (provider_id)
WHERE c.loadable AND c.provider_name <> f.first_name"""
SET_ASIDE = """
UPDATE {values} SET loadable = false
WHERE loadable AND row IN (SELECT row FROM {problems} WHERE phase >= ?)"""
KEEP_LOADABLE = "DELETE FROM {values} WHERE NOT loadable"
# The values statement joins the staged rows to the lookup table once per field, in the order written (each
# lookup the small build side); DuckDB's join-order search, misled by the shared table's statistics, took 3-4x
# as long on 200,000 rows and most of the planning time of a one-row file.
JOINS_AS_WRITTEN = "SET disabled_optimizers = 'join_order'"
JOINS_OPTIMISED = "RESET disabled_optimizers"
PROBLEMS_TABLE = """
CREATE TEMP TABLE {problems} (row INTEGER, phase INTEGER, seq INTEGER, column_name VARCHAR, value VARCHAR,
                              nl VARCHAR, en VARCHAR)"""
ALL_PROBLEMS = "SELECT row, column_name, value, nl, en FROM {problems} ORDER BY row, phase, seq"


@dataclass
class Params:
    """Named parameters of a generated statement."""

    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def of(self, sql: str) -> dict[str, Any]:
        """The parameters `sql` names."""
        return {name: self.values[name] for name in re.findall(r"\$(p\d+)\b", sql)}


@dataclass(frozen=True)
class Constant:
    """A value every row without its own gets (a default, a field's empty value, or what a word implies)."""

    value: str | None      # encoded (ingest/cell_lookups.py)
    addr: bool = False
    slug: str | None = None


@dataclass(frozen=True)
class Implied:
    """A value a `means` word of `source` implies for a field, with its outcome id in the implied table."""

    source: str
    word: str
    id: int
    order: int           # where the field first enters the row's implied values (for the order of problems)
    ok: bool
    constant: Constant


@dataclass(frozen=True)
class Plan:
    """Everything `values_sql` needs of one file and its source's rules."""

    staged: str
    columns: dict[str, str]                         # header column -> staged column
    lookups: str | None                             # the lookup table (ingest/cell_lookups.py)
    sources: dict[str, tuple[tuple[str, ...], list[str]]]   # field -> (its columns, its keys in `lookups`)
    empty: dict[str, Constant]                      # field -> its value when the row gives none
    implied: dict[str, list[Implied]]               # field -> what words imply for it, in the sources' order
    keep: tuple[tuple[str, ...], str, list[str]] | None   # the filters' columns, lookup, keys
    only: dict[str, Only]                           # fields with the same cells in every row: no join
    identity: frozenset[str]                        # fields whose every cell is its value (Lookups): no join
    states: frozenset[str]                          # fields whose `F__state` later statements read
    ids: frozenset[str]                             # fields whose `F__id` later statements read
    addressed: tuple[str, ...]                      # text fields that may hold a street address


@dataclass(frozen=True)
class ValuesTables:
    """Where `values_sql` puts a file's rows: `rows` holds a row each (row, keep, value_ok, loadable, the
    columns later statements read, and the final values that differ between rows); `shared` one row with
    the final values every row has (not created when there are none); the view `view` both, with the
    record defaults applied: what the later statements and the load read. With `view` the same name as
    `rows` (a small file) that table holds every final value with the defaults applied, and there is no
    `shared` or view: a table is planned quicker than the view, by each of a dozen later statements."""

    rows: str
    shared: str
    view: str

    @property
    def one_table(self) -> bool:
        return self.view == self.rows


def values_sql(plan: Plan, tables: ValuesTables) -> list[tuple[str, dict[str, Any]]]:
    """The statements that CREATE `tables`: per row its keep, value_ok and per field its final value (see the
    module docstring), `F__state`/`F__id` per source field read later and `X__imp`/`X__imp_order` per
    implied field. A value every row has (a field missing from the file, or with the same cells in every
    row) is computed once, not stored per row."""
    p, q = Params(), Params()
    joins, inner = [], ["r.row"]
    for index, (name, (columns, keys)) in enumerate(plan.sources.items()):
        if name in plan.only:
            inner += _only(plan, name, p)
            continue
        if name in plan.identity:
            inner += _identity(plan, name, plan.columns[columns[0]])
            continue
        alias = f"l{index}"
        on = " AND ".join(f"{alias}.{key} = r.{plan.columns[column]}" for key, column in zip(keys, columns))
        joins.append(f"JOIN {plan.lookups} AS {alias} ON {alias}.field = {index} AND {on}")
        inner += [f'{alias}.state AS "{name}__state"', f'{alias}.id AS "{name}__id"',
                  f'{alias}.v_{FIELD_BY_NAME[name].kind} AS "{name}__v"']
        inner += [f'{alias}.means AS "{name}__means"'] if _implies(plan, name) else []
        inner += [f'{alias}.addr AS "{name}__addr"'] if name in TEXT_FIELDS else []
        inner += [f'{alias}.slug AS "{name}__slug"'] if name == "provider_name" else []
    if plan.keep is not None:
        columns, lookup, keys = plan.keep
        on = " AND ".join(f"kf.{key} = r.{plan.columns[column]}" for key, column in zip(keys, columns))
        joins.append(f"JOIN {lookup} AS kf ON {on}")
        inner.append("kf.keep AS keep")
    else:
        inner.append("true AS keep")
    outer = ["row", "keep"]
    failing = []
    for name, implied in plan.implied.items():
        last_wins = " ".join(f'WHEN "{i.source}__means" = {p(i.word)} THEN {i.id}' for i in reversed(implied))
        first_wins = " ".join(f'WHEN "{i.source}__means" = {p(i.word)} THEN {i.order}' for i in implied)
        outer += [f'CASE {last_wins} END AS "{name}__imp"', f'CASE {first_wins} END AS "{name}__imp_order"']
        bad = [i.id for i in implied if not i.ok]
        if bad:
            failing.append(f'(CASE {last_wins} END IN ({", ".join(str(b) for b in bad)}) AND {not_given(plan, name)})')
    outer += [f'"{name}__state"' for name in plan.sources if name in plan.states]
    outer += [f'"{name}__id"' for name in plan.sources if name in plan.ids]
    shared = []
    for name, part, column in _final_columns(plan):
        if _same_in_every_row(plan, name) and not tables.one_table:
            shared.append(f'{_constant(FIELD_BY_NAME[name].kind, _shared(plan, name), part, q)} AS "{column}"')
        else:
            outer.append(f'{_final(plan, name, part, p)} AS "{column}"')
    problems = [f'"{name}__state" = {PROBLEM}' for name in plan.sources] + failing
    outer.append(f"NOT ({' OR '.join(problems) or 'false'}) AS value_ok")
    rows = (f"SELECT *, keep AND value_ok AS loadable FROM (SELECT {', '.join(outer)} FROM "
            f"(SELECT {', '.join(inner)} FROM {plan.staged} AS r {' '.join(joins)}))")
    if tables.one_table:
        return [(f"CREATE TEMP TABLE {tables.rows} AS SELECT * REPLACE ({RECORD_DEFAULTS}) FROM ({rows})", p.values)]
    statements = [(f"CREATE TEMP TABLE {tables.rows} AS {rows}", p.values)]
    if shared:
        statements.append((f"CREATE TEMP TABLE {tables.shared} AS SELECT {', '.join(shared)}", q.values))
    both = f"{tables.rows} CROSS JOIN {tables.shared}" if shared else tables.rows
    statements.append((f"CREATE TEMP VIEW {tables.view} AS SELECT * REPLACE ({RECORD_DEFAULTS}) FROM {both}", {}))
    return statements


def _final_columns(plan: Plan) -> list[tuple[str, str, str]]:
    """(field, part, column) of every final value a row has: each field's value, the address flag of the
    text fields that may hold one, and the provider name's slug."""
    columns = []
    for spec in FIELDS:
        columns.append((spec.name, "v", spec.name))
        if spec.name in plan.addressed:
            columns.append((spec.name, "addr", f"{spec.name}__addr"))
    return columns + [("provider_name", "slug", "provider_name__slug")]


def _same_in_every_row(plan: Plan, name: str) -> bool:
    """Whether field `name` ends with one value in every row: the file has no cells for it, or the same
    cells in every row, and no word of another field implies a value for it."""
    return (name not in plan.sources or name in plan.only) and not plan.implied.get(name)


def _shared(plan: Plan, name: str) -> Constant:
    """The final value of a field `_same_in_every_row` (as `_final` gives it for every row)."""
    only = plan.only.get(name)
    if only is not None and only.state == GIVEN:
        return Constant(only.v, only.addr, only.slug)
    if only is not None and only.state in (PROBLEM, LEFT_OUT):
        return Constant(None)
    return plan.empty[name]


def _only(plan: Plan, name: str, p: Params) -> list[str]:
    """The inner columns of a field with one outcome in the whole file, as constants."""
    only = plan.only[name]
    columns = [f'{only.state}::TINYINT AS "{name}__state"', f'{only.id}::INTEGER AS "{name}__id"',
               f'{_value(FIELD_BY_NAME[name].kind, only.v, p)} AS "{name}__v"']
    columns += [f'{_text(only.means, p)} AS "{name}__means"'] if _implies(plan, name) else []
    columns += [f'{"true" if only.addr else "false"} AS "{name}__addr"'] if name in TEXT_FIELDS else []
    columns += [f'{_text(only.slug, p)} AS "{name}__slug"'] if name == "provider_name" else []
    return columns


def _identity(plan: Plan, name: str, column: str) -> list[str]:
    """The inner columns of a field whose every cell is its value: given, and the value the cell's text
    through the SQL the lookup table uses (`held`). No outcome id: only a problem's is read."""
    columns = [f'{GIVEN}::TINYINT AS "{name}__state"', f'NULL::INTEGER AS "{name}__id"',
               f'{held(FIELD_BY_NAME[name].kind, f"r.{column}")} AS "{name}__v"']
    columns += [f'NULL::VARCHAR AS "{name}__means"'] if _implies(plan, name) else []
    columns += [f'false AS "{name}__addr"'] if name in TEXT_FIELDS else []
    return columns


def _implies(plan: Plan, name: str) -> bool:
    """Whether a `means` word of field `name` implies values of fields."""
    return any(i.source == name for found in plan.implied.values() for i in found)


def _value(kind: str, value: str | None, p: Params) -> str:
    """SQL: an encoded value as rows hold it (no parameter to plan around for no value or an empty list)."""
    if value in (None, ""):
        return f"NULL::{HELD_TYPES[kind]}" if value is None else held(kind, "''")
    return held(kind, f"{p(value)}::VARCHAR")


def _text(value: str | None, p: Params) -> str:
    return f"{p(value)}::VARCHAR" if value is not None else "NULL::VARCHAR"


def not_given(plan: Plan, name: str) -> str:
    """SQL: the row leaves field `name` empty (so what a word implies counts)."""
    return f'"{name}__state" NOT IN ({GIVEN}, {PROBLEM}, {LEFT_OUT})' if name in plan.sources else "true"


def _final(plan: Plan, name: str, part: str, p: Params) -> str:
    """The final `part` (v: value, addr: address flag, slug) of field `name`: the row's own, else implied, else
    the field's empty value."""
    kind = FIELD_BY_NAME[name].kind
    if name in plan.identity:
        return f'"{name}__{part}"'   # given in every row: its own value wins
    cases = []
    if name in plan.sources:
        cases.append(f'WHEN "{name}__state" = {GIVEN} THEN "{name}__{part}"')
        cases.append(f'WHEN "{name}__state" IN ({PROBLEM}, {LEFT_OUT}) THEN NULL')
    cases += [f'WHEN "{name}__imp" = {i.id} THEN {_constant(kind, i.constant, part, p)}'
              for i in plan.implied.get(name, []) if i.ok]
    otherwise = _constant(kind, plan.empty[name], part, p)
    return f"CASE {' '.join(cases)} ELSE {otherwise} END" if cases else otherwise


def _constant(kind: str, c: Constant, part: str, p: Params) -> str:
    """SQL: the `part` (v: value, addr: address flag, slug) of a constant."""
    if part == "v":
        return _value(kind, c.value, p)
    if part == "addr":
        return "true" if c.addr else "false"
    return _text(c.slug, p)


@dataclass(frozen=True)
class Checks:
    """The rules between fields as SQL: `any_fails` counts the rows some rule refuses (quick to plan),
    `insert` puts their problems in the problems table (its messages built for those rows only); each with
    its parameters."""

    any_fails: tuple[str, dict[str, Any]]
    insert: tuple[str, dict[str, Any]]


def checks_sql(where: dict[str, str], addressed: tuple[str, ...], values: str, problems: str) -> Checks:
    """The rules between fields, for the kept rows whose values are all well formed (one pass: each rule
    gives a problem or NULL, in the order the rules are listed); the address rule for the `addressed` text
    fields only (the others hold none)."""
    p = Params()
    label = lambda name: p(where.get(name, name))  # noqa: E731
    rules = []   # (condition, column, value, nl, en) as SQL
    for name in REQUIRED:
        empty = f"{name} IS NULL" + (f" OR {name} = ''" if FIELD_BY_NAME[name].kind in LIST_KINDS else "")
        column = label(name)
        rules.append((empty, column, "''", f"{column} || ': verplicht veld is leeg'",
                      f"{column} || ': required field is empty'"))
    rules.append(("available > maximum", label("available"), "available::VARCHAR",
                  "'beschikbaar (' || available::VARCHAR || ') is groter dan maximum (' || maximum::VARCHAR || ')'",
                  "'available (' || available::VARCHAR || ') is greater than maximum (' || maximum::VARCHAR || ')'"))
    rules.append(("age_min > age_max", label("age_min"), "age_min::VARCHAR",
                  "'leeftijd_min (' || age_min::VARCHAR || ') is groter dan leeftijd_max (' || age_max::VARCHAR || ')'",
                  "'age_min (' || age_min::VARCHAR || ') is greater than age_max (' || age_max::VARCHAR || ')'"))
    for name in ("age_min", "age_max"):
        rules.append((f"{name} > 120", label(name), f"{name}::VARCHAR",
                      f"'{name} (' || {name}::VARCHAR || ') is meer dan 120'",
                      f"'{name} (' || {name}::VARCHAR || ') is over 120'"))
    for name in ("wait_days_intake", "wait_days_treatment"):
        rules.append((f"{name} > 3650", label(name), f"{name}::VARCHAR",
                      f"'{name}: ' || {name}::VARCHAR || ' dagen is meer dan 3650 (10 jaar)'",
                      f"'{name}: ' || {name}::VARCHAR || ' days is more than 3650 (10 years)'"))
    secret = p(list(SECRET_LOCATION_CARE_TYPES)) if addressed else None
    for name in addressed:
        error = address_error(0, where.get(name, name))
        rules.append((f'list_contains({secret}, care_type) AND "{name}__addr"', p(error.column), p(error.value),
                      p(error.nl), p(error.en)))
    rules.append(("status IN ('full', 'closed') AND available > 0", label("status"), "status",
                  "'status ''' || status || ''' maar beschikbaar is ' || available::VARCHAR || '; welke klopt?'",
                  "'status ''' || status || ''' but available is ' || available::VARCHAR || '; which one is right?'"))
    found = ", ".join(f"CASE WHEN {condition} THEN {{'seq': {seq}, 'c': {column}, 'v': {value}, 'nl': {nl}, "
                      f"'en': {en}}} END" for seq, (condition, column, value, nl, en) in enumerate(rules))
    failing = f"loadable AND ({' OR '.join(f'({condition})' for condition, *_ in rules)})"
    insert = (f"INSERT INTO {problems} SELECT row, 2, f.seq, f.c, f.v, f.nl, f.en FROM (SELECT row, "
              f"unnest(list_filter([{found}], lambda x: x IS NOT NULL)) AS f FROM {values} WHERE {failing})")
    any_fails = f"SELECT count(*) FROM {values} WHERE {failing}"
    return Checks((any_fails, p.of(any_fails)), (insert, p.values))
