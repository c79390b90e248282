"""From raw rows to canonical capacity records: apply the source's rules (ingest/rules.py: columns,
fallbacks, templates, filters, empty words), parse values, check the rules between fields.

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

from queries.db import rows
from queries.text import first_unprintable, printable

from .fields import (CODES, FALSE_WORDS, FIELD_BY_NAME, FIELDS, HEADER_TO_FIELD, LIST_SEPARATORS, REQUIRED,
                     SCREENED_FIELDS, TRUE_WORDS, VOCABULARY, normalise_header)
from .places import PlaceIndex, normalise as normalise_name, place_index
from .privacy import (address_error, bsn_error, has_bsn, has_street_address, is_address, personal_columns,
                      refuse_personal, withheld)
from .records import Extract, RowError, StructuralError
from .reference_files import normalise_gemeente_code
from .rules import CONVERSIONS, FieldSource, SourceRules, target_problems
from .values import ValueProblem, as_text, parse_bool, parse_decimal, parse_moment, parse_text, parse_whole

__all__ = ["Reference", "SourceRules", "Validated", "read_reference", "validate"]
REFERENCE_CARE_TYPES = "SELECT care_type, label_nl, label_en FROM care_type"
REFERENCE_TARGET_GROUPS = "SELECT target_group, label_nl, label_en FROM target_group"
REFERENCE_MUNICIPALITIES = "SELECT gemeente_code, name FROM municipality"
REFERENCE_REGIONS = "SELECT level, region_code, region_name FROM region WHERE level <> 'gemeente'"
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
    """Check every row of `extract`; see the module docstring."""
    refuse_unusable_rules(rules, reference, extract.file_name)
    sources, dropped = resolve_fields(extract, rules)
    parsers = {name: _parser(name, rules, reference, now) for name in FIELD_BY_NAME}
    default_values = _parse_defaults(rules, parsers, extract.file_name)
    where = {name: source.label for name, source in sources.items()}
    state = _RowState()
    records: list[Record] = []
    rejected = [withheld(e) if dropped and e.column in (None, *dropped) else e for e in extract.errors]
    for raw in extract.rows:
        if not rules.keeps(raw.values):
            state.filtered += 1
            continue
        values, problems = _row_values(raw.row, raw.values, sources, rules, parsers, default_values, state)
        if not problems:
            problems = _check_row(raw.row, values, where)
        if problems:
            rejected.extend(problems)
        else:
            records.append(_record(raw.row, values))
    for clash in (_duplicates(records, where), _provider_name_clashes(records, where)):
        if clash:
            rejected.extend(clash.values())
            records = [record for record in records if record.row not in clash]
    rejected.sort(key=lambda error: (error.row or 0))
    return Validated(records, rejected, dropped, sorted(state.masked), state.filtered, state.left_out, where)


@dataclass
class _RowState:
    """What validation counts over the rows of one file."""

    filtered: int = 0
    left_out: int = 0
    masked: set[str] = field(default_factory=set)


def _row_values(row: int, cells: dict[str, object], sources: dict[str, FieldSource], rules: SourceRules,
                parsers: dict[str, Callable[[object], Any]], default_values: dict[str, Any],
                state: _RowState) -> tuple[dict[str, Any], list[RowError]]:
    """The parsed values of one row (defaults, then the row's own, then what its words imply), and its problems."""
    values: dict[str, Any] = dict(default_values)
    problems: list[RowError] = []
    implied: dict[str, Any] = {}
    given: set[str] = set()
    for name, source in sources.items():
        cell, column = source.raw(cells, rules.empty_words(name))
        word = as_text(cell).lower()
        if word in rules.empty_words(name):
            cell = ""
        elif word in rules.means.get(name, {}):
            implied.update(rules.means[name][word])
            cell = ""
        if as_text(cell) == "":
            if name not in default_values:
                values[name] = parsers[name]("")
            continue
        given.add(name)
        problem = _cell_problem(row, column, name, cell, state)
        if problem is not None:
            problems.append(problem)
            continue
        try:
            values[name] = parsers[name](cell)
        except ValueProblem as error:
            if name in rules.lenient:
                state.left_out += 1
                values.pop(name, None)
                continue
            problems.append(RowError(row, column, as_text(cell), f"{column}: {error.nl}", f"{column}: {error.en}"))
    for name, raw in implied.items():
        if name not in given:
            try:
                values[name] = parsers[name](raw)
            except ValueProblem as error:
                problems.append(RowError(row, name, as_text(raw), f"{name}: {error.nl}", f"{name}: {error.en}"))
    return values, problems


def _cell_problem(row: int, column: str, name: str, cell: object, state: _RowState) -> RowError | None:
    """A character that does not belong in text, or a citizen service number in a screened field."""
    odd = first_unprintable(cell, allowed=TEXT_CONTROLS) if isinstance(cell, str) else None
    if odd is not None:
        return _character_error(row, column, cell, *odd)
    if name in SCREENED_FIELDS and has_bsn(cell):
        state.masked.add(column)
        return bsn_error(row, column)
    return None


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


def bsn_columns(extract: Extract, rules: SourceRules) -> list[str]:
    """The screened free-text columns (fields.SCREENED_FIELDS, as this source maps them) in which some row
    holds a BSN-like number; for files that were not validated to the end."""
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


def _duplicates(records: list[Record], where: dict[str, str]) -> dict[int, RowError]:
    """Two rows for the same service and moment in one file: both rejected."""
    by_key: dict[tuple[str, datetime], list[int]] = {}
    for record in records:
        by_key.setdefault((record.service_id, record.valid_at), []).append(record.row)
    errors: dict[int, RowError] = {}
    for (service_id, valid_at), numbers in by_key.items():
        if len(numbers) > 1:
            listed = ", ".join(str(r) for r in numbers)
            for row in numbers:
                errors[row] = RowError(row, where.get("service_id", "service_id"), service_id,
                                       f"dienst {service_id} staat meer dan eens in dit bestand met peilmoment "
                                       f"{valid_at:%Y-%m-%d %H:%M} UTC (regels {listed}); geen van deze regels is geladen",
                                       f"service {service_id} occurs more than once in this file at "
                                       f"{valid_at:%Y-%m-%d %H:%M} UTC (rows {listed}); none of them was loaded")
    return errors


def _provider_name_clashes(records: list[Record], where: dict[str, str]) -> dict[int, RowError]:
    """Rows that give a provider id another name than its first row in the file: reported, never resolved
    silently (the first row's name stands; these rows are not loaded)."""
    first: dict[str, Record] = {}
    errors: dict[int, RowError] = {}
    column = where.get("provider_name", "provider_name")
    for record in records:
        seen = first.setdefault(record.provider_id, record)
        if record.provider_name != seen.provider_name:
            errors[record.row] = RowError(
                record.row, column, record.provider_name,
                f"{column}: aanbieder {record.provider_id} heet in regel {seen.row} '{seen.provider_name}' en hier "
                f"'{record.provider_name}'; één aanbieder heeft één naam (deze regel is niet geladen)",
                f"{column}: provider {record.provider_id} is called '{seen.provider_name}' on row {seen.row} and "
                f"'{record.provider_name}' here; one provider has one name (this row was not loaded)")
    return errors
