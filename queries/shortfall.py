"""The numbers of the product: shortfall per region x care type x target group, as of any moment,
weekly trends, and coverage gaps. Definitions in DESIGN.md and README.md."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

import duckdb

from .db import rows, sql_file
from .derived import FRAMEWORK_CARE_TYPE
from .moments import elapsed_days_before, week_ends
from .reference import care_labels
from .status import assess, settled

WINDOW_AND_COPY = """
SELECT greatest((SELECT max(freshness_days) FROM care_type), (SELECT coalesce(max(freshness_days), 0) FROM source)),
       (SELECT valid_at FROM derived.observed_until), computed_at, valid_until,
       (SELECT list(at_ts) FROM derived.moments)
FROM derived.now_window"""
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
               region: str | None = None, only_region: str | None = None,
               precomputed: bool = True) -> list[Shortfall]:
    """Shortfall cells for several moments at once; `only_region` skips other regions early (no national
    median then). One moment inside the copy's precomputed window is read from derived.shortfall_now
    (`precomputed=False` computes it anyway: the tests compare both)."""
    window, last_figure, computed_at, valid_until, moments = rows(cur, WINDOW_AND_COPY)[0]
    if (precomputed and len(times) == 1 and (framework is None or care_type == FRAMEWORK_CARE_TYPE)
            and computed_at is not None and computed_at <= times[0]
            and (valid_until is None or times[0] <= valid_until)):
        result = cur.execute(sql_file("shortfall_now"), {
            "at": times[0], "level": level, "framework": framework, "care_type": care_type,
            "target_group": target_group, "region": region, "only_region": only_region})
        return _cells(result, level)
    result = cur.execute(sql_file("shortfall"), {
        "level": level, "times": times, "care_type": care_type, "target_group": target_group,
        "framework": framework, "region": region, "only_region": only_region, "max_window_days": int(window),
        "window_start": elapsed_days_before(min(times), int(window)), "window_end": max(times),
        "from_copy": precomputed and _in_copy(times, last_figure, set(moments or [])), "last_figure": last_figure})
    return _cells(result, level)


def _in_copy(times: list[datetime], last_figure: datetime | None, moments: set[datetime]) -> bool:
    """Whether the copy's derived tables hold the latest figures at every one of `times`."""
    return all(last_figure is None or at >= last_figure or at in moments for at in times)


def _cells(result: duckdb.DuckDBPyConnection, level: str) -> list[Shortfall]:
    """Shortfall cells from the rows of shortfall.sql or shortfall_now.sql, with status and reasons."""
    names = [d[0] for d in result.description]
    cells = []
    for values in result.fetchall():
        row = dict(zip(names, values))
        row["unmet_now"], row["norm_gap"] = settled(row["unmet_now"]), settled(row["norm_gap"])
        verdict = assess(row["services"], row["services_fresh"], row["unmet_now"], row["norm_places"],
                         row["norm_gap"], row["median_wait_intake_days"], row["median_wait_treatment_days"],
                         row["wait_breaches"], row["wait_norm_intake_days"], row["wait_norm_treatment_days"])
        row["at"] = row.pop("at_ts")
        cells.append(Shortfall(region_level=level, status=verdict.status, reasons_nl=verdict.reasons_nl,
                               reasons_en=verdict.reasons_en, **row))
    return cells


SHORTFALL_FIELDS = tuple(f.name for f in fields(Shortfall))


@dataclass(frozen=True)
class Gap:
    """A care type x target group (x framework) with no service at all in a region."""

    region_code: str
    region_name: str
    care_type: str
    target_group: str
    framework: str | None
    text_nl: str
    text_en: str


FRAMEWORK_WORDS = {"voluntary": ("vrijwillig kader", "the voluntary framework"),
                   "mandated": ("gedwongen kader", "the mandated framework")}


def trends(cur: duckdb.DuckDBPyConnection, level: str, region: str, care_type: str, target_group: str,
           end: datetime, weeks: int = 52) -> list[Shortfall]:
    """Weekly figures for one cell, as of each week's end (the last point is `end` itself)."""
    return figures_at(cur, level, week_ends(end, weeks), care_type, target_group, only_region=region)


def coverage_gaps(cur: duckdb.DuckDBPyConnection, level: str, at: datetime, region: str | None = None,
                  cells: list[Shortfall] | None = None) -> list[Gap]:
    """Combinations without any service, including perpetrator programmes per framework. `cells` may hand in
    the shortfall already computed for the same level, moment and region."""
    names = care_labels(cur)
    cells = shortfall(cur, level, at, region=region) if cells is None else cells
    gaps = [_gap(cell, None, names) for cell in cells if cell.services == 0]
    for framework in FRAMEWORK_WORDS:
        framework_cells = figures_at(cur, level, [at], care_type=FRAMEWORK_CARE_TYPE, framework=framework,
                                     only_region=region)
        gaps += [_gap(cell, framework, names) for cell in framework_cells if cell.services == 0]
    return sorted(gaps, key=lambda g: (g.region_code, g.care_type, g.target_group, g.framework or ""))


def _gap(cell: Shortfall, framework: str | None, names: dict[tuple[str, str], tuple[str, str]]) -> Gap:
    care_nl, care_en = names[("care_type", cell.care_type)]
    group_nl, group_en = names[("target_group", cell.target_group)]
    if framework:
        where_nl, where_en = FRAMEWORK_WORDS[framework]
        text_nl, text_en = f"geen {care_nl.lower()} in {where_nl}", f"no {care_en.lower()} in {where_en}"
    else:
        text_nl = f"geen {care_nl.lower()} voor {group_nl.lower()}"
        text_en = f"no {care_en.lower()} for {group_en.lower()}"
    return Gap(cell.region_code, cell.region_name, cell.care_type, cell.target_group, framework, text_nl, text_en)
