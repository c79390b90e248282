"""Attenderingen (alerts): a logged-in professional or steward manages their own alert subscriptions (plain HTML).

  GET  /attenderingen                       their subscriptions and a form for a new one
  POST /attenderingen                       make a subscription (checked by ingest/subscriptions.check_request, the
                                        rule set the CLI uses too)
  POST /attenderingen/stop                  end one of their own subscriptions
  GET  /attenderingen/afmelden?id=&sig=     the signed unsubscribe link of an e-mail: asks to confirm (mail
  POST /attenderingen/afmelden              scanners follow links, so a GET never ends anything); no login needed

The gate lets only professionals and stewards reach the first three; a visitor without a login (also with
login off, where nobody has a name) is told to log in and cannot subscribe: a subscription belongs to a user.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import flask
from markupsafe import escape

from ingest.alert_messages import METRIC_WORDS
from ingest.subscriptions import (ALL_SOURCES, KIND_ROLE, KINDS, METRICS, Catalogue, Scope, Subscription, SubscriptionError,
                                  SubscriptionRequest, SubscriptionStore, catalogue, check_request, verified)
from ingest.webhooks import allowed_hosts
from queries.errors import NoPublishedData
from queries.moments import AMSTERDAM
from queries.reference import care_labels, region_levels
from queries.status import number

from . import data
from .access import ROLES, current_role, current_user
from .login import csrf_ok, csrf_token

blueprint = flask.Blueprint("alerts", __name__)
MAX_FORM_BYTES = 16 * 1024

WORDS: dict[str, tuple[str, str]] = {
    "title": ("Attenderingen", "Alerts"),
    "intro": ("Krijg bericht als een regio rood of grijs wordt of herstelt, een drempel wordt overschreden, er "
              "veel ‘niets gevonden’ wordt gemeld of een bron faalt; of ontvang elke week een overzicht.",
              "Get word when a region turns red or grey or recovers, a threshold is crossed, many ‘nothing "
              "found’ signals come in or a source fails; or receive a weekly digest."),
    "back": ("Naar het dashboard", "To the dashboard"), "language": ("English", "Nederlands"),
    "yours": ("Uw abonnementen", "Your subscriptions"), "none_yet": ("Nog geen abonnementen.", "No subscriptions yet."),
    "new": ("Nieuw abonnement", "New subscription"), "kind": ("Waarover", "About what"),
    "kind_status": ("Status van een regio (rood, grijs, herstel)", "A region's status (red, grey, recovery)"),
    "kind_threshold": ("Normtekort of wachttijd boven een drempel", "Norm gap or wait above a threshold"),
    "kind_signals": ("‘Niets gevonden’-meldingen per dag boven een drempel",
                     "‘Nothing found’ signals per day above a threshold"),
    "kind_source": ("Een bron die faalt of veroudert", "A source that fails or turns stale"),
    "kind_digest": ("Weekoverzicht van regio's", "Weekly digest of regions"),
    "regions": ("Regio (voor het weekoverzicht: één of meer)", "Region (for the digest: one or more)"),
    "care_type": ("Zorgsoort", "Care type"), "target_group": ("Doelgroep", "Target group"),
    "any": ("alle", "all"), "metric": ("Maat (bij een drempel)", "Measure (for a threshold)"),
    "threshold": ("Drempel", "Threshold"), "source": ("Bron", "Source"), "all_sources": ("alle bronnen", "every source"),
    "failures": ("Mislukte runs op rij", "Failed runs in a row"), "channel": ("Hoe", "How"),
    "email": ("E-mail", "E-mail"), "webhook": ("Webhook", "Webhook"),
    "address": ("E-mailadres of webhook-adres", "E-mail address or webhook address"),
    "mail_lang": ("Taal van de berichten", "Language of the messages"),
    "subscribe": ("Aanmelden", "Subscribe"), "stop": ("Stoppen", "Stop"),
    "made": ("Aangemeld: {what}", "Subscribed: {what}"), "stopped": ("Abonnement gestopt.", "Subscription stopped."),
    "secret": ("Geheim voor de handtekening van deze webhook (X-Capacity-Signature). Bewaar het nu: het wordt niet "
               "nog eens getoond.", "Secret for this webhook's signature (X-Capacity-Signature). Keep it now: it is "
               "not shown again."),
    "log_in": ("Attenderingen horen bij een gebruiker: log in om ze te beheren. Een databeheerder kan ook een adres "
               "aanmelden met ‘capacity alerts subscribe’.", "Alerts belong to a user: log in to manage them. A "
               "data steward can also subscribe an address with ‘capacity alerts subscribe’."),
    "hooks_off": ("Webhooks staan uit (CAPACITY_WEBHOOK_HOSTS is leeg).",
                  "Webhooks are off (CAPACITY_WEBHOOK_HOSTS is empty)."),
    "no_data": ("Er zijn nog geen gepubliceerde gegevens.", "No data has been published yet."),
    "refused": ("Dit formulier is verlopen of te groot; probeer het opnieuw.",
                "This form expired or is too large; try again."),
    "per_day": ("per dag", "per day"), "since": ("Sinds", "Since"),
    "unsubscribe_title": ("Afmelden", "Unsubscribe"),
    "unsubscribe_ask": ("Wilt u deze attenderingen niet meer ontvangen?", "Stop receiving these alerts?"),
    "unsubscribe_done": ("U bent afgemeld. U ontvangt deze attenderingen niet meer.",
                         "You are unsubscribed. You will not receive these alerts any more."),
    "unsubscribe_bad": ("Deze afmeldlink is ongeldig of het abonnement is al gestopt.",
                        "This unsubscribe link is invalid or the subscription has already ended."),
    "confirm": ("Ja, afmelden", "Yes, unsubscribe"),
}


def word(key: str, lang: str, **values: Any) -> str:
    nl, en = WORDS[key]
    return (en if lang == "en" else nl).format(**values)


def _lang() -> str:
    return "en" if flask.request.args.get("lang") == "en" else "nl"


def _store() -> SubscriptionStore:
    return SubscriptionStore(data.reader().paths.subscriptions)


def _owner() -> tuple[str, str] | None:
    """(name, how they logged in) of the logged-in user, or None."""
    user = current_user()
    return (user["name"], user["via"]) if user and user.get("name") and user.get("via") else None


@blueprint.get("/attenderingen")
def overview() -> flask.Response:
    return _render(_lang())


@blueprint.post("/attenderingen")
def subscribe() -> flask.Response:
    lang, owner = _lang(), _owner()
    if owner is None or _refused():
        return _refusal(lang, owner)
    try:
        with data.snapshot() as (_, cur):
            known = catalogue(cur)
        made = _store().add(check_request(_request_from(flask.request.form, lang), known), *owner)
    except NoPublishedData:
        return _render(lang, error=word("no_data", lang), status=503)
    except SubscriptionError as error:   # the form comes back as it was filled in, with the reason
        return _render(lang, error=error.en if lang == "en" else error.nl, status=400, given=flask.request.form)
    return _render(lang, made=made)


@blueprint.post("/attenderingen/stop")
def stop() -> flask.Response:
    lang, owner = _lang(), _owner()
    if owner is None or _refused():
        return _refusal(lang, owner)
    ended = _store().end(flask.request.form.get("id", ""), owner)
    return _render(lang, done=word("stopped", lang) if ended else None,
                   error=None if ended else word("unsubscribe_bad", lang), status=200 if ended else 404)


@blueprint.get("/attenderingen/afmelden")
def unsubscribe_page() -> flask.Response:
    lang = _lang()
    found = verified(_store(), flask.request.args.get("id"), flask.request.args.get("sig"))
    if found is None:
        return _unsubscribe_answer(lang, f'<p role="alert">{word("unsubscribe_bad", lang)}</p>', 404)
    return _unsubscribe_answer(lang, (
        f'<p>{escape(word("kind_" + found.kind, lang))}: '
        f'{escape(_described(found, lang))}</p>'
        f'<p>{word("unsubscribe_ask", lang)}</p>'
        f'<form method="post" action="/attenderingen/afmelden{_query(lang)}">'
        f'<input type="hidden" name="id" value="{escape(found.subscription_id)}">'
        f'<input type="hidden" name="sig" value="{escape(flask.request.args.get("sig", ""))}">'
        f'<button type="submit" class="primary">{word("confirm", lang)}</button></form>'))


@blueprint.post("/attenderingen/afmelden")
def unsubscribe() -> flask.Response:
    """End the subscription a signed link names; the signature is the proof (no session, no CSRF token)."""
    lang, store = _lang(), _store()
    found = verified(store, flask.request.form.get("id"), flask.request.form.get("sig"))
    if found is None or not store.end(found.subscription_id):
        return _unsubscribe_answer(lang, f'<p role="alert">{word("unsubscribe_bad", lang)}</p>', 404)
    return _unsubscribe_answer(lang, f'<p role="status">{word("unsubscribe_done", lang)}</p>')


def _unsubscribe_answer(lang: str, body: str, status: int = 200) -> flask.Response:
    title = word("unsubscribe_title", lang)
    return _page(lang, title, f"<h1>{title}</h1>{body}", status)


def _described(subscription: Subscription, lang: str) -> str:
    """What a subscription watches, in words, from the newest copy (its codes while nothing is published)."""
    try:
        with data.snapshot() as (_, cur):
            return _what(subscription, catalogue(cur), care_labels(cur), lang)
    except NoPublishedData:
        return subscription.scope.to_json()


def _refused() -> bool:
    too_large = (flask.request.content_length or 0) > MAX_FORM_BYTES
    return too_large or not csrf_ok()


def _refusal(lang: str, owner: tuple[str, str] | None) -> flask.Response:
    """403 without a logged-in user (the page says why), else 400: no valid CSRF token, or too large."""
    return _render(lang, status=403) if owner is None else _render(lang, error=word("refused", lang), status=400)


def _request_from(form: Any, lang: str) -> SubscriptionRequest:
    """The form as a request; every rule is check_request's."""
    chosen = [tuple(value.split(":", 1)) for value in form.getlist("region") if ":" in value]
    level, code = chosen[0] if len(chosen) == 1 else ("", "")
    kind = form.get("kind", "")
    scope = Scope(region_level=level, region_code=code, care_type=form.get("care_type") or None,
                  target_group=form.get("target_group") or None, metric=form.get("metric") or None,
                  threshold=form.get("threshold") or None, source_id=form.get("source") or None,
                  failures=form.get("failures") or None, regions=tuple(chosen) if kind == "digest" or
                  len(chosen) > 1 else ())
    role = current_role() or "public"
    return SubscriptionRequest(kind, form.get("channel", ""), form.get("address", ""),
                               form.get("mail_lang", lang), role if role in ROLES else "public", scope)


