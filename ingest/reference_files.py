"""Reading and validating reference files: region mappings and population tables.

Every problem is reported with its line; a file with any problem loads nothing.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from queries.errors import ReferenceDataError

MAPPING_COLUMNS = {"gemeente_code": "gemeente_code", "region_code": "region_code", "region_name": "region_name"}
POPULATION_COLUMNS = {
    "gemeente_code": "gemeentecode", "reference_date": "peildatum", "inhabitants": "inwoners",
    "age_0_14": "leeftijd_0_14", "age_15_24": "leeftijd_15_24", "age_25_44": "leeftijd_25_44",
    "age_45_64": "leeftijd_45_64", "age_65_plus": "leeftijd_65_plus",
}
POPULATION_REQUIRED = ("gemeente_code", "reference_date", "inhabitants")
MAX_PROBLEMS_SHOWN = 50
_GM_CODE = re.compile(r"(?:GM)?(\d{1,4})", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    line: int | None
    nl: str
    en: str


@dataclass(frozen=True)
class RegionMapping:
    """gemeente_code -> region_code for every municipality, and each region's name."""

    members: dict[str, str]
    names: dict[str, str]


@dataclass(frozen=True)
class PopulationRow:
    gemeente_code: str
    reference_date: date
    inhabitants: int
    age_0_14: int | None
    age_15_24: int | None
    age_25_44: int | None
    age_45_64: int | None
    age_65_plus: int | None


def normalise_gemeente_code(raw: str) -> str | None:
    """'GM0363', 'gm363' and '363' (as Excel leaves it) all mean GM0363; None when not a code."""
    match = _GM_CODE.fullmatch(raw.strip())
    return f"GM{int(match.group(1)):04d}" if match else None


def read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A small CSV (UTF-8 with or without BOM, else Windows-1252; `,` `;` or tab): header and (line, row)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise _file_error(path, [Problem(None, "het bestand is leeg", "the file is empty")]) from None
    body = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        body.append((reader.line_num, {name: (cells[i].strip() if i < len(cells) else "")
                                       for i, name in enumerate(header)}))
    return header, body


def read_region_mapping(path: Path, known: dict[str, str], columns: dict[str, str] = MAPPING_COLUMNS) -> RegionMapping:
    """Validate a gemeente_code,region_code,region_name file against the known municipalities (code -> name)."""
    header, body = read_table(path)
    _require_columns(path, header, columns, tuple(columns))
    problems: list[Problem] = []
    members: dict[str, str] = {}
    first_line: dict[str, int] = {}
    names: dict[str, tuple[str, int]] = {}
    for line, row in body:
        raw_code = row[columns["gemeente_code"]]
        region_code, region_name = row[columns["region_code"]], row[columns["region_name"]]
        code = normalise_gemeente_code(raw_code)
        if code is None or code not in known:
            problems.append(Problem(line, f"gemeentecode '{raw_code}' bestaat niet (gemeenten 2025)",
                                    f"municipality code '{raw_code}' does not exist (municipalities 2025)"))
            continue
        if not region_code or not region_name:
            problems.append(Problem(line, f"{code} ({known[code]}): regiocode of regionaam is leeg",
                                    f"{code} ({known[code]}): region code or region name is empty"))
            continue
        if code in members:
            problems.append(Problem(
                line, f"{code} ({known[code]}) staat al op regel {first_line[code]} (regio {members[code]}); "
                      "een gemeente hoort bij precies één regio",
                f"{code} ({known[code]}) is already on line {first_line[code]} (region {members[code]}); "
                "a municipality belongs to exactly one region"))
            continue
        if region_code in names and names[region_code][0] != region_name:
            earlier, earlier_line = names[region_code]
            problems.append(Problem(
                line, f"regio {region_code} heet hier '{region_name}' maar op regel {earlier_line} '{earlier}'",
                f"region {region_code} is named '{region_name}' here but '{earlier}' on line {earlier_line}"))
            continue
        members[code] = region_code
        first_line[code] = line
        names.setdefault(region_code, (region_name, line))
    missing = sorted(set(known) - set(members))
    if missing:
        listed = ", ".join(f"{code} ({known[code]})" for code in missing[:MAX_PROBLEMS_SHOWN])
        more = f" … (+{len(missing) - MAX_PROBLEMS_SHOWN})" if len(missing) > MAX_PROBLEMS_SHOWN else ""
        problems.append(Problem(None, f"{len(missing)} gemeente(n) ontbreken: {listed}{more}",
                                f"{len(missing)} municipality(ies) missing: {listed}{more}"))
    if problems:
        raise _file_error(path, problems)
    return RegionMapping(members, {code: name for code, (name, _) in names.items()})


