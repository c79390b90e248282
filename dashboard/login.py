"""Logging in and out: a local users file (argon2) and/or OpenID Connect (Authlib), per CAPACITY_LOGIN.

  GET  /login              the form (local) and/or the OpenID Connect button
  POST /login              name + password + CSRF token (failed logins limited, see below)
  GET  /login/oidc         redirect to the identity provider
  GET  /auth/oidc          the provider's answer: role from CAPACITY_OIDC_ROLE_CLAIM via CAPACITY_OIDC_ROLES
  POST /logout             ends the session on the server (CSRF token required)

Failed logins are counted for all web workers together (dashboard/sessions.py): an address that failed
ADDRESS_FAILURES times, or ADDRESS_NAME_FAILURES times for one name, waits out the window. A name is never
locked by what others do: after SLOWDOWN_AFTER failures for it (from anywhere) each further failure is
answered more slowly, but its right password is always accepted.
"""
from __future__ import annotations

import hmac
import secrets
import time
import unicodedata
from typing import Any
from urllib.parse import unquote

import flask
from markupsafe import Markup, escape

from queries import settings

from .access import ROLE_LABELS, ROLES, AccessConfig, current_user, end_session, sessions, start_session
from .users import verify

blueprint = flask.Blueprint("login", __name__)
LOGIN_WINDOW_SECONDS = 15 * 60
ADDRESS_FAILURES, ADDRESS_NAME_FAILURES = 30, 10
SLOWDOWN_AFTER, SLOWDOWN_STEP_SECONDS, SLOWDOWN_MAX_SECONDS = 10, 0.1, 1.0
MAX_FIELD_LENGTH = 256
MAX_DECODING_ROUNDS = 4
_oauth: Any = None

WORDS = {
    "title": ("Inloggen", "Log in"), "name": ("Gebruikersnaam", "User name"), "password": ("Wachtwoord", "Password"),
    "submit": ("Inloggen", "Log in"), "oidc": ("Inloggen via uw organisatie", "Log in through your organisation"),
    "wrong": ("Naam of wachtwoord klopt niet.", "Name or password is wrong."),
    "too_many": ("Te veel pogingen; probeer het over een kwartier opnieuw.",
                 "Too many attempts; try again in a quarter of an hour."),
    "expired": ("Het formulier was verlopen; probeer het opnieuw.", "The form had expired; try again."),
    "oidc_failed": ("Inloggen via uw organisatie is mislukt: {error}", "Logging in through your organisation failed: {error}"),
    "off": ("Inloggen staat uit op deze installatie.", "Login is turned off on this installation."),
}


def word(key: str, lang: str) -> str:
    nl, en = WORDS[key]
    return en if lang == "en" else nl


def install(server: flask.Flask, access: AccessConfig) -> None:
    """The login routes, and the OpenID Connect client when configured."""
    global _oauth
    if "oidc" in access.login:
        _oauth = _oidc_client(server)
    server.register_blueprint(blueprint)


