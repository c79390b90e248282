"""Shortfall figures on the hand-made world of shortfall_world.py, worked out by hand.

Moment T = 30 June 2026, end of day in Amsterdam = 2026-06-30 21:59:59.999999 UTC.
Freshness windows: shelter 2 days, trauma care and perpetrator programmes 35 days.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from queries.connection import PublishedReader
from queries.db import rows
from queries.moments import AMSTERDAM, as_of, month_ends, week_ends
from queries.shortfall import Figures, Shortfall, copy_facts, figures_at, shortfall, trends
from queries.suppression import public_view


def cells(reader: PublishedReader, at: str, level: str = "testregio", **filters: str) -> dict[tuple, Shortfall]:
    with reader.cursor() as cur:
        found = shortfall(cur, level, as_of(at), **filters)
    return {(c.region_code, c.care_type, c.target_group): c for c in found}


def close(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) < 1e-6


def test_shelter_region_a_unmet_demand_is_amber(reader: PublishedReader) -> None:
    a = cells(reader, "2026-06-30")[("A", "shelter", "adult_victim")]
    # SH1 covers GM0002 (60,000, in A) and GM0003 (50,000, in B): weight in A = 60/110 = 6/11.
    # SH2 covers region A: weight 1. Both fresh (14 h and 34 h old).
    assert (a.services, a.services_fresh) == (2, 2)
    assert close(a.places, 6 / 11 * 11 + 6)                # 12
    assert close(a.available, 6 / 11 * 0 + 2)              # 2
    assert close(a.waiting, 6 / 11 * 4 + 1)                # 35/11
    assert close(a.unmet_now, 35 / 11 - 2)                 # 13/11
    assert close(a.norm_places, 1 * 100_000 / 10_000)      # 10
    assert close(a.norm_gap, 0)                            # 10 - 12 < 0
    assert close(a.per_10k, 12 / 80_500 * 10_000)          # adults 100,000 - 19,500
    assert a.median_wait_intake_days is None and a.median_wait_treatment_days is None
    assert a.wait_breaches == 0
    assert a.status == "amber"
    assert a.reasons_nl == ("1,2 meer wachtenden dan vrije plaatsen",)


def test_shelter_region_b_norm_gap_of_half_is_red(reader: PublishedReader) -> None:
    b = cells(reader, "2026-06-30")[("B", "shelter", "child")]
    # SH1 weight 5/11 (fresh); SH3 weight 1 but its figure is 10.5 days old: stale, so left out.
    assert (b.services, b.services_fresh) == (2, 1)        # 2 x 1 < 2 is false: not grey
    assert close(b.places, 5 / 11 * 11)                    # 5
    assert close(b.available, 0)
    assert close(b.waiting, 5 / 11 * 4)                    # 20/11
    assert close(b.unmet_now, 20 / 11)
    assert close(b.norm_gap, 10 - 5)                       # 5 >= 20% of 10
    assert close(b.per_10k, 5 / 18_000 * 10_000)           # children 8,000 + 0.3 x 6,000 + 7,000 + 0.3 x 4,000
    assert b.status == "red"
    assert b.reasons_nl == ("5 plaatsen tekort op een norm van 10 (50%)",)
    assert b.reasons_en == ("5 places short of a norm of 10 (50%)",)


def test_a_region_without_any_service(reader: PublishedReader) -> None:
    c = cells(reader, "2026-06-30")[("C", "shelter", "adult_victim")]
    assert (c.services, c.services_fresh, c.places, c.available, c.per_10k) == (0, 0, 0, 0, 0)
    assert c.waiting is None and c.unmet_now is None       # unknown, not zero
    assert close(c.norm_places, 2) and close(c.norm_gap, 2)  # 20,000 inhabitants -> 2 places, all missing
    assert c.status == "red" and c.reasons_en == ("no service in this region",)


def test_a_small_norm_gap_is_amber(reader: PublishedReader) -> None:
    d = cells(reader, "2026-06-30")[("D", "shelter", "child")]
    # 22,000 inhabitants -> norm 2.2; SH5 has 2 places: gap 0.2 < 20% of 2.2 = 0.44
    assert close(d.places, 2) and close(d.norm_gap, 0.2) and close(d.unmet_now, 0)
    assert close(d.per_10k, 2 / 3_600 * 10_000)
    assert d.status == "amber" and d.reasons_nl == ("0,2 plaatsen onder de norm van 2,2",)


def test_national_median_per_10k_includes_regions_without_service(reader: PublishedReader) -> None:
    found = cells(reader, "2026-06-30")
    # adult victims: A 12/80,500, B 5/82,000, C 0, D 2/18,400 -> sorted 0, B, D, A -> (B + D) / 2
    expected = (5 / 82_000 * 10_000 + 2 / 18_400 * 10_000) / 2
    assert all(close(found[(r, "shelter", "adult_victim")].national_median_per_10k, expected) for r in "ABCD")
    # perpetrators: A 20/80,500, B unknown (no fresh figure: left out), C 0, D 0 -> median 0
    assert found[("B", "perpetrator_programme", "perpetrator")].per_10k is None
    assert close(found[("A", "perpetrator_programme", "perpetrator")].national_median_per_10k, 0)


def test_median_treatment_wait_above_norm_is_red(reader: PublishedReader) -> None:
    b = cells(reader, "2026-06-30")[("B", "trauma_care", "child")]
    # TR1 (GM0003 + GM0004, both in B: weight 1), 15.5 days old: fresh
    assert (b.services_fresh, b.places, b.available, b.waiting, b.unmet_now) == (1, 10, 0, 12, 12)
    assert (b.median_wait_intake_days, b.median_wait_treatment_days, b.wait_breaches) == (21, 98, 1)
    assert b.norm_places is None and b.norm_gap is None     # no per-capita norm for trauma care
    assert b.status == "red" and b.reasons_nl == ("mediane behandelwachttijd 98 dagen > norm 70",)


def test_one_service_above_the_wait_norm_is_amber_and_even_medians_average(reader: PublishedReader) -> None:
    b = cells(reader, "2026-06-30")[("B", "trauma_care", "adult_victim")]
    # TR3: 3 places, 1 free, intake 35 (> 28); TR4: 5 places, 2 free, 2 waiting, intake 10
    assert (b.services, b.places, b.available, b.waiting, b.unmet_now) == (2, 8, 3, 2, 0)
    assert b.median_wait_intake_days == (35 + 10) / 2      # 22.5 <= 28
    assert b.median_wait_treatment_days == (50 + 20) / 2   # 35 <= 70
    assert b.wait_breaches == 1
    assert b.status == "amber" and b.reasons_en == ("1 service(s) above the waiting-time norm",)


def test_green_and_grey(reader: PublishedReader) -> None:
    found = cells(reader, "2026-06-30")
    green = found[("A", "trauma_care", "child")]
    assert (green.places, green.available, green.waiting, green.unmet_now) == (4, 1, 0, 0)
    assert close(green.per_10k, 4 / 19_500 * 10_000)
    assert green.status == "green" and green.reasons_nl == ("geen tekort gevonden",)
    grey = found[("B", "perpetrator_programme", "perpetrator")]
    # PP2's only figure is 90 days old: the service counts, none of its figures do
    assert (grey.services, grey.services_fresh) == (1, 0)
    assert grey.places is None and grey.available is None and grey.waiting is None and grey.unmet_now is None
    assert grey.status == "grey"
    assert grey.reasons_nl == ("maar 0 van 1 aanbieders hebben actuele cijfers",)


def test_as_of_a_past_date_uses_the_figures_true_then(reader: PublishedReader) -> None:
    found = cells(reader, "2026-06-10")                   # 2026-06-10 21:59:59.999999 UTC
    a, b = found[("A", "shelter", "adult_victim")], found[("B", "shelter", "adult_victim")]
    # SH2 has no figure yet; SH1's figure of 9 June (11 places, 3 free) is 36 h old: fresh
    assert (a.services, a.services_fresh) == (1, 1)
    assert close(a.places, 6) and close(a.available, 6 / 11 * 3) and close(a.waiting, 0)
    assert close(a.norm_gap, 4) and a.status == "red"     # 4 >= 20% of 10
    # B: SH1 5/11 x (11, 3) plus SH3 of 9 June (8 places, 5 free), 37 h old: fresh
    assert close(b.places, 5 + 8) and close(b.available, 5 / 11 * 3 + 5) and close(b.norm_gap, 0)
    assert b.status == "green"
    # TR1's figure of 1 May is 40.5 days old on 10 June: stale
    assert found[("B", "trauma_care", "child")].status == "grey"


def test_perpetrator_programmes_split_by_framework(reader: PublishedReader) -> None:
    mandated = cells(reader, "2026-06-30", care_type="perpetrator_programme", framework="mandated")
    voluntary = cells(reader, "2026-06-30", care_type="perpetrator_programme", framework="voluntary")
    assert mandated[("A", "perpetrator_programme", "perpetrator")].services == 0
    assert mandated[("B", "perpetrator_programme", "perpetrator")].services == 1
    assert voluntary[("A", "perpetrator_programme", "perpetrator")].places == 20
    assert voluntary[("B", "perpetrator_programme", "perpetrator")].services == 0


def test_filters_and_region(reader: PublishedReader) -> None:
    only = cells(reader, "2026-06-30", care_type="shelter", target_group="child", region="B")
    assert list(only) == [("B", "shelter", "child")]
    # the national median still compares B with every region: children A 12/19,500, B 5/18,000, C 0, D 2/3,600
    expected = (5 / 18_000 * 10_000 + 2 / 3_600 * 10_000) / 2
    assert close(only[("B", "shelter", "child")].national_median_per_10k, expected)


def test_regional_totals_add_up_to_the_national_total(reader: PublishedReader) -> None:
    regional = cells(reader, "2026-06-30")
    national = cells(reader, "2026-06-30", level="nederland")
    for care_type, group in [("shelter", "adult_victim"), ("trauma_care", "child"), ("trauma_care", "adult_victim")]:
        for figure in ("places", "available", "waiting"):
            parts = [getattr(regional[(r, care_type, group)], figure) for r in "ABCD"]
            total = getattr(national[("NL", care_type, group)], figure)
            assert close(total, sum(p for p in parts if p is not None)), (care_type, group, figure)
    # by hand for shelters: places 12 + 5 + 0 + 2 = 19 = SH1 11 + SH2 6 + SH5 2 (SH3 stale)
    assert close(national[("NL", "shelter", "child")].places, 19)
    assert close(national[("NL", "shelter", "child")].waiting, 4 + 1 + 0)


def test_the_copy_table_gives_what_the_full_computation_gives(reader: PublishedReader) -> None:
    """The copy's last figure is SH1's at 30 June 08:00 UTC; the first fresh figure to turn stale after it
    is SH2's (29 June 12:00 + 2 days shelter window = 1 July 12:00). In between, every level's table is
    read from derived.shortfall; it must equal the full computation, and just after it the full
    computation (which then sees SH2 stale) is used."""
    last = datetime(2026, 6, 30, 8, tzinfo=timezone.utc)
    until = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)
    with reader.cursor() as cur:
        assert rows(cur, "SELECT computed_at, valid_until FROM derived.now_window") == [(last, until)]
        variants = [{}, {"only_region": "B"}, {"care_type": "perpetrator_programme", "framework": "mandated"},
                    {"care_type": "perpetrator_programme", "framework": "voluntary", "only_region": "A"}]
        for at, level, filters in itertools.product((last, as_of("2026-06-30"), until), ("testregio", "nederland"),
                                                    variants):
            if filters.get("only_region") and level == "nederland":
                continue
            precomputed = figures_at(cur, level, [at], **filters)
            computed = figures_at(cur, level, [at], precomputed=False, **filters)
            assert len(precomputed) == len(computed) > 0
            for fast, full in zip(precomputed, computed):
                for name, value in full._asdict().items():
                    expected = pytest.approx(value) if isinstance(value, float) else value
                    assert getattr(fast, name) == expected, (at, level, filters, name)
        after = {(c.region_code, c.care_type, c.target_group): c
                 for c in shortfall(cur, "testregio", until + timedelta(microseconds=1))}
    assert after[("A", "shelter", "adult_victim")].services_fresh == 1   # SH2 has turned stale; SH1 is fresh


def test_many_moments_at_once_give_what_each_moment_alone_gives(reader: PublishedReader) -> None:
    """Trends scan each observation once (latest per interval between moments, carried forward within the
    window); that must equal computing each moment on its own, over the world's April-June history."""
    moments = week_ends(as_of("2026-06-30"), 14) + [as_of("2026-04-01"), as_of("2026-06-09T09:00")]
    moments = sorted(set(moments))
    with reader.cursor() as cur:
        for level, only_region in (("testregio", None), ("testregio", "B"), ("nederland", None)):
            together = figures_at(cur, level, moments, only_region=only_region)
            alone = [cell for at in moments
                     for cell in figures_at(cur, level, [at], only_region=only_region, precomputed=False)]
            assert len(together) == len(alone) > 0
            for joint, single in zip(together, alone):
                for name, value in single._asdict().items():
                    expected = pytest.approx(value) if isinstance(value, float) else value
                    assert getattr(joint, name) == expected, (level, only_region, single.at, name)


