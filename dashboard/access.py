"""Who may see what: roles, the deployment's login settings, and the server-side gate on every request.

Roles are ordered: public < professional < steward. Every page declares its role in `dash.register_page`
(`role=`); every API route in API_ROLES. The gate runs before Flask dispatches a request:

- a page URL (the HTML shell) needs the role of the page it opens;
- `/_dash-update-component` needs the role of the page the callback belongs to (its module), and Dash's
  page-routing callback needs the role of the path it is asked to render; unknown callbacks need steward;
- `/api/...` needs the route's role; unknown API routes need steward;
- everything of the app needs at least some role: with CAPACITY_ANONYMOUS_ROLE=none visitors must log in,
  and `/_dash-layout` and `/_dash-dependencies` are refused until they have.

Refusals are 403 in Dutch and English (with a login link for someone who could log in).
"""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dash
import flask
from markupsafe import escape
from werkzeug.routing import Map, Rule

from queries import settings
from queries.errors import CapacityError

ROLES = ("public", "professional", "steward")
LOGIN_MODES = ("local", "oidc")
API_ROLES = {"/api/v1/shortfall": "public", "/api/v1/providers": "professional",
             "/api/v1/sources": "steward", "/api/hsds/services": "professional"}
ROUTING_OUTPUT = "_pages_content.children"
CALLBACK_PATH = "/_dash-update-component"
SHELL_PATHS = ("/_dash-layout", "/_dash-dependencies")
OPEN_PREFIXES = ("/_dash-component-suites/", "/assets/", "/login", "/logout", "/auth/")
OPEN_PATHS = ("/_favicon.ico", "/favicon.ico")
DEVELOPMENT_PATHS = ("/_reload-hash",)  # Dash's hot reload: never served
MIN_SECRET_LENGTH = 32
ROLE_LABELS = {"public": ("publiek", "public"), "professional": ("professional", "professional"),
               "steward": ("databeheerder", "data steward")}


class AccessConfigError(CapacityError):
    """The login settings do not fit together; the web server does not start."""


@dataclass(frozen=True)
class AccessConfig:
    """The deployment's login settings, checked."""

    login: tuple[str, ...]
    anonymous_role: str | None
    production: bool
    secret_key: str
    session_hours: int
    behind_proxy: bool
    users_file: Path

    @property
    def login_on(self) -> bool:
        return bool(self.login)


def access_config(data_root: Path) -> AccessConfig:
    """The settings of this deployment, refused with a plain message when they do not fit together."""
    from .users import users_file

    login = tuple(mode.strip() for mode in settings.get("login").lower().split(",") if mode.strip() != "off"
                  and mode.strip())
    for mode in login:
        if mode not in LOGIN_MODES:
            raise AccessConfigError(f"CAPACITY_LOGIN='{mode}' is onbekend; kies off, local, oidc of local,oidc.",
                                    f"CAPACITY_LOGIN='{mode}' is unknown; choose off, local, oidc or local,oidc.")
    production = _boolean("production")
    secret = settings.get("secret_key")
    if (production or login) and len(secret) < MIN_SECRET_LENGTH:
        raise AccessConfigError(
            f"CAPACITY_SECRET_KEY ontbreekt of is korter dan {MIN_SECRET_LENGTH} tekens; die is nodig met login "
            "aan of in productie (maak er een met: python3 -c 'import secrets; print(secrets.token_urlsafe(48))').",
            f"CAPACITY_SECRET_KEY is missing or shorter than {MIN_SECRET_LENGTH} characters; it is required with "
            "login on or in production (make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))').")
    if "oidc" in login and not (settings.get("oidc_issuer") and settings.get("oidc_client_id")):
        raise AccessConfigError("Met CAPACITY_LOGIN=oidc zijn CAPACITY_OIDC_ISSUER en CAPACITY_OIDC_CLIENT_ID nodig.",
                                "CAPACITY_LOGIN=oidc needs CAPACITY_OIDC_ISSUER and CAPACITY_OIDC_CLIENT_ID.")
    anonymous = settings.get("anonymous_role").strip().lower() or ("none" if login else "steward")
    if anonymous not in ROLES + ("none",):
        raise AccessConfigError(f"CAPACITY_ANONYMOUS_ROLE='{anonymous}' is onbekend; kies none, {', '.join(ROLES)}.",
                                f"CAPACITY_ANONYMOUS_ROLE='{anonymous}' is unknown; choose none, {', '.join(ROLES)}.")
    if production and anonymous in ("professional", "steward"):
        raise AccessConfigError(
            f"In productie (CAPACITY_PRODUCTION=true) mogen niet-ingelogde bezoekers hoogstens de rol public "
            f"hebben, niet '{anonymous}'. Zet CAPACITY_ANONYMOUS_ROLE op public of none en zet login aan.",
            f"In production (CAPACITY_PRODUCTION=true) visitors who are not logged in may have the public role at "
            f"most, not '{anonymous}'. Set CAPACITY_ANONYMOUS_ROLE to public or none and turn login on.")
    return AccessConfig(login=login, anonymous_role=None if anonymous == "none" else anonymous,
                        production=production, secret_key=secret or secrets.token_urlsafe(48),
                        session_hours=int(settings.get("session_hours")), behind_proxy=_boolean("behind_proxy"),
                        users_file=users_file(data_root))


