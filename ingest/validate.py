"""From raw rows to canonical capacity records: apply the source's rules (ingest/rules.py: columns,
fallbacks, templates, filters, empty words), parse values, check the rules between fields.

Set-wise (`check_rows`): the file's cells are staged in DuckDB, each distinct cell is judged once by the
rules in Python (ingest/cell_lookups.py), and the rules between fields and between rows are SQL
(ingest/row_checks.py): one implementation of every rule, whatever the size of the file.

A row with any problem is rejected as a whole (with every problem named, each by the column as the file
names it); a missing required column rejects the file (StructuralError), a column with personal
data of clients refuses it whole (PersonalDataError). Street-address columns are
dropped, even when mapped, and a reader error that may quote an address is withheld;
a citizen service number in a screened free-text field rejects its row, and so does a street
address or postcode in any text field of a shelter (ingest/privacy.py). Rows the filters leave out
are counted; two rows giving one provider id different names are both reported.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import duckdb

import pandas as pd

from queries.db import connect, rows, run, scalar

from .cell_lookups import (ADDRESS, BSN, LEFT_OUT, LISTS_DECODED, PROBLEM, build_lookups, column_flags, encoded,
                           has_address)
from .fields import (CODES, FALSE_WORDS, FIELD_BY_NAME, FIELDS, HEADER_TO_FIELD, LIST_SEPARATORS, REQUIRED,
                     SCREENED_FIELDS, TRUE_WORDS, VOCABULARY, normalise_header)
from .places import PlaceIndex, normalise as normalise_name, place_index
from .privacy import has_bsn, has_street_address, is_address, personal_columns, refuse_personal, withheld
from .records import Extract, RowError, StructuralError
from .reference_files import normalise_gemeente_code
from .row_checks import (ALL_PROBLEMS, COUNTS, IMPLIED_PROBLEMS, JOINS_AS_WRITTEN, JOINS_OPTIMISED, KEEP_LOADABLE,
                         MASKED, PROBLEMS_TABLE, ROW_CLASHES, SET_ASIDE, TEXT_FIELDS, VALUE_PROBLEMS, Constant,
                         Implied, Plan, ValuesTables, checks_sql, not_given, values_sql)
from .rules import CONVERSIONS, FieldSource, SourceRules, target_problems
from .staging import FEW_ROWS, Staged, cell_of, new_name, stage
from .tabular import PlainCsvExtract, TextScan
from .values import ValueProblem, as_text, parse_bool, parse_decimal, parse_moment, parse_text, parse_whole

__all__ = ["Checked", "Reference", "SourceRules", "Validated", "check_rows", "read_reference", "reference_version",
           "validate"]
REFERENCE_CARE_TYPES = "SELECT care_type, label_nl, label_en FROM care_type"
REFERENCE_TARGET_GROUPS = "SELECT target_group, label_nl, label_en FROM target_group"
REFERENCE_MUNICIPALITIES = "SELECT gemeente_code, name FROM municipality"
REFERENCE_REGIONS = "SELECT level, region_code, region_name FROM region WHERE level <> 'gemeente'"
REFERENCE_VERSION = """
SELECT (SELECT sum(hash(part, content_hash, loaded_at)::HUGEINT) FROM reference_load),
       (SELECT sum(hash(level, content_hash, loaded_at)::HUGEINT) FROM region_level)"""
RECORD_ROWS = """
SELECT row, service_id, service_name, provider_id, provider_name, care_type, {target_groups},
       [(a.area_level, a.area_code) for a in {service_area}] AS service_area, valid_at, unit, maximum, available,
       status, waiting_count, wait_days_intake, wait_days_treatment, framework, age_min, age_max, whole_family,
       {languages}, {violence_profiles}, phone, email, website, referral_route
