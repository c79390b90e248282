"""Inkoop: per region the places against the norm and the national median, 12-month trend with projection."""
from __future__ import annotations

from datetime import datetime

import dash
import duckdb
from dash import Input, Output, State, callback

from dashboard.components import (Element, chart_table, core, day_text, element, empty_state, figure_number,
                                  frame, href, labelled_dropdown, numeric_cells, status_badge, table)
from dashboard.data import copy_facts, page_body, page_moment, remembered, snapshot
from dashboard.figures import projection_figure
from dashboard.i18n import lang_of, t
from dashboard.urlstate import new_search
from queries.demo import shows_demo_data
from queries.derived import TREND_MONTHS
from queries.errors import NoPublishedData
from queries.moments import month_ends
from queries.projection import project_linear
from queries.publish import Publication
from queries.reference import care_labels, region_levels, reported_combinations
from queries.shortfall import Figures, Shortfall, series_at, shortfall

dash.register_page(__name__, path="/inkoop", name="Inkoop", role="professional",
                   title="Inkoop — capaciteit en wachtlijsten")

PROJECTION_DAYS = [30, 61, 91]
NATIONAL = ("nederland", "NL")


def layout(**query: str) -> Element:
    lang = lang_of(query)
    try:
        with snapshot() as (publication, cur):
            demo = remembered(publication, ("demo",), lambda: shows_demo_data(cur))
            moment = page_moment(query.get("at"))
            body = page_body(publication, "/inkoop", moment, query,
                             lambda: _body(publication, cur, moment, query, lang))
    except NoPublishedData:
        return frame(lang, "/inkoop", None, [empty_state(lang, t("no_published", lang))], query)
    return frame(lang, "/inkoop", publication, body, query, demo=demo)


def _body(publication: Publication, cur: duckdb.DuckDBPyConnection, moment: datetime, query: dict[str, str],
          lang: str) -> list:
    levels = remembered(publication, ("levels",), lambda: region_levels(cur))
    level = query.get("level") if query.get("level") in {l.level for l in levels} else levels[0].level
    combos = remembered(publication, ("combinations",), lambda: reported_combinations(cur))
    labels = remembered(publication, ("labels",), lambda: care_labels(cur))
    copy = copy_facts(publication, cur)
    care_type = query.get("care_type") if query.get("care_type") in {c for c, _ in combos} else "shelter"
    groups = [g for c, g in combos if c == care_type]
    target_group = query.get("target_group") if query.get("target_group") in groups else groups[0]
    key = (level, moment, care_type, target_group)
    cells = remembered(publication, ("shortfall", *key),
                       lambda: shortfall(cur, level, moment, care_type, target_group, copy=copy))
    # the same for every trend region chosen: built once per copy and language
    cell_table = remembered(publication, ("purchasing_table", *key, lang),
                            lambda: _table(cells, level, lang) if cells else empty_state(lang))
    region = query.get("region") if query.get("region") in {c.region_code for c in cells} else None
    trend_level, trend_region = (level, region) if region else NATIONAL
    trend_key = (trend_level, trend_region, moment, care_type, target_group)
    monthly = remembered(publication, ("monthly", *trend_key),
                         lambda: series_at(cur, trend_level, month_ends(moment, TREND_MONTHS), care_type,
                                           target_group, only_region=trend_region, copy=copy))
    # the whole country's trend is the same on every level: built once per copy, moment and language
    trend = remembered(publication, ("monthly_section", *trend_key, lang), lambda: _trend(
        monthly, region and next(c.region_name for c in cells if c.region_code == region), lang))
    name = (lambda kind, code: labels[(kind, code)][1 if lang == "en" else 0])
    controls = element("Div", [
        labelled_dropdown("purchasing-level", t("level", lang),
                          [{"label": l.label(lang), "value": l.level} for l in levels], level, lang=lang),
        labelled_dropdown("purchasing-care-type", t("care_type", lang),
                          [{"label": name("care_type", c), "value": c} for c in dict.fromkeys(c for c, _ in combos)],
                          care_type, lang=lang),
        labelled_dropdown("purchasing-target-group", t("target_group", lang),
                          [{"label": name("target_group", g), "value": g} for g in groups], target_group, lang=lang),
        labelled_dropdown("purchasing-region", t("trend_region", lang),
                          [{"label": t("whole_country", lang), "value": ""}] +
                          [{"label": c.region_name, "value": c.region_code}
                           for c in sorted(cells, key=lambda c: c.region_name)], region or "", lang=lang),
    ], className="controls", role="search")
    download = {"level": level, "care_type": care_type, "target_group": target_group, "at": query.get("at")}
    rendered = {"level": level, "care_type": care_type, "target_group": target_group, "region": region or ""}
    return [element("H1", t("purchasing_title", lang)), controls,
            core("Store", id="purchasing-rendered", data=rendered),
            element("P", [element("A", t("download_csv", lang),
                                  href=href("/api/v1/shortfall", lang, **download, format="csv"),
                                  id="download-csv", className="button-link", download="inkoop.csv"), " ",
                          element("A", t("download_xlsx", lang),
                                  href=href("/api/v1/shortfall", lang, **download, format="xlsx"),
                                  id="download-xlsx", className="button-link", download="inkoop.xlsx")]),
            cell_table, trend]


