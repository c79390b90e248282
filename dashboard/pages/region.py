"""Regio: status per care type x target group with reasons, 52-week trends, services, gaps, versus the nation."""
from __future__ import annotations

from datetime import datetime

import dash
import duckdb
from dash import Input, Output, State, callback

from dashboard.components import (Element, age_text, chart_table, core, day_text, element, empty_state,
                                  figure_number, first_rows, frame, href, labelled_dropdown, status_badge, table)
from dashboard.data import copy_facts, page_body, page_moment, remembered, snapshot
from dashboard.figures import trend_counts_figure, trend_waits_figure, versus_median_figure
from dashboard.i18n import lang_of, t
from dashboard.urlstate import with_params
from queries.demo import shows_demo_data
from queries.derived import TREND_WEEKS
from queries.errors import NoPublishedData
from queries.providers import ProviderMatch, SearchFilters, search_providers
from queries.publish import Publication
from queries.reference import care_labels, region_levels_of, reported_combinations
from queries.shortfall import Figures, Gap, Shortfall, coverage_gaps, shortfall, trends
from queries.signals import REASONS, DemandSignals, demand_signals

dash.register_page(__name__, path_template="/regio/<region_code>", name="Regio", role="professional",
                   title="Regio — capaciteit en wachtlijsten")

STATUS_RANK = {"red": 0, "grey": 1, "amber": 2, "green": 3}


def layout(region_code: str = "", **query: str) -> Element:
    lang = lang_of(query)
    path = f"/regio/{region_code}"
    try:
        with snapshot() as (publication, cur):
            demo = remembered(publication, ("demo",), lambda: shows_demo_data(cur))
            moment = page_moment(query.get("at"))
            body = page_body(publication, path, moment, query,
                             lambda: _body(publication, cur, region_code, moment, query, lang))
    except NoPublishedData:
        return frame(lang, path, None, [empty_state(lang, t("no_published", lang))], query)
    return frame(lang, path, publication, body, query, demo=demo)


def _body(publication: Publication, cur: duckdb.DuckDBPyConnection, region_code: str, moment: datetime,
          query: dict[str, str], lang: str) -> list:
    levels = remembered(publication, ("levels_of", region_code), lambda: region_levels_of(cur, region_code))
    if not levels:
        return [element("H1", t("unknown_region", lang)), empty_state(lang)]
    level, region_name = next(((lv, n) for lv, n in levels if lv == query.get("level")), levels[0])
    labels = remembered(publication, ("labels",), lambda: care_labels(cur))
    combos = remembered(publication, ("combinations",), lambda: reported_combinations(cur))
    copy = copy_facts(publication, cur)
    key = (level, moment, region_code)
    cells = remembered(publication, ("region", *key),
                       lambda: shortfall(cur, level, moment, region=region_code, copy=copy))
    care_type, target_group = _chosen(cells, combos, query)
    series = remembered(publication, ("trend", *key, care_type, target_group), lambda: trends(
        cur, level, region_code, care_type, target_group, moment, TREND_WEEKS, copy=copy))
    services = remembered(publication, ("services", *key), lambda: search_providers(
        cur, SearchFilters(level=level, region=region_code), moment))
    gaps = remembered(publication, ("gaps", *key), lambda: coverage_gaps(cur, level, moment, region=region_code,
                                                                         cells=cells, names=labels, copy=copy))
    signals = remembered(publication, ("signals", *key), lambda: demand_signals(cur, level, moment, region=region_code))
    name = (lambda kind, code: labels[(kind, code)][1 if lang == "en" else 0])
    shown, more = first_rows(services, query.get("all") == "services", lang, f"/regio/{region_code}", query,
                             "services")
    # the same for every trend chosen: built once per copy, region and language
    matrix, versus, gap_list, signal_table, service_table = remembered(
        publication, ("region_parts", *key, lang, len(shown)), lambda: (
            _matrix(cells, combos, name, region_code, level, lang), _versus(cells, name, lang), _gaps(gaps, lang),
            _signals(signals, name, lang), _services_table(shown, name, lang)))
    return [
        element("H1", region_name),
        matrix,
        _trend(series, combos, care_type, target_group, name, lang),
        versus,
        gap_list,
        signal_table,
        element("Section", [element("H2", t("services_title", lang)), service_table, *more], className="card"),
    ]


def _chosen(cells: list[Shortfall], combos: list[tuple[str, str]], query: dict[str, str]) -> tuple[str, str]:
    """The combination asked for in the URL, else the worst one."""
    asked = (query.get("care_type"), query.get("target_group"))
    if asked in combos:
        return asked
    worst = min(cells, key=lambda c: (STATUS_RANK[c.status], -(c.unmet_now or 0)), default=None)
    return (worst.care_type, worst.target_group) if worst else combos[0]


def _matrix(cells: list[Shortfall], combos: list[tuple[str, str]], name, region_code: str, level: str,
            lang: str) -> Element:
    by_key = {(c.care_type, c.target_group): c for c in cells}
    care_types = list(dict.fromkeys(c for c, _ in combos))
    groups = list(dict.fromkeys(g for _, g in combos))
    header = [element("Th", t("care_type", lang), scope="col")] + [element("Th", name("target_group", g), scope="col")
                                                                   for g in groups]
    rows = []
    for care_type in care_types:
        cells_in_row = [element("Th", name("care_type", care_type), scope="row")]
        for group in groups:
            cell = by_key.get((care_type, group))
            if cell is None:
                cells_in_row.append(element("Td", t("not_reported", lang), className="muted"))
                continue
            cells_in_row.append(element("Td", [
                element("A", status_badge(cell.status, lang), href=href(f"/regio/{region_code}", lang, level=level,
                                                                         care_type=care_type, target_group=group)),
                element("Div", "; ".join(cell.reasons(lang)), className="reasons"),
            ], **{"data-cell": f"{care_type}:{group}"}))
        rows.append(element("Tr", cells_in_row))
    return element("Section", [element("H2", t("matrix_title", lang)), table("region-matrix", header, rows)],
                   className="card")