FROM {records} ORDER BY row"""
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Reference:
    """What validation checks codes against, read from the warehouse once per run."""

    care_types: dict[str, str]          # accepted word (lower case) -> care type code
    target_groups: dict[str, str]       # accepted word (lower case) -> target group code
    municipalities: dict[str, str]      # GM code -> name
    region_codes: dict[str, list[tuple[str, str]]]  # upper-case region code -> [(level, code)]
    levels: frozenset[str]
    places: PlaceIndex | None = None    # municipality names, aliases and woonplaatsen (ingest/places.py)
    region_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (level, normalised name) -> code


def read_reference(con: duckdb.DuckDBPyConnection) -> Reference:
    """The code lists of the warehouse (or a published copy) behind `con`."""
    care = rows(con, REFERENCE_CARE_TYPES)
    groups = rows(con, REFERENCE_TARGET_GROUPS)
    municipalities = dict(rows(con, REFERENCE_MUNICIPALITIES))
    regions = rows(con, REFERENCE_REGIONS)
    care_words = {word.lower(): code for code, nl, en in care for word in (code, nl, en)}
    care_words.update({w: c for w, c in VOCABULARY["care_type"].items() if c in {code for code, _, _ in care}})
    group_words = {word.lower(): code for code, nl, en in groups for word in (code, nl, en)}
    group_words.update({w: c for w, c in VOCABULARY["target_groups"].items() if c in {code for code, _, _ in groups}})
    region_codes: dict[str, list[tuple[str, str]]] = {}
    for level, code, _ in regions:
        region_codes.setdefault(code.upper(), []).append((level, code))
    return Reference(care_words, group_words, municipalities, region_codes,
                     frozenset(level for level, _, _ in regions), place_index(municipalities),
                     {(level, normalise_name(name)): code for level, code, name in regions})


def reference_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """What changes whenever the code lists do: every load of reference data or a region level records its
    content's hash and time (ingest/reference_load.py); a fingerprint of all of them, in any order."""
    return tuple(rows(con, REFERENCE_VERSION)[0])


def code_lists(reference: Reference) -> dict[str, set[str]]:
    """Per coded field, the codes a source's value map may point to."""
    areas = set(reference.municipalities) | {code for matches in reference.region_codes.values()
                                             for _, code in matches}
    areas |= {f"{level}:{code}" for matches in reference.region_codes.values() for level, code in matches}
    return {"care_type": set(reference.care_types.values()), "target_groups": set(reference.target_groups.values()),
            **{name: set(codes) for name, codes in CODES.items()}, "service_area": areas,
            "whole_family": set(TRUE_WORDS | FALSE_WORDS)}


@dataclass
class Record:
    """One valid canonical row."""

    row: int
    service_id: str
    service_name: str
    provider_id: str
    provider_name: str
    care_type: str
    target_groups: list[str]
    service_area: list[tuple[str, str]]
    valid_at: datetime
    unit: str
    maximum: int | None
    available: int | None
    status: str
    waiting_count: int | None
    wait_days_intake: int | None
    wait_days_treatment: int | None
    framework: str | None
    age_min: int | None
    age_max: int | None
    whole_family: bool
    languages: list[str]
    violence_profiles: list[str]
    phone: str | None
    email: str | None
    website: str | None
    referral_route: str | None


@dataclass
class Validated:
    records: list[Record]
    rejected: list[RowError]
    dropped_columns: list[str]                                  # street-address columns, never read
    masked_columns: list[str] = field(default_factory=list)     # screened columns where a BSN was found
    filtered: int = 0                                           # rows the source's filters left out
    left_out: int = 0                                           # unreadable values of lenient fields, left empty
    where: dict[str, str] = field(default_factory=dict)         # field -> the column (or template) it came from


def validate(extract: Extract, rules: SourceRules, reference: Reference, now: datetime) -> Validated:
    """Check every row of `extract` (see the module docstring) on a connection of its own; the valid rows as
    Records (for a form, a preview: few rows)."""
    with connect(":memory:") as con:
        checked = check_rows(con, extract, rules, reference, now)
        found = rows(con, RECORD_ROWS.format(records=checked.records, **LISTS_DECODED))
        records = [Record(*values) for values in found]
        return Validated(records, checked.rejected, checked.dropped_columns, checked.masked_columns,
                         checked.filtered, checked.left_out, checked.where)


@dataclass
class Temporary:
    """The temporary tables and views of one check, dropped together (the views first)."""

    tables: list[str]
    views: list[str] = field(default_factory=list)

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        for name in self.views:
            run(con, f"DROP VIEW IF EXISTS {name}")
        for name in self.tables:
            run(con, f"DROP TABLE IF EXISTS {name}")


@dataclass
class Checked:
    """An extract checked in `con`: its valid rows in the temporary view `records` (the columns of Record;
    rows are deleted from the table `table` under it), the rest as for Validated; `drop` removes its tables
    and views."""

    con: duckdb.DuckDBPyConnection
    records: str
    table: str
    rejected: list[RowError]
    dropped_columns: list[str]
    masked_columns: list[str]
    filtered: int
    left_out: int
    where: dict[str, str]
    rows_in: int
    temporary: Temporary

    def drop(self) -> None:
        self.temporary.drop(self.con)


