"""sources.toml: the declarative list of sources, validated with every problem named by line."""
from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from queries.errors import CapacityError

from .rules import RULE_KEYS, SourceRules, rule_problems, rules_of
from .schedule import build_trigger
from .tabular import AUTO_ENCODING, ENCODINGS

KINDS = ("file", "http", "hsds")
KNOWN_KEYS = RULE_KEYS | frozenset({"id", "kind", "schedule", "path", "url", "freshness_days", "auth_env", "records",
                                    "settle_seconds", "timeout_seconds", "max_bytes", "deadline_seconds",
                                    "allow_redirects_to", "per_page", "max_pages", "description", "demo",
                                    "encoding"})
FINGERPRINT_KEYS = RULE_KEYS | frozenset({"records", "freshness_days", "encoding"})
SECRET_KEYS = frozenset({"token", "password", "secret", "api_key", "apikey", "authorization"})
_SOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
_HEADER = re.compile(r"\s*\[\[\s*sources\s*\]\]\s*(#.*)?$")
_KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


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
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)   # key (table.key) -> its line

    def line_of(self, key: str) -> int | None:
        """The line of a key (or of its table, or of the source) in sources.toml."""
        return line_in(self.key_lines, key, self.line)

    @cached_property
    def rules(self) -> SourceRules:
        """What the configuration says about the source's rows (ingest/rules.py)."""
        return rules_of(self.options)

    @cached_property
    def fingerprint(self) -> str:
        """A hash of everything in the configuration that changes what a file or feed answer yields: content
        read under other rules counts as new, so a corrected mapping takes effect at the next run."""
        relevant = {key: self.options[key] for key in sorted(FINGERPRINT_KEYS) if key in self.options}
        text = json.dumps({"kind": self.kind, **relevant}, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
            return line_in(lines, key, start)

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
        if kind == "file" and location_path is not None and not isinstance(location_path, str):
            problems.append((at("path"), "'path' moet tekst zijn (een map of bestand)",
                             "'path' must be text (a folder or file)"))
        if kind == "http" and not isinstance(url, str):
            problems.append((at("url"), "een bron van soort 'http' heeft 'url' nodig",
                             "a source of kind 'http' needs 'url'"))
        if kind == "hsds" and not isinstance(url, str) and not isinstance(location_path, str):
            problems.append((start, "een bron van soort 'hsds' heeft 'url' (API) of 'path' (pakket) nodig",
                             "a source of kind 'hsds' needs 'url' (API) or 'path' (package)"))
        problems.extend(_option_problems(entry, at))
        if len(problems) == before:
            resolved = (path.parent / location_path).resolve() if isinstance(location_path, str) else None
            options = {k: v for k, v in entry.items() if k not in ("id", "kind", "schedule", "path", "url")}
            sources.append(SourceConfig(source_id, kind, schedule, resolved, url, options, start, dict(lines)))
    if problems:
        problems.sort(key=lambda problem: problem[0] or 0)
        raise ConfigError(_listing(path, problems, "nl"), _listing(path, problems, "en"))
    return sources


def _option_problems(entry: dict, at: Callable[[str], int | None]) -> list[tuple[int | None, str, str]]:
    problems = []
    for key in entry:
        if key in SECRET_KEYS:
            problems.append((at(key), f"'{key}': zet nooit een geheim in dit bestand; noem in 'auth_env' de "
                                      "omgevingsvariabele die het token bevat",
                             f"'{key}': never put a secret in this file; name the environment variable holding "
                             "the token in 'auth_env'"))
        elif key not in KNOWN_KEYS:
            problems.append((at(key), f"onbekende instelling '{key}' (bekend: {', '.join(sorted(KNOWN_KEYS))})",
                             f"unknown setting '{key}' (known: {', '.join(sorted(KNOWN_KEYS))})"))
    problems += [(at(key), nl, en) for key, nl, en in rule_problems(entry)]
    if entry.get("encoding", AUTO_ENCODING) not in ENCODINGS:
        problems.append((at("encoding"), f"'encoding' moet een van {', '.join(ENCODINGS)} zijn, niet {entry['encoding']!r}",
                         f"'encoding' must be one of {', '.join(ENCODINGS)}, not {entry['encoding']!r}"))
    if "demo" in entry and not isinstance(entry["demo"], bool):
        problems.append((at("demo"), "'demo' moet true of false zijn", "'demo' must be true or false"))
    problems.extend(_time_problems(entry, at))
    problems.extend(_redirect_problems(entry, at))
    freshness = entry.get("freshness_days")
    if freshness is not None and (not isinstance(freshness, int) or isinstance(freshness, bool) or freshness < 1):
        problems.append((at("freshness_days"), "'freshness_days' moet een geheel getal ≥ 1 zijn",
                         "'freshness_days' must be a whole number ≥ 1"))
    return problems


def _time_problems(entry: dict, at: Callable[[str], int | None]) -> list[tuple[int | None, str, str]]:
    """timeout_seconds (per call) and deadline_seconds (the whole fetch): numbers above 0, the deadline not
    shorter than the timeout."""
    from .fetch import DEFAULT_DEADLINE_SECONDS
    from .sources.feed import DEFAULT_TIMEOUT

    timeout = entry.get("timeout_seconds", DEFAULT_TIMEOUT)
    deadline = entry.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS)
    problems = [(at(key), f"'{key}' moet een getal groter dan 0 zijn (seconden), niet {value!r}",
                 f"'{key}' must be a number above 0 (seconds), not {value!r}")
                for key, value in (("timeout_seconds", timeout), ("deadline_seconds", deadline))
                if not _positive_number(value)]
    if not problems and deadline < timeout:
        problems.append((at("deadline_seconds" if "deadline_seconds" in entry else "timeout_seconds"),
                         f"'deadline_seconds' ({deadline:g}) is korter dan 'timeout_seconds' ({timeout:g}); de "
                         "deadline geldt voor het hele ophalen en moet minstens zo lang zijn",
                         f"'deadline_seconds' ({deadline:g}) is shorter than 'timeout_seconds' ({timeout:g}); the "
                         "deadline covers the whole fetch and must be at least as long"))
    return problems


