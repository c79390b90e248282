"""sources.toml: the declarative list of sources, validated with every problem named by line."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from queries.errors import CapacityError

from .schedule import build_trigger

KINDS = ("file", "http", "hsds")
_SOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
_HEADER = re.compile(r"\s*\[\[\s*sources\s*\]\]\s*(#.*)?$")
_KEY = re.compile(r"\s*([A-Za-z0-9_\"'.-]+)\s*=")


class ConfigError(CapacityError):
    """The sources configuration has problems; each is listed with its line."""


@dataclass(frozen=True)
class SourceConfig:
    """One source as configured."""

    id: str
    kind: str
    schedule: str
    path: Path | None = None
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


def load_sources(path: Path) -> list[SourceConfig]:
    """Read and validate `path`; raise ConfigError naming every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: kan niet worden gelezen ({error.strerror})",
                          f"{path}: cannot be read ({error.strerror})") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: geen geldige TOML: {error}", f"{path}: not valid TOML: {error}") from error
    blocks = _block_lines(text)
    problems: list[tuple[int | None, str, str]] = []
    sources: list[SourceConfig] = []
    seen: dict[str, int | None] = {}
    entries = data.get("sources", [])
    if not isinstance(entries, list):
        problems.append((None, "'sources' moet een lijst [[sources]] zijn", "'sources' must be a list [[sources]]"))
        entries = []
    for index, entry in enumerate(entries):
        lines = blocks[index] if index < len(blocks) else {}
        start = lines.get("", None)

        def at(key: str) -> int | None:
            return lines.get(key, start)

        before = len(problems)
        source_id = entry.get("id")
        if not isinstance(source_id, str) or not _SOURCE_ID.fullmatch(source_id):
            problems.append((at("id"), f"bron {index + 1}: 'id' ontbreekt of is ongeldig ({source_id!r}); "
                                       "gebruik letters, cijfers, _ . -",
                             f"source {index + 1}: 'id' is missing or invalid ({source_id!r}); "
                             "use letters, digits, _ . -"))
        elif source_id in seen:
            problems.append((at("id"), f"bron-id '{source_id}' komt twee keer voor (ook op regel {seen[source_id]})",
                             f"source id '{source_id}' occurs twice (also on line {seen[source_id]})"))
        else:
            seen[source_id] = at("id")
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append((at("kind"), f"'kind' moet een van {', '.join(KINDS)} zijn, niet {kind!r}",
                             f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}"))
        schedule = entry.get("schedule")
        try:
            build_trigger(str(schedule)) if isinstance(schedule, str) else None
            if not isinstance(schedule, str):
                raise ValueError("missing")
        except ValueError as error:
            problems.append((at("schedule"), f"'schedule' {schedule!r} is geen interval (15m) of cron-uitdrukking "
                                             f"({error})",
                             f"'schedule' {schedule!r} is not an interval (15m) or cron expression ({error})"))
        location_path, url = entry.get("path"), entry.get("url")
        if kind == "file" and not isinstance(location_path, str):
            problems.append((at("path"), "een bron van soort 'file' heeft 'path' nodig (map, bestand of zip)",
                             "a source of kind 'file' needs 'path' (folder, file or zip)"))
        if kind == "http" and not isinstance(url, str):
            problems.append((at("url"), "een bron van soort 'http' heeft 'url' nodig",
                             "a source of kind 'http' needs 'url'"))
        if kind == "hsds" and not isinstance(url, str) and not isinstance(location_path, str):
            problems.append((start, "een bron van soort 'hsds' heeft 'url' (API) of 'path' (pakket) nodig",
                             "a source of kind 'hsds' needs 'url' (API) or 'path' (package)"))
        if len(problems) == before:
            resolved = (path.parent / location_path).resolve() if isinstance(location_path, str) else None
            options = {k: v for k, v in entry.items() if k not in ("id", "kind", "schedule", "path", "url")}
            sources.append(SourceConfig(source_id, kind, schedule, resolved, url, options, start))
    if problems:
        raise ConfigError(_listing(path, problems, "nl"), _listing(path, problems, "en"))
    return sources


def _listing(path: Path, problems: list[tuple[int | None, str, str]], lang: str) -> str:
    head = (f"{path}: {len(problems)} probleem/problemen:" if lang == "nl"
            else f"{path}: {len(problems)} problem(s):")
    word = "regel" if lang == "nl" else "line"
    body = [f"  {word} {line}: {nl if lang == 'nl' else en}" if line else f"  {nl if lang == 'nl' else en}"
            for line, nl, en in problems]
    return "\n".join([head, *body])


def _block_lines(text: str) -> list[dict[str, int]]:
    """Per [[sources]] block: its header line ('' key) and the line of each top-level key."""
    blocks: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if _HEADER.match(line):
            current = {"": number}
            blocks.append(current)
        elif line.lstrip().startswith("["):
            if current is not None and not line.lstrip().startswith("[sources."):
                current = None
        elif current is not None:
            match = _KEY.match(line)
            if match:
                current.setdefault(match.group(1).strip("\"'"), number)
    return blocks
