"""One source run: fetch its batches, validate, load in one transaction, then move files.

A batch's rows, its rejected rows and its ledger row commit together or not at
all; files move inbox -> archive/quarantine only after that commit. Whatever
goes wrong with one source is recorded as a failed run and never stops others.
Privacy (ingest/privacy.py): a file with personal data of clients is deleted after
the commit, one with street addresses is kept only as a scrubbed copy, and BSN-like
numbers are masked in every rejected row, report and error message.

Crash windows: what a batch owes after its commit (moving or deleting its inbox file,
its scrubbed copy, its report) is listed in the warehouse with the commit (for a refused
or re-dropped file just before it) and unlisted when done. Each step is idempotent and
written from what the warehouse committed, so the next run of the source finishes a
listed put-away that a kill interrupted with every artefact once, identical to an
uninterrupted run. A refused inbox file's content is refused once in the ledger.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import duckdb

from queries.db import run
from queries.paths import DataPaths
from queries.text import printable
from queries.warehouse import Warehouse

from .config import SourceConfig
from .crashpoints import reach
from .fetch import FetchError
from .load import (LoadResult, PutAway, feed_state, list_put_away, listed_put_aways, load_checked, next_run_id,
                   record_feed_state, record_file, record_rejected, record_run, register_source, rejected_of_run,
                   seen_file, unlist_put_away)
from .privacy import (ScrubbedCopy, address_columns, masked, masked_errors, personal_columns, personal_data_error,
                      scrubbed_copy)
from .quarantine import (archive_file, delete_personal_file, delete_unreadable_with_addresses, free_stamped_name,
                         quarantine_file, write_rejected_report)
from .records import Extract, RowError, StructuralError
from .tabular import sniff_header
from .provider_form import FORM_KIND, FormExtract
from .provider_links import LinkStore
from .provider_updates import CheckedForm, check_form, load_form
from .signals import SUBMISSION_KIND, CheckedSignal, check_signal, load_signal
from .sources import STORED_KINDS, Batch, FeedMemory, kind_of
from .sources.files import file_batch
from .validate import (Checked, Reference, Validated, bsn_columns, check_rows, read_reference,
                       reference_version, scan_plain_file)

log = logging.getLogger("capacity.ingest")

UPDATE_NEXT_RUN = "UPDATE source SET next_run_at = ? WHERE source_id = ?"
REFUSED_BEFORE = ("{name}: deze inhoud is al eerder geweigerd; weer weggezet zoals de eerste keer (zie het rapport in "
                  "quarantaine) / this content was refused before; put away again as the first time (see its report "
                  "in quarantine)")
UNEXPECTED_SHOWN = 200


@dataclass
class RunSummary:
    """What one source run did, for `capacity ingest --once` and the log."""

    source_id: str
    status: str = "unchanged"
    loaded: int = 0
    rejected: int = 0
    unchanged: int = 0
    corrected: int = 0
    filtered: int = 0
    left_out: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, status: str, loaded: int = 0, rejected: int = 0, unchanged: int = 0, message: str = "",
            corrected: int = 0, filtered: int = 0, left_out: int = 0) -> None:
        order = ["unchanged", "ok", "partial", "failed"]
        self.status = max(self.status, status, key=order.index)
        self.loaded += loaded
        self.rejected += rejected
        self.unchanged += unchanged
        self.corrected += corrected
        self.filtered += filtered
        self.left_out += left_out
        if message:
            self.messages.append(printable(message))

    def line(self) -> str:
        text = (f"{self.source_id}: {self.status} — geladen/loaded {self.loaded}, afgewezen/rejected {self.rejected}, "
                f"ongewijzigd/unchanged {self.unchanged}")
        if self.corrected:
            text += f", waarvan correcties/of which corrections {self.corrected}"
        if self.filtered:
            dutch_thousands = f"{self.filtered:,}".replace(",", ".")
            text += f", overgeslagen door filter/skipped by filter {dutch_thousands}"
        if self.left_out:
            text += f", onleesbare waarden leeg gelaten/unreadable values left empty {self.left_out}"
        return text + "".join(f"\n    {message}" for message in self.messages)


class SourceRunner:
    """Runs sources against the one warehouse; safe to call from several scheduler threads.

    A feed whose content failed is not remembered, so every later run fails again
    (and counts as a consecutive failure) until the feed is repaired.
    """

    def __init__(self, warehouse: Warehouse, paths: DataPaths) -> None:
        self.warehouse = warehouse
        self.paths = paths
        self.publish_requested = threading.Event()   # figures changed: publish soon
        self.ledger_changed = threading.Event()      # only the run ledger changed: publish now and then
        self.stopping = threading.Event()            # the ingester stops: start no further batch
        self.last_published = 0.0
        self.links = LinkStore(paths.provider_links)
        self._running = 0
        self._idle = threading.Condition()
        self._reference: tuple[tuple, Reference] | None = None   # (its version, the code lists)

    def run(self, source: SourceConfig) -> RunSummary:
        """One run of a source: every new batch, each committed or rolled back whole (see the module)."""
        with self._idle:
            self._running += 1
        try:
            return self._run(source)
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def wait_until_idle(self, seconds: float) -> bool:
        """Wait (at most `seconds`) until no source run is busy; whether none is."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=seconds)

    def _run(self, source: SourceConfig) -> RunSummary:
        summary = RunSummary(source.id)
        started = datetime.now(timezone.utc)
        try:
            self._finish_put_aways(source)
            memory = self._memory(source)
            batches = list(kind_of(source).batches(source, self.paths, memory, started))
        except (FetchError, StructuralError) as error:
            self._record_failure(source, started, None, None, error.nl, error.en)
            summary.add("failed", message=error.message())
            return summary
        except Exception as error:  # a bug or an unreadable folder: record it, never stop the other sources
            log.exception("source %s failed", source.id)
            self._record_failure(source, started, None, None, *unexpected(error))
            summary.add("failed", message=str(error))
            return summary
        if not batches:
            self._record_unchanged(source, started, None)
        for batch in batches:
            if self.stopping.is_set():
                break   # the rest waits in the inbox (or at the source) for the next start
            self._run_batch(source, batch, summary)
        return summary

    def reprocess(self, source: SourceConfig) -> RunSummary:
        """Read the source's archived files again, oldest first, with its current configuration; they stay in
        the archive. Identical figures change nothing; other figures are corrections."""
        summary = RunSummary(source.id)
        folder = self.paths.archive / source.id
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_file() and not path.name.startswith("."):
                self._run_batch(source, file_batch(source, path, None), summary, again=True)
        return summary

    def _run_batch(self, source: SourceConfig, batch: Batch, summary: RunSummary, again: bool = False) -> None:
        started = datetime.now(timezone.utc)
        seen = None if again else self._seen(source, batch)
        if seen is not None and batch.inbox_file is not None:
            self._put_away_again(source, batch, started, seen, summary)
            return
        if seen == "loaded":
            self._record_unchanged(source, started, batch)
            summary.add("unchanged")
            return
        extract: Extract | None = None
        try:
            extract = batch.read()
            validated = self._validate(source, extract, started)
        except StructuralError as error:
            masked(error)
            listed = self._list(source, batch, started) if batch.inbox_file is not None else None
            self._record_failure(source, started, batch, "quarantined", error.nl, error.en)
            if listed is not None:
                self._put_away(source, listed, batch, extract)
            summary.add("failed", message=error.message())
            return
        except Exception as error:
            log.exception("source %s: batch %s failed", source.id, batch.name)
            self._record_failure(source, started, None, None, *unexpected(error))
            summary.add("failed", message=str(error))
            return
        try:
            rows_in = validated.rows_in if isinstance(validated, Checked) else \
                len(extract.rows) + len({e.row for e in extract.errors})
            with self.warehouse.transaction() as con:
                now = datetime.now(timezone.utc)
                self._register(con, source, now)
                run_id = next_run_id(con)
                result = self._load(con, source, run_id, validated, now)
                rejected = masked_errors(_named(validated.rejected + result.rejected, validated))
                rejected_rows = len({e.row for e in rejected})
                filtered = getattr(validated, "filtered", 0)
                status, error = _outcome(rows_in - filtered, result.loaded, rejected_rows)
                record_rejected(con, run_id, source.id, batch.name, rejected, now)
                record_run(con, run_id, source.id, started, now, status, rows_in, result.loaded, rejected_rows,
                           batch.name, batch.content_hash, error, filtered)
                self._remember(con, source, batch, "loaded", run_id, now)
                owes = batch.inbox_file is not None or rejected   # a file to put away, or a report to write
                listed = self._put_away_of(source, batch, started, run_id) if owes else None
                if listed is not None:
                    list_put_away(con, listed)
        except Exception as error:  # rolled back: nothing of this batch is stored; the file stays in the inbox
            log.exception("source %s: loading %s failed", source.id, batch.name)
            self._record_failure(source, started, None, None, *unexpected(error, while_loading=True))
            summary.add("failed", message=str(error))
            return
        finally:
            if isinstance(validated, Checked):
                with self.warehouse.lock:
                    validated.drop()
        self.publish_requested.set()
        if listed is not None:
            self._put_away(source, listed, batch if batch.inbox_file is not None else None, extract)
        summary.add(status, result.loaded, rejected_rows, result.unchanged, corrected=result.corrected,
                    filtered=filtered, left_out=getattr(validated, "left_out", 0))
        log.info("source %s: %s %s loaded=%d rejected=%d corrected=%d", source.id, batch.name, status, result.loaded,
                 rejected_rows, result.corrected)

    def _put_away_again(self, source: SourceConfig, batch: Batch, started: datetime, seen: str,
                        summary: RunSummary) -> None:
        """An inbox file whose content the ledger knows (dropped again, or left behind): put away as the first
        time, never loaded again nor refused a second time; a loaded file's new drop is recorded as unchanged."""
        listed = self._list(source, batch, started)
        if seen == "loaded":
            self._record_unchanged(source, started, batch)
            summary.add("unchanged")
        else:
            summary.add("unchanged", message=REFUSED_BEFORE.format(name=batch.name))
        self._put_away(source, listed, batch)

    def _put_away_of(self, source: SourceConfig, batch: Batch, started: datetime, run_id: int | None) -> PutAway:
        """What a batch owes after its commit; its file's name in archive or quarantine is fixed here."""
        inbox_file = batch.inbox_file
        base = free_stamped_name(self.paths, source.id, batch.name, started) if inbox_file is not None else None
        return PutAway(source.id, batch.content_hash, batch.name, started,
                       str(inbox_file) if inbox_file is not None else None, base, run_id)

    def _list(self, source: SourceConfig, batch: Batch, started: datetime) -> PutAway:
        """List an inbox file's put-away before the commit it follows (a refusal, an unchanged run): a kill in
        between leaves it listed; a refusal that never committed is then unlisted (see `_put_away`)."""
        listed = self._put_away_of(source, batch, started, None)
        with self.warehouse.transaction() as con:
            list_put_away(con, listed)
        return listed

    def _finish_put_aways(self, source: SourceConfig) -> None:
        """Finish the put-aways of this source that a kill interrupted after their commit."""
        with self.warehouse.lock:
            listed = listed_put_aways(self.warehouse.con, source.id)
        in_inbox = self._inbox_batches(source) if any(item.inbox_file for item in listed) else {}
        for item in listed:
            log.info("source %s: finishing the interrupted put-away of %s", source.id, item.file_name)
            self._put_away(source, item, in_inbox.get((item.inbox_file, item.content_hash)))

    def _inbox_batches(self, source: SourceConfig) -> dict[tuple[str, str], Batch]:
        """The files in the source's inbox now, by path and content hash."""
        batches = kind_of(source).batches(source, self.paths, FeedMemory(None, None, None), datetime.now(timezone.utc))
        return {(str(batch.inbox_file), batch.content_hash): batch for batch in batches if batch.inbox_file is not None}

    def _put_away(self, source: SourceConfig, listed: PutAway, batch: Batch | None,
                  extract: Extract | None = None) -> None:
        """Do the file operations a committed batch owes, from what the warehouse holds, then unlist them. Done
        again after a kill, each ends the same way; `batch` is its inbox file while that is still there."""
        reach("committed")
        with self.warehouse.lock:
            seen = seen_file(self.warehouse.con, source.id, listed.content_hash)
            rejected = rejected_of_run(self.warehouse.con, listed.run_id) if listed.run_id is not None else []
        if seen is not None and seen.outcome == "quarantined":
            if batch is not None:   # else it is gone: its report was written before it was moved or deleted
                self._put_refused_away(source, listed, batch, StructuralError(seen.error_nl, seen.error_en),
                                       extract)
        elif seen is not None or listed.run_id is not None:   # else: listed for a refusal that never committed
            if rejected:
                write_rejected_report(self.paths, source.id, listed.file_name, listed.stamp, rejected)
            if batch is not None:
                self._archive(source, listed, batch, extract)
        reach("put-away")
        with self.warehouse.transaction() as con:
            unlist_put_away(con, listed)

    def _archive(self, source: SourceConfig, listed: PutAway, batch: Batch, extract: Extract | None) -> None:
        """A loaded inbox file to the archive (only a scrubbed copy when it had addresses or BSNs); deleted with a
        report when it has a column now known as personal data."""
        assert batch.inbox_file is not None and listed.base is not None
        extract = extract if extract is not None else self._readable(source, batch)
        personal = personal_columns(extract.header) if extract is not None else []
        if personal:
            delete_personal_file(self.paths, source.id, batch.inbox_file, listed.base,
                                 personal_data_error(batch.name, personal), personal)
            return
        archive_file(self.paths, source.id, batch.inbox_file, listed.base, self._copy_of(source, extract))

    def _put_refused_away(self, source: SourceConfig, listed: PutAway, batch: Batch, error: StructuralError,
                          extract: Extract | None) -> None:
        """A refused inbox file: deleted when it holds personal data or is unreadable with addresses, else
        quarantined (as a scrubbed copy when it had addresses)."""
        assert batch.inbox_file is not None and listed.base is not None
        extract = extract if extract is not None else self._readable(source, batch)
        header = extract.header if extract is not None else sniff_header(batch.inbox_file) or []
        personal = personal_columns(header)
        if personal:
            delete_personal_file(self.paths, source.id, batch.inbox_file, listed.base, error, personal)
        elif extract is None and address_columns(header):
            delete_unreadable_with_addresses(self.paths, source.id, batch.inbox_file, listed.base, error,
                                             address_columns(header))
        else:
            quarantine_file(self.paths, source.id, batch.inbox_file, listed.base, error,
                            self._copy_of(source, extract))

    @staticmethod
    def _readable(source: SourceConfig, batch: Batch) -> Extract | None:
        """The rows of a provider file, or None for other kinds and files that cannot be read."""
        if source.kind != "file":
            return None
        try:
            return batch.read()
        except StructuralError:
            return None

    def _copy_of(self, source: SourceConfig, extract: Extract | None) -> ScrubbedCopy | None:
        """The scrubbed copy to keep of a provider file that was not validated to the end (a plain CSV file's
        cells looked through set-wise, in the warehouse's connection)."""
        if extract is None or source.kind != "file":
            return None
        with self.warehouse.lock:
            scan_plain_file(self.warehouse.con, extract, source.rules)
        return scrubbed_copy(extract, address_columns(extract.header), bsn_columns(extract, source.rules))

    def _validate(self, source: SourceConfig, extract: Extract, now: datetime) -> Checked | Validated | CheckedSignal:
        """Capacity rows are checked set-wise in the warehouse's connection (their valid rows stay there for the
        load); a demand signal (kind `submission`) is checked whole."""
        if source.kind == SUBMISSION_KIND:
            return check_signal(extract, self._code_lists(), now)
        if source.kind == FORM_KIND and isinstance(extract, FormExtract):
            reference = self._code_lists()
            with self.warehouse.lock:
                return check_form(extract, self.warehouse.con, self.links, reference, now)
        reference = self._code_lists()
        with self.warehouse.lock:
            return check_rows(self.warehouse.con, extract, source.rules, reference, now)

    @staticmethod
    def _load(con: duckdb.DuckDBPyConnection, source: SourceConfig, run_id: int,
              validated: Checked | Validated | CheckedSignal, now: datetime) -> LoadResult:
        if isinstance(validated, CheckedSignal):
            return load_signal(con, source.id, run_id, validated)
        if isinstance(validated, CheckedForm):
            return load_form(con, source.id, run_id, validated, now)
        assert isinstance(validated, Checked)
        return load_checked(con, source.id, run_id, validated.records, validated.table, now)

    def _memory(self, source: SourceConfig) -> FeedMemory:
        with self.warehouse.lock:
            return FeedMemory(*feed_state(self.warehouse.con, source.id, source.fingerprint))

    def _seen(self, source: SourceConfig, batch: Batch) -> str | None:
        """What the ledger did with this content before: `loaded`, `quarantined` (refused) or None (new)."""
        with self.warehouse.lock:
            if batch.feed is not None:
                known = feed_state(self.warehouse.con, source.id, source.fingerprint)[2]
                return "loaded" if known == batch.content_hash else None
            seen = seen_file(self.warehouse.con, source.id, batch.content_hash)
            return seen.outcome if seen is not None and seen.read_with(source.fingerprint) else None

    def _code_lists(self) -> Reference:
        """The warehouse's code lists, read again only when reference data was loaded since."""
        with self.warehouse.lock:
            version = reference_version(self.warehouse.con)
            if self._reference is None or self._reference[0] != version:
                self._reference = (version, read_reference(self.warehouse.con))
            return self._reference[1]

    def _register(self, con: duckdb.DuckDBPyConnection, source: SourceConfig, now: datetime) -> None:
        location = str(source.url or source.path or self.paths.inbox / source.id)
        register_source(con, source.id, STORED_KINDS.get(source.kind, source.kind), location, source.schedule,
                        source.options.get("freshness_days"), now, demo=source.options.get("demo", False))

    def _remember(self, con: duckdb.DuckDBPyConnection, source: SourceConfig, batch: Batch, outcome: str,
                  run_id: int, now: datetime) -> None:
        if batch.feed is not None:
            record_feed_state(con, source.id, batch.feed.etag, batch.feed.last_modified, batch.content_hash, now,
                              source.fingerprint)
        else:
            record_file(con, source.id, batch.content_hash, batch.name, batch.size, outcome, run_id, now,
                        source.fingerprint)

    def record_next_run(self, source_id: str, next_run_at: datetime | None) -> None:
        """The scheduler's next planned run of a source (shown on the data-health page)."""
        with self.warehouse.transaction() as con:
            run(con, UPDATE_NEXT_RUN, [next_run_at, source_id])
        self.ledger_changed.set()

    def _record_unchanged(self, source: SourceConfig, started: datetime, batch: Batch | None) -> None:
        with self.warehouse.transaction() as con:
            now = datetime.now(timezone.utc)
            self._register(con, source, now)
            record_run(con, next_run_id(con), source.id, started, now, "unchanged", 0, 0, 0,
                       batch.name if batch else None, batch.content_hash if batch else None, None)
        self.ledger_changed.set()

    def _record_failure(self, source: SourceConfig, started: datetime, batch: Batch | None, outcome: str | None,
                        nl: str, en: str) -> None:
        nl, en = printable(nl), printable(en)
        with self.warehouse.transaction() as con:
            now = datetime.now(timezone.utc)
            self._register(con, source, now)
            run_id = next_run_id(con)
            record_run(con, run_id, source.id, started, now, "failed", 0, 0, 0, batch.name if batch else None,
                       batch.content_hash if batch else None, (nl, en))
            if batch is not None and outcome is not None and batch.feed is None:
                record_file(con, source.id, batch.content_hash, batch.name, batch.size, outcome, run_id, now,
                            source.fingerprint)
        self.publish_requested.set()