def _positive_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and value > 0)


def _redirect_problems(entry: dict, at: Callable[[str], int | None]) -> list[tuple[int | None, str, str]]:
    """allow_redirects_to: a list of origins, each http(s)://host[:port] and nothing more."""
    from .fetch import parse_origin

    origins = entry.get("allow_redirects_to", [])
    if not isinstance(origins, list):
        return [(at("allow_redirects_to"), "'allow_redirects_to' moet een lijst van herkomsten zijn, zoals "
                 '["https://ander.example"]', "'allow_redirects_to' must be a list of origins, like "
                 '["https://other.example"]')]
    problems = []
    for origin in origins:
        try:
            parse_origin(origin)
        except ValueError:
            problems.append((at("allow_redirects_to"),
                             f"'allow_redirects_to': {origin!r} is geen herkomst; schrijf http(s)://host of "
                             "http(s)://host:poort, zonder pad, gebruiker of query",
                             f"'allow_redirects_to': {origin!r} is not an origin; write http(s)://host or "
                             "http(s)://host:port, without path, user or query"))
    return problems


def _listing(path: Path, problems: list[tuple[int | None, str, str]], lang: str) -> str:
    head = (f"{path}: {len(problems)} probleem/problemen:" if lang == "nl"
            else f"{path}: {len(problems)} problem(s):")
    word = "regel" if lang == "nl" else "line"
    body = [f"  {word} {line}: {nl if lang == 'nl' else en}" if line else f"  {nl if lang == 'nl' else en}"
            for line, nl, en in problems]
    return "\n".join([head, *body])


def line_in(lines: dict[str, int], key: str, default: int | None) -> int | None:
    """The line of a dotted key ("values.care_type.opvang"), else of the nearest table holding it."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        found = lines.get(".".join(parts[:end]), lines.get(".".join(parts[:end]).lower()))
        if found is not None:
            return found
    return default


def _block_lines(text: str) -> list[dict[str, int]]:
    """Per [[sources]] block: its header line ('' key), each key's line, and `table.key` for sub-tables."""
    blocks: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if _HEADER.match(line):
            current, table = {"": number}, ""
            blocks.append(current)
        elif stripped.startswith(("[sources.", "[[sources.")) and current is not None:
            table = stripped.strip("[]").split(".", 1)[1].strip()
            current.setdefault(table, number)
        elif stripped.startswith("["):
            current = None
        elif current is not None:
            match = _KEY.match(line)
            if match:
                key = match.group(1).strip("\"'")
                current.setdefault(f"{table}.{key}" if table else key, number)
                current.setdefault(f"{table}.{key.strip().lower()}" if table else key.lower(), number)
    return blocks
