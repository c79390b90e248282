"""Exports as CSV, JSON and XLSX: formula-safe text, numbers kept as numbers; no stored text can break an
export (control characters other than tab, CR and LF, and unencodable characters, are escaped)."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from openpyxl import Workbook

from .text import printable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DECIMALS = 3
KEPT_CONTROLS = "\t\n\r"


def safe_text(text: str) -> str:
    """Text a spreadsheet would run as a formula is prefixed with an apostrophe; characters no spreadsheet
    or encoder takes are escaped."""
    text = printable(text, keep=KEPT_CONTROLS)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> Any:
    """A value fit for a spreadsheet cell: numbers stay numbers (rounded), text is formula-safe."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return safe_text("; ".join(str(v) for v in value))
    return safe_text(str(value))


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180 line ends, so a CR or LF inside a value gets quoted
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if (v := cell(row.get(c))) is None else v for c in columns])
    return out.getvalue()


def to_xlsx(columns: Sequence[str], rows: Iterable[dict[str, Any]], sheet: str = "data") -> bytes:
    book = Workbook()
    worksheet = book.active
    worksheet.title = sheet
    worksheet.append([cell(column) for column in columns])
    for row in rows:
        worksheet.append([cell(row.get(c)) for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_json(rows: Iterable[dict[str, Any]]) -> str:
    """JSON keeps types; text needs no escaping there (JSON is not run by spreadsheets)."""
    return json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows], ensure_ascii=False, indent=1)


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value, keep=KEPT_CONTROLS)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