def test_trend_moments_from_the_copy_table_equal_the_scan(reader: PublishedReader) -> None:
    """A year of week ends before T and the month ends are the copy's standard moments (derived.moments):
    read from derived.moment_latest they must equal scanning the observations."""
    weekly = week_ends(as_of("2026-06-30"), 53)
    monthly = month_ends(as_of("2026-06-30"), 13)
    with reader.cursor() as cur:
        standard = {at for (at,) in rows(cur, "SELECT at_ts FROM derived.moments")}
        assert {at for at in weekly + monthly if at < datetime(2026, 6, 30, 8, tzinfo=timezone.utc)} <= standard
        for moments in (weekly, monthly):
            for level, only_region in (("testregio", "B"), ("testregio", None)):
                from_copy = figures_at(cur, level, moments, only_region=only_region)
                scanned = figures_at(cur, level, moments, only_region=only_region, precomputed=False)
                assert len(from_copy) == len(scanned) > 0
                for copied, scan in zip(from_copy, scanned):
                    for name, value in scan._asdict().items():
                        expected = pytest.approx(value) if isinstance(value, float) else value
                        assert getattr(copied, name) == expected, (level, scan.at, name)


LAST_FIGURE = datetime(2026, 6, 30, 8, tzinfo=timezone.utc)      # SH1's figure: the copy's last
SUNDAY_21_JUNE = datetime(2026, 6, 21, 21, 59, 59, 999999, tzinfo=timezone.utc)   # its last microsecond in Amsterdam


