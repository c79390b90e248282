"""The Databronnen page's part on providers' own links (steward only): invite and revoke links, what providers
sent through them (audit), and whether mail goes out (SMTP settings, the outbox).

Its callbacks belong to no page, so the gate lets only stewards run them (dashboard/gate.py).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import duckdb
from dash import Input, Output, State, callback, dcc, html

from ingest.mailer import smtp_settings
from ingest.provider_invites import InviteError, invite, known_providers
from ingest.provider_links import Invite
from queries.db import rows, sql_file
from queries.errors import CapacityError
from queries.outbox import OutboxSummary

from .access import links
from .components import AMSTERDAM, labelled_dropdown
from .data import snapshot
from .i18n import lang_of, t
from .provider_page import word

UPDATES_SHOWN = 50
HAS_UPDATES = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'provider_update'"


def provider_updates(cur: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The latest submissions through links (none in a copy made before they existed)."""
    if not rows(cur, HAS_UPDATES)[0][0]:
        return []
    return rows(cur, sql_file("provider_updates"), {"limit": UPDATES_SHOWN})


def links_section(lang: str, providers: dict[str, str]) -> html.Section:
    """The invites with their state and last use, and the forms to invite and to revoke."""
    now = time.time()
    invites = links().invites()
    keys = ["link", "provider", "email_address", "link_state", "valid_until", "last_used"]
    body = [html.Tr([html.Td(i.link_id), html.Td(providers.get(i.provider_id, i.provider_id)),
                     html.Td(i.email or "–"), html.Td(t(f"link_{i.state(now)}", lang)),
                     html.Td(_stamp(i.expires_at)), html.Td(_stamp(i.last_used_at) if i.last_used_at else
                                                            t("never", lang))]) for i in invites]
    table = (html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                  html.Tbody(body)], id="links-table"), className="table-scroll")
             if body else html.P(t("no_links", lang)))
    active = [i for i in invites if i.state(now) == "active"]
    return html.Section([
        html.H2(t("links_title", lang)), html.P(t("links_intro", lang)), table,
        html.H3(t("invite_title", lang)),
        html.Div([
            labelled_dropdown("invite-provider", t("provider", lang),
                              [{"label": f"{name} ({pid})", "value": pid} for pid, name in providers.items()], None,
                              searchable=True, lang=lang),
            html.Div([html.Label(t("email_address", lang), htmlFor="invite-email"),
                      dcc.Input(id="invite-email", type="text", inputMode="email", maxLength=254, autoComplete="off")],
                     className="control"),
            html.Div([html.Label(t("valid_days", lang), htmlFor="invite-days"),
                      dcc.Input(id="invite-days", type="text", inputMode="numeric", pattern="[0-9]*", maxLength=3,
                                value="365", autoComplete="off", className="number-input")],
                     className="control"),
            html.Button(t("invite_button", lang), id="invite-button", n_clicks=0, className="admin-button"),
        ], className="controls admin-form"),
        html.Div(id="invite-result", role="status", **{"aria-live": "polite"}),
        html.H3(t("revoke_title", lang)),
        html.Div([
            labelled_dropdown("revoke-link", t("link", lang),
                              [{"label": _revocable(i, providers), "value": i.link_id} for i in active], None,
                              lang=lang),
            html.Button(t("revoke_button", lang), id="revoke-button", n_clicks=0, className="admin-button"),
        ], className="controls admin-form"),
        html.Div(id="revoke-result", role="status", **{"aria-live": "polite"}),
    ], className="card", id="provider-links")


def updates_section(lang: str, updates: list[tuple]) -> html.Section:
    keys = ["sent_at", "provider", "service", "link", "changes"]
    body = [html.Tr([html.Td(_when(submitted)), html.Td(provider), html.Td(service), html.Td(link_id),
                     html.Td(_changes(action, changes, lang), className="reasons")])
            for submitted, _, provider, service, link_id, action, changes in updates]
    content = (html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                    html.Tbody(body)], id="updates-table"), className="table-scroll")
               if body else html.P(t("no_updates", lang)))
    return html.Section([html.H2(t("updates_title", lang)), content], className="card")