def _boolean(name: str) -> bool:
    return settings.get(name).strip().lower() in ("true", "1", "yes", "ja")


def is_public() -> bool:
    """Whether this request sees the public (suppressed, one-level) view."""
    return current_role() == "public"


def allows(role: str | None, needed: str) -> bool:
    """Whether `role` (None: nobody) reaches `needed`."""
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


# --- who is asking -----------------------------------------------------------------------------


def current_user() -> dict[str, Any] | None:
    """The logged-in user of this request ({'name', 'role', 'via'}), or None."""
    user = getattr(flask.g, "capacity_user", None)
    return user if isinstance(user, dict) else None


def current_role() -> str | None:
    """The role of this request: the logged-in user's, else the anonymous role (None: nobody)."""
    return getattr(flask.g, "capacity_role", None)


def config() -> AccessConfig:
    return flask.current_app.config["CAPACITY_ACCESS"]


def start_session(name: str, role: str | None, via: str) -> None:
    """Remember a login in the signed session cookie (a fresh session: no fixation)."""
    flask.session.clear()
    flask.session.permanent = True
    flask.session["user"] = {"name": name, "role": role, "via": via,
                             "since": datetime.now(timezone.utc).isoformat()}


def _session_user(access: AccessConfig) -> dict[str, Any] | None:
    """The session's user while the login is younger than the session lifetime and the user still exists."""
    from .users import local_role

    user = flask.session.get("user")
    if not isinstance(user, dict) or not access.login_on:
        return None
    try:
        since = datetime.fromisoformat(user["since"])
    except (KeyError, TypeError, ValueError):
        return None
    if datetime.now(timezone.utc) - since > timedelta(hours=access.session_hours):
        return None
    if user.get("via") == "local":
        if "local" not in access.login:
            return None
        user = {**user, "role": local_role(access.users_file, user.get("name", ""))}
        if user["role"] is None:
            return None
    elif user.get("via") != "oidc" or "oidc" not in access.login:
        return None
    return user


def _role_of(user: dict[str, Any] | None, access: AccessConfig) -> str | None:
    if user is None:
        return access.anonymous_role
    role = user.get("role")
    return role if role in ROLES else access.anonymous_role


# --- what is asked -----------------------------------------------------------------------------


def page_role(path: str) -> str | None:
    """The role a page URL needs (None: no such page, so the public 404 shell)."""
    adapter = _page_rules().bind("localhost")
    try:
        module, _ = adapter.match(path)
    except Exception:  # noqa: BLE001 - werkzeug's NotFound/MethodNotAllowed/RequestRedirect
        return None
    return dash.page_registry[module].get("role", "steward")


