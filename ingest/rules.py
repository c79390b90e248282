"""What a source's configuration says about its rows, compiled once from sources.toml (`rules_of`).

- which column feeds which field: `[sources.mapping]` (column -> field), or `[sources.fields]` (field -> one
  column, a list whose first non-empty cell wins, or a template such as "{AGB}-{Vestiging}" composed of
  several columns);
- which rows to keep: `[[sources.filters]]` (a column's value among `values`, or matching `pattern`; all
  filters must hold; the rows left out are counted per run, never silently dropped);
- `[sources.values.FIELD]`: the source's own words for codes, one word may stand for several codes;
- `[sources.empty]`: words that mean unknown, per field or for every field ("*");
- `[sources.means.FIELD]`: a word that leaves its field empty and sets other fields (`stop` in a wait:
  status closed), for fields the row itself leaves empty;
- `lenient`: fields whose unreadable value is left out instead of rejecting the row;
- `ignore_columns`, `area_level` (the region level whose names and codes the source writes: "Drenthe" is then
  that level's region, not the municipality), `convert`, `defaults`.

Every mistake in these keys is found by `rule_problems` (at load and by `capacity sources check`), with
the key it is in; code lists are checked by `target_problems` against the warehouse's codes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .fields import FIELD_BY_NAME, normalise_header
from .privacy import is_address, is_personal
from .values import as_text

CONVERSIONS = {"days": 1.0, "weeks": 7.0, "months": 30.4375}
CODED_KINDS = ("code", "codes", "area", "bool")
TEMPLATE_PART = re.compile(r"\{([^{}]+)\}")
ALL_FIELDS = "*"
RULE_KEYS = frozenset({"mapping", "fields", "values", "convert", "defaults", "filters", "empty", "means", "lenient",
                       "ignore_columns", "area_level"})


@dataclass(frozen=True)
class FieldSource:
    """Where a field's value comes from: the first non-empty of `columns`, or `template` filled from them."""

    columns: tuple[str, ...]
    template: str | None = None

    @property
    def label(self) -> str:
        """How messages name it: the column as the file names it, or the configured columns."""
        if self.template is not None:
            return self.template
        return " | ".join(self.columns)

    def raw(self, values: dict[str, object], empty: frozenset[str] = frozenset()) -> tuple[object, str]:
        """The cell and the column (or template) it came from; a cell holding one of the `empty` words (lower
        case) counts as empty, so the next column is tried."""
        blank = lambda cell: as_text(cell).lower() in empty or as_text(cell) == ""  # noqa: E731
        if self.template is not None:
            filled = TEMPLATE_PART.sub(lambda part: "" if blank(values.get(part.group(1)))
                                       else as_text(values.get(part.group(1))), self.template)
            return ("" if all(blank(values.get(c)) for c in self.columns) else filled), self.template
        for column in self.columns:
            cell = values.get(column)
            if not blank(cell):
                return cell, column
        return values.get(self.columns[0]) if self.columns else None, self.columns[0] if self.columns else ""


@dataclass(frozen=True)
class RowFilter:
    """Keep a row when `column` holds one of `values` (case-insensitive) or matches `pattern`."""

    column: str
    values: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None

    def keeps(self, row: dict[str, object]) -> bool:
        text = as_text(row.get(self.column))
        if self.values is not None:
            return text.lower() in self.values
        return self.pattern is not None and self.pattern.search(text) is not None


@dataclass(frozen=True)
class SourceRules:
    """A source's rules (see the module docstring); the defaults read the provider template as it is."""

    mapping: dict[str, str] = field(default_factory=dict)
    fields: dict[str, FieldSource] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    convert: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    filters: tuple[RowFilter, ...] = ()
    empty: dict[str, frozenset[str]] = field(default_factory=dict)
    means: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    lenient: frozenset[str] = frozenset()
    ignore_columns: frozenset[str] = frozenset()
    area_level: str | None = None

    def keeps(self, row: dict[str, object]) -> bool:
        return all(rule.keeps(row) for rule in self.filters)

    def empty_words(self, name: str) -> frozenset[str]:
        return self.empty.get(name, frozenset()) | self.empty.get(ALL_FIELDS, frozenset())


def rules_of(options: dict[str, Any]) -> SourceRules:
    """The rules of a source's options (already checked by `rule_problems`)."""
    lower = lambda words: frozenset(str(word).strip().lower() for word in words)  # noqa: E731
    return SourceRules(
        mapping=dict(options.get("mapping", {})),
        fields={name: field_source(spec) for name, spec in (options.get("fields") or {}).items()},
        values={name: {str(k).strip().lower(): v for k, v in words.items()}
                for name, words in (options.get("values") or {}).items()},
        convert=dict(options.get("convert", {})), defaults=dict(options.get("defaults", {})),
        filters=tuple(_filter(spec) for spec in options.get("filters") or []),
        empty={name: lower(words) for name, words in (options.get("empty") or {}).items()},
        means={name: {str(word).strip().lower(): dict(implied) for word, implied in words.items()}
               for name, words in (options.get("means") or {}).items()},
        lenient=frozenset(options.get("lenient") or []),
        ignore_columns=frozenset(normalise_header(c) for c in options.get("ignore_columns") or []),
        area_level=options.get("area_level"))


