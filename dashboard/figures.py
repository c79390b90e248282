"""Pure figure builders: data in, a plotly figure as a plain dict out (no queries, no callbacks).

Plain dicts rather than plotly.graph_objects: the browser's plotly.js validates the figure anyway, and
building graph objects (validation, deep copies of the map shapes per trace) cost more than the queries."""
from __future__ import annotations

from typing import Any, Sequence

from queries.shortfall import Shortfall

from .i18n import STATUS_COLOURS, STATUS_ICONS, t

Figure = dict[str, Any]
STATUS_ORDER = ("green", "amber", "red", "grey", "suppressed")
# The maps draw only our own region shapes; plotly's base map (fetched from a CDN) is replaced by an
# empty local topology, so nothing leaves the machine.
MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "topojsonURL": "/assets/topojson/"}
FIGURE_FIELDS = {"unmet_now": "unmet_now", "norm_gap": "norm_gap", "per_10k": "per_10k",
                 "median_wait": "median_wait_treatment_days"}
FONT = {"family": "system-ui, sans-serif", "size": 13}


def _figure(data: list[dict], height: int, **layout: Any) -> Figure:
    return {"data": data, "layout": {"height": height, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                                     "paper_bgcolor": "white", "font": FONT, **layout}}


def _status_colourscale() -> list[list]:
    """Each status index i (0..n-1) its own flat colour band."""
    steps = len(STATUS_ORDER)
    scale = []
    for index, status in enumerate(STATUS_ORDER):
        scale += [[index / steps, STATUS_COLOURS[status]], [(index + 1) / steps, STATUS_COLOURS[status]]]
    return scale


def region_map(collection: dict, cells: Sequence[Shortfall], colour_by: str, lang: str) -> Figure:
    """A choropleth of the regions, coloured by status (with words in the legend) or by one figure. One
    trace carries the shapes once; the legend entries are empty marker traces."""
    locations = [c.region_code for c in cells]
    base = {"type": "choropleth", "geojson": collection, "featureidkey": "properties.code",
            "locations": locations, "marker": {"line": {"color": "white", "width": 0.8}}}
    if colour_by == "status":
        steps = len(STATUS_ORDER)
        data = [{**base, "z": [STATUS_ORDER.index(c.status) + 0.5 for c in cells], "zmin": 0, "zmax": steps,
                 "colorscale": _status_colourscale(), "showscale": False, "showlegend": False,
                 "customdata": [[c.region_name, f"{t(c.status, lang)}: {'; '.join(c.reasons(lang))}"]
                                for c in cells],
                 "hovertemplate": "<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>"}]
        shown = [status for status in STATUS_ORDER if any(c.status == status for c in cells)]
        data += [{"type": "scattergeo", "lon": [None], "lat": [None], "mode": "markers", "hoverinfo": "skip",
                  "marker": {"size": 12, "symbol": "square", "color": STATUS_COLOURS[status]},
                  "name": f"{STATUS_ICONS[status]} {t(status, lang)}", "showlegend": True} for status in shown]
    else:
        values = [getattr(c, FIGURE_FIELDS[colour_by]) for c in cells]
        data = [{**base, "z": [v if v is not None else None for v in values],
                 "colorscale": "OrRd" if colour_by != "per_10k" else "Blues",
                 "colorbar": {"title": {"text": t(colour_by, lang)}, "thickness": 12},
                 "customdata": [[c.region_name, "–" if v is None else f"{v:.1f}"] for c, v in zip(cells, values)],
                 "hovertemplate": "<b>%{customdata[0]}</b><br>" + t(colour_by, lang) + ": %{customdata[1]}"
                                  "<extra></extra>"}]
    return _figure(data, 520, geo={"fitbounds": "locations", "visible": False, "projection": {"type": "mercator"}},
                   legend={"orientation": "h", "yanchor": "bottom", "y": 0, "x": 0, "itemclick": False,
                           "itemdoubleclick": False}, dragmode=False)


def trend_figure(series: Sequence[Shortfall], lang: str) -> Figure:
    """Weekly waiting, free places and median waits of one cell."""
    when = [c.at.isoformat() for c in series]
    data = []
    for field, key, dash_style in (("waiting", "waiting", "solid"), ("available", "available", "solid"),
                                   ("median_wait_intake_days", "median_wait", "dot"),
                                   ("median_wait_treatment_days", "median_wait", "dash")):
        values = [getattr(c, field) for c in series]
        if all(v is None for v in values):
            continue
        label = t(key, lang) + (" (aanmelding)" if field.endswith("intake_days") and lang == "nl" else
                                " (intake)" if field.endswith("intake_days") else
                                " (behandeling)" if field.endswith("treatment_days") and lang == "nl" else
                                " (treatment)" if field.endswith("treatment_days") else "")
        data.append({"type": "scatter", "x": when, "y": values, "name": label, "mode": "lines+markers",
                     "line": {"dash": dash_style}, "connectgaps": False})
    return _figure(data, 320, legend={"orientation": "h", "y": -0.2}, hovermode="x unified")


def versus_median_figure(cells: Sequence[Shortfall], labels: dict[tuple[str, str], str], lang: str) -> Figure:
    """Places per 10,000 of the region against the national median, per care type x target group."""
    names = [labels[(c.care_type, c.target_group)] for c in cells]
    data = [{"type": "bar", "y": names, "x": [c.per_10k for c in cells], "name": t("per_10k", lang),
             "orientation": "h", "marker": {"color": "#1d3557"}},
            {"type": "bar", "y": names, "x": [c.national_median_per_10k for c in cells],
             "name": t("national_median", lang), "orientation": "h", "marker": {"color": "#a8b8c8"}}]
    return _figure(data, 60 + 55 * len(cells), barmode="group", legend={"orientation": "h", "y": -0.15},
                   yaxis={"autorange": "reversed"})


def projection_figure(history: Sequence[tuple], projected: Sequence[tuple], lang: str) -> Figure:
    """Monthly waiting with its straight-line projection (dotted)."""
    data = [{"type": "scatter", "x": [_iso(m) for m, _ in history], "y": [v for _, v in history],
             "name": t("waiting", lang), "mode": "lines+markers", "connectgaps": False}]
    if projected:
        start = [point for point in history if point[1] is not None][-1:]   # draw on from the last known month
        projected = start + list(projected)
        data.append({"type": "scatter", "x": [_iso(m) for m, _ in projected], "y": [v for _, v in projected],
                     "name": t("projection", lang), "mode": "lines+markers", "line": {"dash": "dot"}})
    return _figure(data, 320, legend={"orientation": "h", "y": -0.2}, hovermode="x unified")


def _iso(moment: Any) -> Any:
    return moment.isoformat() if hasattr(moment, "isoformat") else moment