def check_rows(con: duckdb.DuckDBPyConnection, extract: Extract, rules: SourceRules, reference: Reference,
               now: datetime) -> Checked:
    """Check every row of `extract` set-wise in `con` (the caller holds its lock): the cells are staged
    (ingest/staging.py), each distinct cell is judged once (ingest/cell_lookups.py), and the rules between
    fields and rows run as SQL (ingest/row_checks.py)."""
    refuse_unusable_rules(rules, reference, extract.file_name)
    sources, dropped = resolve_fields(extract, rules)
    parsers = {name: _parser(name, rules, reference, now) for name in FIELD_BY_NAME}
    default_values = _parse_defaults(rules, parsers, extract.file_name)
    where = {name: source.label for name, source in sources.items()}
    filter_columns = [f.column for f in rules.filters if f.column in extract.header]
    readable = [c for c in extract.header if c not in dropped or c in filter_columns]
    staged = stage(con, extract, readable)
    temporary = Temporary([staged.table])
    try:
        return _checked(con, extract, rules, staged, sources, dropped, parsers, default_values, where, temporary)
    except BaseException:
        temporary.drop(con)
        raise


def _checked(con: duckdb.DuckDBPyConnection, extract: Extract, rules: SourceRules, staged: Staged,
             sources: dict[str, FieldSource], dropped: list[str], parsers: dict[str, Callable[[object], Any]],
             default_values: dict[str, Any], where: dict[str, str], temporary: Temporary) -> Checked:
    tables = temporary.tables
    judged = build_lookups(con, staged, sources, rules, parsers, _provider_id)
    lookups, seen = judged.table, judged.seen
    tables += [lookups] if lookups else []
    keep = _keep_lookup(con, staged, rules, tables)
    implied, implied_table = _implied(con, sources, rules, parsers, tables)
    empty = {spec.name: _constant(spec.name, default_values[spec.name] if spec.name in default_values else
                                  parsers[spec.name]("") if spec.name in sources else None) for spec in FIELDS}
    ids = frozenset(seen.get(PROBLEM, ()))
    addressed = tuple(name for name in TEXT_FIELDS if name in seen.get(ADDRESS, ()) or empty[name].addr
                      or any(i.constant.addr for i in implied.get(name, ())))
    plan = Plan(staged.table, staged.columns, lookups, {name: (source.columns, judged.keys[name])
                                                          for name, source in sources.items()}, empty, implied, keep,
                judged.only, judged.identity,
                ids | seen.get(LEFT_OUT, set()) | {name for name in implied if name in sources}, ids, addressed)
    _scan_plain(con, extract, staged, sources)
    made = _values(con, plan, temporary, staged.rows <= FEW_ROWS)
    values, problems = made.view, new_name("problems")
    tables.append(problems)
    run(con, f"DROP TABLE {staged.table}")   # all that is left to do is in `values` and the lookups
    tables.remove(staged.table)
    run(con, PROBLEMS_TABLE.format(problems=problems))
    found = [VALUE_PROBLEMS.format(values=values, lookups=lookups, name=name, seq=seq, problem=PROBLEM)
             for seq, name in enumerate(sources) if name in seen.get(PROBLEM, ())]
    found += [IMPLIED_PROBLEMS.format(values=values, implied=implied_table, name=name,
                                      not_given=not_given(plan, name)) for name in implied if implied_table]
    # each INSERT answers with its count: the statements that could change nothing are left out
    problem_rows = scalar(con, f"INSERT INTO {problems} " + " UNION ALL ".join(found)) if found else 0
    checks = checks_sql(where, addressed, values, problems)
    between = scalar(con, *checks.insert) if scalar(con, *checks.any_fails) else 0
    if between:
        run(con, SET_ASIDE.format(values=made.rows, problems=problems), [2])
    clashes = scalar(con, ROW_CLASHES.format(problems=problems, values=values),
                     {"service_column": where.get("service_id", "service_id"),
                      "provider_column": where.get("provider_name", "provider_name")}) \
        if staged.rows > 1 else 0   # a clash takes two rows
    if clashes:
        run(con, SET_ASIDE.format(values=made.rows, problems=problems), [3])
    refused = problem_rows + between + clashes
    rejected = [withheld(e) if dropped and e.column in (None, *dropped) else e for e in staged.errors]
    rejected += [RowError(*found) for found in rows(con, ALL_PROBLEMS.format(problems=problems))] if refused else []
    rejected.sort(key=lambda error: (error.row or 0))
    masked = sorted({label for (label,) in rows(con, " UNION ".join(
        MASKED.format(values=values, lookups=lookups, name=name, problem=PROBLEM) for name in seen[BSN]))}) \
        if BSN in seen else []
    left_out = " + ".join(f'count(*) FILTER (WHERE keep AND "{name}__state" = {LEFT_OUT})'
                          for name in seen.get(LEFT_OUT, ())) or "0"
    filtered, left_out = rows(con, COUNTS.format(values=values, left_out=left_out))[0] \
        if keep is not None or LEFT_OUT in seen else (0, 0)
    if refused or keep is not None:
        run(con, KEEP_LOADABLE.format(values=made.rows))
    run(con, f"DROP TABLE {problems}")
    tables.remove(problems)
    return Checked(con, values, made.rows, rejected, dropped, masked, filtered, int(left_out or 0), where,
                   staged.rows + len({e.row for e in staged.errors}), temporary)


