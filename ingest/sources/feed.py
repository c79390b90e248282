"""HTTP JSON feeds: a list of capacity records, fetched with conditional GET."""
from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Iterator

from queries.paths import DataPaths

from ..config import SourceConfig
from ..fetch import DEFAULT_DEADLINE_SECONDS, Deadline, FetchError, fetch, parse_json
from ..privacy import personal_fields, refuse_personal
from ..records import Extract, RawRow, RowError, StructuralError
from ..values import as_text
from . import Batch, FeedAnswer, FeedMemory

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def token_of(source: SourceConfig) -> str | None:
    """The bearer token from the environment variable the source names (never from the file itself)."""
    name = source.options.get("auth_env")
    if not name:
        return None
    token = os.environ.get(name)
    if not token:
        raise FetchError(f"De omgevingsvariabele {name} met het token voor bron {source.id} is niet gezet.",
                         f"The environment variable {name} holding the token for source {source.id} is not set.",
                         retryable=False)
    return token


class FeedSource:
    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        assert source.url is not None
        answer = fetch(source.url, etag=memory.etag, last_modified=memory.last_modified, token=token_of(source),
                       timeout=float(source.options.get("timeout_seconds", DEFAULT_TIMEOUT)),
                       max_bytes=int(source.options.get("max_bytes", DEFAULT_MAX_BYTES)),
                       deadline=Deadline.after(float(source.options.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS))),
                       allow_redirects_to=source.options.get("allow_redirects_to", ()))
        if answer.not_modified or answer.body is None:
            return
        body, content_type = answer.body, answer.content_type
        path = source.options.get("records")
        yield Batch(name=source.url, content_hash=hashlib.sha256(body).hexdigest(), size=len(body),
                    read=lambda: records_from_json(parse_json(body, content_type, source.url), path, source.url),
                    feed=FeedAnswer(answer.etag, answer.last_modified))


def records_from_json(document: object, path: str | None, where: str) -> Extract:
    """The list of records in a feed document: the top-level list, or the list at `path` (default 'records');
    PersonalDataError when any record has a personal-data field at any depth (also inside lists)."""
    items = document
    if isinstance(document, dict):
        for key in (path or "records").split("."):
            if not isinstance(items, dict) or key not in items:
                raise StructuralError(f"{where}: het antwoord heeft geen lijst '{path or 'records'}'",
                                      f"{where}: the answer has no list '{path or 'records'}'")
            items = items[key]
    if not isinstance(items, list):
        kind = type(items).__name__
        raise StructuralError(f"{where}: verwacht een lijst met records, kreeg {kind}",
                              f"{where}: expected a list of records, got {kind}")
    if not items:
        raise StructuralError(f"{where}: de feed bevat geen records (een lege lijst)",
                              f"{where}: the feed holds no records (an empty list)")
    refuse_personal(where, personal_fields(items))
    extract = Extract(file_name=where, header=[])
    seen: dict[str, None] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            extract.errors.append(RowError(number, None, as_text(item)[:100], f"record {number} is geen object",
                                           f"record {number} is not an object"))
            continue
        values = flatten(item)
        seen.update(dict.fromkeys(values))
        extract.rows.append(RawRow(number, values))
    extract.header = list(seen)
    return extract


def flatten(item: dict, prefix: str = "") -> dict[str, object]:
    """Nested objects become dotted keys; lists of plain values become 'a; b'."""
    flat: dict[str, object] = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = "; ".join(as_text(v) for v in value if not isinstance(v, (dict, list)))
        else:
            flat[name] = value
    return flat
