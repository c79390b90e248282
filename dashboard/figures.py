"""Pure figure builders: data in, a plotly figure as a plain dict out (no queries, no callbacks).

Plain dicts rather than plotly.graph_objects: the browser's plotly.js validates the figure anyway, and
building graph objects (validation, deep copies of the map shapes per trace) cost more than the queries."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Sequence

from queries.shortfall import Figures, Shortfall

from .i18n import STATUS_COLOURS, STATUS_ICONS, t

Figure = dict[str, Any]
STATUS_ORDER = ("green", "amber", "red", "grey", "suppressed")
# The maps draw only our own region shapes; plotly's base map (fetched from a CDN) is replaced by an
# empty local topology, so nothing leaves the machine.
MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "topojsonURL": "/assets/topojson/"}
FIGURE_FIELDS = {"unmet_now": "unmet_now", "norm_gap": "norm_gap", "per_10k": "per_10k",
                 "median_wait": "median_wait_treatment_days"}
FONT = {"family": "system-ui, sans-serif", "size": 13}
LABEL_WRAP = 22  # characters per line of a category label, so that it fits beside a bar on a phone


def _figure(data: list[dict], height: int, **layout: Any) -> Figure:
    """A figure whose axes make room for their tick labels and titles (automargin), so none is cut off."""
    axes = {name: {"automargin": True, **layout.pop(name, {})} for name in ("xaxis", "yaxis")}
    return {"data": data, "layout": {"height": height, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                                     "paper_bgcolor": "white", "font": FONT, **axes, **layout}}


def _axis_title(text: str) -> dict:
    return {"title": {"text": text, "standoff": 8}}


def wrapped(label: str, width: int = LABEL_WRAP) -> str:
    """A label broken into lines of at most `width` characters at spaces (plotly breaks at <br>)."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


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


TREND_COUNTS = (("waiting", "waiting", "#1d3557", "solid"), ("available", "available", "#2a7f62", "solid"))
TREND_WAITS = (("median_wait_intake_days", "wait_intake", "#7b3294", "dot"),
               ("median_wait_treatment_days", "wait_treatment", "#b35806", "dash"))


def trend_counts_figure(series: Sequence[Figures], lang: str) -> Figure:
    """Weekly people waiting and free places of one cell (counts, on their own axis)."""
    return _trend(series, TREND_COUNTS, t("count_axis", lang), lang)


def trend_waits_figure(series: Sequence[Figures], lang: str) -> Figure:
    """Weekly median intake and treatment waits of one cell, in days, with their norms as dotted lines named in
    the legend (a label inside the plot sat on the data line)."""
    figure = _trend(series, TREND_WAITS, t("days_axis", lang), lang)
    shown = {key for field, key, _, _ in TREND_WAITS if any(getattr(c, field) is not None for c in series)}
    last = series[-1] if series else None
    norms = [] if last is None else [(norm, key) for norm, key in ((last.wait_norm_intake_days, "wait_intake"),
                                                                    (last.wait_norm_treatment_days, "wait_treatment"))
                                     if norm is not None and key in shown]
    figure["data"] += [{"type": "scatter", "x": [iso_text(series[0].at), iso_text(last.at)], "y": [norm, norm],
                        "mode": "lines",
                        "name": t("norm_line", lang).format(what=t(key, lang).lower(), n=norm), "hoverinfo": "name",
                        "line": {"dash": "dot", "width": 1, "color": "#555"}} for norm, key in norms]
    return figure


@functools.lru_cache(maxsize=4096)
def iso_text(moment: datetime) -> str:
    """A moment as a chart's x value (remembered: the trends of one page moment show the same weeks, and an
    aware moment's isoformat costs microseconds)."""
    return moment.isoformat()


def _trend(series: Sequence[Figures], lines: tuple, axis_title: str, lang: str) -> Figure:
    when = [iso_text(c.at) for c in series]
    data = [{"type": "scatter", "x": when, "y": [getattr(c, field) for c in series], "name": t(key, lang),
             "mode": "lines+markers", "line": {"dash": style, "color": colour}, "connectgaps": False}
            for field, key, colour, style in lines if any(getattr(c, field) is not None for c in series)]
    return _figure(data, 300, yaxis={**_axis_title(axis_title), "rangemode": "tozero"},
                   legend={"orientation": "h", "y": -0.25}, hovermode="x unified")


def versus_median_figure(cells: Sequence[Shortfall], labels: dict[tuple[str, str], str], lang: str) -> Figure:
    """Places per 10,000 of the region against the national median, per care type x target group."""
    names = [wrapped(labels[(c.care_type, c.target_group)]) for c in cells]
    data = [{"type": "bar", "y": names, "x": [c.per_10k for c in cells], "name": t("per_10k", lang),
             "orientation": "h", "marker": {"color": "#1d3557"}},
            {"type": "bar", "y": names, "x": [c.national_median_per_10k for c in cells],
             "name": t("national_median", lang), "orientation": "h", "marker": {"color": "#8aa0b6"}}]
    return _figure(data, 90 + 60 * len(cells), barmode="group",
                   legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
                   yaxis={"autorange": "reversed"}, xaxis=_axis_title(wrapped(t("per_10k_axis", lang), 18)))


def projection_figure(history: Sequence[tuple], projected: Sequence[tuple], lang: str) -> Figure:
    """Monthly waiting with its straight-line projection (dotted)."""
    data = [{"type": "scatter", "x": [_iso(m) for m, _ in history], "y": [v for _, v in history],
             "name": t("waiting", lang), "mode": "lines+markers", "connectgaps": False}]
    if projected:
        start = [point for point in history if point[1] is not None][-1:]   # draw on from the last known month
        projected = start + list(projected)
        data.append({"type": "scatter", "x": [_iso(m) for m, _ in projected], "y": [v for _, v in projected],
                     "name": t("projection", lang), "mode": "lines+markers", "line": {"dash": "dot"}})
    return _figure(data, 320, legend={"orientation": "h", "y": -0.25}, hovermode="x unified",
                   yaxis={**_axis_title(t("waiting_axis", lang)), "rangemode": "tozero"})


def _iso(moment: Any) -> Any:
    return moment.isoformat() if hasattr(moment, "isoformat") else moment
