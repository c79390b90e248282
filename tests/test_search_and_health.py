"""Trends, coverage gaps, provider search and source health on the hand-made world (shortfall_world.py)."""
from __future__ import annotations

from datetime import datetime, timezone


from queries.connection import PublishedReader
from queries.health import provider_reports, source_health
from queries.moments import as_of
from queries.providers import SearchFilters, search_providers
from queries.shortfall import coverage_gaps, figures_at, trends

T = "2026-06-30"


def search(reader: PublishedReader, **filters) -> list[tuple[str, int]]:
    with reader.cursor() as cur:
        return [(m.service_id, m.rank_group) for m in search_providers(cur, SearchFilters(**filters), as_of(T))]


def test_weekly_trend_as_of_each_week_end(reader: PublishedReader) -> None:
    with reader.cursor() as cur:
        series = trends(cur, "testregio", "B", "shelter", "child", as_of(T), weeks=4)
        # a trend carries figures only; each week end's status is the cell's as of that moment
        cells = figures_at(cur, "testregio", [c.at for c in series], "shelter", "child", only_region="B")
    # week ends (Sunday, Dutch time) 14, 21 and 28 June, then T itself
    assert [c.at for c in series] == [datetime(2026, 6, d, 21, 59, 59, 999999, tzinfo=timezone.utc)
                                      for d in (14, 21, 28, 30)]
    # 14 June: SH1 (9 June) and SH3 (9 June) both older than 2 days: services 2, none fresh
    # 21 June: SH3 of 20 June is fresh (8 places), SH1 of 9 June is not -> places 8
    # 28 June: SH3 is 8 days old, SH1 still 9 June: nothing fresh
    # 30 June: SH1 of 30 June (weight 5/11 of 11 places) -> 5
    assert [(c.services, c.services_fresh, c.places) for c in series] == [
        (2, 0, None), (2, 1, 8), (2, 0, None), (2, 1, 5)]
    assert [(c.at, c.places) for c in cells] == [(c.at, c.places) for c in series]
    assert [c.status for c in cells] == ["grey", "red", "grey", "red"]


def test_coverage_gaps_name_what_is_missing(reader: PublishedReader) -> None:
    with reader.cursor() as cur:
        gaps = coverage_gaps(cur, "testregio", as_of(T))
    by_region = {}
    for gap in gaps:
        by_region.setdefault(gap.region_code, []).append(gap.text_nl)
    assert sorted(by_region["A"]) == ["geen daderhulp in gedwongen kader", "geen lotgenotengroep voor pleger",
                                      "geen lotgenotengroep voor volwassen slachtoffer"]
    # B has PP2 (mandated, stale but existing) and no voluntary programme
    assert "geen daderhulp in vrijwillig kader" in by_region["B"]
    assert "geen daderhulp in gedwongen kader" not in by_region["B"]
    assert len(by_region["C"]) == 7 + 2               # every reported combination, and both frameworks
    en = [g.text_en for g in gaps if g.region_code == "A" and g.framework == "mandated"]
    assert en == ["no perpetrator programme in the mandated framework"]


def test_search_ranks_room_first_then_shortest_wait_then_stale(reader: PublishedReader) -> None:
    # GM0003 is covered by SH1 (GM0002+GM0003), TR1 (GM0003+GM0004), TR3 (GM0003) and PP2 (GM0003)
    # TR3: fresh, 1 free -> group 1; TR1: fresh, full, intake 21 -> group 2; SH1: fresh, full, no wait
    # reported -> group 2 after TR1; PP2: 90 days old -> group 3, even though stale figures never rank
    assert search(reader, gemeente="GM0003") == [("TR3", 1), ("TR1", 2), ("SH1", 2), ("PP2", 3)]
    assert search(reader, gemeente="GM0003", available_only=True) == [("TR3", 1)]


def test_search_filters(reader: PublishedReader) -> None:
    assert search(reader, gemeente="GM0001", care_type="shelter") == [("SH2", 1)]      # SH2 covers region A
    assert search(reader, gemeente="GM0003", age=9) == [("TR1", 2), ("SH1", 2), ("PP2", 3)]   # TR3 is 18+
    assert search(reader, gemeente="GM0003", language="ar") == [("TR3", 1)]
    assert search(reader, gemeente="GM0003", whole_family=True) == [("SH1", 2)]
    assert search(reader, gemeente="GM0003", violence_profile="family_in_stress") == [("TR1", 2)]
    assert search(reader, gemeente="GM0003", framework="voluntary") == []
    assert search(reader, gemeente="GM0003", target_group="child") == [("TR1", 2), ("SH1", 2)]


def test_stale_figures_never_count_as_room(reader: PublishedReader) -> None:
    with reader.cursor() as cur:
        (sh3,) = search_providers(cur, SearchFilters(gemeente="GM0004", care_type="shelter"), as_of(T))
    # SH3 reported 8 free places on 20 June: 10.5 days old for a shelter (window 2 days)
    assert (sh3.available, sh3.fresh, sh3.has_room, sh3.rank_group) == (8, False, False, 3)
    assert round(sh3.age_days, 2) == 10.54


def test_source_health_and_expected_reports(reader: PublishedReader) -> None:
    with reader.cursor() as cur:
        (health,) = source_health(cur, as_of(T))
        (reports,) = provider_reports(cur, as_of(T), days=90)
    assert (health.source_id, health.last_status, health.consecutive_failures, health.last_rows_rejected) == (
        "fixture", "ok", 0, 0)
    # the source reports shelters (window 2 days): newest figure 30 June 08:00 is fresh on 30 June
    assert health.freshness_days == 2 and health.stale is False
    assert health.stale_since == datetime(2026, 7, 2, 8, 0, tzinfo=timezone.utc)
    # expected over 90 days: 4 shelters x 45 windows (2 days) + 6 others x 3 windows (35 days) = 198;
    # received: one window per figure within 90 days of T (PP2's 1 April is 90.5 days old: outside) = 12
    assert (reports.expected_reports, reports.received_reports) == (198, 12)


def test_search_from_the_copy_table_equals_the_scan(reader: PublishedReader) -> None:
    """At T (after the world's last figure) the latest figures come from derived.latest; scanning the
    observations must rank the same services with the same figures, for every municipality."""
    with reader.cursor() as cur:
        for gemeente in ("GM0001", "GM0002", "GM0003", "GM0004", "GM0005", "GM0006"):
            filters = SearchFilters(gemeente=gemeente)
            assert search_providers(cur, filters, as_of(T)) == search_providers(cur, filters, as_of(T),
                                                                                precomputed=False)


def test_a_service_that_names_no_target_group_is_found_with_an_empty_list(tmp_path) -> None:
    import shortfall_world
    from queries.paths import DataPaths

    paths = DataPaths(tmp_path / "data")
    services = {"NG1": ("shelter", [], None, [("gemeente", "GM0001")]),
                "SH1": ("shelter", ["adult_victim"], None, [("gemeente", "GM0001")])}
    shortfall_world.build_world(paths, shortfall_world.MUNICIPALITIES, services,
                                [("NG1", "2026-06-30 08:00", 4, 1, 0, None, None),
                                 ("SH1", "2026-06-30 08:00", 4, 2, 0, None, None)])
    own = PublishedReader(paths)
    with own.cursor() as cur:
        found = {m.service_id: m for m in search_providers(cur, SearchFilters(gemeente="GM0001"), as_of("2026-06-30"))}
    own.close()
    assert found["NG1"].target_groups == [] and found["SH1"].target_groups == ["adult_victim"]
