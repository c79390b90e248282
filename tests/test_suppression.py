"""Public-view suppression (queries/suppression.py), every outcome worked out by hand.

Hand-built cells: region codes A, B, ... of a made-up level, 10,000 inhabitants of the target group each
(so per_10k = places), every service fresh unless said otherwise; the total is built as the national cell
would be: the sum of the regional figures (no service spans two regions here).
"""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from queries.connection import PublishedReader
from queries.moments import as_of
from queries.settings import PUBLIC_MIN_SERVICES
from queries.shortfall import Shortfall, shortfall
from queries.suppression import (REASONS_PRIMARY, REASONS_PRIMARY_FRESH, REASONS_SECONDARY, SUPPRESSED,
                                 PublicView, public_view)

AT = datetime(2026, 6, 30, 21, 59, 59, tzinfo=timezone.utc)
MEDIAN = 99.0  # a made-up national median per 10,000 on every cell


def cell(code: str, services: int, places: float = 0.0, available: float = 0.0, waiting: float | None = 0.0,
         fresh: int | None = None, level: str = "testregio") -> Shortfall:
    """A cell; `fresh` defaults to `services`. Without fresh services the figures are unknown (None), without
    any service they are 0 places, 0 free, waiting unknown, as shortfall() gives them."""
    fresh = services if fresh is None else fresh
    if services == 0:
        places, available, waiting = 0.0, 0.0, None
    elif fresh == 0:
        places, available, waiting = None, None, None  # type: ignore[assignment]
    unmet = None if waiting is None or available is None else max(0.0, waiting - available)
    return Shortfall(
        at=AT, region_level=level, region_code=code, region_name=f"Regio {code}", care_type="shelter",
        target_group="child", services=services, services_fresh=fresh, places=places, available=available,
        waiting=waiting, unmet_now=unmet, norm_places=1.0, norm_gap=None if places is None else max(0.0, 1 - places),
        per_10k=places, national_median_per_10k=MEDIAN, median_wait_intake_days=3.0 if fresh else None,
        median_wait_treatment_days=None, wait_breaches=1 if fresh else 0, wait_norm_intake_days=1,
        wait_norm_treatment_days=None, inhabitants=20_000, target_population=10_000.0,
        status="red" if not services else "grey" if not fresh else "amber",
        reasons_nl=("iets",), reasons_en=("something",))


def total_of(cells: list[Shortfall], services: int | None = None, fresh: int | None = None) -> Shortfall:
    """The national cell: sums of the regional figures (unknown counts as nothing), counts summed too."""
    def add(name: str) -> float:
        return sum(getattr(c, name) or 0.0 for c in cells)
    whole = cell("NL", sum(c.services for c in cells) if services is None else services,
                 add("places"), add("available"), add("waiting"),
                 fresh=sum(c.services_fresh for c in cells) if fresh is None else fresh, level="nederland")
    return whole._replace(wait_breaches=sum(c.wait_breaches for c in cells))


def shown(view: PublicView) -> dict[str, Shortfall]:
    return {c.region_code: c for c in view.cells}


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def assert_no_numbers(hidden: Shortfall) -> None:
    numbers = {name: getattr(hidden, name) for name in Shortfall._fields if is_number(getattr(hidden, name))}
    assert numbers == {}, hidden.region_code
    assert hidden.status == SUPPRESSED


def test_the_threshold_is_three() -> None:
    assert PUBLIC_MIN_SERVICES == 3  # every expectation below is worked out for 3


def test_no_small_cells_hides_nothing() -> None:
    cells = [cell("A", 3, 30), cell("B", 5, 50), cell("C", 4, 40)]
    total = total_of(cells)
    view = public_view(cells, total)
    assert view.hidden == {} and not view.total_hidden and view.total_hidden_as is None
    assert view.cells == cells and view.total is total       # untouched, national median kept
    assert all(c.national_median_per_10k == MEDIAN for c in view.cells)