def field_source(spec: str | list[str]) -> FieldSource:
    if isinstance(spec, list):
        return FieldSource(tuple(spec))
    parts = TEMPLATE_PART.findall(spec)
    return FieldSource(tuple(parts), spec) if parts else FieldSource((spec,))


def _filter(spec: dict[str, Any]) -> RowFilter:
    if "values" in spec:
        return RowFilter(spec["column"], frozenset(str(v).strip().lower() for v in spec["values"]))
    return RowFilter(spec["column"], pattern=re.compile(spec["pattern"]))


# --- checking the keys ---------------------------------------------------------------------------------

Problem = tuple[str, str, str]   # (key for the line number, nl, en)


def rule_problems(entry: dict[str, Any]) -> list[Problem]:
    """Every mistake in a source's rule keys that needs no code list (see `target_problems` for those)."""
    problems: list[Problem] = []
    for table in ("mapping", "fields", "values", "convert", "defaults", "empty", "means"):
        if table in entry and not isinstance(entry[table], dict):
            problems.append((table, f"'{table}' moet een tabel zijn", f"'{table}' must be a table"))
    problems += _mapping_problems(entry)
    problems += _fields_problems(entry)
    problems += _field_name_problems(entry)
    problems += _values_problems(entry)
    problems += _filter_problems(entry.get("filters", []))
    problems += _list_problems(entry)
    for name, unit in (entry.get("convert") or {}).items():
        if name not in ("wait_days_intake", "wait_days_treatment") or unit not in CONVERSIONS:
            problems.append((f"convert.{name}", f"convert {name} = {unit!r}: alleen wachttijden, in "
                                                f"{', '.join(CONVERSIONS)}",
                             f"convert {name} = {unit!r}: waits only, in {', '.join(CONVERSIONS)}"))
    return problems


def _unreadable_column(column: str) -> bool:
    return is_personal(column) or is_address(column)


def _never_read(key: str, column: str, target: str) -> Problem:
    table = key.split(".")[0]
    return (key, f"{table} '{column}' → '{target}': deze kolom bevat persoonsgegevens of een adres en wordt nooit "
                 "gelezen", f"{table} '{column}' → '{target}': this column holds personal data or an address and is "
                            "never read")