def _trend(series: list[Figures], combos, care_type: str, target_group: str, name, lang: str) -> Element:
    options = [{"label": f"{name('care_type', c)} — {name('target_group', g)}", "value": f"{c}:{g}"}
               for c, g in combos]
    counts = any(c.waiting is not None or c.available is not None for c in series)
    waits = any(c.median_wait_intake_days is not None or c.median_wait_treatment_days is not None for c in series)
    content = [
        *([element("H3", t("trend_counts_title", lang)),
           core("Graph", id="region-trend", figure=trend_counts_figure(series, lang), config={"displayModeBar": False})]
          if counts else []),
        *([element("H3", t("trend_waits_title", lang)),
           core("Graph", id="region-trend-waits", figure=trend_waits_figure(series, lang),
                config={"displayModeBar": False})] if waits else []),
        chart_table("region-trend-table", [t("week_ending", lang), t("waiting", lang), t("available", lang),
                                           t("wait_intake", lang), t("wait_treatment", lang)],
                    [[day_text(c.at), figure_number(c.waiting, lang, 1), figure_number(c.available, lang, 1),
                      figure_number(c.median_wait_intake_days, lang, 1),
                      figure_number(c.median_wait_treatment_days, lang, 1)] for c in reversed(series)], lang),
    ] if counts or waits else [empty_state(lang)]
    return element("Section", [
        element("H2", t("trend_title", lang)),
        labelled_dropdown("region-trend-choice", t("trend_of", lang), options, f"{care_type}:{target_group}", lang=lang),
        core("Store", id="region-rendered", data={"choice": f"{care_type}:{target_group}"}),
        *content,
    ], className="card")


def _versus(cells: list[Shortfall], name, lang: str) -> Element:
    known = [c for c in cells if c.per_10k is not None]
    labels = {(c.care_type, c.target_group): f"{name('care_type', c.care_type)} — "
                                              f"{name('target_group', c.target_group)}" for c in known}
    content = [core("Graph", id="region-versus", figure=versus_median_figure(known, labels, lang),
                    config={"displayModeBar": False}),
               chart_table("region-versus-table", [t("care_type", lang), t("per_10k", lang), t("national_median", lang)],
                           [[labels[(c.care_type, c.target_group)], figure_number(c.per_10k, lang, 2),
                             figure_number(c.national_median_per_10k, lang, 2)] for c in known], lang)
               ] if known else [empty_state(lang)]
    return element("Section", [element("H2", t("versus_title", lang)), *content], className="card")


def _gaps(gaps: list[Gap], lang: str) -> Element:
    items = [element("Li", g.text_en if lang == "en" else g.text_nl) for g in gaps]
    return element("Section", [element("H2", t("gaps_title", lang)),
                               element("Ul", items, id="region-gaps") if items else element("P", t("no_gaps", lang))],
                   className="card")


def _signals(signals: list[DemandSignals], name, lang: str) -> Element:
    """Professionals' anonymous 'searched, found nothing' signals: unmet demand the figures do not show."""
    keys = ["care_type", "target_group", "signals"] + [f"reason_{r}" for r in REASONS]
    rows = [element("Tr", [element("Td", name("care_type", s.care_type)),
                           element("Td", name("target_group", s.target_group)),
                           element("Td", str(s.signals), className="num")] +
                    [element("Td", str(getattr(s, r)), className="num") for r in REASONS]) for s in signals]
    content = (table("region-signals", [element("Th", t(k, lang), scope="col") for k in keys], rows) if rows
               else element("P", t("no_signals", lang)))
    return element("Section", [element("H2", t("signals_title", lang)), content], className="card")


def _services_table(shown: list[ProviderMatch], name, lang: str) -> Element:
    header = [element("Th", t(k, lang), scope="col") for k in ("service", "provider", "care_type", "available",
                                                               "waiting", "wait_intake", "wait_treatment",
                                                               "age_of_figure")]
    rows = [element("Tr", [
        element("Td", m.service_name), element("Td", m.provider_name or ""),
        element("Td", name("care_type", m.care_type)),
        element("Td", t("free_of", lang).format(free=figure_number(m.available, lang),
                                                total=figure_number(m.maximum, lang)), className="num"),
        element("Td", figure_number(m.waiting_count, lang), className="num"),
        element("Td", figure_number(m.wait_days_intake, lang), className="num"),
        element("Td", figure_number(m.wait_days_treatment, lang), className="num"),
        element("Td", age_text(m, lang), className="stale" if not m.fresh else None),
    ], **{"data-service": m.service_id}) for m in shown]
    return table("region-services", header, rows) if rows else empty_state(lang)


@callback(Output("_pages_location", "search", allow_duplicate=True), Input("region-trend-choice", "value"),
          State("_pages_location", "search"), State("region-rendered", "data"), prevent_initial_call=True)
def choose_trend(choice: str, search: str, rendered: dict) -> str:
    if rendered and rendered.get("choice") == choice:
        return dash.no_update
    care_type, target_group = choice.split(":", 1)
    return with_params(search, care_type=care_type, target_group=target_group)