def test_one_small_cell_hides_the_next_smallest_and_subtraction_no_longer_works() -> None:
    cells = [cell("A", 1, places=7, available=2, waiting=5), cell("B", 5, places=50, available=10, waiting=1),
             cell("C", 3, places=30, available=4, waiting=9), cell("D", 4, places=40, available=0, waiting=3)]
    total = total_of(cells)                                  # places 127, available 16, waiting 18, services 13
    view = public_view(cells, total)
    # A (1 service) is primary. Alone it would be total - B - C - D = 127 - 50 - 30 - 40 = 7: its places.
    # Next smallest of B 5, C 3, D 4 is C; then 2 cells on 1 + 3 = 4 >= 3 services: done.
    assert view.hidden == {"A": "primary", "C": "secondary"}
    assert not view.total_hidden and view.total == total
    visible = [c for c in view.cells if c.region_code not in view.hidden]
    # B and D are shown as they are, except the national median (it could be a hidden cell's per_10k)
    assert visible == [cells[1]._replace(national_median_per_10k=None), cells[3]._replace(national_median_per_10k=None)]
    originals = {c.region_code: c for c in cells}
    for name in ("places", "available", "waiting", "services", "services_fresh", "wait_breaches"):
        remainder = getattr(view.total, name) - sum(getattr(c, name) for c in visible)
        hidden_values = [getattr(originals[code], name) for code in view.hidden]
        # places 127 - 90 = 37 = 7 + 30; available 16 - 10 = 6 = 2 + 4; waiting 18 - 4 = 14 = 5 + 9;
        # services 13 - 9 = 4 = 1 + 3; wait breaches 4 - 2 = 2 = 1 + 1: never one hidden cell's own figure
        assert remainder == pytest.approx(sum(hidden_values)), name
        assert all(remainder != pytest.approx(v) for v in hidden_values), name
    hidden = shown(view)
    assert hidden["A"].reasons_nl == ("afgeschermd: gebaseerd op minder dan 3 aanbieders",)
    assert hidden["A"].reasons_en == ("hidden: based on fewer than 3 providers",)
    assert hidden["C"].reasons_nl == ("afgeschermd zodat een verborgen cijfer niet terug te rekenen is",)
    assert hidden["C"].reasons_en == ("hidden so that a hidden figure cannot be worked out",)


def test_two_primary_cells_on_two_services_together_hide_a_third() -> None:
    cells = [cell("A", 1, 7), cell("B", 1, 8), cell("C", 6, 60), cell("D", 4, 40)]
    view = public_view(cells, total_of(cells))
    # A and B: 2 cells but 1 + 1 = 2 < 3 services, so total - C - D = 15 would be 2 providers' places.
    # Next smallest: D (4 < 6). A + B + D = 6 services.
    assert view.hidden == {"A": "primary", "B": "primary", "D": "secondary"}
    assert not view.total_hidden
    assert shown(view)["C"].places == 60


def test_ties_go_to_the_lowest_region_code() -> None:
    cells = [cell("C", 4, 40), cell("B", 4, 41), cell("A", 2, 20)]
    view = public_view(cells, total_of(cells))
    # A primary (2); B and C both 4 services: B first by code, whatever the input order.
    assert view.hidden == {"A": "primary", "B": "secondary"}
    assert [c.region_code for c in view.cells] == ["C", "B", "A"]  # input order kept
    assert view.cells[0].places == 40


def test_a_cell_without_service_stays_visible_and_is_never_hidden_to_protect_another() -> None:
    cells = [cell("A", 1, 7), cell("Z", 0), cell("B", 3, 30), cell("C", 5, 50)]
    view = public_view(cells, total_of(cells))
    # A primary. Z has the fewest services (0) but hiding it protects nothing (it adds 0 to every sum):
    # B (3) is the next smallest with services.
    assert view.hidden == {"A": "primary", "B": "secondary"}
    z = shown(view)["Z"]
    assert (z.services, z.places, z.available, z.waiting, z.status) == (0, 0, 0, None, "red")


