"""The numbers of the product: shortfall per region x care type x target group, as of any moment,
weekly trends, and coverage gaps. Definitions in DESIGN.md and README.md."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import duckdb

from .db import rows, sql_file
from .derived import FRAMEWORK_CARE_TYPE
from .moments import elapsed_days_before, week_ends
from .reference import care_labels
from .status import assess, settled

COPY_FACTS = """
SELECT greatest((SELECT max(freshness_days) FROM care_type), (SELECT coalesce(max(freshness_days), 0) FROM source)),
       (SELECT valid_at FROM derived.observed_until), computed_at, valid_until,
       (SELECT list(at_ts) FROM derived.moments)
FROM derived.now_window"""
REPORT_COLUMNS = ("region_level", "region_code", "region_name", "care_type", "target_group", "services",
                  "services_fresh", "places", "available", "waiting", "unmet_now", "norm_places", "norm_gap",
                  "per_10k", "national_median_per_10k", "median_wait_intake_days", "median_wait_treatment_days",
                  "wait_breaches", "status", "status_reasons")


class Figures(NamedTuple):
    """One cell's figures at a moment, without status or reasons: what a trend shows. None means unknown (not
    zero). The columns of shortfall.sql and shortfall_stored.sql, in their order; Shortfall's first fields."""

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


UNMET_NOW, NORM_GAP = Figures._fields.index("unmet_now"), Figures._fields.index("norm_gap")


class Shortfall(NamedTuple("_Assessed", [*Figures.__annotations__.items(), ("status", str),
                                           ("reasons_nl", tuple[str, ...]), ("reasons_en", tuple[str, ...])])):
    """One cell: region x care type x target group at a moment: its Figures, then its status and reasons.
    None means unknown (not zero). A named tuple: made by position in a fifth of a frozen dataclass's time
    (a page makes up to a few hundred)."""

    __slots__ = ()

    def reasons(self, lang: str) -> tuple[str, ...]:
        return self.reasons_en if lang == "en" else self.reasons_nl

    def report_row(self, lang: str = "nl") -> dict[str, object]:
        """The columns of `capacity report shortfall`."""
        row = {name: getattr(self, name) for name in REPORT_COLUMNS if name not in ("status_reasons",)}
        row["status_reasons"] = "; ".join(self.reasons(lang))
        return row


@dataclass(frozen=True)
class CopyFacts:
    """What decides how a published copy's shortfall is read: the same for every request on that copy."""

    window_days: int              # the longest freshness window
    last_figure: datetime | None  # the copy's last figure (derived.observed_until)
    now_from: datetime | None     # derived.now_window: the cells at now_from hold until now_until
    now_until: datetime | None
    moments: frozenset[datetime]  # the copy's standard moments (derived.moments)

    def stored_at(self, at: datetime, framework: str | None) -> datetime | None:
        """The moment under which derived.shortfall holds the cells at `at`, or None when it holds none."""
        if framework is None and at in self.moments:
            return at
        if self.now_from is not None and self.now_from <= at and (self.now_until is None or at <= self.now_until):
            return self.now_from
        return None


def copy_facts(cur: duckdb.DuckDBPyConnection) -> CopyFacts:
    """The facts of the copy behind `cur` (pages remember them per copy)."""
    window, last_figure, now_from, now_until, moments = rows(cur, COPY_FACTS)[0]
    return CopyFacts(int(window), last_figure, now_from, now_until, frozenset(moments or []))


def shortfall(cur: duckdb.DuckDBPyConnection, level: str, at: datetime, care_type: str | None = None,
              target_group: str | None = None, framework: str | None = None,
              region: str | None = None, copy: CopyFacts | None = None) -> list[Shortfall]:
    """Every region of `level` x reported care type x target group at `at` (filters narrow it)."""
    return figures_at(cur, level, [at], care_type, target_group, framework, region, copy=copy)


def figures_at(cur: duckdb.DuckDBPyConnection, level: str, times: list[datetime], care_type: str | None = None,
               target_group: str | None = None, framework: str | None = None,
               region: str | None = None, only_region: str | None = None,
               precomputed: bool = True, copy: CopyFacts | None = None) -> list[Shortfall]:
    """Shortfall cells for several moments at once, in moment order; `only_region` skips other regions early
    (no national median then). Moments whose cells the copy stores (its last figure's window, its standard
    moments) are read from derived.shortfall, the others computed (`precomputed=False` computes all: the tests
    compare both). `copy`: the copy's facts when the caller has them."""
    return [_assessed(point) for point in series_at(cur, level, times, care_type, target_group, framework, region,
                                                    only_region, precomputed, copy)]


