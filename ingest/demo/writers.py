"""Reports as providers send them: CSV with Dutch or English headers, XLSX (openpyxl), a JSON feed.

Every writer starts from canonical rows (field name -> value) and renders them in one source's form:
`csv_nl` (Dutch headers and words, `;`, Dutch dates, decimal commas), `csv_nl_weeks` (the same with
waits in weeks), `csv_en` (English headers and codes, `,`, ISO dates), `xlsx` (Dutch headers, numbers
and dates as cells) and `feed` (nested JSON records). Output bytes depend only on the rows.
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime
from functools import lru_cache

from openpyxl import Workbook

from ..fields import FIELDS
from .model import AMSTERDAM, Figures
from .world import Service, Source

COLUMNS = tuple(f for f in FIELDS if f.name != "website")
OCCUPANCY_HEADER = "bezetting_procent"   # not a canonical field: read past, shows the decimal comma
WEEK_HEADERS = {"wait_days_intake": "wachttijd aanmelding (weken)",
                "wait_days_treatment": "wachttijd behandeling (weken)"}
DUTCH = {
    "care_type": {"shelter": "vrouwenopvang", "trauma_care": "traumabehandeling",
                  "perpetrator_programme": "daderhulp", "peer_group": "lotgenotengroep"},
    "target_groups": {"adult_victim": "volwassen slachtoffer", "child": "kind", "perpetrator": "pleger"},
    "unit": {"place": "gezinsplek", "bed": "bed", "treatment_slot": "behandelplek", "group_seat": "groepsplek"},
    "status": {"open": "open", "full": "vol", "waitlist": "wachtlijst", "closed": "gesloten"},
    "framework": {"voluntary": "vrijwillig", "mandated": "gedwongen", "both": "beide"},
    "violence_profiles": {"intimate_terror": "intieme terreur", "family_in_stress": "gezin onder druk",
                          "long_term_care_needs": "langdurige zorgbehoefte",
                          "child_behaviour_parenting_stress": "opvoedingsstress",
                          "complex_conflict_divorce": "complexe scheiding"},
}
FAULTS = ("available_above_maximum", "unknown_municipality", "unknown_care_type")
_XLSX_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
Row = dict[str, object]


def canonical_row(service: Service, figures: Figures) -> Row:
    """One report line in canonical fields (plus the occupancy some providers add)."""
    return {
        "service_id": service.service_id, "service_name": service.name, "provider_id": service.provider_id,
        "provider_name": service.provider_name, "care_type": service.care_type,
        "target_groups": service.target_groups, "service_area": service.areas,
        "valid_at": figures.valid_at, "unit": service.unit, "maximum": figures.maximum,
        "available": figures.available, "status": figures.status, "waiting_count": figures.waiting,
        "wait_days_intake": figures.wait_days_intake, "wait_days_treatment": figures.wait_days_treatment,
        "framework": service.framework, "age_min": service.age_min, "age_max": service.age_max,
        "whole_family": service.whole_family, "languages": service.languages,
        "violence_profiles": service.violence_profiles, "phone": service.phone, "email": service.email,
        "referral_route": service.referral_route, OCCUPANCY_HEADER: figures.occupancy_percent,
    }


def faulty_row(row: Row, fault: str) -> Row:
    """A copy of `row` for a new service with one deliberate error, for the quarantine to catch."""
    wrong = {**row, "service_id": f"{row['service_id']}-FOUT", "service_name": f"{row['service_name']} (foute regel)"}
    if fault == "available_above_maximum":
        wrong.update(available=int(row["maximum"]) + 2, status="open")
    elif fault == "unknown_municipality":
        wrong["service_area"] = ("GM9999",)
    elif fault == "unknown_care_type":
        wrong["care_type"] = "nazorg"
    else:
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
    return wrong


def suffix(source: Source) -> str:
    return ".xlsx" if source.form == "xlsx" else ".csv"


def report_file(source: Source, rows: list[Row]) -> bytes:
    """The bytes of one report file of a file source."""
    if source.form == "xlsx":
        return xlsx_bytes(rows)
    if source.form == "csv_en":
        return _csv([f.name for f in COLUMNS], [[_english(f.name, r.get(f.name)) for f in COLUMNS] for r in rows],
                    ",", "utf-8")
    weeks = source.form == "csv_nl_weeks"
    headers = [WEEK_HEADERS[f.name] if weeks and f.name in WEEK_HEADERS else f.header_nl for f in COLUMNS]
    lines = [[_weeks(r.get(f.name)) if weeks and f.name in WEEK_HEADERS else _dutch(f.name, r.get(f.name))
              for f in COLUMNS] + [_decimal_comma(r[OCCUPANCY_HEADER])] for r in rows]
    return _csv([*headers, OCCUPANCY_HEADER], lines, ";", "utf-8-sig")


def xlsx_bytes(rows: list[Row]) -> bytes:
    """An XLSX report with Dutch headers; numbers and moments as real cells. Byte-identical for the same rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("capaciteit")
    sheet.append([f.header_nl for f in COLUMNS])
    for row in rows:
        sheet.append([_cell(f.name, row.get(f.name)) for f in COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return _stable_zip(buffer.getvalue())


def feed_bytes(source: Source, rows: list[Row], moment: datetime) -> bytes:
    """The JSON feed: {"bron", "bijgewerkt", "records": [...]} with nested capacity, waits in weeks."""
    document = {"bron": source.id, "bijgewerkt": _iso(moment), "records": [_feed_record(row) for row in rows]}
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _feed_record(row: Row) -> dict[str, object]:
    record = {
        "id": row["service_id"], "naam": row["service_name"],
        "aanbieder": {"id": row["provider_id"], "naam": row["provider_name"]},
        "doelgroepen": [DUTCH["target_groups"].get(g, g) for g in row["target_groups"]],
        "werkgebied": row["service_area"], "peilmoment": _iso(row["valid_at"]),
        "capaciteit": {"eenheid": DUTCH["unit"][row["unit"]], "totaal": row["maximum"], "vrij": row["available"]},
        "status": DUTCH["status"][row["status"]], "wachtenden": row["waiting_count"],
        "wachttijd_weken": {"aanmelding": _weeks_number(row["wait_days_intake"]),
                            "behandeling": _weeks_number(row["wait_days_treatment"])},
        "kader": DUTCH["framework"].get(row["framework"]) if row["framework"] else None,
        "leeftijd": {"min": row["age_min"], "max": row["age_max"]}, "heel_gezin": row["whole_family"],
        "talen": row["languages"],
        "geweldsprofielen": [DUTCH["violence_profiles"][p] for p in row["violence_profiles"]],
        "contact": {"telefoon": row["phone"], "email": row["email"]}, "verwijsroute": row["referral_route"],
    }
    return _without_empty(record)


def _without_empty(value: dict) -> dict:
    cleaned = {k: _without_empty(v) if isinstance(v, dict) else v for k, v in value.items()}
    return {k: v for k, v in cleaned.items() if v is not None and v != {}}


def _csv(header: list[str], lines: list[list[str]], delimiter: str, encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue().encode(encoding)


def _dutch(name: str, value: object) -> str:
    if name == "valid_at":
        return f"{value.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"
    return _dutch_text(name, value)


@lru_cache(maxsize=100_000)
def _dutch_text(name: str, value: object) -> str:
    """A value in Dutch words (cached: reports repeat each service's words on every line)."""
    if value is None:
        return ""
    if name == "whole_family":
        return "ja" if value else "nee"
    words = DUTCH.get(name, {})
    if isinstance(value, tuple):
        return "; ".join(words.get(item, item) for item in value)
    return words.get(value, str(value)) if isinstance(value, str) else str(value)


def _english(name: str, value: object) -> str:
    if name == "valid_at":
        return f"{value.astimezone(AMSTERDAM):%Y-%m-%dT%H:%M}"
    return _english_text(name, value)


@lru_cache(maxsize=100_000)
def _english_text(name: str, value: object) -> str:
    if value is None:
        return ""
    if name == "whole_family":
        return "yes" if value else "no"
    return "; ".join(value) if isinstance(value, tuple) else str(value)


def _cell(name: str, value: object) -> object:
    if name == "valid_at":
        return value.astimezone(AMSTERDAM).replace(tzinfo=None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return _dutch(name, value) or None


def _weeks_number(days: object) -> float | None:
    return None if days is None else round(int(days) / 7, 1)


def _weeks(days: object) -> str:
    weeks = _weeks_number(days)
    return "" if weeks is None else _decimal_comma(weeks)


def _decimal_comma(number: object) -> str:
    return f"{number:.1f}".replace(".", ",")


def _iso(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).isoformat()


def _stable_zip(data: bytes) -> bytes:
    """The same archive with fixed member times and document dates, so equal rows give equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                content = _XLSX_STAMP.sub(rb"\g<1>2024-01-01T00:00:00Z\g<2>", content)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), content,
                            compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