def _mapping_problems(entry: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    mapping = entry.get("mapping") if isinstance(entry.get("mapping"), dict) else {}
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        key = f"mapping.{column}"
        if not str(column).strip():
            problems.append((key, "mapping: een lege kolomnaam", "mapping: an empty column name"))
        elif target not in FIELD_BY_NAME:
            problems.append((key, f"mapping '{column}' → '{target}': geen bekend veld",
                             f"mapping '{column}' → '{target}': not a known field"))
        elif _unreadable_column(column):
            problems.append(_never_read(key, column, target))
        elif target in seen:
            problems.append((key, f"mapping: de kolommen '{seen[target]}' en '{column}' wijzen allebei naar "
                                  f"'{target}' (kies er één, of noem ze in [sources.fields] als reserve)",
                             f"mapping: columns '{seen[target]}' and '{column}' both point to '{target}' (choose "
                             "one, or list them in [sources.fields] as fallbacks)"))
        else:
            seen[str(target)] = str(column)
    for name in entry.get("fields") or {}:
        if name in seen:
            problems.append((f"fields.{name}", f"'{name}' staat in [sources.mapping] (kolom '{seen[name]}') én in "
                                               "[sources.fields]", f"'{name}' is in [sources.mapping] (column "
                                                                   f"'{seen[name]}') and in [sources.fields]"))
    return problems


def _fields_problems(entry: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for name, spec in (entry.get("fields") or {}).items():
        key = f"fields.{name}"
        if name not in FIELD_BY_NAME:
            problems.append((key, f"'{name}' is geen bekend veld", f"'{name}' is not a known field"))
            continue
        columns = spec if isinstance(spec, list) else TEMPLATE_PART.findall(spec) or [spec] \
            if isinstance(spec, str) else None
        if not columns or not all(isinstance(c, str) and c.strip() for c in columns):
            problems.append((key, f"fields.{name}: een kolomnaam, een lijst kolomnamen of een sjabloon zoals "
                                  '"{A}-{B}"', f"fields.{name}: a column name, a list of column names or a template "
                                               'such as "{A}-{B}"'))
            continue
        problems += [_never_read(key, column, name) for column in columns if _unreadable_column(column)]
    return problems


def _field_name_problems(entry: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for table in ("values", "defaults", "means"):
        for name in entry.get(table) or {}:
            if name not in FIELD_BY_NAME:
                problems.append((f"{table}.{name}", f"'{name}' is geen bekend veld", f"'{name}' is not a known field"))
    for name in entry.get("empty") or {}:
        if name != ALL_FIELDS and name not in FIELD_BY_NAME:
            problems.append((f"empty.{name}", f"'{name}' is geen bekend veld (of \"*\" voor alle velden)",
                             f"'{name}' is not a known field (or \"*\" for every field)"))
    for name, words in (entry.get("means") or {}).items():
        for word, implied in (words.items() if isinstance(words, dict) else []):
            if not isinstance(implied, dict) or not all(other in FIELD_BY_NAME for other in implied):
                problems.append((f"means.{name}", f"means.{name}.{word}: een tabel van velden en waarden, zoals "
                                                  '{ status = "closed" }', f"means.{name}.{word}: a table of fields "
                                                                           'and values, such as { status = "closed" }'))
    return problems


def _values_problems(entry: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for name, words in (entry.get("values") or {}).items():
        if name not in FIELD_BY_NAME:
            continue
        kind = FIELD_BY_NAME[name].kind
        if kind not in CODED_KINDS:
            problems.append((f"values.{name}", f"values.{name}: dit veld neemt geen codes (het is {kind}); gebruik "
                                               "[sources.empty] voor woorden die 'onbekend' betekenen",
                             f"values.{name}: this field takes no codes (it is {kind}); use [sources.empty] for "
                             "words that mean unknown"))
        elif not isinstance(words, dict):
            problems.append((f"values.{name}", f"values.{name} moet een tabel zijn", f"values.{name} must be a table"))
        elif kind not in ("codes", "area"):
            problems += [(f"values.{name}.{word}", f"values.{name}: dit veld neemt één code per woord, geen lijst "
                                                   f"('{word}')",
                          f"values.{name}: this field takes one code per word, not a list ('{word}')")
                         for word, code in words.items() if isinstance(code, list)]
    return problems


def _filter_problems(filters: object) -> list[Problem]:
    if not isinstance(filters, list):
        return [("filters", "'filters' moet een lijst [[sources.filters]] zijn",
                 "'filters' must be a list [[sources.filters]]")]
    problems: list[Problem] = []
    for number, spec in enumerate(filters, start=1):
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str) or \
                ("values" in spec) == ("pattern" in spec):
            problems.append(("filters", f"filter {number}: een 'column' met óf 'values' (lijst) óf 'pattern' "
                                        "(reguliere expressie)", f"filter {number}: a 'column' with either 'values' "
                                                                 "(a list) or 'pattern' (a regular expression)"))
        elif "values" in spec and not isinstance(spec["values"], list):
            problems.append(("filters", f"filter {number}: 'values' moet een lijst zijn",
                             f"filter {number}: 'values' must be a list"))
        elif "pattern" in spec:
            try:
                re.compile(spec["pattern"])
            except (re.error, TypeError) as error:
                problems.append(("filters", f"filter {number}: 'pattern' is geen geldige reguliere expressie ({error})",
                                 f"filter {number}: 'pattern' is not a valid regular expression ({error})"))
    return problems


def _list_problems(entry: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for key in ("lenient", "ignore_columns"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problems.append((key, f"'{key}' moet een lijst van namen zijn", f"'{key}' must be a list of names"))
    for name in entry.get("lenient") or []:
        if isinstance(name, str) and name not in FIELD_BY_NAME:
            problems.append(("lenient", f"lenient: '{name}' is geen bekend veld", f"lenient: '{name}' is not a known field"))
    if "area_level" in entry and not isinstance(entry["area_level"], str):
        problems.append(("area_level", "'area_level' moet de naam van een regio-indeling zijn",
                         "'area_level' must be the name of a region level"))
    return problems


# --- checking against the code lists -------------------------------------------------------------------


def target_problems(rules: SourceRules, codes: dict[str, Iterable[str]], levels: Iterable[str]) -> list[Problem]:
    """Value-map targets and implied values that are no known code (`codes`: field -> its codes; area codes
    as GM codes and region codes), and an `area_level` that is no region level."""
    problems: list[Problem] = []
    for name, words in rules.values.items():
        known = set(codes.get(name, ()))
        if not known:
            continue
        for word, targets in words.items():
            for target in targets if isinstance(targets, list) else [targets]:
                if str(target) not in known:
                    problems.append((f"values.{name}.{word}", f"values.{name}: '{word}' → '{target}' is geen bekende code "
                                                       f"(bekend: {_some(known)})",
                                     f"values.{name}: '{word}' → '{target}' is not a known code (known: {_some(known)})"))
    for name, words in rules.means.items():
        for word, implied in words.items():
            for other, value in implied.items():
                known = set(codes.get(other, ()))
                if known and str(value) not in known:
                    problems.append((f"means.{name}.{word}", f"means.{name}.{word}: {other} = '{value}' is geen bekende code",
                                     f"means.{name}.{word}: {other} = '{value}' is not a known code"))
    if rules.area_level is not None and rules.area_level not in set(levels):
        problems.append(("area_level", f"area_level '{rules.area_level}' is geen regio-indeling",
                         f"area_level '{rules.area_level}' is not a region level"))
    return problems


def _some(known: set[str]) -> str:
    listed = sorted(known)
    return ", ".join(listed[:12]) + (", …" if len(listed) > 12 else "")