def series_at(cur: duckdb.DuckDBPyConnection, level: str, times: list[datetime], care_type: str | None = None,
              target_group: str | None = None, framework: str | None = None,
              region: str | None = None, only_region: str | None = None,
              precomputed: bool = True, copy: CopyFacts | None = None) -> list[Figures]:
    """What figures_at gives without status and reasons (a trend shows neither: assessing and wording 52 weeks
    in two languages cost as much as the rest of the region page's Python)."""
    copy = copy or copy_facts(cur)
    filters = {"level": level, "care_type": care_type, "target_group": target_group, "framework": framework,
               "region": region, "only_region": only_region}
    wanted = sorted(set(times))
    storable = precomputed and (framework is None or care_type == FRAMEWORK_CARE_TYPE)
    stored = {at: copy.stored_at(at, framework) for at in wanted} if storable else {}
    live = [at for at in wanted if stored.get(at) is None]
    found: list[tuple] = []
    if len(live) < len(wanted):
        by_moment: dict[datetime, list[tuple]] = {}
        for row in rows(cur, sql_file("shortfall_stored"),
                        {**filters, "stored": sorted({m for m in stored.values() if m})}):
            by_moment.setdefault(row[0], []).append(row)
        found = [(at, *row[1:]) for at, moment in stored.items() if moment for row in by_moment.get(moment, [])]
    if live:
        found += rows(cur, sql_file("shortfall"), {
            **filters, "times": live, "max_window_days": copy.window_days,
            "window_start": elapsed_days_before(min(live), copy.window_days), "window_end": max(live),
            "from_copy": precomputed and _in_copy(live, copy.last_figure, copy.moments),
            "last_figure": copy.last_figure})
    return [_figures(row) for row in sorted(found, key=lambda row: row[0])]


def _in_copy(times: list[datetime], last_figure: datetime | None, moments: frozenset[datetime]) -> bool:
    """Whether the copy's derived tables hold the latest figures at every one of `times`."""
    return all(last_figure is None or at >= last_figure or at in moments for at in times)


def _figures(row: tuple) -> Figures:
    """A row of shortfall.sql or shortfall_stored.sql; a shortfall that is zero but for floating-point noise is 0."""
    values = list(row)
    values[UNMET_NOW], values[NORM_GAP] = settled(values[UNMET_NOW]), settled(values[NORM_GAP])
    return Figures._make(values)


def _assessed(point: Figures) -> Shortfall:
    """The cell with its status and reasons (queries.status.assess)."""
    verdict = assess(point.services, point.services_fresh, point.unmet_now, point.norm_places, point.norm_gap,
                     point.median_wait_intake_days, point.median_wait_treatment_days, point.wait_breaches,
                     point.wait_norm_intake_days, point.wait_norm_treatment_days)
    return Shortfall(*point, verdict.status, verdict.reasons_nl, verdict.reasons_en)


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
           end: datetime, weeks: int = 52, copy: CopyFacts | None = None) -> list[Figures]:
    """Weekly figures for one cell, as of each week's end (the last point is `end` itself)."""
    return series_at(cur, level, week_ends(end, weeks), care_type, target_group, only_region=region, copy=copy)


def coverage_gaps(cur: duckdb.DuckDBPyConnection, level: str, at: datetime, region: str | None = None,
                  cells: list[Shortfall] | None = None, names: dict[tuple[str, str], tuple[str, str]] | None = None,
                  copy: CopyFacts | None = None) -> list[Gap]:
    """Combinations without any service, including perpetrator programmes per framework. `cells` may hand in
    the shortfall already computed for the same level, moment and region, `names` the care labels and `copy`
    the copy's facts."""
    names = care_labels(cur) if names is None else names
    cells = shortfall(cur, level, at, region=region, copy=copy) if cells is None else cells
    gaps = [_gap(cell, None, names) for cell in cells if cell.services == 0]
    for framework in FRAMEWORK_WORDS:
        framework_cells = figures_at(cur, level, [at], care_type=FRAMEWORK_CARE_TYPE, framework=framework,
                                     only_region=region, copy=copy)
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
