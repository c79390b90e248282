"""Zoek aanbod: which provider can take this client now, or soonest; record 'nothing found' anonymously."""
from __future__ import annotations

import dash
import flask
from dash import Input, Output, State, callback, dcc, html

from dashboard.components import age_text, empty_state, frame, labelled_dropdown
from dashboard.data import page_moment, reader, remembered, snapshot
from dashboard.ratelimit import RateLimit
from dashboard.i18n import lang_of, t
from dashboard.urlstate import new_search, parse_search
from queries.demo import shows_demo_data
from queries.errors import CapacityError, NoPublishedData
from queries.providers import VIOLENCE_PROFILES, ProviderMatch, SearchFilters, search_providers
from queries.reference import care_labels, municipalities, reported_combinations, service_languages

dash.register_page(__name__, path="/zoek", name="Zoek aanbod", role="professional",
                   title="Zoek aanbod — capaciteit en wachtlijsten")

FRAMEWORKS = ("voluntary", "mandated")
SIGNALS_PER_ADDRESS = RateLimit(30, 60 * 60)  # per web worker; the ingester caps the total (MAX_PENDING_SIGNALS)
REASONS = ("no_service", "no_room", "wait_too_long", "not_eligible", "other")
FILTER_IDS = ("gemeente", "care_type", "target_group", "age", "framework", "language", "violence_profile")


def layout(**query: str) -> html.Div:
    lang = lang_of(query)
    try:
        with snapshot() as (publication, cur):
            demo = remembered(publication, ("demo",), lambda: shows_demo_data(cur))
            places = remembered(publication, ("municipalities",), lambda: municipalities(cur))
            labels = remembered(publication, ("labels",), lambda: care_labels(cur))
            combos = remembered(publication, ("combinations",), lambda: reported_combinations(cur))
            languages = remembered(publication, ("languages",), lambda: service_languages(cur))
            filters = _filters(query, {code for code, _ in places})
            moment = page_moment(query.get("at"))
            matches = remembered(publication, ("search", filters, moment),
                                 lambda: search_providers(cur, filters, moment)) if filters.gemeente else []
    except NoPublishedData:
        return frame(lang, "/zoek", None, [empty_state(lang, t("no_published", lang))], query)
    name = (lambda kind, code: labels[(kind, code)][1 if lang == "en" else 0])
    rendered = {**_url_values({f: getattr(filters, f) for f in FILTER_IDS}), "whole_family": filters.whole_family,
                "available": filters.available_only}
    body = [html.H1(t("search_title", lang)), _controls(filters, places, combos, languages, name, lang),
            dcc.Store(id="search-rendered", data=rendered)]
    if not filters.gemeente:
        body.append(html.P(t("choose_municipality", lang), className="notice", id="search-hint"))
    elif matches:
        body += [html.Div(html.H2(t("results", lang).format(n=len(matches)), id="search-count"), role="status"),
                 html.Ol([_result(m, name, lang) for m in matches], id="search-results", className="results")]
    else:
        body += [empty_state(lang, t("nothing_found", lang)), _signal_form(lang)]
    return frame(lang, "/zoek", publication, body, query, demo=demo)


def _filters(query: dict[str, str], known: set[str]) -> SearchFilters:
    age = query.get("age", "")
    return SearchFilters(
        gemeente=query.get("gemeente") if query.get("gemeente") in known else None,
        care_type=query.get("care_type") or None, target_group=query.get("target_group") or None,
        age=int(age) if age.isdigit() and int(age) <= 120 else None,
        framework=query.get("framework") if query.get("framework") in FRAMEWORKS else None,
        language=query.get("language") or None,
        violence_profile=query.get("violence_profile") if query.get("violence_profile") in VIOLENCE_PROFILES
        else None,
        whole_family=query.get("whole_family") == "1", available_only=query.get("available") == "1")


def _controls(filters: SearchFilters, places, combos, languages, name, lang: str) -> html.Div:
    anything = [{"label": t("any", lang), "value": ""}]
    return html.Div([
        labelled_dropdown("search-gemeente", t("municipality", lang),
                          [{"label": f"{n} ({code})", "value": code} for code, n in places], filters.gemeente,
                          clearable=True, searchable=True, lang=lang),
        labelled_dropdown("search-care-type", t("care_type", lang),
                          anything + [{"label": name("care_type", c), "value": c}
                                      for c in dict.fromkeys(c for c, _ in combos)], filters.care_type or "", lang=lang),
        labelled_dropdown("search-target-group", t("target_group", lang),
                          anything + [{"label": name("target_group", g), "value": g}
                                      for g in dict.fromkeys(g for _, g in combos)], filters.target_group or "", lang=lang),
        html.Div([html.Label(t("age", lang), htmlFor="search-age"),
                  dcc.Input(id="search-age", type="text", inputMode="numeric", pattern="[0-9]*", maxLength=3,
                            value="" if filters.age is None else str(filters.age), debounce=True,
                            autoComplete="off", className="number-input")], className="control"),
        labelled_dropdown("search-framework", t("framework", lang),
                          anything + [{"label": t(f"fw_{f}", lang), "value": f} for f in FRAMEWORKS],
                          filters.framework or "", lang=lang),
        labelled_dropdown("search-language", t("language", lang),
                          anything + [{"label": code, "value": code} for code in languages], filters.language or "", lang=lang),
        labelled_dropdown("search-violence-profile", t("violence_profile", lang),
                          anything + [{"label": t(f"vp_{v}", lang), "value": v} for v in VIOLENCE_PROFILES],
                          filters.violence_profile or "", lang=lang),
        html.Fieldset([html.Legend(t("conditions", lang)), dcc.Checklist(id="search-flags", options=[
            {"label": " " + t("whole_family", lang), "value": "whole_family"},
            {"label": " " + t("room_now", lang), "value": "available"}],
            value=[v for v, on in (("whole_family", filters.whole_family), ("available", filters.available_only))
                   if on])], className="control flags"),
    ], className="controls", role="search")