def test_a_cell_without_service_alone_is_not_hidden() -> None:
    cells = [cell("A", 0), cell("B", 3, 30)]
    view = public_view(cells, total_of(cells))
    assert view.hidden == {} and view.cells == cells


def test_too_few_cells_hide_the_total() -> None:
    cells = [cell("A", 1, 7), cell("B", 0), cell("C", 0)]
    # Only A has a service: there is no cell to hide with it. The national total rests on the same 1 service,
    # so it is hidden on its own account (with consistent data that always comes first).
    view = public_view(cells, total_of(cells))
    assert view.hidden == {"A": "primary"}
    assert view.total_hidden and view.total_hidden_as == "primary"
    assert view.total is not None and view.total.reasons_en == REASONS_PRIMARY[1:]
    assert_no_numbers(view.total)
    # Without a total at hand the national figure is still assumed public: no total of these cells may be shown.
    view = public_view(cells, None)
    assert view.hidden == {"A": "primary"} and view.total is None
    assert view.total_hidden and view.total_hidden_as == "secondary"


def test_a_total_on_enough_services_is_hidden_when_no_cell_can_protect_the_small_one() -> None:
    # A total that rests on 5 services although the cells show only A's 2 (inconsistent input, e.g. a level
    # that misses municipalities): A is primary, no cell with a service is left, so the total goes.
    cells = [cell("A", 2, 7), cell("B", 0)]
    view = public_view(cells, total_of(cells, services=5, fresh=5))
    assert view.hidden == {"A": "primary"}
    assert view.total_hidden_as == "secondary" and view.total is not None
    assert view.total.reasons_nl == REASONS_SECONDARY[:1] and view.total.status == SUPPRESSED


def test_a_total_on_two_services_is_hidden() -> None:
    cells = [cell("A", 1, 7), cell("B", 1, 8), cell("C", 0)]
    view = public_view(cells, total_of(cells))             # total: 2 services, places 15
    assert view.hidden == {"A": "primary", "B": "primary"}
    assert view.total_hidden and view.total_hidden_as == "primary"
    assert view.total is not None and view.total.places is None and view.total.region_code == "NL"


def test_hidden_cells_carry_no_number_and_keep_what_they_are() -> None:
    cells = [cell("A", 1, 7), cell("B", 1, 8), cell("C", 6, 60), cell("D", 4, 40), cell("E", 2, 20, fresh=0)]
    view = public_view(cells, total_of(cells))             # total: 14 services, 12 fresh
    # A, B, E primary (E: 2 services, no fresh figures): 3 cells on 1 + 1 + 2 = 4 services, but the figures
    # rest on A and B only, 1 + 1 = 2 fresh services < 3, so D (4, fewer than C's 6) is hidden too.
    assert not view.total_hidden
    assert view.hidden == {"A": "primary", "B": "primary", "D": "secondary", "E": "primary"}
    for original, public in zip(cells, view.cells, strict=True):
        if public.region_code in view.hidden:
            assert_no_numbers(public)
            assert (public.at, public.region_level, public.region_code, public.region_name, public.care_type,
                    public.target_group) == (original.at, original.region_level, original.region_code,
                                             original.region_name, original.care_type, original.target_group)
        else:
            assert public.places == original.places and public.national_median_per_10k is None


def test_figures_from_fewer_than_three_fresh_services_are_hidden() -> None:
    # A has 5 services but only 1 fresh: its places are that one provider's.
    cells = [cell("A", 5, 7, fresh=1), cell("B", 3, 30), cell("C", 4, 40)]
    view = public_view(cells, total_of(cells))
    assert view.hidden == {"A": "primary", "B": "secondary"}   # B: fewest services with fresh figures
    a = shown(view)["A"]
    assert (a.reasons_nl, a.reasons_en) == (REASONS_PRIMARY_FRESH[:1], REASONS_PRIMARY_FRESH[1:])
    assert a.reasons_en == ("hidden: figures from fewer than 3 providers with fresh figures",)


