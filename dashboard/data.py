"""The web worker's one reader of published copies (configured at app creation)."""
from __future__ import annotations

from queries.connection import PublishedReader
from queries.paths import DataPaths

_reader: PublishedReader | None = None


def configure(paths: DataPaths, poll_seconds: float) -> PublishedReader:
    global _reader
    _reader = PublishedReader(paths, poll_seconds)
    return _reader


def reader() -> PublishedReader:
    if _reader is None:
        raise RuntimeError("dashboard.data.configure() was not called")
    return _reader
