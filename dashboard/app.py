"""Create the Dash app (pages from dashboard/pages)."""
from __future__ import annotations

from pathlib import Path

import dash
from dash import html

from queries import settings
from queries.paths import DataPaths

from . import data

INDEX = """<!DOCTYPE html>
<html lang="nl">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""


def create_app(paths: DataPaths) -> dash.Dash:
    data.configure(paths, float(settings.get("reader_poll_seconds")))
    app = dash.Dash(__name__, use_pages=True, pages_folder=str(Path(__file__).parent / "pages"),
                    title="Capaciteit en wachtlijsten", suppress_callback_exceptions=True)
    app.index_string = INDEX
    app.layout = html.Div([
        html.Header(html.H1("Capaciteit en wachtlijsten huiselijk geweld en kindermishandeling")),
        html.Main(dash.page_container),
    ])
    return app