def assert_identical(found: list[Shortfall], expected: list[Shortfall], context: object) -> None:
    """The same cells in the same order, every field equal (floats to rounding)."""
    assert len(found) == len(expected) > 0, context
    for fast, full in zip(found, expected):
        for name, value in full._asdict().items():
            wanted = pytest.approx(value) if isinstance(value, float) else value
            assert getattr(fast, name) == wanted, (context, full.at, full.region_code, name)


def test_the_copy_stores_every_level_at_each_standard_moment(reader: PublishedReader) -> None:
    """derived.shortfall holds the whole table of each level at every standard moment (framework NULL):
    4 regions x 7 reported combinations for testregio, 1 x 7 for nederland; and at the copy's last figure
    also per framework for perpetrator programmes (4 regions + 1, one combination each)."""
    with reader.cursor() as cur:
        (moments,) = rows(cur, "SELECT count(*) FROM derived.moments")[0]
        stored = dict(rows(cur, """SELECT level, count(*) FROM derived.shortfall
                                   WHERE framework IS NULL AND at_ts IN (SELECT at_ts FROM derived.moments)
                                   GROUP BY level"""))
        now = rows(cur, """SELECT at_ts, coalesce(framework, '-'), count(*) FROM derived.shortfall
                           WHERE at_ts NOT IN (SELECT at_ts FROM derived.moments) GROUP BY ALL ORDER BY ALL""")
    assert moments > 52 and stored == {"testregio": 28 * moments, "nederland": 7 * moments}
    assert now == [(LAST_FIGURE, "-", 35), (LAST_FIGURE, "mandated", 5), (LAST_FIGURE, "voluntary", 5)]


