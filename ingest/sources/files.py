"""Files in an inbox folder (or one file): CSV and XLSX capacity reports."""
from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator

from queries.paths import DataPaths

from ..config import SourceConfig
from ..tabular import AUTO_ENCODING, read_tabular
from . import Batch, FeedMemory

TEMPORARY_SUFFIXES = {".part", ".tmp", ".crdownload", ".partial"}
DEFAULT_SETTLE_SECONDS = 2.0
MAX_FILE_BYTES = 50 * 1024 * 1024
HASH_CHUNK = 8 * 1024 * 1024   # the file is hashed in pieces: memory stays flat in its size


def inbox_of(source: SourceConfig, paths: DataPaths) -> Path:
    """The folder a file source reads: its `path`, else data/inbox/<source id>."""
    return source.path if source.path is not None else paths.inbox / source.id


class FileSource:
    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        location = inbox_of(source, paths)
        settle = float(source.options.get("settle_seconds", DEFAULT_SETTLE_SECONDS))
        if location.is_file():
            yield file_batch(source, location, None)
            return
        location.mkdir(parents=True, exist_ok=True)
        for path in sorted(location.iterdir()):
            if _ready(path, settle):
                yield file_batch(source, path, path)


def _ready(path: Path, settle: float) -> bool:
    """A complete file: regular, not a temporary or hidden one, untouched for `settle` seconds.

    Files of a kind that cannot be read are picked up too, and end in quarantine with a message.
    """
    if not path.is_file() or path.name.startswith((".", "~$")) or path.suffix.lower() in TEMPORARY_SUFFIXES:
        return False
    return time.time() - path.stat().st_mtime >= settle


def file_batch(source: SourceConfig, path: Path, inbox_file: Path | None) -> Batch:
    """A file as one batch, read as the source says (`max_bytes`, `encoding`); `inbox_file` is what to put away
    after its commit (None: read in place)."""
    cap = int(source.options.get("max_bytes", MAX_FILE_BYTES))
    encoding = source.options.get("encoding", AUTO_ENCODING)
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Batch(name=path.name, content_hash=digest.hexdigest(), size=size,
                 read=lambda: read_tabular(path, cap, encoding), inbox_file=inbox_file)