def _render(lang: str, done: str | None = None, error: str | None = None, made: Subscription | None = None,
            status: int = 200, given: Any = None) -> flask.Response:
    owner = _owner()
    head = (f'<p class="page-links"><a href="/{_query(lang)}">{word("back", lang)}</a> · '
            f'<a href="/attenderingen{"" if lang == "en" else "?lang=en"}" lang="{"nl" if lang == "en" else "en"}">'
            f'{word("language", lang)}</a></p><h1>{word("title", lang)}</h1><p>{word("intro", lang)}</p>')
    if owner is None:
        return _page(lang, word("title", lang), head + f'<p class="notice">{word("log_in", lang)}</p>', status)
    try:
        with data.snapshot() as (_, cur):
            known, labels, levels = catalogue(cur), care_labels(cur), region_levels(cur)
    except NoPublishedData:
        return _page(lang, word("title", lang), head + f'<p>{word("no_data", lang)}</p>', status)
    what = (lambda s: _what(s, known, labels, lang))
    notes = ""
    if made is not None:
        notes += f'<p class="notice" role="status">{escape(word("made", lang, what=what(made)))}</p>'
    if done:
        notes += f'<p class="notice" role="status">{escape(done)}</p>'
    if made is not None and made.secret:
        notes += f'<p class="notice">{word("secret", lang)}</p><p><code class="secret">{escape(made.secret)}</code></p>'
    if error:
        notes += f'<p class="notice error" role="alert">{escape(error)}</p>'
    body = (head + notes + _list(_store().of_owner(*owner), what, lang)
            + _form(known, labels, levels, lang, given if given is not None else {}))
    return _page(lang, word("title", lang), body, status)