def test_a_stored_week_end_worked_out_by_hand(reader: PublishedReader) -> None:
    """Sunday 21 June, a standard moment. Trauma care for children in B: only TR1 (GM0003 + GM0004, weight 1),
    its figure of 15 June 10:00 is 6.5 days old (fresh: 35 days): 10 places, 0 free, 12 waiting, intake 21
    and treatment 98 days (over the norm of 70: one breach, red). Per 10,000 children: A 4/19,500 (TR2 of
    10 June), B 10/18,000, C and D 0 (no service): the national median is (0 + 4/19,500 x 10,000) / 2. Asked
    for B alone (`only_region`) there is no national median."""
    with reader.cursor() as cur:
        copy = copy_facts(cur)
        assert copy.stored_at(SUNDAY_21_JUNE, None) == SUNDAY_21_JUNE
        assert copy.stored_at(SUNDAY_21_JUNE, "mandated") is None        # frameworks: the last figure only
        (b,) = figures_at(cur, "testregio", [SUNDAY_21_JUNE], "trauma_care", "child", region="B", copy=copy)
        (alone,) = figures_at(cur, "testregio", [SUNDAY_21_JUNE], "trauma_care", "child", only_region="B")
    assert (b.at, b.services, b.services_fresh, b.places, b.available, b.waiting, b.unmet_now) == \
        (SUNDAY_21_JUNE, 1, 1, 10, 0, 12, 12)
    assert (b.median_wait_intake_days, b.median_wait_treatment_days, b.wait_breaches) == (21, 98, 1)
    assert close(b.per_10k, 10 / 18_000 * 10_000) and b.status == "red"
    assert close(b.national_median_per_10k, 4 / 19_500 * 10_000 / 2)
    assert alone.national_median_per_10k is None
    assert alone._replace(national_median_per_10k=b.national_median_per_10k) == b


