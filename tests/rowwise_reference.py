"""A simple row-by-row reference of validation, written for the tests: the set-wise implementation
(ingest/validate.py `check_rows`) must give exactly what this gives.

It shares only what judges a single value (the parsers and privacy tests) with the product; how a row's
fields are composed (fallback columns, templates, empty and `means` words, defaults, lenient fields,
filters), the rules between fields, duplicates and provider-name clashes are written here again, plainly,
one row at a time, as validation worked before it became set-wise.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.fields import FIELDS, REQUIRED, SCREENED_FIELDS
from ingest.privacy import address_error, bsn_error, has_bsn, has_street_address, withheld
from ingest.records import Extract, RowError
from ingest.rules import SourceRules
from ingest.validate import (Reference, _parse_defaults, _parser, _provider_id, refuse_unusable_rules,
                             resolve_fields)
from ingest.values import ValueProblem, as_text
from queries.text import first_unprintable, printable

TEXT_FIELDS = [f.name for f in FIELDS if f.kind in ("text", "texts")]


def reference_outcome(extract: Extract, rules: SourceRules, reference: Reference, now: datetime) -> dict:
    """records (row, field values...), rejected (row, column, value, nl, en), masked, filtered, left_out."""
    refuse_unusable_rules(rules, reference, extract.file_name)
    sources, dropped = resolve_fields(extract, rules)
    parsers = {f.name: _parser(f.name, rules, reference, now) for f in FIELDS}
    defaults = _parse_defaults(rules, parsers, extract.file_name)
    where = {name: source.label for name, source in sources.items()}
    records, masked, filtered, left_out = [], set(), 0, 0
    rejected = [withheld(e) if dropped and e.column in (None, *dropped) else e for e in extract.errors]
    for raw in extract.rows:
        if not rules.keeps(raw.values):
            filtered += 1
            continue
        values, problems, implied, given = dict(defaults), [], {}, set()
        for name, source in sources.items():
            cell, column = source.raw(raw.values, rules.empty_words(name))
            word = as_text(cell).lower()
            if word in rules.empty_words(name):
                cell = ""
            elif word in rules.means.get(name, {}):
                implied.update(rules.means[name][word])
                cell = ""
            if as_text(cell) == "":
                if name not in defaults:
                    values[name] = parsers[name]("")
                continue
            given.add(name)
            odd = first_unprintable(cell, allowed="\t\n\r") if isinstance(cell, str) else None
            if odd is not None:
                position, code = odd
                problems.append(RowError(
                    raw.row, column, printable(cell)[:200],
                    f"{column}: bevat een teken dat niet in tekst hoort ({code} op positie {position}); verwijder "
                    "het en stuur de regel opnieuw",
                    f"{column}: holds a character that does not belong in text ({code} at position {position}); "
                    "remove it and send the row again"))
                continue
            if name in SCREENED_FIELDS and has_bsn(cell):
                masked.add(column)
                problems.append(bsn_error(raw.row, column))
                continue
            try:
                values[name] = parsers[name](cell)
            except ValueProblem as error:
                if name in rules.lenient:
                    left_out += 1
                    values.pop(name, None)
                    continue
                problems.append(RowError(raw.row, column, as_text(cell), f"{column}: {error.nl}",
                                         f"{column}: {error.en}"))
        for name, value in implied.items():
            if name not in given:
                try:
                    values[name] = parsers[name](value)
                except ValueProblem as error:
                    problems.append(RowError(raw.row, name, as_text(value), f"{name}: {error.nl}",
                                             f"{name}: {error.en}"))
        if not problems:
            problems = _between_fields(raw.row, values, where)
        if problems:
            rejected += problems
        else:
            records.append(_record(raw.row, values))
    clashes = {**_duplicates(records, where)}
    for row, error in _name_clashes(records, where):
        clashes.setdefault(row, [])
        clashes[row].append(error)
    for errors in clashes.values():
        rejected += errors
    records = [r for r in records if r["row"] not in clashes]
    rejected.sort(key=lambda e: e.row or 0)
    return {"records": records, "rejected": [(e.row, e.column, e.value, e.nl, e.en) for e in rejected],
            "masked": sorted(masked), "filtered": filtered, "left_out": left_out}


def _between_fields(row: int, values: dict[str, Any], where: dict[str, str]) -> list[RowError]:
    at = lambda name: where.get(name, name)  # noqa: E731
    problems = [RowError(row, at(n), "", f"{at(n)}: verplicht veld is leeg", f"{at(n)}: required field is empty")
                for n in REQUIRED if not values.get(n)]
    most, free = values.get("maximum"), values.get("available")
    if most is not None and free is not None and free > most:
        problems.append(RowError(row, at("available"), str(free), f"beschikbaar ({free}) is groter dan maximum "
                                 f"({most})", f"available ({free}) is greater than maximum ({most})"))
    low, high = values.get("age_min"), values.get("age_max")
    if low is not None and high is not None and low > high:
        problems.append(RowError(row, at("age_min"), str(low), f"leeftijd_min ({low}) is groter dan leeftijd_max "
                                 f"({high})", f"age_min ({low}) is greater than age_max ({high})"))
    for n in ("age_min", "age_max"):
        if values.get(n) is not None and values[n] > 120:
            problems.append(RowError(row, at(n), str(values[n]), f"{n} ({values[n]}) is meer dan 120",
                                     f"{n} ({values[n]}) is over 120"))
    for n in ("wait_days_intake", "wait_days_treatment"):
        if values.get(n) is not None and values[n] > 3650:
            problems.append(RowError(row, at(n), str(values[n]), f"{n}: {values[n]} dagen is meer dan 3650 (10 jaar)",
                                     f"{n}: {values[n]} days is more than 3650 (10 years)"))
    if values.get("care_type") == "shelter":
        for n in TEXT_FIELDS:
            texts = values.get(n) if isinstance(values.get(n), list) else [values.get(n)]
            if any(isinstance(t, str) and has_street_address(t) for t in texts):
                problems.append(address_error(row, at(n)))
    status = values.get("status")
    if status in ("full", "closed") and free:
        problems.append(RowError(row, at("status"), status, f"status '{status}' maar beschikbaar is {free}; welke "
                                 "klopt?", f"status '{status}' but available is {free}; which one is right?"))
    return problems


def _record(row: int, values: dict[str, Any]) -> dict:
    free = values.get("available")
    record = {f.name: values.get(f.name) for f in FIELDS}
    record.update(row=row, status=values.get("status") or ("unknown" if free is None else "open" if free > 0 else "full"),
                  provider_id=values.get("provider_id") or _provider_id(values["provider_name"]),
                  whole_family=bool(values.get("whole_family")), languages=values.get("languages") or [],
                  violence_profiles=values.get("violence_profiles") or [])
    return record


def _duplicates(records: list[dict], where: dict[str, str]) -> dict[int, list[RowError]]:
    groups: dict[tuple, list[int]] = {}
    for r in records:
        groups.setdefault((r["service_id"], r["valid_at"]), []).append(r["row"])
    found = {}
    for (service, moment), numbers in groups.items():
        if len(numbers) > 1:
            listed = ", ".join(map(str, numbers))
            for row in numbers:
                found[row] = [RowError(row, where.get("service_id", "service_id"), service,
                                       f"dienst {service} staat meer dan eens in dit bestand met peilmoment "
                                       f"{moment:%Y-%m-%d %H:%M} UTC (regels {listed}); geen van deze regels is geladen",
                                       f"service {service} occurs more than once in this file at "
                                       f"{moment:%Y-%m-%d %H:%M} UTC (rows {listed}); none of them was loaded")]
    return found


def _name_clashes(records: list[dict], where: dict[str, str]) -> list[tuple[int, RowError]]:
    first: dict[str, dict] = {}
    column = where.get("provider_name", "provider_name")
    found = []
    for r in records:
        seen = first.setdefault(r["provider_id"], r)
        if r["provider_name"] != seen["provider_name"]:
            found.append((r["row"], RowError(
                r["row"], column, r["provider_name"],
                f"{column}: aanbieder {r['provider_id']} heet in regel {seen['row']} '{seen['provider_name']}' en hier "
                f"'{r['provider_name']}'; één aanbieder heeft één naam (deze regel is niet geladen)",
                f"{column}: provider {r['provider_id']} is called '{seen['provider_name']}' on row {seen['row']} and "
                f"'{r['provider_name']}' here; one provider has one name (this row was not loaded)")))
    return found
