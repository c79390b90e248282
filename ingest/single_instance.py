"""One ingest process per data folder, enforced with an flock on data/ingest.lock."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from queries.errors import CapacityError


class IngestAlreadyRunning(CapacityError):
    pass


class IngestLock:
    """Held for the life of the ingest process; the kernel releases it if the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> "IngestLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise IngestAlreadyRunning(
                f"Er draait al een ingest-proces (pid {holder}) voor de datamap {self.path.parent}; "
                "er mag er maar één tegelijk schrijven.",
                f"An ingest process (pid {holder}) is already running for the data folder {self.path.parent}; "
                "only one may write at a time.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "IngestLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