def mail_section(lang: str, outbox: OutboxSummary) -> html.Section:
    try:
        mail_on, problem = smtp_settings() is not None, None
    except CapacityError as error:
        mail_on, problem = False, error.en if lang == "en" else error.nl
    state = (problem or t("mail_on", lang)) if mail_on or problem else t("mail_off", lang)
    counts = t("outbox_counts", lang).format(queued=outbox.queued, retrying=outbox.retrying, sent=outbox.sent,
                                             failed=outbox.failed, uncertain=outbox.uncertain)
    keys = ["created", "email_address", "subject", "mail_state", "attempts", "last_error"]
    body = [html.Tr([html.Td(_when(p.created_at)), html.Td(p.recipient), html.Td(p.subject),
                     html.Td(t(f"mail_{'retrying' if p.retrying else p.state}", lang)),
                     html.Td(str(p.attempts), className="num"), html.Td(p.last_error or "", className="reasons")])
            for p in outbox.problems]
    table = (html.Div(html.Table([html.Thead(html.Tr([html.Th(t(k, lang), scope="col") for k in keys])),
                                  html.Tbody(body)], id="outbox-table"), className="table-scroll") if body else "")
    return html.Section([html.H2(t("mail_title", lang)),
                         html.P(state, className="notice" if not mail_on else None, id="mail-state"),
                         html.P(counts), table], className="card")


@callback(Output("invite-result", "children"), Input("invite-button", "n_clicks"),
          State("invite-provider", "value"), State("invite-email", "value"), State("invite-days", "value"),
          State("_pages_location", "search"), prevent_initial_call=True)
def invite_clicked(clicks: int, provider_id: object, email: object, days: object, search: object) -> html.Div:
    lang = lang_of({"lang": "en" if isinstance(search, str) and "lang=en" in search else "nl"})
    if not isinstance(provider_id, str) or not provider_id:
        return html.P(t("choose_provider", lang), className="notice")
    with snapshot() as (_, cur):
        providers = known_providers(cur)
    try:
        outcome = invite(links(), providers, provider_id, email if isinstance(email, str) else None,
                         int(days) if isinstance(days, str) and days.strip().isdigit() else 0)
    except InviteError as error:
        return html.P(error.en if lang == "en" else error.nl, className="notice")
    mail_note = (t("invite_mailed", lang).format(address=email) if outcome.mailed else
                 (outcome.mail_problem[1] if lang == "en" else outcome.mail_problem[0]) if outcome.mail_problem
                 else t("invite_not_mailed", lang))
    return html.Div([html.P(t("invite_made", lang).format(link=outcome.link.link_id, provider=outcome.provider_name)),
                     html.P(html.Code(outcome.url, id="invite-url")), html.P(mail_note),
                     html.P(t("invite_once", lang))])


@callback(Output("revoke-result", "children"), Input("revoke-button", "n_clicks"), State("revoke-link", "value"),
          State("_pages_location", "search"), prevent_initial_call=True)
def revoke_clicked(clicks: int, link_id: object, search: object) -> html.P:
    lang = "en" if isinstance(search, str) and "lang=en" in search else "nl"
    if not isinstance(link_id, str) or not link_id:
        return html.P(t("choose_link", lang), className="notice")
    revoked = links().revoke(link_id)
    return html.P(t("revoked" if revoked else "not_revoked", lang).format(link=link_id))


def _revocable(invite_row: Invite, providers: dict[str, str]) -> str:
    return (f"{invite_row.link_id} — {providers.get(invite_row.provider_id, invite_row.provider_id)}"
            f"{' — ' + invite_row.email if invite_row.email else ''}")


def _changes(action: str, changes: str, lang: str) -> str:
    listed = json.loads(changes)
    if not listed:
        return t("confirmed_same", lang) if action == "confirm" else t("no_change", lang)
    shown = lambda value: "–" if value is None else word(value, lang) if isinstance(value, str) else str(value)  # noqa: E731
    return "; ".join(f"{word(c['field'], lang).lower()} {shown(c['before'])} → {shown(c['after'])}" for c in listed)


def _stamp(moment: float) -> str:
    return _when(datetime.fromtimestamp(moment, timezone.utc))


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"
