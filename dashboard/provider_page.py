"""A provider's own update form, reached only through its personal link (plain HTML, mobile first).

  GET  /aanbieder/link#TOKEN  a tiny page whose script posts the token from the URL fragment (a fragment never
                              reaches a server log, a proxy or a Referer header) and replaces the history entry
  POST /aanbieder/link        exchanges the token for a short link session, 303 to /aanbieder (no token in it)
  GET  /aanbieder             one card per service: latest figures and their age, processing state
  POST /aanbieder/dienst      new figures for one service (`save`), or "nothing changed" (`same`)
  POST /aanbieder/bevestig    "nothing changed" for every service at once
  POST /aanbieder/afmelden    ends the link session

Figures are checked by ingest/provider_form.py, the function the ingester checks them with again; a valid
submission is written to the inbox and loaded by the built-in source `aanbieders` within a minute. Failed
exchanges are limited per address, submissions per link; forms carry a CSRF token; bodies are capped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import flask
from markupsafe import escape

from ingest.provider_form import (FIGURES, MAX_VALUE_CHARS, WAIT_UNITS, WAITS, DescribedService, ServiceFigures,
                                  SubmissionRefused, check_submission, described_services, new_submission,
                                  pending_submissions, provider_key, write_submission)
from ingest.records import RowError
from ingest.validate import read_reference
from queries.errors import NoPublishedData
from queries.db import rows, sql_file
from queries.moments import AMSTERDAM
from queries.paths import DataPaths

from . import data
from .access import current_link, end_link_session, links, start_link_session
from .login import csrf_ok, csrf_token

blueprint = flask.Blueprint("provider", __name__)
MAX_FORM_BYTES = 16 * 1024
EXCHANGE_WINDOW_SECONDS, EXCHANGE_FAILURES = 15 * 60, 20
SUBMIT_WINDOW_SECONDS, SUBMISSIONS_PER_WINDOW = 10 * 60, 40
PENDING_REFRESH_SECONDS = 5
STATUS_CODES = ("open", "full", "waitlist", "closed", "unknown")

WORDS: dict[str, tuple[str, str]] = {
    "title": ("Plaatsen doorgeven", "Report places"),
    "intro": ("Geef per aanbod door hoeveel plekken er nu vrij zijn. Klopt alles nog? Tik op ‘Niets veranderd’.",
              "For each service, report how many places are free now. Is everything still right? Tap "
              "‘Nothing changed’."),
    "all_same": ("Niets veranderd: alle cijfers kloppen nog", "Nothing changed: all figures are still right"),
    "same": ("Niets veranderd", "Nothing changed"), "save": ("Opslaan", "Save"),
    "log_out": ("Afmelden", "Sign out"), "language": ("English", "Nederlands"),
    "available": ("Vrije plekken nu", "Places free now"), "maximum": ("Plekken totaal", "Places in total"),
    "waiting_count": ("Mensen op de wachtlijst", "People waiting"),
    "wait_days_intake": ("Wachttijd tot intake", "Wait until intake"),
    "wait_days_treatment": ("Wachttijd intake tot behandeling", "Wait from intake to treatment"),
    "status": ("Status", "Status"), "days": ("dagen", "days"), "weeks": ("weken", "weeks"),
    "unit_of": ("Eenheid van {what}", "Unit of {what}"),
    "status_auto": ("volgt uit vrije plekken", "follows from free places"),
    "open": ("open", "open"), "full": ("vol", "full"), "waitlist": ("wachtlijst", "waiting list"),
    "closed": ("gesloten", "closed"), "unknown": ("onbekend", "unknown"),
    "empty_unknown": ("Leeg laten = onbekend.", "Leave empty = unknown."),
    "latest": ("Laatste cijfers: {when} ({age})", "Latest figures: {when} ({age})"),
    "none_yet": ("Nog geen cijfers", "No figures yet"), "stale": ("verouderd", "out of date"),
    "age_now": ("minder dan een uur oud", "less than an hour old"),
    "age_hours": ("{n} uur oud", "{n} hours old"), "age_days": ("{n} dagen oud", "{n} days old"),
    "pending": ("Ontvangen om {time}; wordt verwerkt…", "Received at {time}; being processed…"),
    "processed": ("Verwerkt om {time}", "Processed at {time}"),
    "refused": ("Uw inzending is om {time} niet verwerkt: {why}", "Your submission was not processed at {time}: {why}"),
    "received": ("Ontvangen. Binnen een minuut staat het op het dashboard.",
                 "Received. It will be on the dashboard within a minute."),
    "errors": ("Niet opgeslagen: verbeter de gemarkeerde velden.", "Not saved: correct the marked fields."),
    "nothing_to_confirm": ("Er zijn nog geen cijfers om te bevestigen.", "There are no figures to confirm yet."),
    "no_services": ("Er staat nog geen aanbod van uw organisatie in het dashboard. Vraag de databeheerder het "
                    "aanbod eerst vast te leggen.", "No service of your organisation is in the dashboard yet. Ask "
                    "the data steward to register it first."),
    "no_data": ("Er zijn nog geen gegevens gepubliceerd; probeer het over een minuut opnieuw.",
                "No data has been published yet; try again in a minute."),
    "expired": ("Het formulier was verlopen; probeer het opnieuw.", "The form had expired; try again."),
    "too_many": ("Te veel inzendingen in korte tijd; probeer het over tien minuten opnieuw.",
                 "Too many submissions in a short time; try again in ten minutes."),
    "bad_link": ("Deze link werkt niet (meer): hij is verlopen, ingetrokken of onvolledig. Vraag de databeheerder "
                 "om een nieuwe link.", "This link does not work (any more): it expired, was revoked or is "
                 "incomplete. Ask the data steward for a new link."),
    "too_many_links": ("Te veel mislukte pogingen; probeer het over een kwartier opnieuw.",
                       "Too many failed attempts; try again in a quarter of an hour."),
    "opening": ("Uw persoonlijke link wordt geopend…", "Opening your personal link…"),
    "no_script": ("Zet JavaScript aan om uw link te openen.", "Turn on JavaScript to open your link."),
    "signed_out": ("U bent afgemeld. Open de link uit uw e-mail om opnieuw cijfers door te geven.",
                   "You are signed out. Open the link from your e-mail to report figures again."),
    "too_large": ("Het verzoek is te groot.", "The request is too large."),
}
EXCHANGE_SCRIPT = """(function () {
  var token = window.location.hash.slice(1);
  var lang = new URLSearchParams(window.location.search).get("lang") === "en" ? "en" : "nl";
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  var form = document.getElementById("exchange");
  form.elements.token.value = token;
  form.action = "/aanbieder/link" + (lang === "en" ? "?lang=en" : "");
  form.submit();
})();
"""


def word(key: str, lang: str, **values: Any) -> str:
    nl, en = WORDS[key]
    return (en if lang == "en" else nl).format(**values)


def _lang() -> str:
    return "en" if flask.request.args.get("lang") == "en" else "nl"


def _paths() -> DataPaths:
    return data.reader().paths


# --- the link ------------------------------------------------------------------------------------


@blueprint.get("/aanbieder/link")
def link_page() -> flask.Response:
    lang = _lang()
    body = (f'<form id="exchange" method="post" action="/aanbieder/link"><input type="hidden" name="token">'
            f'</form><p>{word("opening", lang)}</p><noscript><p>{word("no_script", lang)}</p></noscript>'
            f'<script src="/aanbieder/link.js"></script>')
    return _page(lang, word("title", lang), body)


@blueprint.get("/aanbieder/link.js")
def link_script() -> flask.Response:
    return flask.Response(EXCHANGE_SCRIPT, mimetype="text/javascript")


@blueprint.post("/aanbieder/link")
def exchange() -> flask.Response:
    lang = _lang()
    if _too_large():
        return _message(lang, word("too_large", lang), 413)
    address = flask.request.remote_addr or "?"
    if links().failures(address, EXCHANGE_WINDOW_SECONDS) >= EXCHANGE_FAILURES:
        return _message(lang, word("too_many_links", lang), 429)
    link = links().redeem(flask.request.form.get("token", ""))
    if link is None:
        links().count_failure(address)
        return _message(lang, word("bad_link", lang), 403)
    start_link_session(link)
    return flask.redirect(_form_url(lang), 303)


@blueprint.post("/aanbieder/afmelden")
def sign_out() -> flask.Response:
    lang = _lang()
    if csrf_ok():
        end_link_session()
        return _message(lang, word("signed_out", lang), 200)
    return _message(lang, word("expired", lang), 400)


# --- the form ------------------------------------------------------------------------------------


@dataclass
class Card:
    """One service on the form: what it shows and, after a refused save, what was typed and what is wrong."""

    service: DescribedService
    number: int
    typed: dict[str, str] | None = None
    units: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    state: str = ""


@blueprint.get("/aanbieder")
def form() -> flask.Response:
    lang = _lang()
    notice = word("received", lang) if flask.request.args.get("ontvangen") else ""
    return _render(lang, notice=notice)


@blueprint.post("/aanbieder/dienst")
def save_one() -> flask.Response:
    lang = _lang()
    refusal = _refusal(lang)
    if refusal is not None:
        return refusal
    services = _services()
    number = _number(flask.request.form.get("dienst"), len(services))
    if number is None:
        return _message(lang, word("expired", lang), 400)
    service = services[number - 1]
    if flask.request.form.get("action") == "same":
        if service.latest.get("valid_at") is None:
            return _render(lang, services, notice=word("nothing_to_confirm", lang), status=400)
        return _submit(lang, services, [ServiceFigures(service.service_id, "confirm")], [number])
    typed = {name: flask.request.form.get(name, "").strip() for name in FIGURES}
    units = {name: flask.request.form.get(f"{name}_unit", "days") for name in WAITS}
    if any(unit not in WAIT_UNITS for unit in units.values()):
        return _message(lang, word("expired", lang), 400)
    return _submit(lang, services, [ServiceFigures(service.service_id, "update", typed, units)], [number])


@blueprint.post("/aanbieder/bevestig")
def confirm_all() -> flask.Response:
    lang = _lang()
    refusal = _refusal(lang)
    if refusal is not None:
        return refusal
    services = _services()
    numbers = [n for n, s in enumerate(services, start=1) if s.latest.get("valid_at") is not None]
    if not numbers:
        return _render(lang, services, notice=word("nothing_to_confirm", lang), status=400)
    return _submit(lang, services, [ServiceFigures(services[n - 1].service_id, "confirm") for n in numbers], numbers)


def _refusal(lang: str) -> flask.Response | None:
    """The answer to a submission that is too large, has no valid CSRF token or exceeds the link's limit."""
    if _too_large():
        return _message(lang, word("too_large", lang), 413)
    if not csrf_ok():
        return _message(lang, word("expired", lang), 400)
    link = current_link()
    if link is None or links().submissions(link.link_id, SUBMIT_WINDOW_SECONDS) >= SUBMISSIONS_PER_WINDOW:
        return _message(lang, word("too_many", lang), 429)
    links().count_submission(link.link_id)     # every attempt counts, also one the rules refuse
    return None