def test_a_cell_without_fresh_figures_does_not_protect_figures() -> None:
    # G has the fewest services (3) but no fresh figure: it adds nothing to the sums, so with A and G hidden
    # total - B - C would still be A's places (7). B (4) is taken instead.
    cells = [cell("A", 1, 7), cell("G", 3, fresh=0), cell("B", 4, 40), cell("C", 5, 50)]
    view = public_view(cells, total_of(cells))
    assert view.hidden == {"A": "primary", "B": "secondary"}
    assert shown(view)["G"].status == "grey" and shown(view)["G"].services == 3
    # When the hidden cell has no fresh figures itself only its count (1) needs company: 2 cells on 3 or
    # more services. G goes first although it has as many services as B: hiding it costs no figure.
    cells = [cell("A", 1, fresh=0), cell("G", 4, fresh=0), cell("B", 4, 40)]
    view = public_view(cells, total_of(cells))
    assert view.hidden == {"A": "primary", "G": "secondary"}
    assert shown(view)["B"].places == 40
    # With only a cell with figures to hide with it, that one goes; total - visible = B's places (40), but
    # B rests on 4 fresh services: publishable. A's count stays hidden: total services 5 - 0 = A + B.
    cells = [cell("A", 1, fresh=0), cell("B", 4, 40), cell("Z", 0)]
    view = public_view(cells, total_of(cells))
    assert view.hidden == {"A": "primary", "B": "secondary"} and not view.total_hidden


def test_the_rules_hold_on_random_levels() -> None:
    """Not worked out by hand: 500 seeded random levels, checked against the rules themselves."""
    rng = random.Random(7)
    for _ in range(500):
        cells = []
        for code in "ABCDEFG"[:rng.randint(1, 7)]:
            services = rng.choice([0, 0, 1, 2, 3, 4, 6])
            cells.append(cell(code, services, rng.randint(1, 50), fresh=rng.randint(0, services)))
        total = total_of(cells)
        view = public_view(cells, total)
        small = {c.region_code for c in cells if 0 < c.services < 3 or 0 < c.services_fresh < 3}
        assert {code for code, kind in view.hidden.items() if kind == "primary"} == small
        assert all(c.services > 0 for c in cells if c.region_code in view.hidden)   # 0 services: never hidden
        # with a consistent total, running out of cells to hide never comes before the total's own rule
        assert view.total_hidden_as != "secondary"
        hidden = [c for c in cells if c.region_code in view.hidden]
        if view.hidden and not view.total_hidden:
            for name in ("services", "services_fresh"):
                counts = [getattr(c, name) for c in hidden if getattr(c, name) > 0]
                if any(n < 3 for n in counts):
                    assert len(counts) >= 2 and sum(counts) >= 3, (name, cells)
        for public in view.cells:
            if public.region_code in view.hidden:
                assert_no_numbers(public)


def test_mixed_selections_are_refused() -> None:
    a, b = cell("A", 3, 30), cell("B", 3, 30)
    with pytest.raises(ValueError):
        public_view([a, a], None)
    other = b._replace(care_type="trauma_care")
    with pytest.raises(ValueError):
        public_view([a, other], None)
    with pytest.raises(ValueError):
        public_view([a, b], other)


