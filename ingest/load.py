"""Writing one source run into the warehouse, inside the caller's transaction.

Services and providers are upserted (attributes from the newest observation),
observations are appended once per (service, valid_at, source), rejected rows
and the run's ledger row are written with them, and so is the put-away the batch
owes after its commit (its file operations, listed until they are all done).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timezone

import duckdb
import pandas as pd

from queries.db import rows, run, scalar

from .cell_lookups import LISTS_DECODED, encoded, held
from .fields import FIELD_BY_NAME
from .records import RowError
from .staging import new_name
from .validate import Record

NEXT_RUN_ID = "SELECT nextval('ingest_run_id')"
INSERT_SOURCE = """
INSERT INTO source (source_id, kind, location, schedule, freshness_days, registered_at, demo)
VALUES (?, ?, ?, ?, ?, ?, ?)"""
UPDATE_SOURCE = """
UPDATE source SET kind = ?, location = ?, schedule = ?, freshness_days = ?, demo = ? WHERE source_id = ?"""
SOURCE_AS_REGISTERED = "SELECT kind, location, schedule, freshness_days, demo FROM source WHERE source_id = ?"
# Services are never deleted and observations are written only with their service (by this module, the one
# writer): a batch whose services are all unknown has no observations stored, no owner, nothing to update.
ALL_SERVICES_NEW = """
SELECT NOT EXISTS (SELECT 1 FROM service WHERE service_id IN (SELECT service_id FROM batch_observations))"""
SERVICES_OF_OTHER_SOURCES = """
SELECT b.row, b.service_id, s.source_id FROM batch_observations AS b JOIN service AS s USING (service_id)
WHERE s.source_id <> ? ORDER BY b.row"""
EXISTING_OBSERVATIONS = """
SELECT b.row, (o.unit, o.maximum, o.available, o.status, o.waiting_count, o.wait_days_intake, o.wait_days_treatment)
       IS NOT DISTINCT FROM
       (b.unit, b.maximum, b.available, b.status, b.waiting_count, b.wait_days_intake, b.wait_days_treatment)
       AS same
FROM batch_observations AS b
JOIN capacity_observation AS o ON o.service_id = b.service_id AND o.valid_at = b.valid_at AND o.source_id = ?
WHERE b.row NOT IN (SELECT unnest(?::INTEGER[]))"""
UPSERT_PROVIDERS = """
INSERT INTO provider (provider_id, name, website, phone, email, source_id, updated_at)
SELECT provider_id, provider_name, NULL, NULL, NULL, ?, valid_at FROM batch_providers
ON CONFLICT (provider_id) DO UPDATE SET name = excluded.name, source_id = excluded.source_id,
    updated_at = excluded.updated_at
WHERE excluded.updated_at >= provider.updated_at"""
ALL_SERVICES = "SELECT service_id FROM batch_services"
CHANGED_SERVICES = """
SELECT b.service_id FROM batch_services AS b LEFT JOIN service AS s USING (service_id)
WHERE s.service_id IS NULL OR b.valid_at >= s.updated_at"""
INSERT_SERVICES = """
INSERT INTO service (service_id, provider_id, name, care_type, framework, age_min, age_max, whole_family,
                     languages, violence_profiles, phone, email, website, referral_route, source_id, updated_at)
SELECT service_id, provider_id, service_name, care_type, framework, age_min, age_max, whole_family,
       languages, violence_profiles, phone, email, website, referral_route, ?, valid_at
FROM batch_services WHERE service_id IN (SELECT service_id FROM changed_services)"""
UPSERT_SERVICES = INSERT_SERVICES + """
ON CONFLICT (service_id) DO UPDATE SET provider_id = excluded.provider_id, name = excluded.name,
    care_type = excluded.care_type, framework = excluded.framework, age_min = excluded.age_min,
    age_max = excluded.age_max, whole_family = excluded.whole_family, languages = excluded.languages,
    violence_profiles = excluded.violence_profiles, phone = excluded.phone, email = excluded.email,
    website = excluded.website, referral_route = excluded.referral_route, updated_at = excluded.updated_at"""
DELETE_TARGET_GROUPS = "DELETE FROM service_target_group WHERE service_id IN (SELECT service_id FROM changed_services)"
INSERT_TARGET_GROUPS = """
INSERT INTO service_target_group (service_id, target_group)
SELECT service_id, unnest(target_groups) FROM batch_services
WHERE service_id IN (SELECT service_id FROM changed_services)"""
DELETE_AREAS = "DELETE FROM service_area WHERE service_id IN (SELECT service_id FROM changed_services)"
INSERT_AREAS = """
INSERT INTO service_area (service_id, area_level, area_code)
SELECT DISTINCT service_id, area_level, area_code FROM batch_areas
WHERE service_id IN (SELECT service_id FROM changed_services)"""
SUPERSEDE_OBSERVATIONS = """
INSERT INTO superseded_observation
SELECT o.service_id, o.valid_at, o.source_id, o.unit, o.maximum, o.available, o.status, o.waiting_count,
       o.wait_days_intake, o.wait_days_treatment, o.run_id, o.ingested_at, ?, ?