def _submit(lang: str, services: list[DescribedService], sent: list[ServiceFigures],
            numbers: list[int]) -> flask.Response:
    """Check with the ingester's rules; show errors by the fields, or write the submission and go back."""
    link = current_link()
    assert link is not None
    submission = new_submission(link.link_id, link.provider_id, sent)
    with data.snapshot() as (publication, cur):
        reference = data.remembered(publication, ("reference",), lambda: read_reference(cur))
    problems = check_submission(submission, services, reference, datetime.now(timezone.utc)).rejected
    if problems:
        cards = _cards(services)
        for error in problems:
            card = cards[numbers[(error.row or 1) - 1] - 1]
            card.typed, card.units = dict(sent[(error.row or 1) - 1].figures), dict(sent[(error.row or 1) - 1].units)
            card.errors.setdefault(_field_of(error), []).append(_said(error, lang))
        return _render(lang, services, cards=cards, notice=word("errors", lang), status=400)
    try:
        write_submission(_paths(), submission)
    except SubmissionRefused as refused:
        return _render(lang, services, notice=refused.en if lang == "en" else refused.nl, status=503)
    anchor = f"#dienst-{numbers[0]}" if len(numbers) == 1 else ""
    return flask.redirect(_form_url(lang, received=True) + anchor, 303)


