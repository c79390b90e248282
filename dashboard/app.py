"""Create the Dash app: pages from dashboard/pages, the read-only API, login, the gate and safe headers."""
from __future__ import annotations

from pathlib import Path

import dash
from dash import ClientsideFunction, Input, Output, html
from werkzeug.middleware.proxy_fix import ProxyFix

from queries import settings
from queries.paths import DataPaths

from . import access, alerts_page, api, data, gate, headers, login, provider_page

INDEX = """<!DOCTYPE html>
<html lang="nl">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""


def create_app(paths: DataPaths) -> dash.Dash:
    """The app for `capacity serve`; refuses (AccessConfigError) when the login settings do not fit."""
    policy = access.access_config(paths.root)
    data.configure(paths, float(settings.get("reader_poll_seconds")))
    app = dash.Dash(__name__, use_pages=True, pages_folder=str(Path(__file__).parent / "pages"),
                    title="Capaciteit en wachtlijsten", suppress_callback_exceptions=True, serve_locally=True,
                    meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}])
    app.index_string = INDEX
    app.layout = html.Div([dash.page_container, html.Div(id="page-language", hidden=True, **{"aria-hidden": "true"})])
    app.server.config.update(DEBUG=False, PROPAGATE_EXCEPTIONS=False)
    if policy.behind_proxy:
        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    access.install(app.server, policy, paths)
    gate.install(app)
    login.install(app.server, policy)
    headers.install(app)
    app.server.register_blueprint(api.blueprint)
    app.server.register_blueprint(provider_page.blueprint)
    app.server.register_blueprint(alerts_page.blueprint)
    app.clientside_callback(ClientsideFunction("capacity", "setLanguage"),
                            Output("page-language", "children"), Input("_pages_location", "search"))
    _set_up_before_serving(app)
    return app


def _set_up_before_serving(app: dash.Dash) -> None:
    """Dash sets itself up on its first request and marks that done before it is: in a fresh gthread
    worker, a second first request could be served half set up (a 500 for a script, a blank page). One
    request here, before the worker accepts any, does the setup (and fixes the CSP hashes) once."""
    with app.server.test_client() as client:
        client.get("/_favicon.ico")
