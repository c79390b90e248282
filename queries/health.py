"""Source health for data stewards: late, failing, or sending bad rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import sql_file

EXPECTED_REPORTS_DAYS = 90
SOURCE_COLUMNS = ("source_id", "kind", "last_run_at", "last_status", "last_rows_in", "last_rows_loaded",
                  "last_rows_rejected", "last_success_at", "consecutive_failures", "stale", "stale_since",
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
class Rejection:
    source_id: str
    run_id: int
    file_name: str | None
    row_number: int | None
    column_name: str | None
    value: str | None
    message_nl: str
    message_en: str


def recent_rejections(cur: duckdb.DuckDBPyConnection, per_source: int = 20) -> list[Rejection]:
    """The rejected rows (with their messages) of each source's latest run that rejected any."""
    result = cur.execute(sql_file("recent_rejections"), {"per_source": per_source})
    return [Rejection(*row) for row in result.fetchall()]


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