def _field_of(error: RowError) -> str:
    return error.column if error.column in FIGURES else "general"


def _said(error: RowError, lang: str) -> str:
    """A row error as said next to its field: without the leading column name the field already shows."""
    text = error.en if lang == "en" else error.nl
    prefix = f"{error.column}: "
    return text[len(prefix):] if error.column and text.startswith(prefix) else text


def _number(raw: object, count: int) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() and 1 <= int(raw) <= count else None


def _too_large() -> bool:
    length = flask.request.content_length
    return length is None or length > MAX_FORM_BYTES


def _services() -> list[DescribedService]:
    link = current_link()
    assert link is not None
    with data.snapshot() as (publication, cur):
        return data.remembered(publication, ("provider_services", link.provider_id),
                               lambda: described_services(cur, link.provider_id))


# --- rendering -----------------------------------------------------------------------------------


def _render(lang: str, services: list[DescribedService] | None = None, cards: list[Card] | None = None,
            notice: str = "", status: int = 200) -> flask.Response:
    link = current_link()
    assert link is not None
    try:
        services = services if services is not None else _services()
        states, refused, refresh = _processing(link.provider_id, lang)
    except NoPublishedData:
        return _message(lang, word("no_data", lang), 503)
    cards = cards or _cards(services)
    for card in cards:
        card.state = states.get(card.service.service_id, "")
    name = services[0].description["provider_name"] if services else link.provider_id
    parts = [f'<header class="provider-head"><h1>{word("title", lang)}</h1><p class="provider-name">{escape(name)}</p>'
             f'<p>{word("intro", lang)}</p>{_top_actions(lang)}</header>']
    if notice:
        role = "alert" if status >= 400 else "status"
        parts.append(f'<p class="notice" role="{role}">{escape(notice)}</p>')
    parts += [f'<p class="notice" role="alert">{escape(text)}</p>' for text in refused]
    if not services:
        parts.append(f'<p>{word("no_services", lang)}</p>')
    elif any(s.latest.get("valid_at") is not None for s in services):
        parts.append(f'<form method="post" action="/aanbieder/bevestig{_query(lang)}" class="confirm-all">'
                     f'{_csrf()}<button type="submit" class="primary">{word("all_same", lang)}</button></form>')
    parts += [_card(card, lang) for card in cards]
    return _page(lang, word("title", lang), "".join(parts), status, refresh)