FROM capacity_observation AS o
JOIN batch_corrections AS c ON c.service_id = o.service_id AND c.valid_at = o.valid_at AND o.source_id = ?"""
DELETE_SUPERSEDED = """
DELETE FROM capacity_observation AS o
USING batch_corrections AS c
WHERE c.service_id = o.service_id AND c.valid_at = o.valid_at AND o.source_id = ?"""
STAGE_CORRECTIONS = """
CREATE OR REPLACE TEMP TABLE batch_corrections AS
SELECT service_id, valid_at FROM batch_observations WHERE row IN (SELECT unnest(?::INTEGER[]))"""
INSERT_OBSERVATIONS = """
INSERT INTO capacity_observation (service_id, valid_at, source_id, unit, maximum, available, status, waiting_count,
                                  wait_days_intake, wait_days_treatment, run_id, ingested_at)
SELECT service_id, valid_at, ?, unit, maximum, available, status, waiting_count, wait_days_intake,
       wait_days_treatment, ?, ?
FROM batch_observations"""
INSERT_REJECTED = """
INSERT INTO rejected_row (run_id, source_id, file_name, row_number, column_name, value, message_nl, message_en,
                          rejected_at)
SELECT ?, ?, ?, row, column_name, value, message_nl, message_en, ? FROM batch_rejected"""
INSERT_RUN = """
INSERT INTO ingest_run (run_id, source_id, started_at, finished_at, status, rows_in, rows_loaded, rows_rejected,
                        file_name, content_hash, error_nl, error_en, rows_filtered)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_FILE_SEEN = """
INSERT INTO file_seen (source_id, content_hash, file_name, size_bytes, outcome, run_id, seen_at, config_fingerprint)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source_id, content_hash) DO UPDATE SET file_name = excluded.file_name, outcome = excluded.outcome,
    run_id = excluded.run_id, seen_at = excluded.seen_at, config_fingerprint = excluded.config_fingerprint"""
FILE_SEEN = """
SELECT f.outcome, r.error_nl, r.error_en, f.config_fingerprint FROM file_seen AS f JOIN ingest_run AS r USING (run_id)
WHERE f.source_id = ? AND f.content_hash = ?"""
REJECTED_OF_RUN = """
SELECT row_number, column_name, value, message_nl, message_en FROM rejected_row WHERE run_id = ?
ORDER BY row_number NULLS FIRST, column_name NULLS FIRST, value NULLS FIRST, message_nl, message_en"""
LIST_PUT_AWAY = """
INSERT INTO pending_put_away (source_id, content_hash, file_name, stamp, inbox_file, base, run_id)
VALUES (?, ?, ?, ?, ?, ?, ?)"""
LISTED_PUT_AWAYS = """
SELECT source_id, content_hash, file_name, stamp, inbox_file, base, run_id FROM pending_put_away
WHERE source_id = ? ORDER BY stamp"""
UNLIST_PUT_AWAY = "DELETE FROM pending_put_away WHERE source_id = ? AND content_hash = ? AND stamp = ?"
UPSERT_FEED_STATE = """
INSERT INTO feed_state (source_id, etag, last_modified, content_hash, fetched_at, config_fingerprint)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (source_id) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
    content_hash = excluded.content_hash, fetched_at = excluded.fetched_at,
    config_fingerprint = excluded.config_fingerprint"""
KEEP_FIRST_VALID_AT = """
UPDATE service SET first_valid_at = b.first_valid_at
FROM (SELECT service_id, min(valid_at) AS first_valid_at FROM batch_observations GROUP BY service_id) AS b
WHERE service.service_id = b.service_id
  AND (service.first_valid_at IS NULL OR b.first_valid_at < service.first_valid_at)"""
