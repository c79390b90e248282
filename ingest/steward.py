"""What a data steward runs before and after a source goes live: `capacity sources check` (every mistake
ingest would hit, each with its line; with a file at hand, the mapped columns it lacks), `capacity sources
preview ID [FILE]` (what one file or feed answer would become; loads nothing) and `capacity sources reprocess
ID` (the source's archived files read again with its current configuration)."""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from queries.connection import PublishedReader
from queries.errors import CapacityError, NoPublishedData
from queries.paths import DataPaths
from queries.warehouse import Warehouse

from .config import SourceConfig, load_sources
from .fields import normalise_header
from .records import Extract, StructuralError
from .sources import FeedMemory, kind_of
from .sources.files import file_batch, inbox_of
from .tabular import CSV_SUFFIXES, XLSX_SUFFIX
from .validate import Reference, Validated, read_reference, reference_problems, validate

PREVIEW_ROWS = 5
EXAMPLE_ROWS = 3


@dataclass(frozen=True)
class Finding:
    """One thing `check` found: an error stops ingest, a warning may cost rows."""

    source_id: str
    line: int | None
    nl: str
    en: str
    error: bool = True


def published_reference(paths: DataPaths) -> Reference | None:
    """The code lists of the newest published copy (read-only: the ingester may be running); None before
    `capacity init`."""
    reader = PublishedReader(paths)
    try:
        with reader.cursor() as cur:
            return read_reference(cur)
    except NoPublishedData:
        return None
    finally:
        reader.close()


def check(config: Path, paths: DataPaths, source_id: str | None = None, file: Path | None = None) -> list[Finding]:
    """Everything ingest would refuse in the configuration (load_sources raises ConfigError for the
    structure), against the warehouse's code lists; with `file`, what this source would miss in it."""
    sources = _chosen(load_sources(config), source_id)
    reference = published_reference(paths)
    findings: list[Finding] = []
    for source in sources:
        if reference is not None:
            findings += [Finding(source.id, source.line_of(key), nl, en)
                         for key, nl, en in reference_problems(source.rules, reference)]
        findings += _path_findings(source)
        if file is not None:
            findings += _file_findings(source, file)
    if reference is None:
        findings.append(Finding("", None, "nog geen gepubliceerde warehouse: codes (zorgsoorten, gebieden) zijn niet "
                                          "gecontroleerd; start eerst `capacity init`",
                                "no published warehouse yet: codes (care types, areas) were not checked; run "
                                "`capacity init` first", error=False))
    return findings


def _chosen(sources: list[SourceConfig], source_id: str | None) -> list[SourceConfig]:
    if source_id is None:
        return sources
    chosen = [source for source in sources if source.id == source_id]
    if not chosen:
        raise CapacityError(f"Onbekende bron '{source_id}'", f"Unknown source '{source_id}'")
    return chosen


def _path_findings(source: SourceConfig) -> list[Finding]:
    """A `path` naming one file (by its suffix) that does not exist."""
    path = source.path
    if source.kind in ("file", "hsds") and path is not None and path.suffix.lower() in (*CSV_SUFFIXES, XLSX_SUFFIX,
                                                                                        ".zip") and not path.exists():
        return [Finding(source.id, source.line_of("path"), f"'path' {path} bestaat niet",
                        f"'path' {path} does not exist")]
    return []


def _file_findings(source: SourceConfig, file: Path) -> list[Finding]:
    """The columns the configuration names that `file` lacks (warnings), and missing required ones (errors)."""
    try:
        extract = file_batch(source, file, None).read()
    except StructuralError as error:
        return [Finding(source.id, None, error.nl, error.en)]
    header = {normalise_header(column) for column in extract.header}
    rules = source.rules
    named = [(f"mapping.{column}", column) for column in rules.mapping]
    named += [(f"fields.{name}", column) for name, spec in rules.fields.items() for column in spec.columns]
    named += [("filters", spec.column) for spec in rules.filters]
    findings = [Finding(source.id, source.line_of(key), f"{file.name} heeft geen kolom '{column}'",
                        f"{file.name} has no column '{column}'", error=False)
                for key, column in named if normalise_header(column) not in header]
    from .validate import resolve_fields

    try:
        resolve_fields(extract, rules)
    except StructuralError as error:
        findings.append(Finding(source.id, None, error.nl, error.en))
    return findings


