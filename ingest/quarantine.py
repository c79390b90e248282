"""The inbox lifecycle after commit: archive what loaded, quarantine what was refused, with a report.

Privacy (ingest/privacy.py): a file that had street-address columns (or a BSN in a screened column) is
not kept as sent; the archive or quarantine holds a scrubbed CSV copy, `<stamped name>.zonder-adres.csv`
(`.zonder-bsn.csv` when only BSNs were masked), and the original is deleted. A file with personal data of
clients, or one that cannot be read but has address columns, is deleted with only a `.fout.txt` report.
Every CSV written here is formula-safe: text starting with = + - @ tab or CR gets an apostrophe.

Crash safety: every operation here may be done again after a kill and then ends the same way. Names are
fixed when the put-away is listed (`free_stamped_name`), never probed again; reports and copies are written
whole (a hidden `.part` file, synced, renamed over the target; `remove_partial_copies` deletes what a kill
left at start); the report comes before the file, and the inbox file is moved or deleted last.
"""
from __future__ import annotations

import csv
import errno
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from queries.errors import CapacityError
from queries.paths import DataPaths

from .crashpoints import reach
from .privacy import ScrubbedCopy
from .records import RowError

REPORT_SUFFIX = ".fout.txt"
# every name a put-away gives its file: as sent, as a scrubbed copy (ScrubbedCopy.suffix), its report
TAKEN_SUFFIXES = ("", ".zonder-adres.csv", ".zonder-bsn.csv", REPORT_SUFFIX)


def stamped_name(name: str, when: datetime) -> str:
    """`20261125T140102Z-report.csv`: unique per moment, sortable, the original name kept."""
    return f"{when:%Y%m%dT%H%M%SZ}-{Path(name).name}"


def free_stamped_name(paths: DataPaths, source_id: str, name: str, when: datetime) -> str:
    """`stamped_name`, or `-1`, `-2`, ... before its suffix when the archive or quarantine of the source
    already holds a file under that name (with any suffix a put-away adds)."""
    folders = (paths.archive / source_id, paths.quarantine / source_id)
    first = stamped_name(name, when)
    base, counter = first, 1
    while any((folder / (base + suffix)).exists() for folder in folders for suffix in TAKEN_SUFFIXES):
        base = f"{Path(first).stem}-{counter}{Path(first).suffix}"
        counter += 1
    return base


def archive_file(paths: DataPaths, source_id: str, file: Path, base: str, copy: ScrubbedCopy | None = None) -> Path:
    """Move a loaded file to the archive as `base`; with a scrubbed copy, keep only that and delete the original."""
    folder = paths.archive / source_id
    folder.mkdir(parents=True, exist_ok=True)
    if copy is None:
        return _move(file, folder / base)
    return _replace_with_copy(file, folder / (base + copy.suffix), copy)


def quarantine_file(paths: DataPaths, source_id: str, file: Path, base: str, error: CapacityError,
                    copy: ScrubbedCopy | None = None) -> Path:
    """Move a refused file to quarantine as `base` (or only its scrubbed copy), its plain-language report
    beside it (written first)."""
    folder = paths.quarantine / source_id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (base + (copy.suffix if copy is not None else ""))
    note = _copy_note(copy, target) if copy is not None else None
    _write_report(folder / (base + REPORT_SUFFIX), source_id, file.name, error, note)
    if copy is None:
        return _move(file, target)
    return _replace_with_copy(file, target, copy)


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


def delete_personal_file(paths: DataPaths, source_id: str, file: Path, base: str, error: CapacityError,
                         columns: list[str]) -> Path:
    """Delete a file with personal data of clients; only the report is left, in quarantine."""
    listed = ", ".join(f"'{column}'" for column in columns)
    return _delete_with_report(paths, source_id, file, base, error, (
        f"Het bestand is verwijderd omdat het persoonsgegevens van cliënten bevatte (kolom(men) {listed}); "
        "er is niets van bewaard. Stuur het opnieuw zonder deze kolom(men).",
        f"The file was deleted because it contained personal data of clients (column(s) {listed}); nothing of "
        "it was kept. Send it again without these column(s)."))


