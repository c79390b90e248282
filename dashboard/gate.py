"""The gate: what every request asks for, and whether the asker's role reaches it. Deny by default.

It runs before Flask dispatches a request and decides by the route Flask matched:

- a page (Dash's `/` and `/<path:path>`) needs the role of exactly the page Dash would render for that
  path, found with Dash's own page lookup; a path that is no page, or more than one, is 404;
- `/_dash-update-component` is checked against the callback it names: its inputs and state must be the
  ones the callback declares, in that order (Dash passes them by position), else 400; Dash's page-routing
  callback then needs the role of the page it would render from those very inputs, any other callback
  the role of the page module it belongs to (steward when it belongs to none);
- an API route needs its role in API_ROLES, the alert subscriptions page its role in FORM_ROLES (the page
  itself also needs a logged-in user: a subscription belongs to one); a signed unsubscribe link is open;
- asking for another moment than now (`at` in the query, on a page or the API) needs HISTORY_ROLE;
- a provider's form (PROVIDER_RULES) needs a live link session, and is all such a session reaches (it has
  no role); the page that exchanges a link for that session is open;
- Dash's layout and dependency lists need some role; assets, scripts and the login routes are open;
- every other route (Flask's static folder, Dash's hot reload) is 404.

As a second line, every page's layout function checks the same rule again with the arguments Dash
actually calls it with, so no way of reaching a layout renders it for a role that may not see it.
Malformed requests (an unparseable `at`, a parameter given twice, a pathname that is not text) are 400
with a plain message, logged as one line.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import dash
import flask
from dash._pages import _parse_path_variables, _parse_query_string
from dash.exceptions import DependencyException
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from queries.moments import BadMoment, as_of
from queries.settings import HISTORY_ROLE

from .access import ROLE_LABELS, ROLES, allows, config, current_link, current_role, current_user

API_ROLES = {"/api/v1/shortfall": "public", "/api/v1/providers": "professional",
             "/api/v1/sources": "steward", "/api/hsds/services": "professional"}
PAGE_RULES = ("/", "/<path:path>")
CALLBACK_RULE = "/_dash-update-component"
SHELL_RULES = ("/_dash-layout", "/_dash-dependencies")
SUITES_RULE = "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>"
OPEN_RULES = (SUITES_RULE, "/assets/<path:filename>", "/_favicon.ico", "/login", "/login/oidc", "/auth/oidc",
              "/logout", "/aanbieder/link", "/aanbieder/link.js", "/attenderingen/afmelden")
PROVIDER_RULES = ("/aanbieder", "/aanbieder/dienst", "/aanbieder/bevestig", "/aanbieder/afmelden")
FORM_ROLES = {"/attenderingen": "professional", "/attenderingen/stop": "professional"}
ROUTING_OUTPUT = "_pages_content.children"
LOCATION = "_pages_location"
HISTORY_PARAMETER = "at"
SHOWN_LENGTH = 60


class Answer(Exception):
    """A request the gate answers itself: refused (403), not found (404) or malformed (400)."""

    def __init__(self, status: int, nl: str, en: str) -> None:
        super().__init__(en)
        self.status, self.nl, self.en = status, nl, en


def _shown(value: object) -> str:
    """A value for a message or log line: short, one line, control characters escaped."""
    text = value if isinstance(value, str) else repr(value)
    return text[:SHOWN_LENGTH].encode("unicode_escape").decode("ascii")


def not_found() -> Answer:
    return Answer(404, "Deze pagina bestaat niet.", "This page does not exist.")


def bad_request(nl: str, en: str) -> Answer:
    return Answer(400, f"Ongeldig verzoek: {nl}", f"Bad request: {en}")


def refused(needed: str) -> Answer:
    nl_role, en_role = ROLE_LABELS[needed]
    return Answer(403, f"Geen toegang: hiervoor is de rol {nl_role} nodig.",
                  f"No access: this needs the {en_role} role.")


def refused_history() -> Answer:
    nl_role, en_role = ROLE_LABELS[HISTORY_ROLE]
    return Answer(403, f"Geen toegang: eerdere momenten (at=) zijn alleen te zien met de rol {nl_role}; de openbare "
                       "weergave toont alleen het actuele beeld.",
                  f"No access: earlier moments (at=) need the {en_role} role; the public view shows the current "
                  "picture only.")


def refused_without_link() -> Answer:
    return Answer(403, "Geen toegang: deze pagina opent alleen via de persoonlijke link van een aanbieder. Open de "
                       "link uit uw e-mail opnieuw, of vraag de databeheerder om een nieuwe.",
                  "No access: this page opens only through a provider's personal link. Open the link from your "
                  "e-mail again, or ask the data steward for a new one.")


def require(needed: str, history: bool = False) -> None:
    """Answer 403 unless this request's role reaches `needed`, and HISTORY_ROLE when it asks for history."""
    role = current_role()
    if not allows(role, needed):
        raise refused(needed)
    if history and not allows(role, HISTORY_ROLE):
        raise refused_history()


