"""From raw rows to canonical capacity records: map columns, parse values, check the rules.

A row with any problem is rejected as a whole (with every problem named); a
missing required column rejects the file (StructuralError), a column with personal
data of clients refuses it whole (PersonalDataError). Street-address columns are
dropped, even when mapped, and a reader error that may quote an address is withheld;
a citizen service number in a screened free-text field rejects its row, and so does a street
address or postcode in any text field of a shelter (ingest/privacy.py).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from queries.text import first_unprintable, printable

from .fields import (CODES, FIELD_BY_NAME, FIELDS, HEADER_TO_FIELD, LIST_SEPARATORS, REQUIRED, SCREENED_FIELDS,
                     VOCABULARY, normalise_header)
from .privacy import (address_error, bsn_error, has_bsn, has_street_address, is_address, personal_columns,
                      refuse_personal, withheld)
from .records import Extract, RowError, StructuralError
from .reference_files import normalise_gemeente_code
from .values import ValueProblem, as_text, parse_bool, parse_decimal, parse_moment, parse_text, parse_whole

CONVERSIONS = {"days": 1.0, "weeks": 7.0, "months": 30.4375}
TEXT_FIELDS = tuple(f.name for f in FIELDS if f.kind in ("text", "texts"))
TEXT_CONTROLS = "\t\n\r"  # the only control characters a cell may hold (line breaks in a quoted cell)
SHOWN_VALUE = 200
SECRET_LOCATION_CARE_TYPES = frozenset({"shelter"})  # whose address is never stored
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Reference:
    """What validation checks codes against, read from the warehouse once per run."""

    care_types: dict[str, str]          # accepted word (lower case) -> care type code
    target_groups: dict[str, str]       # accepted word (lower case) -> target group code
    municipalities: dict[str, str]      # GM code -> name
    region_codes: dict[str, list[tuple[str, str]]]  # upper-case region code -> [(level, code)]
    levels: frozenset[str]


@dataclass(frozen=True)
class SourceRules:
    """What a source's configuration says about its columns and values."""

    mapping: dict[str, str] = field(default_factory=dict)        # source column -> canonical field
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {raw word -> canonical}
    convert: dict[str, str] = field(default_factory=dict)        # field -> days | weeks | months
    defaults: dict[str, Any] = field(default_factory=dict)       # field -> constant


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


def validate(extract: Extract, rules: SourceRules, reference: Reference, now: datetime) -> Validated:
    """Check every row of `extract`; see the module docstring."""
    columns, dropped = resolve_columns(extract, rules)
    parsers = {name: _parser(name, rules, reference, now) for name in FIELD_BY_NAME}
    default_values = _parse_defaults(rules, parsers, extract.file_name)
    where = {name: column for column, name in columns.items()}
    screened = {column for column, name in columns.items() if name in SCREENED_FIELDS}
    masked: set[str] = set()
    records: list[Record] = []
    rejected = [withheld(e) if dropped and e.column in (None, *dropped) else e for e in extract.errors]
    for raw in extract.rows:
        values: dict[str, Any] = dict(default_values)
        problems: list[RowError] = []
        for column, name in columns.items():
            cell = raw.values.get(column)
            if name in default_values and as_text(cell) == "":
                continue
            odd = first_unprintable(cell, allowed=TEXT_CONTROLS) if isinstance(cell, str) else None
            if odd is not None:
                problems.append(_character_error(raw.row, column, cell, *odd))
                continue
            if column in screened and has_bsn(cell):
                problems.append(bsn_error(raw.row, column))
                masked.add(column)
                continue
            try:
                values[name] = parsers[name](cell)
            except ValueProblem as problem:
                problems.append(RowError(raw.row, column, as_text(cell), f"{column}: {problem.nl}",
                                         f"{column}: {problem.en}"))
        if not problems:
            problems = _check_row(raw.row, values, where)
        if problems:
            rejected.extend(problems)
        else:
            records.append(_record(raw.row, values))
    duplicates = _duplicates(records)
    if duplicates:
        rejected.extend(duplicates.values())
        records = [record for record in records if record.row not in duplicates]
    rejected.sort(key=lambda error: (error.row or 0))
    return Validated(records, rejected, dropped, sorted(masked))