def _values(con: duckdb.DuckDBPyConnection, plan: Plan, temporary: Temporary, few_rows: bool) -> ValuesTables:
    """Every row's final values and states (ingest/row_checks.py `values_sql`), in one table for `few_rows`."""
    rows = new_name("values")
    made = ValuesTables(rows, new_name("shared"), rows if few_rows else new_name("records"))
    temporary.tables += [made.rows, made.shared]
    temporary.views += [] if made.one_table else [made.view]
    run(con, JOINS_AS_WRITTEN)
    try:
        for statement in values_sql(plan, made):
            run(con, *statement)
    finally:
        run(con, JOINS_OPTIMISED)
    return made


def _keep_lookup(con: duckdb.DuckDBPyConnection, staged: Staged, rules: SourceRules, tables: list[str]
                 ) -> tuple[tuple[str, ...], str, list[str]] | None:
    """Whether the source's filters keep each distinct combination of the filtered columns' cells."""
    if not rules.filters:
        return None
    columns = tuple(dict.fromkeys(f.column for f in rules.filters if f.column in staged.columns))
    keys = [f"k{i}" for i in range(1, len(columns) + 1)]
    named = [staged.columns[column] for column in columns]
    found = rows(con, f"SELECT DISTINCT {', '.join(named) or 'true'} FROM {staged.table}")
    keeps = [(*(key if columns else ()), rules.keeps({c: cell_of(t) for c, t in zip(columns, key)}))
             for key in found] if columns else [(rules.keeps({}),)]
    table, view = new_name("keep"), new_name("frame")
    tables.append(table)
    con.register(view, pd.DataFrame(keeps, columns=[*keys, "keep"], dtype="object"))
    try:
        run(con, f"CREATE TEMP TABLE {table} AS SELECT {''.join(f'{k}::VARCHAR AS {k}, ' for k in keys)}"
                 f"keep::BOOLEAN AS keep FROM {view}")
    finally:
        con.unregister(view)
    return columns, table, keys


def _implied(con: duckdb.DuckDBPyConnection, sources: dict[str, FieldSource], rules: SourceRules,
             parsers: dict[str, Callable[[object], Any]], tables: list[str]
             ) -> tuple[dict[str, list[Implied]], str | None]:
    """What each `means` word of a field in this file implies for other fields, parsed once; the outcomes that
    do not parse are rows of a small table, if there are any (their problems, as a row states them)."""
    implied: dict[str, list[Implied]] = {}
    failed = []
    for index, source in enumerate(sources):
        for word, values in rules.means.get(source, {}).items():
            for position, (name, raw) in enumerate(values.items()):
                number = sum(len(found) for found in implied.values()) + 1
                try:
                    constant, ok = _constant(name, parsers[name](raw)), True
                except ValueProblem as error:
                    constant, ok = Constant(None), False
                    failed.append((number, name, as_text(raw), f"{name}: {error.nl}", f"{name}: {error.en}"))
                implied.setdefault(name, []).append(Implied(source, word, number, index * 1000 + position, ok,
                                                                    constant))
    if not failed:
        return implied, None
    table, view = new_name("implied"), new_name("frame")
    tables.append(table)
    frame = pd.DataFrame(failed, columns=["id", "column_name", "shown", "nl", "en"], dtype="object")
    con.register(view, frame)
    try:
        run(con, f"CREATE TEMP TABLE {table} AS SELECT id::INTEGER AS id, false AS ok, column_name::VARCHAR AS "
                 f"column_name, shown::VARCHAR AS shown, nl::VARCHAR AS nl, en::VARCHAR AS en FROM {view}")
    finally:
        con.unregister(view)
    return implied, table