FIRST_VALID_AT_FROM_HISTORY = """
UPDATE service SET first_valid_at = f.first_valid_at
FROM (SELECT service_id, min(valid_at) AS first_valid_at FROM capacity_observation GROUP BY service_id) AS f
WHERE service.service_id = f.service_id"""
STAGE_OBSERVATIONS = """
CREATE OR REPLACE TEMP VIEW batch_observations AS
SELECT row, service_id, valid_at, unit, maximum, available, status, waiting_count, wait_days_intake,
       wait_days_treatment
FROM {records}"""
DROP_ROWS = "DELETE FROM {table} WHERE row IN (SELECT unnest(?::INTEGER[]))"
COUNT_OBSERVATIONS = "SELECT count(*), count(DISTINCT service_id) FROM batch_observations"
STAGE_SERVICES = """
CREATE OR REPLACE TEMP TABLE batch_services AS   -- a file has one row per service and moment (ingest/row_checks.py)
SELECT service_id, provider_id, provider_name, service_name, care_type, framework, age_min, age_max, whole_family,
       {languages} AS languages, {violence_profiles} AS violence_profiles, {target_groups} AS target_groups,
       {service_area} AS service_area, phone, email, website, referral_route, valid_at, row
FROM {records}"""
NEWEST_OF_EACH_SERVICE = "\nWHERE row IN (SELECT arg_max(row, valid_at) FROM {records} GROUP BY service_id)"
STAGE_PROVIDERS = """
CREATE OR REPLACE TEMP TABLE batch_providers AS
SELECT provider_id, arg_max(provider_name, (valid_at, row)) AS provider_name, max(valid_at) AS valid_at
FROM batch_services GROUP BY provider_id"""
STAGE_AREAS = """
CREATE OR REPLACE TEMP TABLE batch_areas AS
SELECT service_id, area.area_level AS area_level, area.area_code AS area_code
FROM (SELECT service_id, unnest(service_area) AS area FROM batch_services)"""
BATCH_TABLES = ("batch_services", "batch_providers", "batch_areas", "changed_services", "batch_corrections")
BATCH_VIEWS = ("batch_observations",)
RECORD_COLUMNS = [f.name for f in fields(Record)]


@dataclass
class LoadResult:
    loaded: int
    unchanged: int
    rejected: list[RowError]
    corrected: int = 0   # of `loaded`: figures that replaced other figures for the same service and moment


@dataclass(frozen=True)
class SeenFile:
    """What the ledger did with a file's content: `loaded`, or `quarantined` (refused) with the error."""

    outcome: str
    error_nl: str | None
    error_en: str | None
    config_fingerprint: str | None   # the rules it was read with (None: before they were recorded)

    def read_with(self, fingerprint: str) -> bool:
        """Whether it was read with these rules (content read before fingerprints were kept counts as so)."""
        return self.config_fingerprint in (None, fingerprint)


@dataclass(frozen=True)
class PutAway:
    """The file operations a committed batch owes (migration 007): its inbox file to the archive or quarantine
    as `base` (or only a scrubbed copy, or deleted), its report; listed until all are done."""

    source_id: str
    content_hash: str
    file_name: str
    stamp: datetime            # the batch's start: the time in the name of its rejected-rows report
    inbox_file: str | None     # the file in the inbox; None for a feed answer or a file read in place
    base: str | None           # the stamped name its file gets in archive/ or quarantine/
    run_id: int | None         # the run whose rejected rows are reported; None for a refused or re-dropped file


def register_source(con: duckdb.DuckDBPyConnection, source_id: str, kind: str, location: str,
                    schedule: str | None, freshness_days: int | None, now: datetime, demo: bool = False) -> None:
    """Record the source as configured (unless it is, as it mostly is); `demo` marks fictional demonstration
    data."""
    registered = rows(con, SOURCE_AS_REGISTERED, [source_id])
    if not registered:
        run(con, INSERT_SOURCE, [source_id, kind, location, schedule, freshness_days, now, demo])
    elif registered != [(kind, location, schedule, freshness_days, demo)]:
        run(con, UPDATE_SOURCE, [kind, location, schedule, freshness_days, demo, source_id])


def next_run_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(con, NEXT_RUN_ID))


def load_records(con: duckdb.DuckDBPyConnection, source_id: str, run_id: int, records: list[Record],
                 now: datetime, figures_only: bool = False) -> LoadResult:
    """`load_checked` for records in a list (a provider's form: a few rows)."""
    if not records:
        return LoadResult(0, 0, [])
    table = new_name("form_records")
    _records_table(con, records, table)
    try:
        return load_checked(con, source_id, run_id, table, table, now, figures_only)
    finally:
        run(con, f"DROP TABLE IF EXISTS {table}")