def resolve_columns(extract: Extract, rules: SourceRules) -> tuple[dict[str, str], list[str]]:
    """Source column -> canonical field, and the columns dropped as street addresses (mapped or not);
    PersonalDataError when a column holds personal data of clients."""
    refuse_personal(extract.file_name, personal_columns(extract.header))
    mapping = {normalise_header(k): v for k, v in rules.mapping.items()}
    columns: dict[str, str] = {}
    dropped: list[str] = []
    for column in extract.header:
        if is_address(column):
            dropped.append(column)
            continue
        key = normalise_header(column)
        name = mapping.get(key) or HEADER_TO_FIELD.get(key)
        if name is None:
            continue
        if name in columns.values():
            other = next(c for c, n in columns.items() if n == name)
            raise StructuralError(
                f"{extract.file_name}: de kolommen '{other}' en '{column}' betekenen allebei {name}",
                f"{extract.file_name}: columns '{other}' and '{column}' both mean {name}")
        columns[column] = name
    missing = [name for name in REQUIRED if name not in columns.values() and name not in rules.defaults]
    if missing:
        listed_nl = ", ".join(f"{FIELD_BY_NAME[n].header_nl} ({n})" for n in missing)
        raise StructuralError(
            f"{extract.file_name}: verplichte kolom(men) ontbreken: {listed_nl}; gevonden: "
            f"{', '.join(extract.header) or '(geen kop)'}",
            f"{extract.file_name}: required column(s) missing: {', '.join(missing)}; found: "
            f"{', '.join(extract.header) or '(no header)'}")
    return columns, dropped


def bsn_columns(extract: Extract, rules: SourceRules) -> list[str]:
    """The screened free-text columns (fields.SCREENED_FIELDS, as this source maps them) in which some row
    holds a BSN-like number; for files that were not validated to the end."""
    mapping = {normalise_header(k): v for k, v in rules.mapping.items()}
    screened = [column for column in extract.header if not is_address(column)
                and (mapping.get(normalise_header(column)) or HEADER_TO_FIELD.get(normalise_header(column)))
                in SCREENED_FIELDS]
    return [column for column in screened if any(has_bsn(raw.values.get(column)) for raw in extract.rows)]


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
    own_words = {str(k).strip().lower(): str(v) for k, v in rules.values.get(name, {}).items()}
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
        return _memo(lambda raw: _areas(raw, reference))
    words = _words(name, reference)
    words.update(own_words)
    if kind == "code":
        return _memo(lambda raw: _code(raw, words, name))
    return _memo(lambda raw: sorted({_code(part, words, name) for part in _split(raw)}))


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


def _words(name: str, reference: Reference) -> dict[str, str]:
    if name == "care_type":
        return dict(reference.care_types)
    if name == "target_groups":
        return dict(reference.target_groups)
    words = {code: code for code in CODES[name]}
    words.update(VOCABULARY.get(name, {}))
    return words


def _code(raw: object, words: dict[str, str], name: str) -> str | None:
    text = as_text(raw)
    if text == "":
        return None
    code = words.get(text.lower())
    if code is None:
        allowed = ", ".join(sorted(set(words.values())))
        raise ValueProblem(f"'{text}' is geen bekende waarde (toegestaan: {allowed})",
                           f"'{text}' is not a known value (allowed: {allowed})")
    return code


def _areas(raw: object, reference: Reference) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    names = {name: code for code, name in reference.municipalities.items()}
    for part in _split(raw):
        area = _area(part, reference, names)
        if area not in found:
            found.append(area)
    return found