def _figure_line(m: ProviderMatch, lang: str) -> str:
    if m.valid_at is None:
        return t("no_figure", lang)
    parts = []
    if m.available is not None:
        parts.append(t("room", lang) + f": {m.available}" if m.has_room else t("full", lang))
    if m.wait_days_intake is not None:
        parts.append(t("wait_days", lang).format(n=m.wait_days_intake))
    return " · ".join(parts) or t("no_figure", lang)


def _result(m: ProviderMatch, name, lang: str) -> html.Li:
    """One found service; shelters never show an address (none is stored)."""
    groups = ", ".join(name("target_group", g) for g in m.target_groups)
    ages = t("ages", lang).format(lo=m.age_min, hi=m.age_max) if m.age_min is not None and m.age_max is not None else ""
    refer = [html.Span(f"{t('phone', lang)}: {m.phone}") if m.phone else None,
             html.Span(f"{t('email', lang)}: {m.email}") if m.email else None,
             html.Span(m.referral_route) if m.referral_route else None]
    return html.Li([
        html.H3(m.service_name),
        html.P(f"{m.provider_name or ''} · {name('care_type', m.care_type)} · {groups} {ages}".strip(),
               className="meta"),
        html.P([html.Strong(_figure_line(m, lang)), " — ", age_text(m, lang)],
               className="figure-line" + ("" if m.fresh else " stale")),
        html.P(t("stale_warning", lang), className="stale") if not m.fresh else None,
        html.P([html.Strong(t("how_to_refer", lang) + ": ")] + [x for part in refer if part for x in (part, " · ")][:-1],
               className="refer") if any(refer) else None,
    ], className="result" + (" has-room" if m.has_room else ""), **{"data-service": m.service_id,
                                                                       "data-rank": str(m.rank_group)})


def _signal_form(lang: str) -> html.Section:
    return html.Section([
        html.P(t("signal_intro", lang)),
        labelled_dropdown("signal-reason", t("reason", lang),
                          [{"label": t(f"reason_{r}", lang), "value": r} for r in REASONS], "no_room", lang=lang),
        html.Button(t("signal_button", lang), id="signal-send", n_clicks=0, className="button"),
        html.P(id="signal-result", role="status"),
    ], className="card", id="signal-form")


@callback(Output("_pages_location", "search", allow_duplicate=True),
          [Input(f"search-{f.replace('_', '-')}", "value") for f in FILTER_IDS] + [Input("search-flags", "value")],
          State("_pages_location", "search"), State("search-rendered", "data"), prevent_initial_call=True)
def keep_search_in_url(*values: object) -> str:
    *filters, flags, search, rendered = values
    params = {**_url_values(dict(zip(FILTER_IDS, filters))), "whole_family": "whole_family" in (flags or []),
              "available": "available" in (flags or [])}
    changed = new_search(search, rendered, **params)
    return dash.no_update if changed is None else changed


def _url_values(filters: dict) -> dict:
    """Filter values as the URL holds them ('' for none, age as text)."""
    return {key: "" if value is None else str(value) for key, value in filters.items()}


@callback(Output("signal-result", "children"), Input("signal-send", "n_clicks"), State("signal-reason", "value"),
          State("_pages_location", "search"), prevent_initial_call=True)
def record_nothing_found(clicks: int, reason: str, search: str) -> str:
    """Write an anonymous signal for the ingester (the web never writes the warehouse itself)."""
    from ingest.signals import write_signal

    query = parse_search(search)
    lang = lang_of(query)
    if not (query.get("gemeente") and query.get("care_type") and query.get("target_group")):
        return t("signal_needs", lang)
    if not SIGNALS_PER_ADDRESS.allow(flask.request.remote_addr or "?"):
        return t("signal_too_many", lang)
    try:
        write_signal(reader().paths, query["gemeente"], query["care_type"], query["target_group"], reason)
    except CapacityError as error:
        return error.message(lang)
    return t("signal_done", lang)
