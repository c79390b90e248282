"""Unmet demand: professionals' anonymous "searched, found nothing" signals, counted per region."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from .db import sql_file

# Why a search found nothing; the same list as the CHECK on demand_signal.reason (migration 004).
REASONS = ("no_service", "no_room", "wait_too_long", "not_eligible", "other")
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class DemandSignals:
    """The signals of one region x care type x target group in a window, in total and per reason."""

    region_level: str
    region_code: str
    region_name: str
    care_type: str
    target_group: str
    signals: int
    no_service: int
    no_room: int
    wait_too_long: int
    not_eligible: int
    other: int


def demand_signals(cur: duckdb.DuckDBPyConnection, level: str, at: datetime, days: int = DEFAULT_DAYS,
                   region: str | None = None) -> list[DemandSignals]:
    """Every region of `level` x care type x target group with signals in the `days` days up to `at`."""
    return signals_between(cur, level, at - timedelta(days=days), at, region)


def signals_between(cur: duckdb.DuckDBPyConnection, level: str, start: datetime, end: datetime,
                    region: str | None = None) -> list[DemandSignals]:
    """Every region of `level` x care type x target group with signals after `start` up to `end`."""
    result = cur.execute(sql_file("demand_signals"), {"level": level, "start": start, "end": end, "region": region})
    return [DemandSignals(level, *values) for values in result.fetchall()]
