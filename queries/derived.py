"""Derived tables of a published copy, computed once per copy (queries/sql/derive.sql) instead of on every
request: population per region, service weights per region, every service's latest figure, and the whole
shortfall table per level (derived.shortfall) at the copy's last figure, which holds until the first fresh
figure turns stale, and at each of the copy's standard moments (the week and month ends of trends)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from .db import connect, rows, run, sql_file
from .moments import elapsed_days_before, month_ends, week_ends
from .settings import CHILD_SHARE_OF_15_24

FILL_SHORTFALL = """
INSERT INTO derived.shortfall
SELECT q.level, $framework, q.* EXCLUDE (level),
       row_number() OVER (PARTITION BY q.level ORDER BY q.at_ts, ct.sort_order, tg.sort_order, q.region_code)
FROM ({shortfall}) AS q
JOIN care_type AS ct USING (care_type)
JOIN target_group AS tg USING (target_group)"""
FRAMEWORK_CARE_TYPE, FRAMEWORKS = "perpetrator_programme", ("voluntary", "mandated")
TREND_WEEKS, TREND_MONTHS = 52, 12   # the region page's weekly trends, the purchasing page's month series
DERIVED_VERSION = 6   # raise when derive.sql changes: `capacity init` then publishes a new copy
WINDOW = """
SELECT greatest((SELECT max(freshness_days) FROM care_type), (SELECT coalesce(max(freshness_days), 0) FROM source))"""


def derive(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the `derived` tables from the data behind `con`."""
    for statement in sql_file("derive").split(";\n"):
        code = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--")).strip()
        if code:
            params = {"child_share_15_24": CHILD_SHARE_OF_15_24} if "$child_share_15_24" in code else None
            run(con, code, params)
    _fill_moments(con)
    _fill_shortfall(con)
    run(con, "CREATE OR REPLACE TABLE derived.version AS SELECT ?::INTEGER AS version", [DERIVED_VERSION])


def has_current_derived_tables(copy: Path) -> bool:
    """Whether a published copy was made with this version of the derived tables."""
    con = connect(copy, read_only=True)
    try:
        return rows(con, "SELECT version FROM derived.version") == [(DERIVED_VERSION,)]
    except duckdb.CatalogException:
        return False
    finally:
        con.close()


def standard_moments(last_figure: datetime) -> list[datetime]:
    """The week ends (a year) and month ends (13 months) before the copy's last figure: the moments of the
    trends and month series of any page moment from that figure on."""
    return sorted({m for m in week_ends(last_figure, TREND_WEEKS + 1) + month_ends(last_figure, TREND_MONTHS + 1)
                   if m < last_figure})


def _fill_moments(con: duckdb.DuckDBPyConnection) -> None:
    last_figure = rows(con, "SELECT valid_at FROM derived.observed_until")[0][0]
    moments = standard_moments(last_figure) if last_figure is not None else []
    run(con, "CREATE OR REPLACE TABLE derived.moments AS SELECT unnest(?::TIMESTAMPTZ[]) AS at_ts", [moments])
    window = int(rows(con, WINDOW)[0][0])
    start = elapsed_days_before(min(moments), window) if moments else None
    run(con, sql_file("derive_moments"), {"times": moments, "max_window_days": window, "window_start": start,
                                          "window_end": max(moments) if moments else None})


def _fill_shortfall(con: duckdb.DuckDBPyConnection) -> None:
    """derived.shortfall: every level's shortfall at the copy's last figure (also per framework for perpetrator
    programmes) and at its standard moments, computed by shortfall.sql from the copy's derived tables."""
    computed_at = rows(con, "SELECT computed_at FROM derived.now_window")[0][0]
    if computed_at is None:
        return
    moments = [at for (at,) in rows(con, "SELECT at_ts FROM derived.moments ORDER BY at_ts")]
    window = int(rows(con, WINDOW)[0][0])
    sql = FILL_SHORTFALL.format(shortfall=sql_file("shortfall").rstrip().rstrip(";"))
    variants = [(moments + [computed_at], None, None)] + [([computed_at], FRAMEWORK_CARE_TYPE, framework)
                                                          for framework in FRAMEWORKS]
    for times, care_type, framework in variants:
        run(con, sql, {"level": None, "times": times, "care_type": care_type, "target_group": None,
                       "framework": framework, "region": None, "only_region": None, "max_window_days": window,
                       "window_start": elapsed_days_before(min(times), window), "window_end": max(times),
                       "from_copy": True, "last_figure": computed_at})