def _what(subscription: Subscription, known: Catalogue, labels: dict, lang: str) -> str:
    """What a subscription watches, in words."""
    index, scope = (1 if lang == "en" else 0), subscription.scope
    region = (lambda level, code: known.regions.get((level, code), code))
    if subscription.kind == "digest":
        return ", ".join(region(level, code) for level, code in scope.regions)
    if subscription.kind == "source":
        source = word("all_sources", lang) if scope.source_id == ALL_SOURCES else scope.source_id
        return f"{source} · {word('failures', lang).lower()}: {scope.failures}"
    parts = [region(scope.region_level, scope.region_code)]
    parts += [labels[(kind, code)][index] for kind, code in (("care_type", scope.care_type),
                                                              ("target_group", scope.target_group)) if code]
    if subscription.kind == "threshold":
        parts.append(f"{_metric_word(scope.metric, lang)} > {number(scope.threshold, lang)}")
    elif subscription.kind == "signals":
        parts.append(f"> {number(scope.threshold, lang)} {word('per_day', lang)}")
    return " · ".join(parts)


def _list(subscriptions: list[Subscription], what, lang: str) -> str:
    if not subscriptions:
        return f'<h2>{word("yours", lang)}</h2><p id="alerts-none">{word("none_yet", lang)}</p>'
    items = "".join(
        f'<li class="service-card" data-subscription="{escape(s.subscription_id)}">'
        f'<p><strong>{escape(word("kind_" + s.kind, lang))}</strong></p><p>{escape(what(s))}</p>'
        f'<p class="meta">{escape(word(s.channel, lang))}: {escape(s.address)} · {word("since", lang).lower()} '
        f'{_since(s)}</p><form method="post" action="/attenderingen/stop{_query(lang)}">{_csrf()}'
        f'<input type="hidden" name="id" value="{escape(s.subscription_id)}">'
        f'<button type="submit" aria-label="{word("stop", lang)}: {escape(what(s))}">{word("stop", lang)}</button>'
        '</form></li>' for s in subscriptions)
    return f'<h2>{word("yours", lang)}</h2><ul id="alerts-list" class="plain-list">{items}</ul>'


