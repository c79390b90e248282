"""Overzicht: the national map of one care type x target group, headline figures, regions worst first."""
from __future__ import annotations

from datetime import datetime

import dash
import duckdb
from dash import Input, Output, State, callback, dcc

from dashboard.access import allows, current_role, is_public
from dashboard.components import (Element, element, empty_state, figure_number, frame, href, labelled_dropdown,
                                  status_badge, table)
from dashboard.data import boundaries, copy_facts, page_body, page_moment, remembered, snapshot
from dashboard.figures import MAP_CONFIG, region_map
from dashboard.i18n import lang_of, t
from dashboard.urlstate import new_search, parse_search
from queries.demo import shows_demo_data
from queries.errors import NoPublishedData
from queries.publish import Publication
from queries.reference import care_labels, region_levels, reported_combinations
from queries.shortfall import Shortfall, shortfall
from queries.suppression import public_level, public_view

dash.register_page(__name__, path="/", name="Overzicht", role="public",
                   title="Overzicht — capaciteit en wachtlijsten")

FILTERS = ("level", "care_type", "target_group", "colour")
COLOUR_CHOICES = ("status", "unmet_now", "norm_gap", "per_10k", "median_wait")
STATUS_RANK = {"red": 0, "grey": 1, "amber": 2, "green": 3, "suppressed": 4}
SORTS = {"worst": None, "region": "region_name", "places": "places", "available": "available",
         "waiting": "waiting", "unmet_now": "unmet_now", "norm_gap": "norm_gap", "per_10k": "per_10k"}


def layout(**query: str) -> Element:
    lang = lang_of(query)
    try:
        with snapshot() as (publication, cur):
            demo = remembered(publication, ("demo",), lambda: shows_demo_data(cur))
            moment = page_moment(query.get("at"))
            body = page_body(publication, "/", moment, query, lambda: _body(publication, cur, moment, query, lang))
    except NoPublishedData:
        return frame(lang, "/", None, [empty_state(lang, t("no_published", lang))], query)
    return frame(lang, "/", publication, body, query, demo=demo)


def _body(publication: Publication, cur: duckdb.DuckDBPyConnection, moment: datetime, query: dict[str, str],
          lang: str) -> list:
    levels = remembered(publication, ("levels",), lambda: region_levels(cur))
    if is_public():
        only = public_level([l.level for l in levels])
        levels = [l for l in levels if l.level == only]
    level = query.get("level") if query.get("level") in {l.level for l in levels} else levels[0].level
    combos = remembered(publication, ("combinations",), lambda: reported_combinations(cur))
    labels = remembered(publication, ("labels",), lambda: care_labels(cur))
    care_type, target_group = _choose_combination(combos, query)
    copy = copy_facts(publication, cur)
    cells = remembered(publication, ("shortfall", level, moment, care_type, target_group),
                       lambda: shortfall(cur, level, moment, care_type, target_group, copy=copy))
    national = remembered(publication, ("shortfall", "nederland", moment, care_type, target_group),
                          lambda: shortfall(cur, "nederland", moment, care_type, target_group, copy=copy))
    collection = boundaries(cur, publication, level)
    total = national[0] if national else None
    if is_public():
        view = public_view(cells, total)
        cells, total = view.cells, view.total
    colour_by = query.get("colour") if query.get("colour") in COLOUR_CHOICES else "status"
    state = {"level": level, "care_type": care_type, "target_group": target_group, "colour": colour_by,
             "at": query.get("at"), "sort": query.get("sort")}
    pick = (lambda pair: pair[1] if lang == "en" else pair[0])
    controls = element("Div", [
        labelled_dropdown("overview-level", t("level", lang),
                          [{"label": l.label(lang), "value": l.level} for l in levels], level, lang=lang),
        labelled_dropdown("overview-care-type", t("care_type", lang),
                          [{"label": pick(labels[("care_type", c)]), "value": c}
                           for c in dict.fromkeys(c for c, _ in combos)], care_type, lang=lang),
        labelled_dropdown("overview-target-group", t("target_group", lang),
                          [{"label": pick(labels[("target_group", g)]), "value": g}
                           for c, g in combos if c == care_type], target_group, lang=lang),
        labelled_dropdown("overview-colour", t("colour_by", lang),
                          [{"label": t(c, lang), "value": c} for c in COLOUR_CHOICES], colour_by, lang=lang),
    ], className="controls", role="search")
    body = [element("H1", f"{pick(labels[('care_type', care_type)])} — "
                          f"{pick(labels[('target_group', target_group)])}"),
            *([element("P", t("public_notice", lang), id="public-notice", className="notice")] if is_public()
              else []),
            controls, dcc.Store(id="overview-rendered", data={k: state[k] for k in FILTERS})]
    if not cells:
        body.append(empty_state(lang))
    else:
        body += [
            _headline(total, lang),
            element("Section", [element("H2", t("map_title", lang), className="visually-hidden"),
                                dcc.Graph(id="overview-map", figure=region_map(collection, cells, colour_by, lang),
                                          config=MAP_CONFIG, className="map"),
                                element("P", [t("map_alternative", lang), " ",
                                              element("A", t("regions_table", lang), href="#overview-table")],
                                        className="chart-note")], className="card"),
            _table(cells, level, state, lang),
        ]
    return body