def load_checked(con: duckdb.DuckDBPyConnection, source_id: str, run_id: int, records: str, table: str,
                 now: datetime, figures_only: bool = False) -> LoadResult:
    """Upsert services/providers and append observations from `records` (a table or view with the columns of
    Record; rows that are not to be loaded are deleted from `table` under it); rows that clash with stored
    data are rejected. A service and moment loaded before with other figures is a correction: the new
    figures replace them and the old ones move to superseded_observation (identical ones change nothing).
    With `figures_only` (a provider's own update of services another source describes) only the
    observations are written."""
    run(con, STAGE_OBSERVATIONS.format(records=records))
    try:
        new = bool(scalar(con, ALL_SERVICES_NEW))
        rejected = [] if figures_only or new else _foreign_services(con, source_id)
        refused = [error.row for error in rejected]
        existing = [] if new else rows(con, EXISTING_OBSERVATIONS, [source_id, refused])
        unchanged_rows = [row for row, same in existing if same]
        corrections = [row for row, same in existing if not same]
        skip = refused + unchanged_rows
        if skip:
            run(con, DROP_ROWS.format(table=table), [skip])   # the view batch_observations shows it at once
        count, services = rows(con, COUNT_OBSERVATIONS)[0]
        if not count:
            return LoadResult(0, len(unchanged_rows), rejected)
        if corrections:
            run(con, STAGE_CORRECTIONS, [corrections])
            run(con, SUPERSEDE_OBSERVATIONS, [now, run_id, source_id])
            run(con, DELETE_SUPERSEDED, [source_id])
        if not figures_only:
            _upsert_services(con, source_id, records, new, several=count > services)
        loaded = scalar(con, INSERT_OBSERVATIONS, [source_id, run_id, now])
        run(con, KEEP_FIRST_VALID_AT)
    finally:
        _unstage(con)
    return LoadResult(int(loaded), len(unchanged_rows), rejected, len(corrections))


def _upsert_services(con: duckdb.DuckDBPyConnection, source_id: str, records: str, new: bool, several: bool
                     ) -> None:
    """Providers, services, their target groups and areas from the staged batch (newest description wins,
    sought only when a service has `several` rows); `new`: no service of the batch is stored yet, so each
    is inserted (an upsert takes ~7 ms more to plan)."""
    services = STAGE_SERVICES + (NEWEST_OF_EACH_SERVICE if several else "")
    for statement in (services, STAGE_PROVIDERS, STAGE_AREAS):
        run(con, statement.format(records=records, **LISTS_DECODED))
    run(con, "CREATE OR REPLACE TEMP TABLE changed_services AS " + (ALL_SERVICES if new else CHANGED_SERVICES))
    run(con, UPSERT_PROVIDERS, [source_id])
    run(con, INSERT_SERVICES if new else UPSERT_SERVICES, [source_id])
    deletes = () if new else (DELETE_TARGET_GROUPS, DELETE_AREAS)
    for statement in (*deletes, INSERT_TARGET_GROUPS, INSERT_AREAS):
        run(con, statement)