# --- pages ---------------------------------------------------------------------------------------


def resolve_page(pathname: object) -> dict[str, Any]:
    """The registry entry of the one page Dash renders for `pathname` (Dash's own lookup: slashes stripped
    at both ends, then templates and paths compared); Answer 400/404 when it is no text or no single page."""
    if not isinstance(pathname, str):
        raise bad_request(f"het pad is geen tekst ({_shown(pathname)})", f"the path is not text ({_shown(pathname)})")
    try:
        stripped = dash.get_app().strip_relative_path(pathname)
    except Exception:  # noqa: BLE001 - Dash's UnsupportedRelativePath: Dash would not render this path either
        raise not_found() from None
    try:
        matches = [page for page in dash.page_registry.values() if _matches(page, stripped)]
    except Exception:  # noqa: BLE001 - a path Dash's own matching cannot handle is no page
        raise not_found() from None
    if len(matches) != 1:
        raise not_found()
    return matches[0]


def _matches(page: dict[str, Any], stripped: str) -> bool:
    """Dash's `_path_to_page` test for one page."""
    template = page.get("path_template")
    if template and _parse_path_variables(stripped, template.strip("/")):
        return True
    return stripped == page["path"].strip("/")


def page_role(path: str) -> str | None:
    """The role the page at `path` needs (None: no such page)."""
    try:
        return _declared_role(resolve_page(path))
    except Answer:
        return None


def _declared_role(page: dict[str, Any]) -> str:
    role = page.get("role")
    return role if role in ROLES else "steward"


def page_query(search: object) -> dict[str, Any]:
    """The query as Dash hands it to a layout (a parameter given twice becomes a list)."""
    if search is None:
        return {}
    if not isinstance(search, str):
        raise bad_request(f"de zoekopdracht is geen tekst ({_shown(search)})",
                          f"the query is not text ({_shown(search)})")
    return _parse_query_string(search)


def checked_query(query: dict[str, Any]) -> None:
    """Each parameter once, and `at` a date or moment; Answer 400 naming the parameter otherwise."""
    for name, value in query.items():
        if not isinstance(value, str):
            raise bad_request(f"parameter {_shown(name)} staat er meer dan eens in",
                              f"parameter {_shown(name)} is given more than once")
    try:
        as_of(query.get(HISTORY_PARAMETER))
    except BadMoment as error:
        raise bad_request(f"parameter at: {error.nl}", f"parameter at: {error.en}") from None


def asks_history(values: list[object]) -> bool:
    """Whether any value of `at` asks for a moment (an empty one means now)."""
    return any(value not in (None, "") for value in values)


def require_page(page: dict[str, Any], query: dict[str, Any]) -> None:
    """Answer unless this request may see `page` with this query: the page's own role, and HISTORY_ROLE
    for `at`."""
    require(_declared_role(page), asks_history([query.get(HISTORY_PARAMETER)]))


def guard_layouts() -> None:
    """Wrap every page's layout so that it checks the page's rule with the arguments Dash calls it with."""
    for page in dash.page_registry.values():
        layout = page.get("layout")
        if callable(layout) and not getattr(layout, "_guarded", False):
            page["layout"] = _guarded(layout, page)


def _guarded(layout: Callable[..., Any], page: dict[str, Any]) -> Callable[..., Any]:
    @functools.wraps(layout)
    def checked(**arguments: Any) -> Any:
        checked_query(arguments)
        require_page(page, arguments)
        return layout(**arguments)

    checked._guarded = True  # type: ignore[attr-defined]
    return checked


# --- callbacks -----------------------------------------------------------------------------------


def check_callback(body: object) -> None:
    """Answer unless this request may run the callback: 400 when it names no server callback or its inputs
    are not the ones that callback declares, in order; 403 when the role does not reach its page."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        raise bad_request("geen callback-verzoek", "not a callback request")
    entry = dash.get_app().callback_map.get(body["output"])
    if entry is None or not callable(entry.get("callback")):
        raise bad_request(f"onbekende callback {_shown(body['output'])}", f"unknown callback {_shown(body['output'])}")
    values = _declared_values(entry, body)
    if ROUTING_OUTPUT in body["output"]:
        pathname, search = values[(LOCATION, "pathname")], values[(LOCATION, "search")]
        query = page_query(search)
        checked_query(query)
        require_page(resolve_page(pathname), query)
        return
    module = getattr(entry["callback"], "__module__", "")
    page = dash.page_registry.get(module)
    require(_declared_role(page) if page else "steward")


def _declared_values(entry: dict[str, Any], body: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The values sent, by (id, property), after checking they are exactly the declared inputs and state."""
    declared = [*entry.get("inputs", []), *entry.get("state", [])]
    sent_inputs, sent_state = body.get("inputs", []), body.get("state", [])
    if not isinstance(sent_inputs, list) or not isinstance(sent_state, list):
        raise bad_request("inputs en state moeten lijsten zijn", "inputs and state must be lists")
    sent = [*sent_inputs, *sent_state]
    if len(sent) != len(declared) or len(sent_inputs) != len(entry.get("inputs", [])):
        raise bad_request("de invoer past niet bij deze callback", "the inputs do not fit this callback")
    values = {}
    for item, expected in zip(sent, declared):
        if (not isinstance(item, dict) or item.get("id") != expected.get("id")
                or item.get("property") != expected.get("property")):
            raise bad_request("de invoer past niet bij deze callback", "the inputs do not fit this callback")
        values[(expected["id"], expected["property"])] = item.get("value")
    return values


