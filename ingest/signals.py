"""Anonymous "searched, found nothing" signals: written by the web as files, loaded by the ingester.

The web cannot write the warehouse, so `write_signal` leaves one small JSON file in data/inbox/_signalen.
The built-in source `signalen` (kind `submission`, ingest/sources/submissions.py) turns each file into a
batch; the runner checks it with `check_signal` and stores it with `load_signal`, in the same transaction
as its ledger row. A file is taken or refused whole. Only codes are kept, never free text, and the moment
only to the hour; messages never repeat a value that is not a well-formed code (it might be free text).
"""
from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path

import duckdb

from queries.db import scalar
from queries.errors import CapacityError
from queries.paths import DataPaths
from queries.signals import REASONS

from .config import SourceConfig
from .load import LoadResult
from .records import Extract, RawRow, RowError, StructuralError
from .validate import Reference

SIGNAL_SOURCE_ID = "signalen"
SUBMISSION_KIND = "submission"
SIGNAL_SCHEDULE = "5 * * * *"   # hourly: run times in the ledger must not date a search closer than the hour
SIGNAL_FOLDER = "_signalen"     # not a possible source id, so never another source's inbox
SIGNAL_KEYS = ("signal_id", "gemeente_code", "care_type", "target_group", "reason", "signalled_at")
MAX_PENDING_SIGNALS = 10_000
MAX_SIGNAL_BYTES = 2048
MAX_AHEAD = timedelta(days=1)
_CODE = re.compile(r"[a-z][a-z_]{0,39}")
CODE_PATTERNS = {"signal_id": re.compile(r"[0-9a-f]{32}"), "gemeente_code": re.compile(r"GM[0-9]{4}"),
                 "care_type": _CODE, "target_group": _CODE}
INSERT_SIGNAL = """
INSERT INTO demand_signal (signal_id, gemeente_code, care_type, target_group, reason, signalled_at, source_id,
                           run_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (signal_id) DO NOTHING"""


class SignalRefused(CapacityError):
    """The web could not record a signal: a value is not a valid code, too many are waiting, or no disk."""


@dataclass(frozen=True)
class Signal:
    signal_id: str
    gemeente_code: str
    care_type: str
    target_group: str
    reason: str
    signalled_at: datetime


@dataclass(frozen=True)
class CheckedSignal:
    """One signal file after checking; refused whole when wrong, so no row is ever rejected on its own."""

    signal: Signal
    rejected: list[RowError] = field(default_factory=list)


def signal_inbox(paths: DataPaths) -> Path:
    return paths.inbox / SIGNAL_FOLDER


def signal_source(paths: DataPaths) -> SourceConfig:
    """The built-in source that loads the signal files, once an hour."""
    return SourceConfig(SIGNAL_SOURCE_ID, SUBMISSION_KIND, SIGNAL_SCHEDULE, path=signal_inbox(paths))


def hour_of(moment: datetime) -> datetime:
    """`moment` in UTC, rounded down to the whole hour."""
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


# --- the web side ---------------------------------------------------------------------------------


def write_signal(paths: DataPaths, gemeente_code: str, care_type: str, target_group: str, reason: str,
                 now: datetime | None = None) -> Path:
    """Leave one signal for the ingester (called by the web worker); returns the file written.

    Raises SignalRefused when a value is not a valid code, when more than MAX_PENDING_SIGNALS files are
    waiting already (a flood), or when the file cannot be written.
    """
    values = {"gemeente_code": gemeente_code, "care_type": care_type, "target_group": target_group,
              "reason": reason}
    problems = _value_problems(values)
    if problems:
        raise SignalRefused(*_joined("Het signaal is niet vastgelegd", "The signal was not recorded", problems))
    hour = hour_of(now or datetime.now(timezone.utc))
    signal_id = uuid.uuid4().hex
    content = {"signal_id": signal_id, **values, "signalled_at": hour.isoformat()}
    folder = signal_inbox(paths)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _check_room(folder)
        return write_atomically(folder, f"{hour:%Y%m%dT%H%M%SZ}-{signal_id}.json",
                                 json.dumps(content).encode("utf-8"))
    except OSError as error:
        raise SignalRefused(f"Het signaal kon niet worden opgeslagen ({error.strerror}).",
                            f"The signal could not be saved ({error.strerror}).") from error