def gap_to_median(cell: Shortfall) -> float | None:
    """Places needed to reach the national median per 10,000 of the target group (0 when above it)."""
    if cell.per_10k is None or cell.national_median_per_10k is None:
        return None
    return max(0.0, (cell.national_median_per_10k - cell.per_10k) * cell.target_population / 10_000)


def _table(cells: list[Shortfall], level: str, lang: str) -> Element:
    keys = ["region", "status", "places", "norm_places", "norm_gap", "per_10k", "national_median", "gap_to_median"]
    header = [element("Th", t(k, lang), scope="col", className=None if k in ("region", "status") else "num")
              for k in keys]
    ranked = sorted(((c, gap_to_median(c)) for c in cells),
                    key=lambda pair: (-(pair[0].norm_gap or 0), -(pair[1] or 0), pair[0].region_name))
    no_norm = t("no_norm", lang)
    rows = [element("Tr", [
        element("Td", element("A", c.region_name, href=href(f"/regio/{c.region_code}", lang, level=level))),
        element("Td", status_badge(c.status, lang)),
        *numeric_cells(figure_number(c.places, lang, 1),
                       figure_number(c.norm_places, lang, 1) if c.norm_places is not None else no_norm,
                       figure_number(c.norm_gap, lang, 1), figure_number(c.per_10k, lang, 2),
                       figure_number(c.national_median_per_10k, lang, 2), figure_number(gap, lang, 1)),
    ], **{"data-region": c.region_code}) for c, gap in ranked]
    return element("Section", table("purchasing-table", header, rows), className="card")


def _trend(monthly: list[Figures], region_name: str | None, lang: str) -> Element:
    history = [(c.at, c.waiting) for c in monthly]
    projection = project_linear(history, PROJECTION_DAYS)
    title = f"{t('waiting_12m', lang)} — {region_name or t('whole_country', lang)}"
    if all(v is None for _, v in history):
        return element("Section", [element("H2", title), empty_state(lang)], className="card")
    explanation = [element("P", t("projection_explained", lang))]
    if projection is None:
        explanation = [element("P", t("projection_too_few", lang))]
    else:
        per_month = figure_number(projection.slope_per_day * 30.4375, lang, 1)
        explanation.append(element("P", t("projection_slope", lang).format(n=per_month), id="projection-slope"))
    return element("Section", [
        element("H2", title),
        core("Graph", id="purchasing-trend", config={"displayModeBar": False},
             figure=projection_figure(history, projection.points if projection else [], lang)),
        *explanation,
        chart_table("purchasing-trend-table", [t("month_ending", lang), t("waiting", lang), t("projection", lang)],
                    [[day_text(moment), figure_number(value, lang, 1), ""] for moment, value in history]
                    + [[day_text(moment), "", figure_number(value, lang, 1)]
                       for moment, value in (projection.points if projection else [])], lang),
    ], className="card")


@callback(Output("_pages_location", "search", allow_duplicate=True),
          Input("purchasing-level", "value"), Input("purchasing-care-type", "value"),
          Input("purchasing-target-group", "value"), Input("purchasing-region", "value"),
          State("_pages_location", "search"), State("purchasing-rendered", "data"), prevent_initial_call=True)
def keep_purchasing_in_url(level: str, care_type: str, target_group: str, region: str, search: str,
                           rendered: dict) -> str:
    changed = new_search(search, rendered, level=level, care_type=care_type, target_group=target_group,
                         region=region)
    return dash.no_update if changed is None else changed
