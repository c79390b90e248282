"""The built-in source of providers' own figures: the submissions the web form left in data/inbox/_aanbieders.

Each settled file is one batch, keyed by its content like any file; ingest/provider_updates.py checks its
link and figures and loads them.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Iterator

from queries.paths import DataPaths

from ..config import SourceConfig
from ..provider_form import form_inbox, read_submission
from . import Batch, FeedMemory
from .files import _ready

SETTLE_SECONDS = 1.0


class ProviderFormSource:
    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        folder = form_inbox(paths)
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if _ready(path, SETTLE_SECONDS):
                yield _batch(path)


def _batch(path: Path) -> Batch:
    data = path.read_bytes()
    return Batch(name=path.name, content_hash=hashlib.sha256(data).hexdigest(), size=len(data),
                 read=lambda: read_submission(path.name, data), inbox_file=path)
