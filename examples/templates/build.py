"""Write the provider templates (CSV and XLSX, Dutch and English headers) from ingest.fields.

Run: .venv/bin/python examples/templates/build.py
"""
from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment

from ingest.fields import FIELDS

HERE = Path(__file__).resolve().parent
EXAMPLE_NL = [
    ["VO-NOORD-01", "Crisisopvang Noord", "stichting-fictief-noord", "Stichting Fictieve Opvang Noord",
     "vrouwenopvang", "volwassen slachtoffer; kind", "VT08", "24-11-2026 09:00", "gezinsplek", "12", "2", "open",
     "3", "0", "", "", "", "", "ja", "nl; en", "intieme terreur", "050-0000000", "aanmelden@voorbeeld.invalid",
     "", "via Veilig Thuis"],
    ["TR-NOORD-02", "Traumabehandeling gezin", "stichting-fictief-noord", "Stichting Fictieve Opvang Noord",
     "traumabehandeling", "kind; volwassen slachtoffer", "GM0014; GM0037", "24-11-2026", "behandelplek", "20", "0",
     "wachtlijst", "14", "21", "56", "", "0", "99", "ja", "nl", "gezin onder druk", "050-0000001", "", "", "huisarts"],
]
EXAMPLE_EN = [
    ["VO-NOORD-01", "Crisis shelter North", "stichting-fictief-noord", "Fictional Shelter Foundation North",
     "shelter", "adult_victim; child", "VT08", "2026-11-24T09:00", "place", "12", "2", "open", "3", "0", "", "", "",
     "", "yes", "nl; en", "intimate_terror", "050-0000000", "referrals@example.invalid", "", "through Veilig Thuis"],
]


def write(name: str, headers: list[str], rows: list[list[str]], help_texts: list[str]) -> None:
    with (HERE / f"{name}.csv").open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(headers)
        writer.writerows(rows)
    book = Workbook()
    sheet = book.active
    sheet.title = "capaciteit"
    sheet.append(headers)
    for row in rows:
        sheet.append([int(cell) if cell.isdigit() else cell for cell in row])
    for column, text in enumerate(help_texts, start=1):
        sheet.cell(row=1, column=column).comment = Comment(text, "capacity-dashboard")
    book.save(HERE / f"{name}.xlsx")


def main() -> None:
    write("capaciteit_sjabloon", [f.header_nl for f in FIELDS], EXAMPLE_NL,
          [("verplicht. " if f.required else "") + f.help_nl for f in FIELDS])
    write("capacity_template", [f.name for f in FIELDS], EXAMPLE_EN,
          [("required. " if f.required else "") + f.help_en for f in FIELDS])


if __name__ == "__main__":
    main()