def read_population(path: Path, known: dict[str, str]) -> list[PopulationRow]:
    """Validate a population file (CBS columns as in data/reference/population) for every municipality."""
    header, body = read_table(path)
    _require_columns(path, header, POPULATION_COLUMNS, POPULATION_REQUIRED)
    problems: list[Problem] = []
    result: list[PopulationRow] = []
    seen: dict[str, int] = {}
    for line, row in body:
        raw_code = row[POPULATION_COLUMNS["gemeente_code"]]
        code = normalise_gemeente_code(raw_code)
        if code is None or code not in known:
            problems.append(Problem(line, f"gemeentecode '{raw_code}' bestaat niet (gemeenten 2025)",
                                    f"municipality code '{raw_code}' does not exist (municipalities 2025)"))
            continue
        if code in seen:
            problems.append(Problem(line, f"{code} staat al op regel {seen[code]}",
                                    f"{code} is already on line {seen[code]}"))
            continue
        seen[code] = line
        before = len(problems)
        values: dict[str, object] = {}
        for field, column in POPULATION_COLUMNS.items():
            if field == "gemeente_code":
                continue
            text = row.get(column, "")
            if field == "reference_date":
                try:
                    values[field] = date.fromisoformat(text)
                except ValueError:
                    problems.append(Problem(line, f"kolom {column}: '{text}' is geen datum (JJJJ-MM-DD)",
                                            f"column {column}: '{text}' is not a date (YYYY-MM-DD)"))
            elif text == "" and field not in POPULATION_REQUIRED:
                values[field] = None
            elif text.isdigit():
                values[field] = int(text)
            else:
                problems.append(Problem(line, f"kolom {column}: '{text}' is geen geheel getal ≥ 0",
                                        f"column {column}: '{text}' is not a whole number ≥ 0"))
        if len(problems) == before:
            result.append(PopulationRow(gemeente_code=code, **values))  # type: ignore[arg-type]
    missing = sorted(set(known) - set(seen))
    if missing:
        listed = ", ".join(missing[:MAX_PROBLEMS_SHOWN])
        problems.append(Problem(None, f"{len(missing)} gemeente(n) ontbreken: {listed}",
                                f"{len(missing)} municipality(ies) missing: {listed}"))
    if problems:
        raise _file_error(path, problems)
    return result


def _require_columns(path: Path, header: list[str], columns: dict[str, str], required: tuple[str, ...]) -> None:
    absent = [columns[field] for field in required if columns[field] not in header]
    if absent:
        raise _file_error(path, [Problem(1, f"kolom(men) ontbreken in de kop: {', '.join(absent)} "
                                            f"(gevonden: {', '.join(header)})",
                                         f"column(s) missing from the header: {', '.join(absent)} "
                                         f"(found: {', '.join(header)})")])


def _file_error(path: Path, problems: list[Problem]) -> ReferenceDataError:
    def lines(lang: str) -> str:
        out = []
        for p in problems[:MAX_PROBLEMS_SHOWN]:
            where = (f"regel {p.line}: " if lang == "nl" else f"line {p.line}: ") if p.line else ""
            out.append(f"  {where}{p.nl if lang == 'nl' else p.en}")
        if len(problems) > MAX_PROBLEMS_SHOWN:
            extra = len(problems) - MAX_PROBLEMS_SHOWN
            out.append(f"  … en nog {extra} probleem/problemen" if lang == "nl" else f"  … and {extra} more")
        return "\n".join(out)

    error = ReferenceDataError(
        f"{path.name}: {len(problems)} probleem/problemen, er is niets geladen:\n{lines('nl')}",
        f"{path.name}: {len(problems)} problem(s), nothing was loaded:\n{lines('en')}")
    error.problems = problems  # type: ignore[attr-defined]
    return error