def _cards(services: list[DescribedService]) -> list[Card]:
    return [Card(service, number) for number, service in enumerate(services, start=1)]


def _top_actions(lang: str) -> str:
    other = "nl" if lang == "en" else "en"
    return (f'<div class="provider-actions"><a href="/aanbieder{_query(other)}" lang="{other}">'
            f'{word("language", lang)}</a><form method="post" action="/aanbieder/afmelden{_query(lang)}">'
            f'{_csrf()}<button type="submit" class="link-button">{word("log_out", lang)}</button></form></div>')


def _card(card: Card, lang: str) -> str:
    service, n = card.service, card.number
    shown = card.typed if card.typed is not None else service.shown_figures()
    latest = _latest_line(service, lang)
    general = "".join(f'<p class="field-error" role="alert">{escape(text)}</p>' for text in card.errors.get("general", []))
    state = f'<p class="processing" role="status">{escape(card.state)}</p>' if card.state else ""
    fields = "".join(_field(n, name, shown.get(name, ""), card, lang) for name in FIGURES)
    return (f'<section class="service-card" id="dienst-{n}" aria-labelledby="dienst-{n}-naam">'
            f'<h2 id="dienst-{n}-naam">{escape(service.description["service_name"])}</h2>'
            f'<p class="meta">{latest}</p>{state}{general}'
            f'<form method="post" action="/aanbieder/dienst{_query(lang)}#dienst-{n}" novalidate>{_csrf()}'
            f'<input type="hidden" name="dienst" value="{n}"><p class="hint">{word("empty_unknown", lang)}</p>'
            f'<div class="fields">{fields}</div><div class="card-actions">'
            f'<button type="submit" name="action" value="save" class="primary">{word("save", lang)}</button>'
            f'<button type="submit" name="action" value="same">{word("same", lang)}</button></div></form></section>')


