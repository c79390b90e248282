"""Source health for data stewards: late, failing, or sending bad rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import sql_file

EXPECTED_REPORTS_DAYS = 90
SOURCE_COLUMNS = ("source_id", "kind", "last_run_at", "last_status", "last_rows_in", "last_rows_loaded",
                  "last_rows_rejected", "last_rows_filtered", "last_success_at", "consecutive_failures", "stale", "stale_since",
                  "newest_valid_at", "last_error_nl", "last_error_en")


@dataclass(frozen=True)
class SourceHealth:
    source_id: str
    kind: str
    location: str
    schedule: str | None
    last_run_at: datetime | None
    last_status: str | None
    last_rows_in: int | None
    last_rows_loaded: int | None
    last_rows_rejected: int | None
    last_rows_filtered: int
    last_error_nl: str | None
    last_error_en: str | None
    last_run_id: int | None
    last_success_at: datetime | None
    consecutive_failures: int
    freshness_days: int | None
    newest_valid_at: datetime | None
    stale_since: datetime | None
    stale: bool
    rows_loaded_total: int


@dataclass(frozen=True)
class ProviderReports:
    provider_id: str
    provider_name: str
    services: int
    expected_reports: float
    received_reports: float
    share_received: float


def source_health(cur: duckdb.DuckDBPyConnection, at: datetime) -> list[SourceHealth]:
    result = cur.execute(sql_file("source_health"), {"at": at})
    names = [d[0] for d in result.description]
    return [SourceHealth(**dict(zip(names, row))) for row in result.fetchall()]


def provider_reports(cur: duckdb.DuckDBPyConnection, at: datetime, days: int = EXPECTED_REPORTS_DAYS
                     ) -> list[ProviderReports]:
    result = cur.execute(sql_file("provider_reports"), {"at": at, "days": days})
    names = [d[0] for d in result.description]
    return [ProviderReports(**dict(zip(names, row))) for row in result.fetchall()]


@dataclass(frozen=True)
class RejectionGroup:
    """Rejected rows with one message (and column) in a source's latest run that rejected any."""

    source_id: str
    file_name: str | None
    column_name: str | None
    message_nl: str
    message_en: str
    rows: int
    example_rows: list[int | None]
    example_value: str | None


REJECTION_COLUMNS = ("source_id", "file_name", "column_name", "rows", "example_rows", "example_value", "message_nl",
                     "message_en")


def rejection_summary(cur: duckdb.DuckDBPyConnection, source: str | None = None) -> list[RejectionGroup]:
    """Each source's latest rejections summarised by message and value, most frequent first."""
    return [RejectionGroup(*row) for row in cur.execute(sql_file("rejection_summary"), {"source": source}).fetchall()]


@dataclass(frozen=True)
class Correction:
    """A figure replaced by a later load of the same service and moment (the old one kept for audit)."""

    source_id: str
    service_id: str
    service_name: str | None
    valid_at: datetime
    superseded_at: datetime
    superseded_by_run: int
    maximum_before: int | None
    available_before: int | None
    waiting_before: int | None
    status_before: str
    maximum_now: int | None
    available_now: int | None
    waiting_now: int | None
    status_now: str | None


def recent_corrections(cur: duckdb.DuckDBPyConnection, limit: int = 50) -> list[Correction]:
    """The most recent corrections, newest first."""
    return [Correction(*row) for row in cur.execute(sql_file("recent_corrections"), {"limit": limit}).fetchall()]


def next_runs(cur: duckdb.DuckDBPyConnection) -> dict[str, datetime | None]:
    return dict(cur.execute(sql_file("next_runs")).fetchall())
