"""The numbers of the product: shortfall per region x care type x target group, as of any moment,
weekly trends, and coverage gaps. Definitions in DESIGN.md and README.md."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

import duckdb

from .db import sql_file
from .settings import CHILD_SHARE_OF_15_24
from .status import assess

REPORT_COLUMNS = ("region_level", "region_code", "region_name", "care_type", "target_group", "services",
                  "services_fresh", "places", "available", "waiting", "unmet_now", "norm_places", "norm_gap",
                  "per_10k", "national_median_per_10k", "median_wait_intake_days", "median_wait_treatment_days",
                  "wait_breaches", "status", "status_reasons")


@dataclass(frozen=True)
class Shortfall:
    """One cell: region x care type x target group at a moment. None means unknown (not zero)."""

    at: datetime
    region_level: str
    region_code: str
    region_name: str
    care_type: str
    target_group: str
    services: int
    services_fresh: int
    places: float | None
    available: float | None
    waiting: float | None
    unmet_now: float | None
    norm_places: float | None
    norm_gap: float | None
    per_10k: float | None
    national_median_per_10k: float | None
    median_wait_intake_days: float | None
    median_wait_treatment_days: float | None
    wait_breaches: int
    wait_norm_intake_days: int | None
    wait_norm_treatment_days: int | None
    inhabitants: int
    target_population: float
    status: str
    reasons_nl: tuple[str, ...]
    reasons_en: tuple[str, ...]

    def reasons(self, lang: str) -> tuple[str, ...]:
        return self.reasons_en if lang == "en" else self.reasons_nl

    def report_row(self, lang: str = "nl") -> dict[str, object]:
        """The columns of `capacity report shortfall`."""
        row = {name: getattr(self, name) for name in REPORT_COLUMNS if name not in ("status_reasons",)}
        row["status_reasons"] = "; ".join(self.reasons(lang))
        return row


def shortfall(cur: duckdb.DuckDBPyConnection, level: str, at: datetime, care_type: str | None = None,
              target_group: str | None = None, framework: str | None = None,
              region: str | None = None) -> list[Shortfall]:
    """Every region of `level` x reported care type x target group at `at` (filters narrow it)."""
    return figures_at(cur, level, [at], care_type, target_group, framework, region)


def figures_at(cur: duckdb.DuckDBPyConnection, level: str, times: list[datetime], care_type: str | None = None,
               target_group: str | None = None, framework: str | None = None,
               region: str | None = None) -> list[Shortfall]:
    """Shortfall cells for several moments at once (one pass over the observations)."""
    result = cur.execute(sql_file("shortfall"), {
        "level": level, "times": times, "care_type": care_type, "target_group": target_group,
        "framework": framework, "region": region, "child_share_15_24": CHILD_SHARE_OF_15_24})
    names = [d[0] for d in result.description]
    cells = []
    for values in result.fetchall():
        row = dict(zip(names, values))
        verdict = assess(row["services"], row["services_fresh"], row["unmet_now"], row["norm_places"],
                         row["norm_gap"], row["median_wait_intake_days"], row["median_wait_treatment_days"],
                         row["wait_breaches"], row["wait_norm_intake_days"], row["wait_norm_treatment_days"])
        row["at"] = row.pop("at_ts")
        cells.append(Shortfall(region_level=level, status=verdict.status, reasons_nl=verdict.reasons_nl,
                               reasons_en=verdict.reasons_en, **row))
    return cells


SHORTFALL_FIELDS = tuple(f.name for f in fields(Shortfall))