def _form(known: Catalogue, labels: dict, levels: list, lang: str, given: Any) -> str:
    """The form for a new subscription, filled in with `given` (a refused form) or the defaults."""
    index = 1 if lang == "en" else 0
    role = current_role() or "public"
    kinds = [k for k in KINDS if role in ROLES and ROLES.index(role) >= ROLES.index(KIND_ROLE[k])]
    value = (lambda name, default="": given.get(name, default))
    chosen = (lambda name: set(given.getlist(name)) if hasattr(given, "getlist") else set())
    kind_options = "".join(
        f'<label class="choice"><input type="radio" name="kind" value="{k}"'
        f'{" checked" if k == value("kind", "status") else ""}> {word("kind_" + k, lang)}</label>' for k in kinds)
    groups = "".join(
        f'<optgroup label="{escape(level.label(lang))}">'
        + _options([(f"{lv}:{code}", name) for (lv, code), name in sorted(known.regions.items(), key=lambda i: i[1])
                    if lv == level.level], chosen("region")) + "</optgroup>" for level in levels)
    cares = [(c, labels[("care_type", c)][index]) for c in dict.fromkeys(c for c, _ in sorted(known.combinations))]
    targets = [(g, labels[("target_group", g)][index])
               for g in dict.fromkeys(g for _, g in sorted(known.combinations))]
    anything = [("", word("any", lang))]
    hooks_on = bool(allowed_hosts())
    channels = "".join(
        f'<label class="choice"><input type="radio" name="channel" value="{c}"'
        f'{" checked" if c == value("channel", "email") else ""}> {word(c, lang)}</label>'
        for c in ("email", "webhook") if c == "email" or hooks_on)
    if not hooks_on:
        channels += f'<p class="muted">{word("hooks_off", lang)}</p>'
    source_fields = (
        f'<div class="control"><label for="alerts-source">{word("source", lang)}</label><select id="alerts-source" '
        f'name="source">{_options([("", word("all_sources", lang))] + [(x, x) for x in sorted(known.sources)], {value("source")})}'
        f'</select></div><div class="control"><label for="alerts-failures">{word("failures", lang)}</label>'
        f'{_text("alerts-failures", "failures", value("failures", "3"), "numeric")}</div>'
    ) if "source" in kinds else ""
    return (
        f'<h2>{word("new", lang)}</h2><form method="post" action="/attenderingen{_query(lang)}" id="alerts-form" '
        f'novalidate>{_csrf()}'
        f'<fieldset class="control"><legend>{word("kind", lang)}</legend>{kind_options}</fieldset>'
        f'<div class="control"><label for="alerts-region">{word("regions", lang)}</label>'
        f'<select id="alerts-region" name="region" multiple size="8">{groups}</select></div>'
        f'<div class="control"><label for="alerts-care-type">{word("care_type", lang)}</label>'
        f'<select id="alerts-care-type" name="care_type">{_options(anything + cares, {value("care_type")})}</select></div>'
        f'<div class="control"><label for="alerts-target-group">{word("target_group", lang)}</label>'
        f'<select id="alerts-target-group" name="target_group">{_options(anything + targets, {value("target_group")})}'
        f'</select></div>'
        f'<div class="control"><label for="alerts-metric">{word("metric", lang)}</label><select id="alerts-metric" '
        f'name="metric">{_options([(m, _metric_word(m, lang)) for m in METRICS], {value("metric")})}</select></div>'
        f'<div class="control"><label for="alerts-threshold">{word("threshold", lang)}</label>'
        f'{_text("alerts-threshold", "threshold", value("threshold"), "decimal")}</div>'
        f'{source_fields}'
        f'<fieldset class="control"><legend>{word("channel", lang)}</legend>{channels}</fieldset>'
        f'<div class="control"><label for="alerts-address">{word("address", lang)}</label>'
        f'{_text("alerts-address", "address", value("address"))}</div>'
        f'<div class="control"><label for="alerts-mail-lang">{word("mail_lang", lang)}</label>'
        f'<select id="alerts-mail-lang" name="mail_lang">'
        f'{_options([("nl", "Nederlands"), ("en", "English")], {value("mail_lang", lang)})}</select></div>'
        f'<button type="submit" class="primary">{word("subscribe", lang)}</button></form>')