@functools.cache
def _page_rules() -> Map:
    """URL rules of the registered pages (registered once, at start)."""
    rules = []
    for module, page in dash.page_registry.items():
        template = page.get("path_template") or page["path"]
        rules.append(Rule(template.replace("<", "<string:") if "<" in template else template, endpoint=module,
                          strict_slashes=False))
    return Map(rules)


def callback_role(app: dash.Dash, body: Any) -> str:
    """The role a callback request needs: its page's, or the requested page's for Dash's page routing."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return "steward"
    output = body["output"]
    entry = app.callback_map.get(output)
    if entry is None:
        return "steward"
    if ROUTING_OUTPUT in output:
        pathname = next((item.get("value") for item in body.get("inputs", []) if isinstance(item, dict)
                         and item.get("id") == "_pages_location" and item.get("property") == "pathname"), None)
        return page_role(pathname if isinstance(pathname, str) else "/") or "public"
    module = getattr(entry.get("callback"), "__module__", "")
    page = next((p for m, p in dash.page_registry.items() if m == module), None)
    return page.get("role", "steward") if page else "steward"


def request_role(app: dash.Dash, request: flask.Request) -> str | None:
    """The role this request needs, or None when it is open to everyone (assets, login)."""
    path = request.path
    if path.startswith(OPEN_PREFIXES) or path in OPEN_PATHS:
        return None
    if path == CALLBACK_PATH:
        return callback_role(app, request.get_json(silent=True))
    if path.startswith("/api/"):
        return API_ROLES.get(path.rstrip("/"), "steward")
    if path in SHELL_PATHS or path.startswith("/_dash"):
        return "public"
    return page_role(path) or "public"


# --- the gate -----------------------------------------------------------------------------------


def install(app: dash.Dash, access: AccessConfig) -> None:
    """Sessions and the gate on the app's Flask server."""
    server = app.server
    server.config.update(
        CAPACITY_ACCESS=access, SECRET_KEY=access.secret_key, SESSION_COOKIE_NAME="capacity_session",
        SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=access.session_hours))

    @server.before_request
    def gate() -> flask.Response | None:
        path = flask.request.path
        if path in DEVELOPMENT_PATHS or (path.startswith("/api/") and path.rstrip("/") not in API_ROLES):
            flask.abort(404)
        user = _session_user(access)
        flask.g.capacity_user = user
        flask.g.capacity_role = _role_of(user, access)
        needed = request_role(app, flask.request)
        if needed is None or allows(flask.g.capacity_role, needed):
            return None
        return refusal(needed, logged_in=user is not None, login_on=access.login_on)


def refusal(needed: str, logged_in: bool, login_on: bool) -> flask.Response:
    """403, saying which role is needed (and to log in first when that could help); JSON for the API and
    Dash's endpoints, else a small HTML page."""
    nl_role, en_role = ROLE_LABELS[needed]
    nl = f"Geen toegang: hiervoor is de rol {nl_role} nodig."
    en = f"No access: this needs the {en_role} role."
    offer_login = login_on and not logged_in
    if offer_login:
        nl, en = nl + " Log eerst in.", en + " Log in first."
    path = flask.request.path
    if path.startswith("/api/") or path.startswith("/_dash"):
        return flask.Response(flask.json.dumps({"error": {"nl": nl, "en": en}}), status=403,
                              mimetype="application/json")
    login = '<p><a href="/login?next={}">Inloggen / Log in</a></p>'.format(
        escape(flask.request.full_path.rstrip("?"))) if offer_login else ""
    body = (f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>Geen toegang</title>'
            f'<link rel="stylesheet" href="/assets/style.css"></head><body><main class="refusal">'
            f'<h1>Geen toegang</h1><p>{escape(nl)}</p><p lang="en">{escape(en)}</p>{login}'
            f'<p><a href="/">Naar het overzicht / To the overview</a></p></main></body></html>')
    return flask.Response(body, status=403, mimetype="text/html")