def _choose_combination(combos: list[tuple[str, str]], query: dict[str, str]) -> tuple[str, str]:
    care_type = query.get("care_type") if query.get("care_type") in {c for c, _ in combos} else combos[0][0]
    groups = [g for c, g in combos if c == care_type]
    return care_type, query.get("target_group") if query.get("target_group") in groups else groups[0]


def _headline(cell: Shortfall | None, lang: str) -> Element:
    def card(key: str, value: str, element_id: str) -> Element:
        return element("Div", [element("Div", value, className="figure", id=element_id),
                               element("Div", t(key, lang))], className="headline-card")

    if cell is None:
        return element("Section")
    share = ("–" if not cell.services else
             f"{round(100 * cell.services_fresh / cell.services)}% ({cell.services_fresh}/{cell.services})")
    return element("Section", [
        card("places", figure_number(cell.places, lang), "headline-places"),
        card("available", figure_number(cell.available, lang), "headline-available"),
        card("waiting", figure_number(cell.waiting, lang), "headline-waiting"),
        card("fresh_share", share, "headline-fresh"),
    ], className="headline", **{"aria-label": "kerncijfers"})


def _sorted(cells: list[Shortfall], sort: str | None) -> list[Shortfall]:
    field = SORTS.get(sort or "worst")
    worst_first = sorted(cells, key=lambda c: (STATUS_RANK[c.status], -(c.unmet_now or 0), -(c.norm_gap or 0),
                                                c.region_name))
    if field is None:
        return worst_first
    if field == "region_name":
        return sorted(cells, key=lambda c: c.region_name)
    return sorted(worst_first, key=lambda c: (getattr(c, field) is None, -(getattr(c, field) or 0)))


def _table(cells: list[Shortfall], level: str, state: dict, lang: str) -> Element:
    columns = [("region", "region"), ("status", None), ("reasons", None), ("places", "places"),
               ("available", "available"), ("waiting", "waiting"), ("unmet_now", "unmet_now"),
               ("norm_gap", "norm_gap"), ("per_10k", "per_10k")]
    header = [element("Th", element("A", t(key, lang), href=href("/", lang, **{**state, "sort": sort}))
                      if sort else t(key, lang), scope="col") for key, sort in columns]
    link = allows(current_role(), "professional")
    rows = [element("Tr", [
        element("Td", element("A", c.region_name, href=href(f"/regio/{c.region_code}", lang, level=level)) if link
                else c.region_name),
        element("Td", status_badge(c.status, lang)),
        element("Td", "; ".join(c.reasons(lang)), className="reasons"),
        element("Td", figure_number(c.places, lang, 1), className="num"),
        element("Td", figure_number(c.available, lang, 1), className="num"),
        element("Td", figure_number(c.waiting, lang, 1), className="num"),
        element("Td", figure_number(c.unmet_now, lang, 1), className="num"),
        element("Td", figure_number(c.norm_gap, lang, 1), className="num"),
        element("Td", figure_number(c.per_10k, lang, 2), className="num"),
    ], **{"data-region": c.region_code}) for c in _sorted(cells, state.get("sort"))]
    return element("Section", [element("H2", t("regions_table", lang)), table("overview-table", header, rows)],
                   className="card")


@callback(Output("_pages_location", "search", allow_duplicate=True),
          Input("overview-level", "value"), Input("overview-care-type", "value"),
          Input("overview-target-group", "value"), Input("overview-colour", "value"),
          State("_pages_location", "search"), State("overview-rendered", "data"), prevent_initial_call=True)
def keep_filters_in_url(level: str, care_type: str, target_group: str, colour: str, search: str,
                        rendered: dict) -> str:
    """Every choice goes into the URL, so a view can be shared as a link; the page renders from it."""
    changed = new_search(search, rendered, level=level, care_type=care_type, target_group=target_group,
                         colour=colour)
    return dash.no_update if changed is None else changed


@callback(Output("_pages_location", "href", allow_duplicate=True), Input("overview-map", "clickData"),
          State("overview-level", "value"), State("_pages_location", "search"), prevent_initial_call=True)
def open_region(click: dict | None, level: str, search: str) -> str:
    """Clicking a region on the map opens its page."""
    if not click or not click.get("points") or not allows(current_role(), "professional"):
        return dash.no_update
    lang = lang_of(parse_search(search))
    return href(f"/regio/{click['points'][0]['location']}", lang, level=level)
