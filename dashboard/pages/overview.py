"""Overzicht: the national picture (for now: what the warehouse holds and when it was updated)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash
from dash import html

from queries.errors import NoPublishedData
from queries.reference import reference_summary, region_levels

from dashboard.data import reader
from dashboard.format import whole

dash.register_page(__name__, path="/", name="Overzicht", title="Overzicht")

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def layout(**_query: str) -> html.Div:
    try:
        publication = reader().publication()
        with reader().cursor() as cur:
            summary = reference_summary(cur)
            levels = region_levels(cur)
    except NoPublishedData as error:
        return html.Div(html.P(error.message("nl"), className="notice"))
    updated = datetime.fromisoformat(publication.published_at).astimezone(AMSTERDAM)
    return html.Div([
        html.P(f"Gegevens bijgewerkt: {updated:%d-%m-%Y %H:%M}", id="data-updated"),
        html.P(f"{summary.municipalities} gemeenten, {whole(summary.inhabitants)} inwoners "
               f"(peildatum {summary.population_date:%d-%m-%Y})", id="reference-summary"),
        html.Table([
            html.Caption("Regio-indelingen"),
            html.Thead(html.Tr([html.Th("Indeling", scope="col"), html.Th("Aantal regio's", scope="col")])),
            html.Tbody([html.Tr([html.Td(level.label_nl), html.Td(str(level.regions))]) for level in levels]),
        ], id="region-levels"),
    ])