# The hand-made world of shortfall_world.py at T = 30 June 2026 (see test_shortfall.py). Services per
# region (a service counts in every region its area touches; fresh = latest figure within the window):
#   shelter (both groups):  A: SH1 (GM0002) + SH2 = 2; B: SH1 (GM0003) + SH3 (stale) = 2, 1 fresh;
#                           C: none; D: SH5 = 1. National: SH1, SH2, SH3, SH5 = 4, 3 fresh.
#   trauma care, adults:    A: TR2 = 1; B: TR3 + TR4 = 2; C, D: none. National: 3, all fresh.
#   trauma care, children:  A: TR2 = 1; B: TR1 = 1; C, D: none. National: 2.
#   perpetrator programme:  A: PP1 = 1; B: PP2 (stale) = 1, 0 fresh; C, D: none. National: 2, 1 fresh.
#   peer groups:            no service anywhere.
WORLD = {  # (care type, target group): (services per region A-D, hidden, total hidden as)
    ("shelter", "adult_victim"): ((2, 2, 0, 1), {"A": "primary", "B": "primary", "D": "primary"}, None),
    ("shelter", "child"): ((2, 2, 0, 1), {"A": "primary", "B": "primary", "D": "primary"}, None),
    ("trauma_care", "adult_victim"): ((1, 2, 0, 0), {"A": "primary", "B": "primary"}, None),
    ("trauma_care", "child"): ((1, 1, 0, 0), {"A": "primary", "B": "primary"}, "primary"),
    ("perpetrator_programme", "perpetrator"): ((1, 1, 0, 0), {"A": "primary", "B": "primary"}, "primary"),
    ("peer_group", "adult_victim"): ((0, 0, 0, 0), {}, None),
    ("peer_group", "perpetrator"): ((0, 0, 0, 0), {}, None),
}
# Why: every region with a service has 1 or 2 of them, so each is primary and C (no service) never is.
#   shelter: A, B, D hidden = 3 cells on 2 + 2 + 1 = 5 services, fresh 2 + 1 + 1 = 4: no secondary needed;
#            the total (4 services, 3 fresh) stays, and total - C = A + B + D (places 19 = 12 + 5 + 2).
#   trauma care, adults: A + B = 2 cells on 1 + 2 = 3 services, all fresh: enough; total (3) stays.
#   trauma care, children: the total rests on 2 services (TR1, TR2): hidden on its own account.
#   perpetrator programme: the total rests on 2 services, 1 fresh: hidden.
#   peer groups: nothing to hide; the total (0 services) reveals no provider and stays.


@pytest.fixture(scope="module")
def world(reader: PublishedReader) -> dict[tuple[str, str], tuple[list[Shortfall], Shortfall]]:
    """(care type, target group) -> (cells of level testregio, the national cell) at T, two queries in all."""
    with reader.cursor() as cur:
        regional = shortfall(cur, "testregio", as_of("2026-06-30"))
        national = shortfall(cur, "nederland", as_of("2026-06-30"))
    return {(n.care_type, n.target_group): ([c for c in regional if (c.care_type, c.target_group)
                                             == (n.care_type, n.target_group)], n) for n in national}


@pytest.mark.parametrize(("care_type", "target_group"), list(WORLD))
def test_the_hand_made_world(world: dict, care_type: str, target_group: str) -> None:
    services, hidden, total_hidden_as = WORLD[(care_type, target_group)]
    regional, national = world[(care_type, target_group)]
    assert tuple(c.services for c in regional) == services and [c.region_code for c in regional] == list("ABCD")
    view = public_view(regional, national)
    assert view.hidden == hidden
    assert view.total_hidden_as == total_hidden_as and view.total_hidden == (total_hidden_as is not None)
    for original, public in zip(regional, view.cells, strict=True):
        if public.region_code in hidden:
            assert_no_numbers(public)
        else:
            assert public.places == original.places and public.waiting == original.waiting
    if view.total_hidden:
        assert view.total is not None
        assert_no_numbers(view.total)
    else:
        assert view.total == national
        visible = sum(c.places for c in view.cells if c.region_code not in hidden)
        remainder = national.places - visible             # = the sum of the hidden cells, none of them alone
        assert all(remainder != pytest.approx(regional["ABCD".index(code)].places) for code in hidden)
    # The level `nederland` alone: its one cell is the total, hidden exactly when the total is.
    one = public_view([national], national)
    assert one.hidden == ({"NL": "primary"} if total_hidden_as else {})
    assert one.total_hidden_as == total_hidden_as