def _latest_line(service: DescribedService, lang: str) -> str:
    valid_at = service.latest.get("valid_at")
    if valid_at is None:
        return word("none_yet", lang)
    age = datetime.now(timezone.utc) - valid_at
    hours = int(age.total_seconds() // 3600)
    age_text = (word("age_now", lang) if hours < 1 else word("age_hours", lang, n=hours) if hours < 48
                else word("age_days", lang, n=hours // 24))
    line = word("latest", lang, when=_local(valid_at), age=age_text)
    if age.total_seconds() > service.freshness_days * 86400:
        line += f' <strong class="stale">{word("stale", lang)}</strong>'
    return line


def _field(n: int, name: str, value: str, card: Card, lang: str) -> str:
    ident = f"f{n}-{name}"
    errors = card.errors.get(name, [])
    described = f' aria-describedby="{ident}-fout" aria-invalid="true"' if errors else ""
    error = (f'<p class="field-error" id="{ident}-fout">{escape(" ".join(errors))}</p>' if errors else "")
    label = f'<label for="{ident}">{word(name, lang)}</label>'
    if name == "status":
        options = [("", word("status_auto", lang))] + [(code, word(code, lang)) for code in STATUS_CODES]
        choices = "".join(f'<option value="{code}"{" selected" if code == value else ""}>{escape(text)}</option>'
                          for code, text in options)
        return f'<div class="field">{label}<select id="{ident}" name="status"{described}>{choices}</select>{error}</div>'
    box = (f'<input id="{ident}" name="{name}" value="{escape(value)}" inputmode="numeric" autocomplete="off" '
           f'maxlength="{MAX_VALUE_CHARS}"{described}>')
    if name in WAITS:
        unit = card.units.get(name, "days")
        units = "".join(f'<option value="{u}"{" selected" if u == unit else ""}>{word(u, lang)}</option>'
                        for u in WAIT_UNITS)
        box = (f'<span class="with-unit">{box}<select name="{name}_unit" aria-label="'
               f'{escape(word("unit_of", lang, what=word(name, lang).lower()))}">{units}</select></span>')
    return f'<div class="field">{label}{box}{error}</div>'


def _processing(provider_id: str, lang: str) -> tuple[dict[str, str], list[str], bool]:
    """Per service what became of its latest submission (processed, or still waiting), why recent submissions
    were not processed, and whether anything still waits (the page then refreshes itself)."""
    states: dict[str, str] = {}
    with data.snapshot() as (_, cur):
        for service_id, processed_at in rows(cur, sql_file("provider_recent_updates"), {"provider_id": provider_id}):
            states[service_id] = word("processed", lang, time=_local(processed_at))
        refused = [word("refused", lang, time=_local(at), why=en if lang == "en" else nl)
                   for at, nl, en in rows(cur, sql_file("provider_refused_submissions"),
                                          {"prefix": provider_key(provider_id) + "--", "provider_id": provider_id})]
    pending = pending_submissions(_paths(), provider_id)
    for submission in pending:
        for sent in submission.services:
            states[sent.service_id] = word("pending", lang, time=_local(submission.submitted_at))
    return states, refused, bool(pending)


def _local(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def _csrf() -> str:
    return f'<input type="hidden" name="csrf" value="{escape(csrf_token())}">'


def _query(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def _form_url(lang: str, received: bool = False) -> str:
    query = [*(["lang=en"] if lang == "en" else []), *(["ontvangen=1"] if received else [])]
    return "/aanbieder" + ("?" + "&".join(query) if query else "")


def _message(lang: str, text: str, status: int) -> flask.Response:
    return _page(lang, word("title", lang), f'<p class="notice" role="alert">{escape(text)}</p>', status)


def _page(lang: str, title: str, body: str, status: int = 200, refresh: bool = False) -> flask.Response:
    # to the form's own address without a fragment: a refresh to a URL with one would only scroll, not reload
    meta_refresh = (f'<meta http-equiv="refresh" content="{PENDING_REFRESH_SECONDS}; url={_form_url(lang)}">'
                    if refresh else "")
    page = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">{meta_refresh}'
            f'<title>{escape(title)}</title><link rel="icon" href="/_favicon.ico">'
            f'<link rel="stylesheet" href="/assets/style.css"></head>'
            f'<body><main class="provider-page">{body}</main></body></html>')
    return flask.Response(page, status=status, mimetype="text/html")