def delete_unreadable_with_addresses(paths: DataPaths, source_id: str, file: Path, base: str,
                                     error: CapacityError, columns: list[str]) -> Path:
    """Delete a file that cannot be read but has address columns (so no copy without them can be made)."""
    listed = ", ".join(f"'{column}'" for column in columns)
    return _delete_with_report(paths, source_id, file, base, error, (
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

    def write(handle: TextIO) -> None:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["regel/row", "kolom/column", "waarde/value", "melding", "message"])
        for error in rejected:
            writer.writerow([error.row or "", *_safe_cells([error.column or "", error.value or "", error.nl,
                                                            error.en])])

    _write_whole(target, "utf-8-sig", write, "report")
    return target


def remove_partial_copies(paths: DataPaths) -> list[Path]:
    """Delete the hidden `.part` files an interrupted put-away left in archive/ and quarantine/ (at start)."""
    found = [path for folder in (paths.archive, paths.quarantine) for path in sorted(folder.glob("*/.*.part"))]
    for path in found:
        path.unlink(missing_ok=True)
    return found


_FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))


def _safe_cells(cells: list[str]) -> list[str]:
    """Values opened in a spreadsheet stay text, never a formula (a line at a time: a copy may have millions)."""
    return ["'" + text if text[:1] in _FORMULA_STARTS else text for text in cells]


def _write_report(target: Path, source_id: str, file_name: str, error: CapacityError,
                  note: tuple[str, str] | None = None) -> None:
    """The plain-language `.fout.txt` report of a refused file, in Dutch and English."""
    nl, en = note or ("", "")
    text = (f"Bestand {file_name} van bron {source_id} is geweigerd; er is niets uit geladen.\n\n{error.nl}\n\n"
            + (f"{nl}\n\n" if nl else "")
            + f"---\nFile {file_name} from source {source_id} was refused; nothing from it was loaded.\n\n{error.en}\n"
            + (f"\n{en}\n" if en else ""))
    _write_whole(target, "utf-8", lambda handle: handle.write(text), "report")


def _delete_with_report(paths: DataPaths, source_id: str, file: Path, base: str, error: CapacityError,
                        note: tuple[str, str]) -> Path:
    folder = paths.quarantine / source_id
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / (base + REPORT_SUFFIX)
    _write_report(report, source_id, file.name, error, note)
    file.unlink(missing_ok=True)
    _sync(file.parent)
    return report


def _replace_with_copy(file: Path, target: Path, copy: ScrubbedCopy) -> Path:
    """Write the scrubbed copy (complete, or not at all), then delete the original."""
    def write(handle: TextIO) -> None:
        csv.writer(handle, delimiter=";").writerows(map(_safe_cells, copy.lines()))

    _write_whole(target, "utf-8-sig", write, "copy")
    file.unlink(missing_ok=True)
    _sync(file.parent)
    return target


def _move(file: Path, target: Path) -> Path:
    """Rename `file` to `target`; across file systems through a hidden `.part` copy, so `target` is whole."""
    try:
        os.replace(file, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        partial = _partial(target)
        shutil.copyfile(file, partial)
        _sync(partial)
        os.replace(partial, target)
        file.unlink()
    _sync(target.parent)
    _sync(file.parent)
    return target


def _write_whole(target: Path, encoding: str, write: Callable[[TextIO], None], kind: str) -> None:
    """Write `target` whole or not at all: into its hidden `.part` file, synced, then renamed over it
    (crash points `<kind>-part` and `<kind>-written`)."""
    partial = _partial(target)
    with partial.open("w", newline="", encoding=encoding) as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    reach(f"{kind}-part")
    os.replace(partial, target)
    _sync(target.parent)
    reach(f"{kind}-written")


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def _sync(path: Path) -> None:
    """Flush a file's content, or a folder's names (after a rename or delete), to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
