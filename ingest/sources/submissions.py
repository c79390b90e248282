"""The built-in sources of what the web took in, left as small files in an inbox folder of their own:
the demand signals (data/inbox/_signalen, ingest/signals.py) and the providers' own figures
(data/inbox/_aanbieders, ingest/provider_form.py).

Each settled file (not a hidden temporary one) is one batch, keyed by its content like any file; the
module named above reads, checks and stores it.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from queries.paths import DataPaths

from ..config import SourceConfig
from ..provider_form import form_inbox, read_submission
from ..records import Extract
from ..signals import read_signal, signal_inbox
from . import Batch, FeedMemory
from .files import _ready

SETTLE_SECONDS = 1.0


class _WebInbox:
    """Batches from one folder the web writes, read with one reader."""

    folder: Callable[[DataPaths], Path]
    reader: Callable[[str, bytes], Extract]

    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        folder = type(self).folder(paths)
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if _ready(path, SETTLE_SECONDS):
                yield self._batch(path)

    def _batch(self, path: Path) -> Batch:
        data = path.read_bytes()
        reader = type(self).reader
        return Batch(name=path.name, content_hash=hashlib.sha256(data).hexdigest(), size=len(data),
                     read=lambda: reader(path.name, data), inbox_file=path)


class SubmissionSource(_WebInbox):
    folder = signal_inbox
    reader = read_signal


class ProviderFormSource(_WebInbox):
    folder = form_inbox
    reader = read_submission
