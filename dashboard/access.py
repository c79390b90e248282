"""Who may see what: roles, the deployment's login settings, and who is asking.

Roles are ordered: public < professional < steward. Every page declares its role in `dash.register_page`
(`role=`), every API route has one in dashboard/gate.py, which decides every request before Flask
dispatches it (deny by default). Asking for another moment than now (`?at=`) needs HISTORY_ROLE.

A login is a session kept on the server (dashboard/sessions.py); the signed cookie carries only its id.
A provider's personal update link (ingest/provider_links.py) is exchanged for a short session of its own:
while it lives, the request has no role at all (it reaches the provider's own form, dashboard/provider_page.py,
and nothing else), and logging in ends it, as opening a link ends a login.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask

from ingest.provider_links import Link, LinkStore
from queries import settings
from queries.errors import CapacityError
from queries.paths import DataPaths

from .sessions import SessionStore, credential_fingerprint

ROLES = ("public", "professional", "steward")
LOGIN_MODES = ("local", "oidc")
MIN_SECRET_LENGTH = 32
LINK_SESSION_SECONDS = 2 * 3600
LINK_VIA = "link"
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


def sessions() -> SessionStore:
    return flask.current_app.config["CAPACITY_SESSIONS"]


def current_link() -> Link | None:
    """The live provider link of this request's link session, or None."""
    link = getattr(flask.g, "capacity_link", None)
    return link if isinstance(link, Link) else None


def links() -> LinkStore:
    return flask.current_app.config["CAPACITY_LINKS"]


def start_link_session(link: Link) -> None:
    """A short session for a provider's link, replacing any login in this browser (a fresh cookie too)."""
    end_session()
    flask.session.permanent = True
    flask.session["link_sid"] = sessions().open(link.link_id, LINK_VIA, None, None, LINK_SESSION_SECONDS)


def end_link_session() -> None:
    sessions().end(flask.session.pop("link_sid", None))


def start_session(name: str, role: str | None, via: str, password_hash: str | None = None) -> None:
    """A new server-side session for a login (a fresh cookie too: no fixation). A local user's session
    remembers a fingerprint of the password hash, so a new password ends it."""
    end_session()
    credential = credential_fingerprint(password_hash) if password_hash else None
    flask.session.permanent = True
    flask.session["sid"] = sessions().open(name, via, role if via == "oidc" else None, credential)


def end_session() -> None:
    """Log out: the session (a login's or a link's) ends on the server, so a copy of the cookie is worth
    nothing any more."""
    sessions().end(flask.session.get("sid"))
    end_link_session()
    flask.session.clear()


def _session_link() -> Link | None:
    """The link of this browser's link session while the session and the link both live; else None (and a
    session whose link was revoked or expired is ended)."""
    token = flask.session.get("link_sid")
    stored = sessions().find(token)
    if stored is None or stored.via != LINK_VIA:
        return None
    link = links().live(stored.name)
    if link is None:
        sessions().end(token)
    return link


def _session_user(access: AccessConfig) -> dict[str, Any] | None:
    """The session's user while the session lives on the server, its login mode is on, and (local users)
    the user still exists with the password the session was opened with; else None."""
    from .users import read_users

    token = flask.session.get("sid")
    stored = sessions().find(token) if access.login_on else None
    if stored is None or stored.via not in access.login:
        return None
    role = stored.role
    if stored.via == "local":
        user = read_users(access.users_file).get(stored.name)
        if user is None or credential_fingerprint(user.password_hash) != stored.credential:
            sessions().end(token)
            return None
        role = user.role
    return {"name": stored.name, "role": role, "via": stored.via}


def _role_of(user: dict[str, Any] | None, access: AccessConfig) -> str | None:
    if user is None:
        return access.anonymous_role
    role = user.get("role")
    return role if role in ROLES else access.anonymous_role


def install(server: flask.Flask, access: AccessConfig, paths: DataPaths) -> None:
    """Signed session cookies carrying a server-side session id; who is asking, on every request."""
    server.config.update(
        CAPACITY_ACCESS=access, SECRET_KEY=access.secret_key, SESSION_COOKIE_NAME="capacity_session",
        SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=access.session_hours * 3600,
        CAPACITY_SESSIONS=SessionStore(paths.sessions, access.session_hours * 3600),
        CAPACITY_LINKS=LinkStore(paths.provider_links))

    @server.before_request
    def who_is_asking() -> None:
        link = _session_link()
        flask.g.capacity_link = link
        if link is not None:
            flask.g.capacity_user, flask.g.capacity_role = None, None
            return
        user = _session_user(access)
        flask.g.capacity_user = user
        flask.g.capacity_role = _role_of(user, access)
