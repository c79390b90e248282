"""The inbox lifecycle after commit: archive what loaded, quarantine what was refused, with a report.

Privacy (ingest/privacy.py): a file that had street-address columns (or a BSN in a screened column) is
not kept as sent; the archive or quarantine holds a scrubbed CSV copy, `<stamped name>.zonder-adres.csv`
(`.zonder-bsn.csv` when only BSNs were masked), and the original is deleted. A file with personal data of
clients, or one that cannot be read but has address columns, is deleted with only a `.fout.txt` report.
Every CSV written here is formula-safe: text starting with = + - @ tab or CR gets an apostrophe.
"""
from __future__ import annotations

import csv
import os
import shutil
from datetime import datetime
from pathlib import Path

from queries.errors import CapacityError
from queries.paths import DataPaths

from .privacy import ScrubbedCopy
from .records import RowError


def stamped_name(name: str, when: datetime) -> str:
    """`20261125T140102Z-report.csv`: unique per moment, sortable, the original name kept."""
    return f"{when:%Y%m%dT%H%M%SZ}-{Path(name).name}"


def archive_file(paths: DataPaths, source_id: str, file: Path, when: datetime,
                 copy: ScrubbedCopy | None = None) -> Path:
    """Move a loaded file to the archive; with a scrubbed copy, keep only that and delete the original."""
    folder, name = paths.archive / source_id, stamped_name(file.name, when)
    if copy is None:
        return _move(file, folder, name)
    return _replace_with_copy(file, folder, name, copy)


def quarantine_file(paths: DataPaths, source_id: str, file: Path, when: datetime, error: CapacityError,
                    copy: ScrubbedCopy | None = None) -> Path:
    """Move a refused file to quarantine (or only its scrubbed copy) with a plain-language report beside it."""
    folder, name = paths.quarantine / source_id, stamped_name(file.name, when)
    if copy is None:
        target = _move(file, folder, name)
        _write_report(target.with_name(target.name + ".fout.txt"), source_id, file.name, error)
        return target
    target = _replace_with_copy(file, folder, name, copy)
    _write_report(_unique(folder, name + ".fout.txt"), source_id, file.name, error, _copy_note(copy, target))
    return target


def _copy_note(copy: ScrubbedCopy, target: Path) -> tuple[str, str]:
    """What was removed from a quarantined file, and where its scrubbed copy is."""
    dropped = ", ".join(f"'{column}'" for column in copy.drop)
    masked = ", ".join(f"'{column}'" for column in copy.mask)
    nl = [f"Het bestand had adreskolommen ({dropped}); adressen worden nooit bewaard."] if dropped else []
    en = [f"The file had street-address columns ({dropped}); addresses are never kept."] if dropped else []
    nl += [f"Burgerservicenummers in {masked} zijn gemaskeerd."] if masked else []
    en += [f"Citizen service numbers in {masked} were masked."] if masked else []
    in_text = ", ".join(f"'{column}'" for column in copy.addresses)
    nl += [f"Straatadressen en postcodes in {in_text} zijn weggelaten."] if in_text else []
    en += [f"Street addresses and postcodes in {in_text} were left out."] if in_text else []
    return (" ".join([*nl, f"Alleen een kopie daarvan is bewaard: {target.name}; het origineel is verwijderd."]),
            " ".join([*en, f"Only a copy of it was kept: {target.name}; the original was deleted."]))


def delete_personal_file(paths: DataPaths, source_id: str, file: Path, when: datetime, error: CapacityError,
                         columns: list[str]) -> Path:
    """Delete a file with personal data of clients; only the report is left, in quarantine."""
    listed = ", ".join(f"'{column}'" for column in columns)
    return _delete_with_report(paths, source_id, file, when, error, (
        f"Het bestand is verwijderd omdat het persoonsgegevens van cliënten bevatte (kolom(men) {listed}); "
        "er is niets van bewaard. Stuur het opnieuw zonder deze kolom(men).",
        f"The file was deleted because it contained personal data of clients (column(s) {listed}); nothing of "
        "it was kept. Send it again without these column(s)."))


def delete_unreadable_with_addresses(paths: DataPaths, source_id: str, file: Path, when: datetime,
                                     error: CapacityError, columns: list[str]) -> Path:
    """Delete a file that cannot be read but has address columns (so no copy without them can be made)."""
    listed = ", ".join(f"'{column}'" for column in columns)
    return _delete_with_report(paths, source_id, file, when, error, (
        f"Het bestand had adreskolommen ({listed}) en kon niet worden gelezen, dus ook niet zonder die kolommen "
        "worden bewaard; het is verwijderd. Herstel het en stuur het opnieuw zonder adreskolommen.",
        f"The file had street-address columns ({listed}) and could not be read, so it could not be kept without "
        "them either; it was deleted. Correct it and send it again without address columns."))


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
            writer.writerow([error.row or "", *map(_safe_cell, [error.column or "", error.value or "", error.nl,
                                                                error.en])])
    return target


def _safe_cell(text: str) -> str:
    """A value opened in a spreadsheet stays text, never a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _write_report(target: Path, source_id: str, file_name: str, error: CapacityError,
                  note: tuple[str, str] | None = None) -> None:
    """The plain-language `.fout.txt` report of a refused file, in Dutch and English."""
    nl, en = note or ("", "")
    target.write_text(
        f"Bestand {file_name} van bron {source_id} is geweigerd; er is niets uit geladen.\n\n{error.nl}\n\n"
        + (f"{nl}\n\n" if nl else "")
        + f"---\nFile {file_name} from source {source_id} was refused; nothing from it was loaded.\n\n{error.en}\n"
        + (f"\n{en}\n" if en else ""),
        encoding="utf-8")


def _delete_with_report(paths: DataPaths, source_id: str, file: Path, when: datetime, error: CapacityError,
                        note: tuple[str, str]) -> Path:
    folder = paths.quarantine / source_id
    folder.mkdir(parents=True, exist_ok=True)
    report = _unique(folder, stamped_name(file.name, when) + ".fout.txt")
    _write_report(report, source_id, file.name, error, note)
    file.unlink(missing_ok=True)
    return report


def _replace_with_copy(file: Path, folder: Path, name: str, copy: ScrubbedCopy) -> Path:
    """Write the scrubbed copy (complete, or not at all), then delete the original."""
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder, name + copy.suffix)
    partial = target.with_name(f".{target.name}.part")
    with partial.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerows([_safe_cell(cell) for cell in line] for line in copy.lines())
    os.replace(partial, target)
    file.unlink(missing_ok=True)
    return target


def _unique(folder: Path, name: str) -> Path:
    """`folder/name`, or `name-1`, `name-2`, ... before its suffix when that exists."""
    target = folder / name
    counter = 1
    while target.exists():
        target = folder / f"{Path(name).stem}-{counter}{Path(name).suffix}"
        counter += 1
    return target


def _move(file: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = _unique(folder, name)
    shutil.move(str(file), str(target))
    return target
