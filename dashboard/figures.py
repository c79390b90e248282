"""Pure figure builders: data in, plotly figure out (no queries, no callbacks)."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from queries.shortfall import Shortfall

from .i18n import STATUS_COLOURS, STATUS_ICONS, t

STATUS_ORDER = ("green", "amber", "red", "grey", "suppressed")
# The maps draw only our own region shapes; plotly's base map (fetched from a CDN) is replaced by an
# empty local topology, so nothing leaves the machine.
MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "topojsonURL": "/assets/topojson/"}
FIGURE_FIELDS = {"unmet_now": "unmet_now", "norm_gap": "norm_gap", "per_10k": "per_10k",
                 "median_wait": "median_wait_treatment_days"}


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, paper_bgcolor="white",
                      font={"family": "system-ui, sans-serif", "size": 13})
    return fig


def region_map(collection: dict, cells: Sequence[Shortfall], colour_by: str, lang: str) -> go.Figure:
    """A choropleth of the regions, coloured by status (with words in the legend) or by one figure."""
    fig = go.Figure()
    names = {c.region_code: c.region_name for c in cells}
    if colour_by == "status":
        for status in STATUS_ORDER:
            chosen = [c for c in cells if c.status == status]
            if not chosen:
                continue
            fig.add_trace(go.Choropleth(
                geojson=collection, featureidkey="properties.code", locations=[c.region_code for c in chosen],
                z=[1] * len(chosen), colorscale=[[0, STATUS_COLOURS[status]], [1, STATUS_COLOURS[status]]],
                showscale=False, name=f"{STATUS_ICONS[status]} {t(status, lang)}", showlegend=True,
                customdata=[[c.region_name, "; ".join(c.reasons(lang))] for c in chosen],
                hovertemplate="<b>%{customdata[0]}</b><br>" + t(status, lang) + ": %{customdata[1]}<extra></extra>",
                marker={"line": {"color": "white", "width": 0.8}}))
    else:
        field = FIGURE_FIELDS[colour_by]
        values = [getattr(c, field) for c in cells]
        fig.add_trace(go.Choropleth(
            geojson=collection, featureidkey="properties.code", locations=[c.region_code for c in cells],
            z=[v if v is not None else float("nan") for v in values], colorscale="OrRd" if colour_by != "per_10k"
            else "Blues", colorbar={"title": {"text": t(colour_by, lang)}, "thickness": 12},
            customdata=[[names[c.region_code], "–" if v is None else f"{v:.1f}"] for c, v in zip(cells, values)],
            hovertemplate="<b>%{customdata[0]}</b><br>" + t(colour_by, lang) + ": %{customdata[1]}<extra></extra>",
            marker={"line": {"color": "white", "width": 0.8}}))
    fig.update_geos(fitbounds="locations", visible=False, projection={"type": "mercator"})
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 0, "x": 0}, dragmode=False)
    return _layout(fig, 520)


def trend_figure(series: Sequence[Shortfall], lang: str) -> go.Figure:
    """Weekly waiting, free places and median waits of one cell."""
    fig = go.Figure()
    when = [c.at for c in series]
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
        fig.add_trace(go.Scatter(x=when, y=values, name=label, mode="lines+markers", line={"dash": dash_style},
                                 connectgaps=False))
    fig.update_layout(legend={"orientation": "h", "y": -0.2}, hovermode="x unified")
    return _layout(fig, 320)


def versus_median_figure(cells: Sequence[Shortfall], labels: dict[tuple[str, str], str], lang: str) -> go.Figure:
    """Places per 10,000 of the region against the national median, per care type x target group."""
    names = [labels[(c.care_type, c.target_group)] for c in cells]
    fig = go.Figure([
        go.Bar(y=names, x=[c.per_10k for c in cells], name=t("per_10k", lang), orientation="h",
               marker_color="#1d3557"),
        go.Bar(y=names, x=[c.national_median_per_10k for c in cells], name=t("national_median", lang),
               orientation="h", marker_color="#a8b8c8"),
    ])
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15}, yaxis={"autorange": "reversed"})
    return _layout(fig, 60 + 55 * len(cells))


def projection_figure(history: Sequence[tuple], projected: Sequence[tuple], lang: str) -> go.Figure:
    """Monthly waiting with its straight-line projection (dotted)."""
    fig = go.Figure([go.Scatter(x=[m for m, _ in history], y=[v for _, v in history], name=t("waiting", lang),
                                mode="lines+markers", connectgaps=False)])
    if projected:
        start = [point for point in history if point[1] is not None][-1:]   # draw on from the last known month
        projected = start + list(projected)
        fig.add_trace(go.Scatter(x=[m for m, _ in projected], y=[v for _, v in projected],
                                 name=t("projection", lang), mode="lines+markers", line={"dash": "dot"}))
    fig.update_layout(legend={"orientation": "h", "y": -0.2}, hovermode="x unified")
    return _layout(fig, 320)
