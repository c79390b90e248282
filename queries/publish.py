"""Publishing: immutable, uniquely named read-only copies of the warehouse plus a pointer.

The writer checkpoints and copies the warehouse file to a temporary name (holding the write lock), then
adds the copy's derived tables (queries/derived.py, while writers go on), renames it
to its final unique name, then atomically replaces the pointer. Readers follow
the pointer and hold a shared flock on the copy they read; old copies beyond the
last few are deleted only when no reader holds them.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from .db import connect, run
from .derived import derive
from .errors import WarehouseError
from .migrate import schema_version
from .paths import DataPaths

_COPY_NAME = re.compile(r"warehouse-(\d{8})-[0-9TZ]+-[0-9a-f]{8}\.duckdb")
TEMP_PREFIX = ".partial-"


@dataclass(frozen=True)
class Publication:
    """One published copy, as named by the pointer."""

    sequence: int
    file: str
    published_at: str
    schema_version: int

    def path(self, paths: DataPaths) -> Path:
        return paths.published / self.file


def read_pointer(paths: DataPaths) -> Publication | None:
    """The newest publication, or None when nothing was published yet."""
    try:
        data = json.loads(paths.pointer.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Publication(**data)


def published_copies(paths: DataPaths) -> list[tuple[int, Path]]:
    """Complete published copies on disk, oldest first."""
    found = []
    if paths.published.is_dir():
        for path in paths.published.iterdir():
            match = _COPY_NAME.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
    return sorted(found)


@dataclass(frozen=True)
class PendingCopy:
    """A copy of the committed warehouse under a temporary name, not yet published."""

    sequence: int
    name: str
    partial: Path
    made_at: datetime
    schema_version: int


def copy_for_publication(con: duckdb.DuckDBPyConnection, paths: DataPaths) -> PendingCopy:
    """Checkpoint and copy the warehouse behind `con` (the writer's connection) to a temporary name.

    The caller must hold the write lock (no transaction may be open on `con`) and the publish lock.
    """
    paths.published.mkdir(parents=True, exist_ok=True)
    run(con, "CHECKPOINT")
    wal = paths.warehouse.with_name(paths.warehouse.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise WarehouseError("Publiceren mislukt: de warehouse is na CHECKPOINT niet volledig weggeschreven.",
                             "Publishing failed: the warehouse was not fully written out after CHECKPOINT.")
    previous = read_pointer(paths)
    on_disk = published_copies(paths)
    sequence = max([previous.sequence if previous else 0] + [seq for seq, _ in on_disk]) + 1
    now = datetime.now(timezone.utc)
    name = f"warehouse-{sequence:08d}-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}.duckdb"
    partial = paths.published / f"{TEMP_PREFIX}{name}"
    shutil.copyfile(paths.warehouse, partial)
    return PendingCopy(sequence, name, partial, now, schema_version(con))


def finish_publication(paths: DataPaths, pending: PendingCopy, keep: int) -> Publication:
    """Add the copy's derived tables, give it its final name and point readers at it. Needs only the
    publish lock: writers go on meanwhile."""
    _add_derived_tables(pending.partial)
    _fsync_file(pending.partial)
    os.replace(pending.partial, paths.published / pending.name)
    publication = Publication(pending.sequence, pending.name, pending.made_at.isoformat(timespec="seconds"),
                              pending.schema_version)
    _write_pointer(paths, publication)
    prune(paths, keep)
    return publication


def _add_derived_tables(copy: Path) -> None:
    """Compute the copy's derived tables in the copy itself (the warehouse keeps only source data)."""
    con = connect(copy)
    try:
        derive(con)
        run(con, "CHECKPOINT")
    finally:
        con.close()


def prune(paths: DataPaths, keep: int) -> list[Path]:
    """Delete copies older than the newest `keep` that no reader holds; return what was deleted."""
    current = read_pointer(paths)
    copies = published_copies(paths)
    deleted = []
    for _, path in copies[: max(0, len(copies) - keep)]:
        if current and path.name == current.file:
            continue
        if _delete_if_unheld(path):
            deleted.append(path)
    return deleted


def remove_partials(paths: DataPaths) -> None:
    """Remove copies left half-written by a crash (only the single writer calls this)."""
    if paths.published.is_dir():
        for path in paths.published.glob(f"{TEMP_PREFIX}*"):
            path.unlink(missing_ok=True)


def hold_shared(path: Path) -> int:
    """Open `path` and hold a shared flock on it, proving a reader uses it. Returns the fd.

    Raises FileNotFoundError when the copy is gone (deleted after the pointer moved on).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise FileNotFoundError(path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _delete_if_unheld(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _write_pointer(paths: DataPaths, publication: Publication) -> None:
    temp = paths.published / f"{TEMP_PREFIX}pointer-{secrets.token_hex(4)}.json"
    temp.write_text(json.dumps(asdict(publication)), encoding="utf-8")
    _fsync_file(temp)
    os.replace(temp, paths.pointer)
    _fsync_dir(paths.published)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