def test_a_stored_trend_worked_out_by_hand(reader: PublishedReader) -> None:
    """Four weeks to 30 June for trauma care for children in B: on 14 June TR1's figure of 1 May is 44.5
    days old (stale: grey, nothing known), on 21 and 28 June its figure of 15 June counts (12 waiting), and
    30 June (inside the copy's window) too."""
    with reader.cursor() as cur:
        series = trends(cur, "testregio", "B", "trauma_care", "child", as_of("2026-06-30"), weeks=4)
        cells = figures_at(cur, "testregio", [c.at for c in series], "trauma_care", "child", only_region="B")
    assert [day for day in (c.at.astimezone(AMSTERDAM).day for c in series)] == [14, 21, 28, 30]
    assert [(c.services, c.services_fresh, c.waiting) for c in series] == [(1, 0, None), (1, 1, 12), (1, 1, 12),
                                                                          (1, 1, 12)]
    assert [c.status for c in cells] == ["grey", "red", "red", "red"]   # a trend has no status: its cells have
    assert [Figures(*c[:len(Figures._fields)]) for c in cells] == series


class ColumnsOf:
    """A cursor that keeps the column names of every statement it runs."""

    def __init__(self, cur) -> None:  # noqa: ANN001
        self.cur, self.columns = cur, []

    def execute(self, sql: str, params: object = None):  # noqa: ANN201
        result = self.cur.execute(sql, params)
        self.columns.append(tuple(d[0] for d in result.description))
        return result


