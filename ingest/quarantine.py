"""The inbox lifecycle after commit: archive what loaded, quarantine what was refused, with a report."""
from __future__ import annotations

import csv
import shutil
from datetime import datetime
from pathlib import Path

from queries.errors import CapacityError
from queries.paths import DataPaths

from .records import RowError


def stamped_name(name: str, when: datetime) -> str:
    """`20261125T140102Z-report.csv`: unique per moment, sortable, the original name kept."""
    return f"{when:%Y%m%dT%H%M%SZ}-{Path(name).name}"


def archive_file(paths: DataPaths, source_id: str, file: Path, when: datetime) -> Path:
    return _move(file, paths.archive / source_id, stamped_name(file.name, when))


def quarantine_file(paths: DataPaths, source_id: str, file: Path, when: datetime, error: CapacityError) -> Path:
    """Move a refused file to quarantine with a plain-language report beside it."""
    target = _move(file, paths.quarantine / source_id, stamped_name(file.name, when))
    report = target.with_name(target.name + ".fout.txt")
    report.write_text(
        f"Bestand {file.name} van bron {source_id} is geweigerd; er is niets uit geladen.\n\n{error.nl}\n\n"
        f"---\nFile {file.name} from source {source_id} was refused; nothing from it was loaded.\n\n{error.en}\n",
        encoding="utf-8")
    return target


def write_rejected_report(paths: DataPaths, source_id: str, name: str, when: datetime,
                          rejected: list[RowError]) -> Path:
    """The refused rows of a loaded file, as CSV in quarantine: row, column, value, message."""
    folder = paths.quarantine / source_id
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name)[:80]
    target = folder / f"{when:%Y%m%dT%H%M%SZ}-{safe}.afgewezen.csv"
    with target.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["regel/row", "kolom/column", "waarde/value", "melding", "message"])
        for error in rejected:
            writer.writerow([error.row or "", error.column or "", _safe_cell(error.value or ""), error.nl, error.en])
    return target


def _safe_cell(text: str) -> str:
    """A value opened in a spreadsheet stays text, never a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _move(file: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    counter = 1
    while target.exists():
        target = folder / f"{Path(name).stem}-{counter}{Path(name).suffix}"
        counter += 1
    shutil.move(str(file), str(target))
    return target