def _area(part: str, reference: Reference, names: dict[str, str]) -> tuple[str, str]:
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
        if part in names:
            return ("gemeente", names[part])
        matches = reference.region_codes.get(part.upper(), [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            options = ", ".join(f"{level}:{code}" for level, code in matches)
            raise ValueProblem(f"gebied '{part}' is niet eenduidig; schrijf een van: {options}",
                               f"area '{part}' is ambiguous; write one of: {options}")
    raise ValueProblem(f"gebied '{part}' is geen bekende gemeente (GM-code of exacte naam) of regiocode",
                       f"area '{part}' is not a known municipality (GM code or exact name) or region code")


def _check_row(row: int, values: dict[str, Any], where: dict[str, str]) -> list[RowError]:
    """Rules between fields; `values` holds only well-formed values; `where` names each field's column."""
    problems = []
    missing = [name for name in REQUIRED if not values.get(name)]
    for name in missing:
        column = where.get(name, name)
        problems.append(RowError(row, column, "", f"{column}: verplicht veld is leeg", f"{column}: required field "
                                                                                         "is empty"))
    maximum, available = values.get("maximum"), values.get("available")
    if maximum is not None and available is not None and available > maximum:
        column = where.get("available", "available")
        problems.append(RowError(row, column, str(available),
                                 f"beschikbaar ({available}) is groter dan maximum ({maximum})",
                                 f"available ({available}) is greater than maximum ({maximum})"))
    age_min, age_max = values.get("age_min"), values.get("age_max")
    if age_min is not None and age_max is not None and age_min > age_max:
        problems.append(RowError(row, where.get("age_min", "age_min"), str(age_min),
                                 f"leeftijd_min ({age_min}) is groter dan leeftijd_max ({age_max})",
                                 f"age_min ({age_min}) is greater than age_max ({age_max})"))
    for name in ("age_min", "age_max"):
        if values.get(name) is not None and values[name] > 120:
            problems.append(RowError(row, where.get(name, name), str(values[name]),
                                     f"{name} ({values[name]}) is meer dan 120", f"{name} ({values[name]}) is over 120"))
    for name in ("wait_days_intake", "wait_days_treatment"):
        if values.get(name) is not None and values[name] > 3650:
            problems.append(RowError(row, where.get(name, name), str(values[name]),
                                     f"{name}: {values[name]} dagen is meer dan 3650 (10 jaar)",
                                     f"{name}: {values[name]} days is more than 3650 (10 years)"))
    if values.get("care_type") in SECRET_LOCATION_CARE_TYPES:
        problems += [address_error(row, where.get(name, name)) for name in TEXT_FIELDS
                     if any(has_street_address(text) for text in _texts(values.get(name)))]
    status = values.get("status")
    if status in ("full", "closed") and available:
        column = where.get("status", "status")
        problems.append(RowError(row, column, status,
                                 f"status '{status}' maar beschikbaar is {available}; welke klopt?",
                                 f"status '{status}' but available is {available}; which one is right?"))
    return problems


def _character_error(row: int, column: str, cell: str, position: int, code: str) -> RowError:
    """A cell holding a control character, a lone surrogate or a non-character: refused, shown escaped."""
    return RowError(row, column, printable(cell)[:SHOWN_VALUE],
                    f"{column}: bevat een teken dat niet in tekst hoort ({code} op positie {position}); verwijder "
                    "het en stuur de regel opnieuw",
                    f"{column}: holds a character that does not belong in text ({code} at position {position}); "
                    "remove it and send the row again")


def _texts(value: object) -> list[str]:
    return value if isinstance(value, list) else [value] if isinstance(value, str) else []


def _record(row: int, values: dict[str, Any]) -> Record:
    available = values.get("available")
    status = values.get("status") or ("unknown" if available is None else "open" if available > 0 else "full")
    provider_id = values.get("provider_id") or _provider_id(values["provider_name"])
    return Record(
        row=row, service_id=values["service_id"], service_name=values["service_name"], provider_id=provider_id,
        provider_name=values["provider_name"], care_type=values["care_type"], target_groups=values["target_groups"],
        service_area=values["service_area"], valid_at=values["valid_at"], unit=values["unit"],
        maximum=values.get("maximum"), available=available, status=status,
        waiting_count=values.get("waiting_count"), wait_days_intake=values.get("wait_days_intake"),
        wait_days_treatment=values.get("wait_days_treatment"), framework=values.get("framework"),
        age_min=values.get("age_min"), age_max=values.get("age_max"),
        whole_family=bool(values.get("whole_family")), languages=values.get("languages") or [],
        violence_profiles=values.get("violence_profiles") or [], phone=values.get("phone"),
        email=values.get("email"), website=values.get("website"), referral_route=values.get("referral_route"))


def _provider_id(name: str) -> str:
    """A stable id from the name: 'Stichting Fictief' -> 'stichting-fictief'; a hash for names without a-z/0-9."""
    slug = _SLUG.sub("-", name.lower()).strip("-")
    return slug or "provider-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]


def _duplicates(records: list[Record]) -> dict[int, RowError]:
    """Two rows for the same service and moment in one file: both rejected."""
    by_key: dict[tuple[str, datetime], list[int]] = {}
    for record in records:
        by_key.setdefault((record.service_id, record.valid_at), []).append(record.row)
    errors: dict[int, RowError] = {}
    for (service_id, valid_at), rows in by_key.items():
        if len(rows) > 1:
            listed = ", ".join(str(r) for r in rows)
            for row in rows:
                errors[row] = RowError(row, "service_id", service_id,
                                       f"dienst {service_id} staat meer dan eens in dit bestand met peilmoment "
                                       f"{valid_at:%Y-%m-%d %H:%M} UTC (regels {listed}); geen van deze regels is geladen",
                                       f"service {service_id} occurs more than once in this file at "
                                       f"{valid_at:%Y-%m-%d %H:%M} UTC (rows {listed}); none of them was loaded")
    return errors