# --- requests ------------------------------------------------------------------------------------


def check_request(request: flask.Request) -> None:
    """Answer (403, 404, 400) unless this request may be served; see the module docstring."""
    rule = request.url_rule.rule if request.url_rule is not None else None
    if rule is None or rule in OPEN_RULES:
        return  # no rule: Flask answers with its own 404, 405 or redirect, and nothing is served
    if rule in PROVIDER_RULES:
        if current_link() is None:
            raise refused_without_link()
    elif rule in API_ROLES:
        require(API_ROLES[rule], asks_history(request.args.getlist(HISTORY_PARAMETER)))
    elif rule in FORM_ROLES:
        require(FORM_ROLES[rule])
    elif rule == CALLBACK_RULE:
        check_callback(request.get_json(silent=True))
    elif rule in SHELL_RULES:
        require("public")
    elif rule in PAGE_RULES:
        query = page_query("?" + request.query_string.decode("utf-8", "replace"))
        checked_query(query)
        require_page(resolve_page(request.path), query)
    else:
        raise not_found()


def install(app: dash.Dash) -> None:
    """The gate before every request, the guard in every layout, and plain answers for every error."""
    server = app.server
    guard_layouts()

    @server.before_request
    def gate() -> flask.Response | None:
        try:
            check_request(flask.request)
        except Answer as answer:
            return answer_response(answer)
        return None

    server.register_error_handler(Answer, answer_response)
    server.register_error_handler(DependencyException, lambda _error: answer_response(not_found()))
    server.register_error_handler(HTTPException, _http_error)
    server.register_error_handler(Exception, _internal_error)


def _http_error(error: HTTPException) -> flask.Response:
    if error.code is None or error.code < 400:
        return error.get_response()
    if error.code == 404:
        return answer_response(not_found())
    return answer_response(Answer(error.code, f"Dit verzoek kan niet worden afgehandeld ({error.code}).",
                                  f"This request cannot be handled ({error.code}: {error.name})."))


def _internal_error(error: Exception) -> flask.Response:
    if flask.request.url_rule is not None and flask.request.url_rule.rule == SUITES_RULE:
        return answer_response(not_found())  # a script that is not there (Dash raises on unknown files)
    flask.current_app.logger.error("500 %s %s: %s", flask.request.method, _shown(flask.request.path), type(error).__name__,
              exc_info=error)
    return answer_response(Answer(500, "Er ging iets mis aan onze kant; probeer het later opnieuw.",
                                  "Something went wrong on our side; try again later."), logged=True)


def answer_response(answer: Answer, logged: bool = False) -> flask.Response:
    """The answer in Dutch and English: JSON for the API and Dash's endpoints, a small HTML page otherwise;
    403 offers to log in where that could help. Malformed requests are logged as one line."""
    if answer.status == 400 and not logged:
        flask.current_app.logger.warning("400 %s %s: %s", flask.request.method, _shown(flask.request.path), _shown(answer.en))
    nl, en = answer.nl, answer.en
    offer_login = (answer.status == 403 and config().login_on and current_user() is None
                   and not flask.request.path.startswith("/aanbieder"))
    if offer_login:
        nl, en = nl + " Log eerst in.", en + " Log in first."
    path = flask.request.path
    if path.startswith(("/api/", "/_dash")):
        return flask.Response(flask.json.dumps({"error": {"nl": nl, "en": en}}), status=answer.status,
                              mimetype="application/json")
    login = '<p><a href="/login?next={}">Inloggen / Log in</a></p>'.format(
        escape(flask.request.full_path.rstrip("?"))) if offer_login else ""
    title = {403: "Geen toegang", 404: "Niet gevonden", 400: "Ongeldig verzoek"}.get(answer.status, "Fout")
    body = (f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="/_favicon.ico"><link rel="stylesheet" href="/assets/style.css"></head><body><main class="refusal">'
            f'<h1>{title}</h1><p>{escape(nl)}</p><p lang="en">{escape(en)}</p>{login}'
            f'<p><a href="/">Naar het overzicht / To the overview</a></p></main></body></html>')
    return flask.Response(body, status=answer.status, mimetype="text/html")