def refresh_first_valid_at(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every service's first report from the history (for data written without the loader)."""
    run(con, FIRST_VALID_AT_FROM_HISTORY)


def record_rejected(con: duckdb.DuckDBPyConnection, run_id: int, source_id: str, file_name: str | None,
                    rejected: list[RowError], now: datetime) -> None:
    if not rejected:
        return
    frame = pd.DataFrame({
        "row": pd.array([e.row for e in rejected], dtype="Int64"),
        "column_name": [e.column for e in rejected], "value": [e.value for e in rejected],
        "message_nl": [e.nl for e in rejected], "message_en": [e.en for e in rejected]})
    con.register("batch_rejected", frame)
    try:
        run(con, INSERT_REJECTED, [run_id, source_id, file_name, now])
    finally:
        con.unregister("batch_rejected")


def record_run(con: duckdb.DuckDBPyConnection, run_id: int, source_id: str, started: datetime, finished: datetime,
               status: str, rows_in: int, rows_loaded: int, rows_rejected: int, file_name: str | None,
               content_hash: str | None, error: tuple[str, str] | None, rows_filtered: int = 0) -> None:
    run(con, INSERT_RUN, [run_id, source_id, started, finished, status, rows_in, rows_loaded, rows_rejected,
                          file_name, content_hash, error[0] if error else None, error[1] if error else None,
                          rows_filtered])


def record_file(con: duckdb.DuckDBPyConnection, source_id: str, content_hash: str, file_name: str, size: int,
                outcome: str, run_id: int, now: datetime, fingerprint: str | None = None) -> None:
    run(con, INSERT_FILE_SEEN, [source_id, content_hash, file_name, size, outcome, run_id, now, fingerprint])


def seen_file(con: duckdb.DuckDBPyConnection, source_id: str, content_hash: str) -> SeenFile | None:
    """What the ledger did with this file content before, or None when it is new."""
    found = rows(con, FILE_SEEN, [source_id, content_hash])
    return SeenFile(*found[0]) if found else None


def rejected_of_run(con: duckdb.DuckDBPyConnection, run_id: int) -> list[RowError]:
    """The rejected rows a run committed, in a fixed order (its report is the same however often written)."""
    return [RowError(*row) for row in rows(con, REJECTED_OF_RUN, [run_id])]


def list_put_away(con: duckdb.DuckDBPyConnection, item: PutAway) -> None:
    run(con, LIST_PUT_AWAY, [item.source_id, item.content_hash, item.file_name, item.stamp, item.inbox_file,
                             item.base, item.run_id])


def listed_put_aways(con: duckdb.DuckDBPyConnection, source_id: str) -> list[PutAway]:
    """The put-aways of a source that were listed but not finished (a kill interrupted them), oldest first."""
    return [PutAway(source, content_hash, name, stamp.astimezone(timezone.utc), inbox_file, base, run_id)
            for source, content_hash, name, stamp, inbox_file, base, run_id
            in rows(con, LISTED_PUT_AWAYS, [source_id])]


def unlist_put_away(con: duckdb.DuckDBPyConnection, item: PutAway) -> None:
    run(con, UNLIST_PUT_AWAY, [item.source_id, item.content_hash, item.stamp])


def feed_state(con: duckdb.DuckDBPyConnection, source_id: str, fingerprint: str | None = None
               ) -> tuple[str | None, str | None, str | None]:
    """(etag, last_modified, content_hash) of the last answer of this feed, when it was read with the rules
    `fingerprint` names (or before rules were recorded); nothing when the rules changed since, so that the
    next answer is fetched whole and read again."""
    found = rows(con, "SELECT etag, last_modified, content_hash, config_fingerprint FROM feed_state "
                      "WHERE source_id = ?", [source_id])
    if not found or found[0][3] not in (None, fingerprint):
        return (None, None, None)
    return found[0][:3]


def record_feed_state(con: duckdb.DuckDBPyConnection, source_id: str, etag: str | None, last_modified: str | None,
                      content_hash: str | None, now: datetime, fingerprint: str | None = None) -> None:
    run(con, UPSERT_FEED_STATE, [source_id, etag, last_modified, content_hash, now, fingerprint])


def _foreign_services(con: duckdb.DuckDBPyConnection, source_id: str) -> list[RowError]:
    return [RowError(row, "service_id", service_id,
                     f"dienst {service_id} wordt al aangeleverd door bron {owner}; gebruik een eigen dienst_id",
                     f"service {service_id} is already reported by source {owner}; use a service_id of your own")
            for row, service_id, owner in rows(con, SERVICES_OF_OTHER_SOURCES, [source_id])]


def _records_table(con: duckdb.DuckDBPyConnection, records: list[Record], table: str) -> None:
    """Records from a list as a temporary table with Record's columns (values typed as validation types them)."""
    kinds = {name: FIELD_BY_NAME[name].kind for name in RECORD_COLUMNS if name in FIELD_BY_NAME}
    frame = pd.DataFrame({name: [getattr(r, name) if name not in kinds else encoded(kinds[name], getattr(r, name))
                                 for r in records] for name in RECORD_COLUMNS}, dtype="object")
    view = new_name("frame")
    con.register(view, frame)
    try:
        typed = ", ".join("row::INTEGER AS row" if name == "row" else
                          f"{held(kinds[name], f'{name}::VARCHAR')} AS {name}" for name in RECORD_COLUMNS)
        run(con, f"CREATE TEMP TABLE {table} AS SELECT {typed} FROM {view}")
    finally:
        con.unregister(view)


def _unstage(con: duckdb.DuckDBPyConnection) -> None:
    for kind, names in (("VIEW", BATCH_VIEWS), ("TABLE", BATCH_TABLES)):
        for name in names:
            try:
                run(con, f"DROP {kind} IF EXISTS {name}")
            except duckdb.TransactionException:
                pass  # the transaction failed; its rollback drops the temporary table