def print_findings(findings: list[Finding], lang: str) -> int:
    """The findings in words (per source, with lines); exit code 2 when any is an error."""
    errors = [f for f in findings if f.error]
    for finding in findings:
        kind = ("fout" if lang == "nl" else "error") if finding.error else ("waarschuwing" if lang == "nl"
                                                                           else "warning")
        where = f"{'regel' if lang == 'nl' else 'line'} {finding.line}: " if finding.line else ""
        prefix = f"{finding.source_id}: " if finding.source_id else ""
        print(f"  {kind}: {prefix}{where}{finding.nl if lang == 'nl' else finding.en}",
              file=sys.stderr if finding.error else sys.stdout)
    return 2 if errors else 0


# --- preview -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What one file or feed answer would become."""

    name: str
    rows_in: int
    filtered: int
    valid: Validated
    extract: Extract


def preview(config: Path, paths: DataPaths, source_id: str, file: Path | None = None) -> Preview:
    """Validate one file (given, or the source's newest) or feed answer with the source's rules; nothing is
    loaded or moved."""
    (source,) = _chosen(load_sources(config), source_id)
    reference = published_reference(paths)
    if reference is None:
        raise CapacityError("Nog geen gepubliceerde warehouse; start eerst `capacity init`.",
                            "No published warehouse yet; run `capacity init` first.")
    batch = file_batch(source, file, None) if file is not None else _newest_batch(source, paths)
    extract = batch.read()
    validated = validate(extract, source.rules, reference, datetime.now(timezone.utc))
    rows_in = len(extract.rows) + len({e.row for e in extract.errors})
    return Preview(batch.name, rows_in, validated.filtered, validated, extract)


def _newest_batch(source: SourceConfig, paths: DataPaths):  # noqa: ANN202 - a Batch
    """A file source's newest inbox file (else newest archived file); a feed's or directory's answer now."""
    if source.kind == "file":
        candidates = [p for folder in (inbox_of(source, paths), paths.archive / source.id) if folder.is_dir()
                      for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
        if inbox_of(source, paths).is_file():
            candidates = [inbox_of(source, paths)]
        if not candidates:
            raise CapacityError(f"Bron {source.id}: geen bestand om te bekijken; geef er een mee",
                                f"Source {source.id}: no file to preview; give one")
        return file_batch(source, candidates[-1] if source.path is None else candidates[0], None)
    return next(iter(kind_of(source).batches(source, paths, FeedMemory(None, None, None),
                                             datetime.now(timezone.utc))))


def print_preview(found: Preview, lang: str) -> None:
    valid = found.valid
    rejected_rows = len({error.row for error in valid.rejected})
    nl = lang == "nl"
    print(f"{found.name}: {found.rows_in} {'regels' if nl else 'rows'}; "
          f"{'overgeslagen door filter' if nl else 'skipped by filter'} {found.filtered}, "
          f"{'goed' if nl else 'valid'} {len(valid.records)}, {'afgewezen' if nl else 'rejected'} {rejected_rows}"
          + (f", {'onleesbaar en leeg gelaten' if nl else 'unreadable, left empty'} {valid.left_out}"
             if valid.left_out else ""))
    print(f"\n{'Eerste regels, zoals ze zouden worden geladen' if nl else 'First rows as they would be loaded'}:")
    for record in valid.records[:PREVIEW_ROWS]:
        shown = {f.name: getattr(record, f.name) for f in fields(record) if getattr(record, f.name) not in (None, [], "")}
        print(f"  {'regel' if nl else 'row'} {shown.pop('row')}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    groups = Counter((error.column, error.nl if nl else error.en) for error in valid.rejected)
    if groups:
        print(f"\n{'Afwijzingen, per melding' if nl else 'Rejections, by message'}:")
    for (column, message), count in groups.most_common():
        examples = [str(e.row) for e in valid.rejected if (e.column, e.nl if nl else e.en) == (column, message)]
        print(f"  {count} x {message}  ({'bijv. regel' if nl else 'e.g. row'} {', '.join(examples[:EXAMPLE_ROWS])})")


# --- reprocess -----------------------------------------------------------------------------------------------


def reprocess(config: Path, paths: DataPaths, source_id: str) -> str:
    """Read the source's archived files again with its current configuration (they stay in the archive);
    identical figures change nothing, other figures are corrections. Needs the write lock."""
    from .runner import SourceRunner
    from .single_instance import IngestLock

    (source,) = _chosen(load_sources(config), source_id)
    if source.kind != "file":
        raise CapacityError(f"Bron {source.id} is geen bestandsbron; een feed wordt bij de volgende run opnieuw "
                            "gelezen als de instellingen veranderd zijn",
                            f"Source {source.id} is no file source; a feed is read again at its next run when its "
                            "settings changed")
    with IngestLock(paths.ingest_lock), Warehouse(paths) as warehouse:
        runner = SourceRunner(warehouse, paths)
        summary = runner.reprocess(source)
        warehouse.publish()
    return summary.line()
