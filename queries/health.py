"""Source health for data stewards: late, failing, or sending bad rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import sql_file

EXPECTED_REPORTS_DAYS = 90


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
