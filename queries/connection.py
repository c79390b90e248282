"""The read side: the newest published copy, read-only, a cursor per use, switching without restart.

This is the only module of queries/ and dashboard/ that knows the copies are
local files.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import duckdb

from .db import connect
from .errors import NoPublishedData
from .paths import DataPaths
from .publish import Publication, hold_shared, read_pointer

READ_ONLY_CONFIG = {"enable_external_access": False, "lock_configuration": True}


@dataclass
class _Snapshot:
    publication: Publication
    con: duckdb.DuckDBPyConnection
    lock_fd: int
    users: int = 0
    retired: bool = False
    closed: bool = field(default=False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.con.close()
            os.close(self.lock_fd)


class PublishedReader:
    """Reads the newest published copy; checks for a newer one at most every `poll_seconds`.

    `with reader.cursor() as cur:` gives the calling thread its own cursor on one
    consistent copy; a copy is closed (and its reader lock released) once a
    newer one is in use and no cursor on it remains.
    """

    def __init__(self, paths: DataPaths, poll_seconds: float = 1.0) -> None:
        self.paths = paths
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._current: _Snapshot | None = None
        self._pointer_stat: tuple[int, int, int] | None = None
        self._next_check = 0.0

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.snapshot() as (_, cur):
            yield cur

    @contextmanager
    def snapshot(self) -> Iterator[tuple[Publication, duckdb.DuckDBPyConnection]]:
        """The publication being read and a cursor on exactly that copy."""
        snapshot = self._acquire()
        try:
            cur = snapshot.con.cursor()
            try:
                yield snapshot.publication, cur
            finally:
                cur.close()
        finally:
            self._release(snapshot)

    def publication(self) -> Publication:
        """The publication the next cursor will read."""
        snapshot = self._acquire()
        self._release(snapshot)
        return snapshot.publication

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                if self._current.users == 0:
                    self._current.close()
                self._current = None

    def _acquire(self) -> _Snapshot:
        with self._lock:
            now = time.monotonic()
            if self._current is None or now >= self._next_check:
                self._next_check = now + self.poll_seconds
                self._refresh()
            assert self._current is not None
            self._current.users += 1
            return self._current

    def _release(self, snapshot: _Snapshot) -> None:
        with self._lock:
            snapshot.users -= 1
            if snapshot.retired and snapshot.users == 0:
                snapshot.close()

    def _refresh(self) -> None:
        stat = _pointer_stat(self.paths)
        if self._current is not None and stat == self._pointer_stat:
            return
        for _ in range(5):
            publication = read_pointer(self.paths)
            if publication is None:
                raise NoPublishedData(
                    f"Er zijn nog geen gepubliceerde gegevens in {self.paths.published}; voer `capacity init` uit.",
                    f"No published data yet in {self.paths.published}; run `capacity init`.")
            if self._current is not None and publication.sequence == self._current.publication.sequence:
                self._pointer_stat = stat
                return
            try:
                fresh = _open_snapshot(self.paths, publication)
            except FileNotFoundError:
                stat = _pointer_stat(self.paths)
                continue  # the pointer moved on while we opened; read it again
            old, self._current, self._pointer_stat = self._current, fresh, stat
            if old is not None:
                old.retired = True
                if old.users == 0:
                    old.close()
            return
        raise NoPublishedData("De gepubliceerde kopie verdween steeds tijdens het openen; probeer het opnieuw.",
                              "The published copy kept disappearing while being opened; try again.")


def _open_snapshot(paths: DataPaths, publication: Publication) -> _Snapshot:
    path = publication.path(paths)
    fd = hold_shared(path)
    try:
        con = connect(path, read_only=True, config=READ_ONLY_CONFIG)
    except BaseException:
        os.close(fd)
        raise
    return _Snapshot(publication, con, fd)


def _pointer_stat(paths: DataPaths) -> tuple[int, int, int] | None:
    try:
        st = os.stat(paths.pointer)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