def _options(pairs: list[tuple[str, str]], chosen: set[str]) -> str:
    return "".join(f'<option value="{escape(v)}"{" selected" if v in chosen else ""}>{escape(label)}</option>'
                   for v, label in pairs)


def _text(element_id: str, name: str, value: str, mode: str = "text") -> str:
    return (f'<input id="{element_id}" name="{name}" type="text" inputmode="{mode}" value="{escape(value)}" '
            'autocomplete="off" spellcheck="false">')


def _metric_word(metric: str, lang: str) -> str:
    return METRIC_WORDS[metric][1 if lang == "en" else 0]


def _since(subscription: Subscription) -> str:
    return datetime.fromtimestamp(subscription.created_at, timezone.utc).astimezone(AMSTERDAM).strftime("%d-%m-%Y")


def _csrf() -> str:
    return f'<input type="hidden" name="csrf" value="{escape(csrf_token())}">'


def _query(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def _page(lang: str, title: str, body: str, status: int = 200) -> flask.Response:
    page = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} — capaciteit en wachtlijsten</title><link rel="icon" href="/_favicon.ico">'
            f'<link rel="stylesheet" href="/assets/style.css"></head>'
            f'<body><main class="provider-page alerts-page">{body}</main></body></html>')
    return flask.Response(page, status=status, mimetype="text/html")