def _constant(name: str, value: Any) -> Constant:
    """A value for every row that gives none (a default, an empty value, an implied value), as rows get it."""
    return Constant(encoded(FIELD_BY_NAME[name].kind, value), has_address(value),
                    _provider_id(value) if name == "provider_name" and value else None)


def _scan_plain(con: duckdb.DuckDBPyConnection, extract: Extract, staged: Staged, sources: dict[str, FieldSource]
                ) -> None:
    """For a plain CSV file, what its archived copy needs to know, found set-wise while it is staged: the
    columns with a street address in text, and the screened columns with a BSN (ingest/privacy.py)."""
    if not isinstance(extract, PlainCsvExtract):
        return
    screened = {column for name, source in sources.items() if name in SCREENED_FIELDS for column in source.columns}
    kept = [column for column in extract.header if column in staged.columns and not is_address(column)]
    extract.scanned = TextScan(
        column_flags(con, staged, kept, lambda cell: isinstance(cell, str) and has_street_address(cell)),
        column_flags(con, staged, [c for c in extract.header if c in screened], has_bsn))


def reference_problems(rules: SourceRules, reference: Reference) -> list[tuple[str, str, str]]:
    """(key, nl, en) for every value-map target that is no known code and every default that does not parse."""
    problems = target_problems(rules, code_lists(reference), reference.levels)
    now = datetime.now(timezone.utc)
    for name, value in rules.defaults.items():
        try:
            _parser(name, rules, reference, now)("; ".join(value) if isinstance(value, list) else value)
        except ValueProblem as problem:
            problems.append((f"defaults.{name}", f"standaardwaarde voor {name} is ongeldig: {problem.nl}",
                             f"default for {name} is invalid: {problem.en}"))
    return problems


def refuse_unusable_rules(rules: SourceRules, reference: Reference, where: str) -> None:
    """StructuralError naming every value-map target that is no known code and every default that does not
    parse (never a database error later)."""
    problems = reference_problems(rules, reference)
    if problems:
        raise StructuralError(f"{where}: de instellingen van deze bron kloppen niet: " + "; ".join(p[1] for p in problems),
                              f"{where}: this source's settings are wrong: " + "; ".join(p[2] for p in problems))


def resolve_fields(extract: Extract, rules: SourceRules, require: bool = True
                   ) -> tuple[dict[str, FieldSource], list[str]]:
    """Where each field comes from in this file (configured fields, the mapping, or template headers), and the
    columns dropped as street addresses (mapped or not); PersonalDataError when a column holds personal
    data of clients, StructuralError when a required field has no column."""
    refuse_personal(extract.file_name, personal_columns(extract.header))
    dropped = [column for column in extract.header if is_address(column)]
    readable = [column for column in extract.header if column not in dropped]
    by_key = {normalise_header(column): column for column in readable}
    sources: dict[str, FieldSource] = {}
    for name, configured in rules.fields.items():
        present = tuple(by_key[normalise_header(c)] for c in configured.columns if normalise_header(c) in by_key)
        if configured.template is not None and len(present) == len(configured.columns):
            sources[name] = FieldSource(present, _template_in(configured.template, present, configured.columns))
        elif configured.template is None and present:
            sources[name] = FieldSource(present)
    mapping = {normalise_header(k): v for k, v in rules.mapping.items()}
    for column in readable:
        key = normalise_header(column)
        name = mapping.get(key) or (HEADER_TO_FIELD.get(key) if key not in rules.ignore_columns else None)
        if name is None or name in rules.fields:
            continue
        if name in sources:
            raise StructuralError(
                f"{extract.file_name}: de kolommen '{sources[name].label}' en '{column}' betekenen allebei {name}",
                f"{extract.file_name}: columns '{sources[name].label}' and '{column}' both mean {name}")
        sources[name] = FieldSource((column,))
    missing = [name for name in REQUIRED if name not in sources and name not in rules.defaults]
    if missing and require:
        listed_nl = ", ".join(f"{FIELD_BY_NAME[n].header_nl} ({n})" for n in missing)
        raise StructuralError(
            f"{extract.file_name}: verplichte kolom(men) ontbreken: {listed_nl}; gevonden: "
            f"{', '.join(extract.header) or '(geen kop)'}",
            f"{extract.file_name}: required column(s) missing: {', '.join(missing)}; found: "
            f"{', '.join(extract.header) or '(no header)'}")
    return sources, dropped