def _oidc_client(server: flask.Flask) -> Any:
    from authlib.integrations.flask_client import OAuth

    issuer, client_id = settings.get("oidc_issuer").rstrip("/"), settings.get("oidc_client_id")
    oauth = OAuth(server)
    oauth.register("oidc", client_id=client_id, client_secret=settings.get("oidc_client_secret") or None,
                   server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid profile email", "default_timeout": 10})
    return oauth


def oidc_role(claims: dict[str, Any]) -> str | None:
    """The highest role any of the user's claim values maps to (CAPACITY_OIDC_ROLES), or None."""
    mapping = {}
    for pair in settings.get("oidc_roles").split(","):
        value, _, role = pair.partition("=")
        if role.strip() in ROLES:
            mapping[value.strip()] = role.strip()
    values = claims.get(settings.get("oidc_role_claim"), [])
    values = [values] if isinstance(values, str) else values if isinstance(values, list) else []
    roles = [mapping[v] for v in values if isinstance(v, str) and v in mapping]
    return max(roles, key=ROLES.index) if roles else None


# --- routes --------------------------------------------------------------------------------------


@blueprint.get("/login")
def login_form() -> flask.Response:
    return _form(_lang(), status=200)


@blueprint.post("/login")
def login_submit() -> flask.Response:
    access, lang = _access(), _lang()
    if "local" not in access.login:
        return _form(lang, word("off", lang), 404)
    if not csrf_ok():
        return _form(lang, word("expired", lang), 400)
    name = flask.request.form.get("name", "")[:MAX_FIELD_LENGTH].strip().lower()
    password = flask.request.form.get("password", "")[:MAX_FIELD_LENGTH]
    address = flask.request.remote_addr or "?"
    failures = sessions().failures(address, name, LOGIN_WINDOW_SECONDS)
    if failures.by_address >= ADDRESS_FAILURES or failures.by_address_and_name >= ADDRESS_NAME_FAILURES:
        return _form(lang, word("too_many", lang), 429)
    user = verify(access.users_file, name, password)
    if user is None:
        sessions().count_failure(address, name)
        time.sleep(slowdown(failures.by_name + 1))
        return _form(lang, word("wrong", lang), 401)
    start_session(user.name, user.role, "local", user.password_hash)
    return flask.redirect(_next_path(), 303)


def slowdown(failures_for_name: int) -> float:
    """Seconds to wait before answering a failed login, by the failures for that name in the window."""
    return min(SLOWDOWN_MAX_SECONDS, SLOWDOWN_STEP_SECONDS * max(0, failures_for_name - SLOWDOWN_AFTER))


@blueprint.get("/login/oidc")
def login_oidc() -> flask.Response:
    if _oauth is None:
        return _form(_lang(), word("off", _lang()), 404)
    flask.session["next"] = _next_path()
    return _oauth.oidc.authorize_redirect(flask.url_for("login.oidc_answer", _external=True))


@blueprint.get("/auth/oidc")
def oidc_answer() -> flask.Response:
    from authlib.integrations.base_client import OAuthError

    lang = _lang()
    if _oauth is None:
        return _form(lang, word("off", lang), 404)
    target = flask.session.pop("next", "/")
    try:
        token = _oauth.oidc.authorize_access_token()
    except (OAuthError, ValueError, OSError) as error:
        flask.current_app.logger.warning("OpenID Connect login failed: %s", type(error).__name__)
        return _form(lang, word("oidc_failed", lang).format(error=type(error).__name__), 401)
    claims = dict(token.get("userinfo") or {})
    subject = str(claims.get("preferred_username") or claims.get("email") or claims.get("sub") or "?")
    start_session(subject[:MAX_FIELD_LENGTH], oidc_role(claims), "oidc")
    return flask.redirect(target if _local_path(target) else "/", 303)


@blueprint.post("/logout")
def logout() -> flask.Response:
    if csrf_ok():
        end_session()
    return flask.redirect("/", 303)


# --- pieces --------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's token for forms that change state (login, logout)."""
    if "csrf" not in flask.session:
        flask.session["csrf"] = secrets.token_urlsafe(32)
    return flask.session["csrf"]


def csrf_ok() -> bool:
    """Whether the form sent this session's CSRF token."""
    sent = flask.request.form.get("csrf", "")
    return bool(sent) and hmac.compare_digest(sent, flask.session.get("csrf", ""))


def _access() -> AccessConfig:
    return flask.current_app.config["CAPACITY_ACCESS"]


def _lang() -> str:
    return "en" if flask.request.args.get("lang") == "en" else "nl"


def _local_path(target: object) -> bool:
    """Only a path on this site: one '/' followed by neither '/' nor a backslash, no backslash, control or
    whitespace character anywhere; checked as sent and after each round of percent-decoding (a browser
    drops a tab or newline from a Location header, so '/<tab>/evil.example' would lead off-site)."""
    if not isinstance(target, str):
        return False
    for _ in range(MAX_DECODING_ROUNDS):
        if not _plain_local_path(target):
            return False
        decoded = unquote(target)
        if decoded == target:
            return True
        target = decoded
    return False


def _plain_local_path(target: str) -> bool:
    return (target.startswith("/") and target[1:2] not in ("/", "\\") and "\\" not in target
            and not any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs") for ch in target))


def _next_path() -> str:
    target = flask.request.args.get("next", "/")
    return target if _local_path(target) else "/"


def _form(lang: str, message: str = "", status: int = 200) -> flask.Response:
    access = _access()
    parts = [f'<h1>{word("title", lang)}</h1>']
    user = current_user()
    if user:
        nl_role, en_role = ROLE_LABELS.get(user.get("role") or "", ("–", "–"))
        parts.append(f'<p>{escape(user["name"])} ({en_role if lang == "en" else nl_role})</p>')
    if message:
        parts.append(f'<p class="notice" role="alert">{escape(message)}</p>')
    query = f"?next={escape(_next_path())}" + ("&amp;lang=en" if lang == "en" else "")
    if "local" in access.login:
        parts.append(
            f'<form method="post" action="/login{query}" class="login-form">'
            f'<input type="hidden" name="csrf" value="{escape(csrf_token())}">'
            f'<label for="name">{word("name", lang)}</label>'
            f'<input id="name" name="name" autocomplete="username" required maxlength="64">'
            f'<label for="password">{word("password", lang)}</label>'
            f'<input id="password" name="password" type="password" autocomplete="current-password" required>'
            f'<button type="submit">{word("submit", lang)}</button></form>')
    if "oidc" in access.login:
        parts.append(f'<p><a class="button" href="/login/oidc{query}">{word("oidc", lang)}</a></p>')
    if not access.login:
        parts.append(f"<p>{word('off', lang)}</p>")
    body = Markup(f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
                  f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                  f'<title>{word("title", lang)}</title><link rel="icon" href="/_favicon.ico"><link rel="stylesheet" href="/assets/style.css"></head>'
                  f'<body><main class="login">{"".join(parts)}</main></body></html>')
    return flask.Response(str(body), status=status, mimetype="text/html")
