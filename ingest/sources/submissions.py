"""The built-in submission source: the demand signals the web left in data/inbox/_signalen.

Each settled file (not a hidden temporary one) is one batch, keyed by its content like any file;
ingest/signals.py reads, checks and stores it.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Iterator

from queries.paths import DataPaths

from ..config import SourceConfig
from ..signals import read_signal, signal_inbox
from . import Batch, FeedMemory
from .files import _ready

SETTLE_SECONDS = 1.0


class SubmissionSource:
    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        folder = signal_inbox(paths)
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if _ready(path, SETTLE_SECONDS):
                yield _batch(path)


def _batch(path: Path) -> Batch:
    data = path.read_bytes()
    return Batch(name=path.name, content_hash=hashlib.sha256(data).hexdigest(), size=len(data),
                 read=lambda: read_signal(path.name, data), inbox_file=path)