def test_the_queries_give_the_figures_fields_in_order(reader: PublishedReader) -> None:
    """Cells are built from the rows of shortfall.sql and shortfall_stored.sql by position: both must give
    Figures' fields in order (moment and level as at_ts and level), and Shortfall's fields start with them."""
    expected = ("at_ts", "level", *Figures._fields[2:])
    with reader.cursor() as cur:
        copy = copy_facts(cur)
        recorder = ColumnsOf(cur)
        figures_at(recorder, "testregio", [as_of("2026-06-30"), as_of("2026-05-01T10:00")], copy=copy)
    assert len(recorder.columns) == 2 and all(columns == expected for columns in recorder.columns)
    assert Shortfall._fields[:len(Figures._fields)] == Figures._fields


@pytest.mark.parametrize(("end", "stored_weeks"), [("2026-06-30", 52), ("2026-06-24", 51), ("2026-06-30T10:00", 52),
                                                   ("2026-07-01T14:00", 52), ("2026-07-01T14:00:00.000001+02:00", 51),
                                                   ("2025-03-01", 0)])
def test_trends_and_month_series_equal_the_full_computation(reader: PublishedReader, end: str,
                                                            stored_weeks: int) -> None:
    """The region page's 52 week ends and the purchasing page's 12 month ends up to a page moment: standard
    moments and moments inside the copy's window (from its last figure, 30 June 10:00 in Amsterdam, to 1 July
    14:00 inclusive) are read from derived.shortfall, every other moment (a page moment between week ends, just
    after the window, a year before the copy) is computed; together they must equal computing every moment
    from the observations, for a region alone, a region among all (national median) and the whole level."""
    moment = as_of(end)
    variants = [{"only_region": r} for r in "ABCD"] + [{"region": "B"}, {}]
    with reader.cursor() as cur:
        copy = copy_facts(cur)
        for times, (care_type, group), (level, filters) in itertools.product(
                (week_ends(moment, 52), month_ends(moment, 12)),
                ((None, None), ("trauma_care", "child"), ("shelter", "adult_victim")),
                [("testregio", v) for v in variants] + [("nederland", {"only_region": "NL"}), ("nederland", {})]):
            found = figures_at(cur, level, times, care_type, group, copy=copy, **filters)
            computed = figures_at(cur, level, times, care_type, group, precomputed=False, **filters)
            assert_identical(found, computed, (end, level, care_type, group, filters))
    # of the 52 week ends all but a page moment between week ends or outside the window are stored
    assert len([at for at in week_ends(moment, 52) if copy.stored_at(at, None)]) == stored_weeks


def test_frameworks_outside_the_window_and_the_public_view_equal_the_full_computation(
        reader: PublishedReader) -> None:
    """Per framework only the copy's last figure is stored: at a standard moment a framework is computed.
    The public view (suppression) of stored cells equals that of computed cells."""
    with reader.cursor() as cur:
        for at in (SUNDAY_21_JUNE, as_of("2026-06-30")):
            for framework in ("voluntary", "mandated"):
                assert_identical(
                    figures_at(cur, "testregio", [at], "perpetrator_programme", framework=framework),
                    figures_at(cur, "testregio", [at], "perpetrator_programme", framework=framework,
                               precomputed=False), (at, framework))
            for care_type, group in (("shelter", "child"), ("trauma_care", "adult_victim")):
                views = [public_view(figures_at(cur, "testregio", [at], care_type, group, precomputed=stored),
                                     figures_at(cur, "nederland", [at], care_type, group, precomputed=stored)[0])
                         for stored in (True, False)]
                assert_identical(views[0].cells, views[1].cells, (at, care_type, "public"))
                assert_identical([views[0].total], [views[1].total], (at, care_type, "public total"))