def _template_in(template: str, present: tuple[str, ...], configured: tuple[str, ...]) -> str:
    """The template with each column as the file spells it."""
    for written, found in zip(configured, present):
        template = template.replace("{" + written + "}", "{" + found + "}")
    return template


def scan_plain_file(con: duckdb.DuckDBPyConnection, extract: Extract, rules: SourceRules) -> None:
    """For a plain CSV file that validation did not look through (refused, or put away again without being
    validated): its `scanned`, found as `_scan_plain` finds it, its cells staged in `con` (the caller holds
    its lock) and never read in Python; nothing for other extracts."""
    if not isinstance(extract, PlainCsvExtract) or extract.scanned is not None:
        return
    try:
        sources, _ = resolve_fields(extract, rules, require=False)
    except StructuralError:   # as in `bsn_columns`: no column is screened
        sources = {}
    staged = stage(con, extract, [column for column in extract.header if not is_address(column)])
    try:
        _scan_plain(con, extract, staged, sources)
    finally:
        run(con, f"DROP TABLE IF EXISTS {staged.table}")


def bsn_columns(extract: Extract, rules: SourceRules) -> list[str]:
    """The screened free-text columns (fields.SCREENED_FIELDS, as this source maps them) in which some row
    holds a BSN-like number; for files that were not validated to the end."""
    scan = getattr(extract, "scanned", None)
    if scan is not None:
        return list(scan.bsn_columns)
    try:
        sources, _ = resolve_fields(extract, rules, require=False)
    except StructuralError:
        return []
    screened = {column for name, source in sources.items() if name in SCREENED_FIELDS for column in source.columns}
    return [column for column in extract.header
            if column in screened and any(has_bsn(raw.values.get(column)) for raw in extract.rows)]


def _parse_defaults(rules: SourceRules, parsers: dict[str, Callable[[object], Any]], file_name: str
                    ) -> dict[str, Any]:
    parsed = {}
    for name, value in rules.defaults.items():
        raw = "; ".join(value) if isinstance(value, list) else value
        try:
            parsed[name] = parsers[name](raw)
        except (ValueProblem, KeyError) as problem:
            nl = problem.nl if isinstance(problem, ValueProblem) else "onbekend veld"
            en = problem.en if isinstance(problem, ValueProblem) else "unknown field"
            raise StructuralError(f"{file_name}: standaardwaarde voor {name} is ongeldig: {nl}",
                                  f"{file_name}: default for {name} is invalid: {en}") from None
    return parsed


def _parser(name: str, rules: SourceRules, reference: Reference, now: datetime) -> Callable[[object], Any]:
    kind = FIELD_BY_NAME[name].kind
    own_words = rules.values.get(name, {})
    if name in rules.convert:
        factor = CONVERSIONS[rules.convert[name]]
        return _memo(lambda raw: _converted(raw, factor))
    if kind == "int":
        return _memo(parse_whole)
    if kind == "text":
        return parse_text
    if kind == "datetime":
        return _memo(lambda raw: parse_moment(raw, now))
    if kind == "bool":
        return _memo(lambda raw: parse_bool(own_words.get(as_text(raw).lower(), raw)))
    if kind == "texts":
        return _memo(lambda raw: sorted({part.lower() for part in _split(raw)}))
    if kind == "area":
        return _memo(lambda raw: _areas(raw, reference, own_words, rules.area_level))
    words: dict[str, Any] = _words(name, reference)
    words.update(own_words)
    if kind == "code":
        return _memo(lambda raw: _code(raw, words, name))
    return _memo(lambda raw: sorted({code for part in _parts(raw, own_words) for code in _codes(part, words, name)}))