def _named(errors: list[RowError], validated: Validated | CheckedSignal) -> list[RowError]:
    """Row errors that name a canonical field named by the column the file has for it."""
    where = getattr(validated, "where", {})
    return [replace(e, column=where[e.column]) if e.column in where and where[e.column] != e.column else e
            for e in errors]


def _outcome(kept: int, loaded: int, rejected_rows: int) -> tuple[str, tuple[str, str] | None]:
    """The run's status, and its error when every row (the filters left aside) was rejected."""
    if kept > 0 and rejected_rows >= kept:
        return "failed", (f"alle {kept} regels zijn afgewezen; zie de afgewezen regels",
                          f"all {kept} rows were rejected; see the rejected rows")
    return ("partial" if rejected_rows else "ok" if loaded else "unchanged"), None


def unexpected(error: Exception, while_loading: bool = False) -> tuple[str, str]:
    """What the ledger says of a fault that is not the provider's: its kind and first line, never a
    traceback (that is in the ingest log)."""
    first = printable(str(error).splitlines()[0] if str(error) else "")[:UNEXPECTED_SHOWN]
    what = f"{type(error).__name__}{': ' + first if first else ''}"
    where_nl, where_en = (" bij het laden", " while loading") if while_loading else ("", "")
    return (f"Onverwachte fout{where_nl} ({what}); de details staan in het log van het ingest-proces",
            f"Unexpected error{where_en} ({what}); the details are in the log of the ingest process")

