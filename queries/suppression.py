"""Statistical disclosure control for public views of the shortfall: no published figure may reveal the
figures of fewer than PUBLIC_MIN_SERVICES (3) providers, neither directly nor by subtraction from a total.

`public_view(cells, total)` takes the cells of ONE care type x target group at ONE moment: every region of
one level (as `shortfall(cur, level, at, care_type, target_group)` returns them) and, when at hand, the
national cell of the same selection (level "nederland"), whose places, available, waiting and wait
breaches are the sums of the regional cells. Pure: no I/O, the input is never changed.

Rules (decisions marked *):

1. Primary suppression. A cell is hidden when it rests on 1 or 2 services (0 < services < 3), or when its
   figures rest on 1 or 2 services with fresh figures (0 < services_fresh < 3).
   * The second condition goes beyond "fewer than 3 services": places, available, waiting, waits and wait
     breaches are computed from fresh services only (README, "What the numbers mean"), so a cell of 5
     services of which 1 is fresh publishes that one provider's figures.
   * A cell with 0 services is never hidden: it reveals no provider, and "no service here" is the very
     shortfall signal. Its figures stay as they are (0 places, 0 free, waiting unknown). A cell with
     services but none fresh (all figures unknown, status grey) is hidden only by the first condition.
2. Secondary suppression. Total minus the visible cells = the sum of the hidden cells, so once anything is
   hidden, more cells are hidden until that sum cannot be split. Per quantity, counted per cell:
   services (what the count reveals) and services_fresh (what the figures rest on): when a hidden cell
   has 1 or 2 of it, the hidden cells with any of it must be at least 2 and have together at least 3.
   The cell added next is the visible one with the fewest services (> 0), ties by region code. While the
   figures need protecting only cells with fresh figures are candidates (a cell without them adds nothing
   to the sums: hiding it would leave total - visible = the small cell's figures); when only the count
   needs protecting, cells without fresh figures go first (hiding one costs only a count and a grey
   status). When no candidate is left, the total is hidden instead.
   * A secondary cell's own figures may still follow by subtraction (e.g. a hidden cell of 1 service
     without fresh figures beside a secondary cell of 4 fresh services): they rest on 3 or more services,
     so they were publishable anyway; what is protected are the primary cells.
   * This runs even when `total` is None: the national figure is assumed public elsewhere (headline
     figures, other levels). `total_hidden` then tells the caller not to show any total of these cells.
   * Secondary suppression is skipped when the total is itself hidden (rule 3): nothing to subtract from.
   * Service counts cannot be de-duplicated here: a service whose area spans two regions counts in both,
     so "together at least 3 services" is a sum of per-cell counts and may overstate distinct providers.
3. The total is hidden under the same rule as a cell (0 < services < 3 or 0 < services_fresh < 3); with
   consistent data this covers every case where secondary suppression runs out of candidates.
4. A hidden cell keeps at, region level, code and name, care type and target group; every number becomes
   None (figures, service counts, population, norms and the national median, so one invariant holds: a
   hidden cell carries no number). Status becomes "suppressed" with reasons in Dutch and English.
   * The exact service count is hidden too. A primary cell says "based on fewer than 3 providers" (so
     1 or 2, as 0 is never hidden); a secondary cell says nothing about its count. `PublicView.hidden`
     tells primary from secondary per region code, `total_hidden_as` for the total.
   * `national_median_per_10k` is a median over every region, so it can equal a hidden cell's per_10k
     (an odd count of regions with the hidden cell in the middle) and give its places via the public
     population. Once any regional cell is hidden it becomes None on every regional cell.

Not protected here (known limits): linked tables (other region levels of the same selection, e.g.
municipalities that add up to a hidden region, need suppression across levels); weekly trends compared
over time; figures that only some fresh services report (a median wait reported by 1 of 3 fresh services
is that service's wait: per-figure counts would have to come from the SQL); the total's median waits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args, get_type_hints

import duckdb

from .settings import PUBLIC_MIN_SERVICES
from .shortfall import Shortfall, shortfall

SUPPRESSED = "suppressed"
Hidden = Literal["primary", "secondary"]

REASONS_PRIMARY = (f"afgeschermd: gebaseerd op minder dan {PUBLIC_MIN_SERVICES} aanbieders",
                   f"hidden: based on fewer than {PUBLIC_MIN_SERVICES} providers")
REASONS_PRIMARY_FRESH = (f"afgeschermd: cijfers van minder dan {PUBLIC_MIN_SERVICES} aanbieders met actuele cijfers",
                         f"hidden: figures from fewer than {PUBLIC_MIN_SERVICES} providers with fresh figures")
REASONS_SECONDARY = ("afgeschermd zodat een verborgen cijfer niet terug te rekenen is",
                     "hidden so that a hidden figure cannot be worked out")


def _is_number(annotation: object) -> bool:
    return annotation in (int, float) or any(arg in (int, float) for arg in get_args(annotation))


# Every numeric field of a cell, found from its type hints so a field added later is hidden too.
NUMERIC_FIELDS: tuple[str, ...] = tuple(name for name, hint in get_type_hints(Shortfall).items() if _is_number(hint))


@dataclass(frozen=True)
class PublicView:
    """What the public may see of one care type x target group at one moment.

    cells: the regional cells in the input order, hidden ones replaced by suppressed copies.
    total: the total as given (with national_median_per_10k untouched), a suppressed copy when hidden,
        or None when none was given.
    hidden: region code -> "primary" (too few providers itself) or "secondary" (hidden to protect
        another cell), sorted by region code; cells not in it are shown as they are (except the national
        median, see the module docstring).
    total_hidden: True when the total may not be shown; also when `total` was None, meaning no total of
        these cells may be shown anywhere.
    total_hidden_as: "primary" when the total rests on too few providers itself, "secondary" when hiding
        it was the only way to protect the hidden cells, else None.
    """

    cells: list[Shortfall]
    total: Shortfall | None
    hidden: dict[str, Hidden] = field(default_factory=dict)
    total_hidden: bool = False
    total_hidden_as: Hidden | None = None

    def is_hidden(self, region_code: str) -> bool:
        return region_code in self.hidden


def public_view(cells: list[Shortfall], total: Shortfall | None) -> PublicView:
    """Apply primary and secondary suppression (module docstring) to the regional `cells` of one care type x
    target group at one moment and their `total`. Raises ValueError when the cells mix selections or
    moments, repeat a region, or the total belongs to another selection."""
    _check(cells, total)
    primary = {c.region_code: reasons for c in cells if (reasons := _primary_reasons(c))}
    hidden: dict[str, Hidden] = {code: "primary" for code in primary}
    total_hidden_as: Hidden | None = "primary" if total is not None and _primary_reasons(total) else None
    if hidden and total_hidden_as is None:
        by_code = {c.region_code: c for c in cells}
        while not _protected([by_code[code] for code in hidden]):
            candidate = _next_candidate(cells, hidden)
            if candidate is None:
                total_hidden_as = "secondary"
                break
            hidden[candidate.region_code] = "secondary"
    shown = []
    for cell in cells:
        if cell.region_code in primary:
            shown.append(_suppressed(cell, primary[cell.region_code]))
        elif cell.region_code in hidden:
            shown.append(_suppressed(cell, REASONS_SECONDARY))
        elif hidden:
            shown.append(cell._replace(national_median_per_10k=None))
        else:
            shown.append(cell)
    public_total = total
    if total is not None and total_hidden_as is not None:
        reasons = (_primary_reasons(total) if total_hidden_as == "primary" else None) or REASONS_SECONDARY
        public_total = _suppressed(total, reasons)
    return PublicView(cells=shown, total=public_total, hidden=dict(sorted(hidden.items())),
                      total_hidden=total_hidden_as is not None, total_hidden_as=total_hidden_as)


def _primary_reasons(cell: Shortfall) -> tuple[str, str] | None:
    """The Dutch and English reason a cell (or total) is hidden on its own, or None."""
    if 0 < cell.services < PUBLIC_MIN_SERVICES:
        return REASONS_PRIMARY
    if 0 < cell.services_fresh < PUBLIC_MIN_SERVICES:
        return REASONS_PRIMARY_FRESH
    return None


def _protected(hidden: list[Shortfall]) -> bool:
    """Whether the sum of the hidden cells no longer gives away the count or the figures of a small cell."""
    return (_sum_protected([c.services for c in hidden])
            and _sum_protected([c.services_fresh for c in hidden]))


def _sum_protected(counts: list[int]) -> bool:
    """Rule 2 for one quantity: nothing small among the counts, or at least 2 positive ones adding up to 3."""
    if not any(0 < n < PUBLIC_MIN_SERVICES for n in counts):
        return True
    positive = [n for n in counts if n > 0]
    return len(positive) >= 2 and sum(positive) >= PUBLIC_MIN_SERVICES


def _next_candidate(cells: list[Shortfall], hidden: dict[str, Hidden]) -> Shortfall | None:
    """The visible cell to hide next (module docstring, rule 2), or None when there is none."""
    need_figures = not _sum_protected([c.services_fresh for c in cells if c.region_code in hidden])
    pool = [c for c in cells if c.region_code not in hidden and c.services > 0
            and (c.services_fresh > 0 or not need_figures)]
    return min(pool, key=lambda c: (c.services_fresh > 0, c.services, c.region_code), default=None)


def _suppressed(cell: Shortfall, reasons: tuple[str, str]) -> Shortfall:
    return cell._replace(**{name: None for name in NUMERIC_FIELDS}, status=SUPPRESSED,
                         reasons_nl=(reasons[0],), reasons_en=(reasons[1],))


def _check(cells: list[Shortfall], total: Shortfall | None) -> None:
    selections = {(c.at, c.region_level, c.care_type, c.target_group) for c in cells}
    if len(selections) > 1:
        raise ValueError("public_view takes the cells of one level, care type, target group and moment; "
                         f"got {len(selections)} selections")
    codes = [c.region_code for c in cells]
    if len(set(codes)) != len(codes):
        raise ValueError("public_view got the same region twice")
    if total is not None and cells:
        cell = cells[0]
        if (total.at, total.care_type, total.target_group) != (cell.at, cell.care_type, cell.target_group):
            raise ValueError("the total belongs to another care type, target group or moment than the cells")


def public_level(levels: list[str]) -> str:
    """The one level the public sees: CAPACITY_PUBLIC_LEVEL when it exists, else the first regional level."""
    from .settings import get

    chosen = get("public_level")
    regional = [level for level in levels if level not in ("nederland", "gemeente")]
    return chosen if chosen in levels else (regional or levels)[0]


def public_shortfall(cur: duckdb.DuckDBPyConnection, level: str, moment: datetime, care_type: str | None,
                     target_group: str | None, region: str | None) -> list[Shortfall]:
    """What the public may see: each care type x target group suppressed over all regions of the level with
    its national total, then the region filter applied (what is hidden depends on the whole table, never on
    the rows asked for)."""
    totals = {(c.care_type, c.target_group): c for c in shortfall(cur, "nederland", moment, care_type, target_group)}
    groups: dict[tuple[str, str], list[Shortfall]] = {}
    for cell in shortfall(cur, level, moment, care_type, target_group):
        groups.setdefault((cell.care_type, cell.target_group), []).append(cell)
    shown = [c for key, group in groups.items() for c in public_view(group, totals.get(key)).cells]
    return [c for c in shown if not region or c.region_code == region]