def _check_room(folder: Path) -> None:
    with os.scandir(folder) as entries:
        waiting = (entry for entry in entries if not entry.name.startswith("."))
        pending = sum(1 for _ in islice(waiting, MAX_PENDING_SIGNALS + 1))
    if pending > MAX_PENDING_SIGNALS:
        raise SignalRefused(
            f"Er wachten al meer dan {MAX_PENDING_SIGNALS} signalen op verwerking; probeer het later opnieuw.",
            f"More than {MAX_PENDING_SIGNALS} signals are already waiting to be processed; try again later.")


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write under a hidden temporary name, flush to disk, then give the file its name in one step."""
    target, temporary = folder / name, folder / f".{name}.tmp"
    try:
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)    # the new name itself survives a crash
    finally:
        os.close(descriptor)
    return target


# --- the ingest side ------------------------------------------------------------------------------


def read_signal(name: str, data: bytes) -> Extract:
    """One signal file as an extract of one raw row; StructuralError when it is no small JSON object."""
    if len(data) > MAX_SIGNAL_BYTES:
        raise StructuralError(f"{name}: groter dan {MAX_SIGNAL_BYTES} bytes; geen signaalbestand",
                              f"{name}: larger than {MAX_SIGNAL_BYTES} bytes; not a signal file")
    try:
        values = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except ValueError as error:     # includes invalid UTF-8 and duplicate keys
        raise StructuralError(f"{name}: geen geldige JSON (UTF-8)", f"{name}: not valid JSON (UTF-8)") from error
    if not isinstance(values, dict):
        raise StructuralError(f"{name}: geen JSON-object", f"{name}: not a JSON object")
    return Extract(name, list(values), [RawRow(1, values)])


def check_signal(extract: Extract, reference: Reference, now: datetime) -> CheckedSignal:
    """The signal in `extract`, checked strictly: exactly the expected keys, well-formed codes that exist,
    a known reason, a moment on the whole hour and at most a day ahead; StructuralError otherwise."""
    values = extract.rows[0].values
    problems = _key_problems(values)
    if not problems:
        problems = _value_problems(values) or _reference_problems(values, reference)
        problems += _moment_problems(values["signalled_at"], now)
    if problems:
        raise StructuralError(*_joined(f"{extract.file_name} is geweigerd", f"{extract.file_name} was refused",
                                       problems))
    moment = datetime.fromisoformat(values["signalled_at"]).astimezone(timezone.utc)
    return CheckedSignal(Signal(values["signal_id"], values["gemeente_code"], values["care_type"],
                                values["target_group"], values["reason"], moment))


def load_signal(con: duckdb.DuckDBPyConnection, source_id: str, run_id: int, checked: CheckedSignal) -> LoadResult:
    """Store the signal inside the caller's transaction; one whose id is stored already is skipped."""
    signal = checked.signal
    loaded = int(scalar(con, INSERT_SIGNAL, [signal.signal_id, signal.gemeente_code, signal.care_type,
                                             signal.target_group, signal.reason, signal.signalled_at, source_id,
                                             run_id]))
    return LoadResult(loaded, 1 - loaded, [])


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    if len({key for key, _ in pairs}) < len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _key_problems(values: dict[str, object]) -> list[tuple[str, str]]:
    """Missing keys by name; other keys only counted (a key may itself be free text)."""
    missing = [key for key in SIGNAL_KEYS if key not in values]
    extra = len([key for key in values if key not in SIGNAL_KEYS])
    problems: list[tuple[str, str]] = []
    if missing:
        problems.append((f"ontbrekende velden: {', '.join(missing)}", f"missing fields: {', '.join(missing)}"))
    if extra:
        problems.append((f"{extra} onbekend(e) veld(en); alleen {', '.join(SIGNAL_KEYS)} zijn toegestaan",
                         f"{extra} unknown field(s); only {', '.join(SIGNAL_KEYS)} are allowed"))
    return problems


def _value_problems(values: dict[str, object]) -> list[tuple[str, str]]:
    problems = [(f"'{key}' is geen geldige code", f"'{key}' is not a valid code")
                for key, pattern in CODE_PATTERNS.items()
                if key in values and not (isinstance(values[key], str) and pattern.fullmatch(values[key]))]
    if values["reason"] not in REASONS:
        problems.append((f"'reason' moet een van {', '.join(REASONS)} zijn",
                         f"'reason' must be one of {', '.join(REASONS)}"))
    return problems


def _reference_problems(values: dict[str, object], reference: Reference) -> list[tuple[str, str]]:
    known = {"gemeente_code": set(reference.municipalities), "care_type": set(reference.care_types.values()),
             "target_group": set(reference.target_groups.values())}
    return [(f"onbekende {key} {values[key]}", f"unknown {key} {values[key]}")
            for key, codes in known.items() if values[key] not in codes]


def _moment_problems(raw: object, now: datetime) -> list[tuple[str, str]]:
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        return [("'signalled_at' is geen ISO-tijdstip met tijdzone",
                 "'signalled_at' is not an ISO moment with a time zone")]
    if moment != hour_of(moment):
        return [("'signalled_at' valt niet op het hele uur (een signaal legt nooit het precieze moment vast)",
                 "'signalled_at' is not on the whole hour (a signal never records the exact moment)")]
    if moment - now > MAX_AHEAD:
        return [("'signalled_at' ligt meer dan een dag in de toekomst",
                 "'signalled_at' is more than a day in the future")]
    return []


def _joined(head_nl: str, head_en: str, problems: list[tuple[str, str]]) -> tuple[str, str]:
    return (f"{head_nl}: {'; '.join(nl for nl, _ in problems)}.",
            f"{head_en}: {'; '.join(en for _, en in problems)}.")
