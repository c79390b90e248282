"""Source kinds: each module turns one configured source into batches of content.

A batch is one unit of exactly-once content (a file, a feed answer, a package):
its content hash keys it, `read()` extracts its raw rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Callable, Iterator, Protocol

from queries.paths import DataPaths

from ..config import SourceConfig
from ..records import Extract


@dataclass(frozen=True)
class FeedAnswer:
    """What a feed answered, kept for the next conditional GET."""

    etag: str | None
    last_modified: str | None


@dataclass
class Batch:
    name: str
    content_hash: str
    size: int
    read: Callable[[], Extract]
    inbox_file: Path | None = None      # moved to archive/quarantine after commit
    feed: FeedAnswer | None = None


@dataclass(frozen=True)
class FeedMemory:
    """What the warehouse remembers of a feed's last answer."""

    etag: str | None
    last_modified: str | None
    content_hash: str | None


class SourceKind(Protocol):
    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        """The content this source has now; raise FetchError/StructuralError when it cannot be had."""
        ...


KIND_CLASSES = {"file": ("files", "FileSource"), "http": ("feed", "FeedSource"), "hsds": ("hsds", "HsdsSource"),
                "submission": ("submissions", "SubmissionSource"),   # built in only (ingest/signals.py)
                "form": ("submissions", "ProviderFormSource")}    # built in only (ingest/provider_form.py)
STORED_KINDS = {"form": "submission"}   # the warehouse knows both built-in kinds as web submissions


def kind_of(source: SourceConfig) -> SourceKind:
    """The module behind a source kind (imported when first used)."""
    module, name = KIND_CLASSES[source.kind]
    return getattr(import_module(f"{__name__}.{module}"), name)()