def _memo(parse: Callable[[object], Any]) -> Callable[[object], Any]:
    """Cache results per raw value: reports repeat the same words and dates on many rows."""
    cache: dict[object, Any] = {}

    def cached(raw: object) -> Any:
        key = (type(raw), raw) if raw is not None else None
        try:
            hit = cache[key]
        except TypeError:
            return parse(raw)
        except KeyError:
            try:
                hit = cache[key] = (True, parse(raw))
            except ValueProblem as problem:
                hit = cache[key] = (False, problem)
        if hit[0]:
            value = hit[1]
            return list(value) if isinstance(value, list) else value
        raise hit[1]

    return cached


def _converted(raw: object, factor: float) -> int | None:
    value = parse_decimal(raw)
    return None if value is None else int(value * factor + 0.5)


def _split(raw: object) -> list[str]:
    return [part for part in LIST_SEPARATORS.split(as_text(raw).replace(",", ";")) if part]


def _parts(raw: object, own_words: dict[str, Any]) -> list[str]:
    """A list cell's parts; a cell that is one of the source's own words as a whole is one part (a word may
    hold a comma)."""
    text = as_text(raw)
    return [text] if text.lower() in own_words else _split(raw)


def _codes(part: str, words: dict[str, Any], name: str) -> list[str]:
    """The code(s) of one word: a source's own word may stand for several."""
    code = _code(part, words, name)
    return code if isinstance(code, list) else [code] if code is not None else []


def _words(name: str, reference: Reference) -> dict[str, str]:
    if name == "care_type":
        return dict(reference.care_types)
    if name == "target_groups":
        return dict(reference.target_groups)
    words = {code: code for code in CODES[name]}
    words.update(VOCABULARY.get(name, {}))
    return words


def _code(raw: object, words: dict[str, Any], name: str) -> Any:
    text = as_text(raw)
    if text == "":
        return None
    code = words.get(text.lower())
    if code is None:
        allowed = ", ".join(sorted({value for value in words.values() if isinstance(value, str)}))
        raise ValueProblem(f"'{text}' is geen bekende waarde (toegestaan: {allowed})",
                           f"'{text}' is not a known value (allowed: {allowed})")
    return code


def _areas(raw: object, reference: Reference, own_words: dict[str, Any], area_level: str | None
           ) -> list[tuple[str, str]]:
    """The service area: GM codes, municipality names, region codes (at `area_level` first), or the source's
    own area words (each standing for one or more of those)."""
    found: list[tuple[str, str]] = []
    names = {name: code for code, name in reference.municipalities.items()}
    for part in _parts(raw, own_words):
        own = own_words.get(part.lower())
        for piece in (own if isinstance(own, list) else [own]) if own is not None else [part]:
            area = _area(str(piece), reference, names, area_level)
            if area not in found:
                found.append(area)
    return found


def _area(part: str, reference: Reference, names: dict[str, str], area_level: str | None = None
          ) -> tuple[str, str]:
    if ":" in part:
        level, code = (piece.strip() for piece in part.split(":", 1))
        if level == "gemeente":
            gm = normalise_gemeente_code(code)
            if gm in reference.municipalities:
                return ("gemeente", gm)
        elif level in reference.levels and (level, code.upper()) in reference.region_codes.get(code.upper(), []):
            return (level, code.upper())
    else:
        gm = normalise_gemeente_code(part) if part.upper().startswith("GM") else None
        if gm in reference.municipalities:
            return ("gemeente", gm)
        named_region = reference.region_names.get((area_level, normalise_name(part))) if area_level else None
        if named_region is not None:
            return (area_level, named_region)
        if part in names:
            return ("gemeente", names[part])
        matches = reference.region_codes.get(part.upper(), [])
        at_level = [match for match in matches if match[0] == area_level]
        if at_level:
            return at_level[0]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            options = ", ".join(f"{level}:{code}" for level, code in matches)
            raise ValueProblem(f"gebied '{part}' is niet eenduidig; schrijf een van: {options}",
                               f"area '{part}' is ambiguous; write one of: {options}")
        if reference.places is not None:
            return ("gemeente", reference.places.municipality(part))
    raise ValueProblem(f"gebied '{part}' is geen bekende gemeente (GM-code of exacte naam) of regiocode",
                       f"area '{part}' is not a known municipality (GM code or exact name) or region code")


def _provider_id(name: str) -> str:
    """A stable id from the name: 'Stichting Fictief' -> 'stichting-fictief'; a hash for names without a-z/0-9."""
    slug = _SLUG.sub("-", name.lower()).strip("-")
    return slug or "provider-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
