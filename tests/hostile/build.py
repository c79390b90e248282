"""Writes the committed hostile-input set beside this script; deterministic (fixed zip dates, no randomness).

Run `.venv/bin/python tests/hostile/build.py`; tests/test_hostile_input.py sends each file through the
real ingest path. All people, numbers and addresses are fictional (111222333 only passes the BSN 11-test).

| file | what is hostile |
| --- | --- |
| formulas.csv | formulas (=HYPERLINK, +cmd, @SUM, -1+1) in text fields, in rejected values, in an extra cell |
| script.csv | `<script>` and `<img onerror>` in names, `javascript:` as e-mail, website and in a link |
| personal.csv | columns with a client's name, date of birth and BSN (Dutch headers, semicolons) |
| personal.xlsx | columns voornaam and geboortedatum in a workbook |
| oversized.xlsx | a valid workbook of about 6 KB with an incompressible part, beyond a 4 KB cap |
| zipbomb.xlsx | a worksheet of 2 MiB packed to about 2 KB (compression ratio far over 100) |
| xxe.xlsx | a worksheet declaring an external entity (DOCTYPE/ENTITY SYSTEM file:///etc/passwd) |
| deep.json | a feed record nested 200 levels deep |
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
HEADER = ["service_id", "service_name", "provider_name", "care_type", "target_groups", "service_area", "valid_at",
          "unit", "maximum", "available"]
MOMENT = "2026-01-15T10:00"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def row(service_id: str, name: str = "Opvang", provider: str = "Stichting Fictief", maximum: str = "5",
        available: str = "1") -> list[str]:
    return [service_id, name, provider, "shelter", "child", "GM0014", MOMENT, "place", maximum, available]


def csv_bytes(lines: list[list[str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(lines)
    return out.getvalue().encode("utf-8")


def formulas() -> bytes:
    """Rows 2-3 load with formula text in text fields; rows 4-6 are rejected quoting formula-like values."""
    return csv_bytes([
        [*HEADER, "referral_route"],
        [*row("F1", '=HYPERLINK("http://x.invalid/steel","klik")', "+cmd|' /C calc'!A0"), "@SUM(1+1)"],
        [*row("F2", "-1+1", "=1+1"), "-2+3"],
        [*row("F3", available="@SUM(A1:A2)"), ""],
        [*row("F4", maximum="-1+1"), ""],
        [*row("F5"), "", "=HYPERLINK(\"http://x.invalid\")"],
    ])


def script() -> bytes:
    """Markup and javascript: URLs in every kind of text field; all must be stored as plain text."""
    return csv_bytes([
        [*HEADER, "phone", "email", "website", "referral_route"],
        [*row("X1", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"), "020 555 0199",
         "javascript:alert(1)", "javascript:alert(1)", '<a href="javascript:alert(1)">verwijs</a>'],
    ])


def personal() -> bytes:
    dutch = ["dienst_id", "dienst_naam", "aanbieder_naam", "zorgsoort", "doelgroepen", "werkgebied", "peilmoment",
             "eenheid", "maximum", "beschikbaar"]
    return csv_bytes([[*dutch, "Naam cliënt", "Geb. datum", "BSN"],
                      [*row("P1"), "Fictieve Cliënte", "01-02-1990", "111222333"]], delimiter=";")


def xlsx(rows: list[list[object]], extra: dict[str, bytes] | None = None, sheet: bytes | None = None,
         stored: dict[str, bytes] | None = None) -> bytes:
    """A minimal workbook written part by part (inline strings, numbers), with fixed zip dates."""
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/></Types>').encode(),
        "_rels/.rels": (f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" '
                        'Target="xl/workbook.xml"/></Relationships>').encode(),
        "xl/workbook.xml": (f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
                            '<sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": (f'<Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
                                       f'Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
                                       '</Relationships>').encode(),
        "xl/worksheets/sheet1.xml": sheet or worksheet(rows),
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(_info(name, zipfile.ZIP_DEFLATED), data)
        for name, data in (stored or {}).items():
            archive.writestr(_info(name, zipfile.ZIP_STORED), data)
    return buffer.getvalue()


def _info(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


def worksheet(rows: list[list[object]]) -> bytes:
    lines = []
    for number, values in enumerate(rows, start=1):
        cells = "".join(_cell(f"{_letters(index)}{number}", value) for index, value in enumerate(values))
        lines.append(f'<row r="{number}">{cells}</row>')
    return f'<worksheet xmlns="{MAIN_NS}"><sheetData>{"".join(lines)}</sheetData></worksheet>'.encode()


def _cell(ref: str, value: object) -> str:
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def _letters(index: int) -> str:
    return chr(65 + index) if index < 26 else chr(64 + index // 26) + chr(65 + index % 26)


def capacity_rows() -> list[list[object]]:
    return [HEADER, ["W1", "Opvang Werkmap", "Stichting Fictief", "shelter", "child", "GM0014", MOMENT, "place", 6, 2]]


def personal_xlsx() -> bytes:
    rows = capacity_rows()
    return xlsx([[*rows[0], "voornaam", "geboortedatum"], [*rows[1], "Fictieve", "1990-02-01"]])


def oversized_xlsx() -> bytes:
    """A valid workbook carrying 6,000 incompressible bytes (a SHA-256 chain) in an extra stored part."""
    noise, block = bytearray(), b"hostile"
    while len(noise) < 6000:
        block = hashlib.sha256(block).digest()
        noise += block
    return xlsx(capacity_rows(), stored={"xl/media/ruis.bin": bytes(noise[:6000])})


def zipbomb_xlsx() -> bytes:
    padding = b" " * (2 * 1024 * 1024)
    sheet = f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode() + padding + b"</sheetData></worksheet>"
    return xlsx([], sheet=sheet)


def xxe_xlsx() -> bytes:
    sheet = (f'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
             f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is>'
             '</c></row></sheetData></worksheet>').encode()
    return xlsx([], sheet=sheet)


def deep_json() -> bytes:
    nest: object = "bodem"
    for _ in range(200):
        nest = [nest]
    return json.dumps({"records": [{**dict(zip(HEADER, row("D1"))), "nest": nest}]}, separators=(",", ":")).encode()


FILES = {"formulas.csv": formulas, "script.csv": script, "personal.csv": personal, "personal.xlsx": personal_xlsx,
         "oversized.xlsx": oversized_xlsx, "zipbomb.xlsx": zipbomb_xlsx, "xxe.xlsx": xxe_xlsx,
         "deep.json": deep_json}


def main() -> None:
    for name, build in FILES.items():
        (HERE / name).write_bytes(build())
        print(f"{name}: {(HERE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
