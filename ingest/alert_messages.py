"""The words of an alert: an e-mail (text and HTML, in the subscriber's language) and a webhook's JSON body.

Webhook body (schema "capacity-alert/1"; README, "Alerts and the weekly digest"):
    {"schema": "capacity-alert/1", "alert_id": 12, "subscription_id": "…", "kind": "status",
     "publication": 345, "evaluated_at": "2026-03-02T09:00:00Z", "lang": "nl",
     "events": [{"item": "cell:opvang:vrouwen", "from": "green", "to": "red", "text": "…", "url": "…", …facts}]}
The facts of an event depend on the kind: region and care fields with reasons (status, threshold, also
metric, value, threshold), the day's count (signals) or the source's failures and last error (source).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from markupsafe import escape

from dashboard.i18n import t
from queries import settings
from queries.moments import AMSTERDAM
from queries.status import number

from .subscriptions import Subscription, unsubscribe_path

SCHEMA = "capacity-alert/1"
METRIC_WORDS = {"norm_gap": ("normtekort (plaatsen)", "norm gap (places)"),
                "median_wait_intake_days": ("mediane aanmeldwachttijd (dagen)", "median intake wait (days)"),
                "median_wait_treatment_days": ("mediane behandelwachttijd (dagen)", "median treatment wait (days)")}
SOURCE_WORDS = {"failing": ("mislukt steeds", "keeps failing"), "stale": ("is verouderd", "is out of date"),
                "ok": ("werkt weer en is actueel", "works again and is up to date")}


@dataclass(frozen=True)
class Event:
    """A told change of one watched item."""

    item: str
    before: str
    after: str
    facts: dict


def pick(lang: str, nl: str, en: str) -> str:
    return en if lang == "en" else nl


def public_url(path: str) -> str:
    return settings.get("public_url").rstrip("/") + path


def region_link(subscription: Subscription, level: str, code: str, at: datetime | None = None,
                care_type: str | None = None, target_group: str | None = None) -> str:
    """A region's page (at a moment, when given); the public (no region page, no history) gets the overview."""
    query = {key: value for key, value in (("level", level), ("care_type", care_type), ("target_group", target_group),
                                           ("lang", "en" if subscription.lang == "en" else None)) if value}
    if subscription.audience == "public":
        return public_url("/?" + urlencode(query))
    if at is not None:
        query["at"] = at.astimezone(AMSTERDAM).isoformat(timespec="seconds")
    return public_url(f"/regio/{code}?" + urlencode(query))


def event_link(subscription: Subscription, event: Event, now: datetime) -> str:
    if subscription.kind == "source":
        return public_url("/databronnen" + ("?lang=en" if subscription.lang == "en" else ""))
    facts = event.facts
    return region_link(subscription, facts["region_level"], facts["region_code"], now, facts.get("care_type"),
                       facts.get("target_group"))


def headline(subscription: Subscription, event: Event) -> str:
    """One line saying what changed, in the subscriber's language."""
    lang, facts = subscription.lang, event.facts
    if subscription.kind == "source":
        nl_state, en_state = SOURCE_WORDS[event.after]
        return pick(lang, f"Bron {facts['source_id']} {nl_state}", f"Source {facts['source_id']} {en_state}")
    if subscription.kind == "signals":
        count, threshold = facts["signals"], number(facts["threshold"], lang)
        return pick(lang, f"{facts['region_name']}: vandaag {count} keer ‘niets gevonden’ gemeld (drempel {threshold})",
                    f"{facts['region_name']}: {count} ‘nothing found’ signals today (threshold {threshold})")
    cell = pick(lang, f"{facts['region_name']} — {facts['care_type_nl']} voor {facts['target_group_nl'].lower()}",
                f"{facts['region_name']} — {facts['care_type_en']} for {facts['target_group_en'].lower()}")
    if subscription.kind == "status":
        return f"{cell}: {t(event.before, lang)} → {t(event.after, lang)}"
    metric = pick(lang, *METRIC_WORDS[facts["metric"]])
    value, threshold = number(facts["value"], lang), number(facts["threshold"], lang)
    if event.after == "above":
        return pick(lang, f"{cell}: {metric} {value}, boven de drempel {threshold}",
                    f"{cell}: {metric} {value}, above the threshold {threshold}")
    return pick(lang, f"{cell}: {metric} {value}, niet meer boven de drempel {threshold}",
                f"{cell}: {metric} {value}, no longer above the threshold {threshold}")


def details(subscription: Subscription, event: Event) -> list[str]:
    """The reasons behind a change, in words."""
    lang, facts = subscription.lang, event.facts
    if subscription.kind == "source":
        if event.after == "failing":
            error = facts.get(f"last_error_{lang}") or ""
            return [pick(lang, f"{facts['consecutive_failures']} runs achter elkaar mislukt. Laatste fout: {error}",
                         f"{facts['consecutive_failures']} runs in a row failed. Last error: {error}")]
        if event.after == "stale":
            newest = facts.get("newest_valid_at")
            when = (f"{datetime.fromisoformat(newest).astimezone(AMSTERDAM):%d-%m-%Y %H:%M}" if newest
                    else pick(lang, "geen", "none"))
            return [pick(lang, f"Nieuwste cijfer: {when}", f"Newest figure: {when}")]
        return []
    if subscription.kind in ("status", "threshold"):
        return list(facts.get(f"reasons_{lang}") or [])
    return []


def alert_mail(subscription: Subscription, events: list[Event], now: datetime) -> tuple[str, str, str]:
    """(subject, text, html) of one alert about `events`."""
    lang = subscription.lang
    lines = [headline(subscription, e) for e in events]
    subject = pick(lang, "Attendering: ", "Alert: ") + (lines[0] if len(lines) == 1 else pick(
        lang, f"{len(lines)} wijzigingen — {lines[0]} …", f"{len(lines)} changes — {lines[0]} …"))
    moment = f"{now.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"
    intro = pick(lang, f"Op {moment} veranderde wat u volgt:", f"At {moment} what you follow changed:")
    blocks = []
    for event, line in zip(events, lines):
        why = details(subscription, event)
        blocks.append((line, why, event_link(subscription, event, now)))
    text = intro + "\n\n" + "\n\n".join(
        line + "".join(f"\n  - {w}" for w in why) + f"\n  {link}" for line, why, link in blocks)
    text += "\n\n" + footer_text(subscription)
    html = (f"<p>{escape(intro)}</p>" + "".join(
        f"<h2 style=\"font-size:1.05em\">{escape(line)}</h2>"
        + ("<ul>" + "".join(f"<li>{escape(w)}</li>" for w in why) + "</ul>" if why else "")
        + f"<p><a href=\"{escape(link)}\">{escape(pick(lang, 'Bekijk op het dashboard', 'View on the dashboard'))}"
          "</a></p>" for line, why, link in blocks) + footer_html(subscription))
    return subject, text, page(html, lang)


def unsubscribe_url(subscription: Subscription) -> str:
    """The signed unsubscribe link, its page in the subscriber's language."""
    return public_url(unsubscribe_path(subscription)) + ("&lang=en" if subscription.lang == "en" else "")


def footer_text(subscription: Subscription) -> str:
    lang = subscription.lang
    return pick(lang, "U krijgt dit bericht omdat u zich hebt aangemeld voor attenderingen van het capaciteitsdashboard."
                      f"\nAfmelden (zonder in te loggen): {unsubscribe_url(subscription)}",
                "You get this message because you subscribed to alerts of the capacity dashboard."
                f"\nUnsubscribe (no login needed): {unsubscribe_url(subscription)}")


def footer_html(subscription: Subscription) -> str:
    lang = subscription.lang
    link = escape(unsubscribe_url(subscription))
    why = pick(lang, "U krijgt dit bericht omdat u zich hebt aangemeld voor attenderingen van het capaciteitsdashboard.",
               "You get this message because you subscribed to alerts of the capacity dashboard.")
    return (f'<hr><p style="color:#555;font-size:0.9em">{escape(why)} '
            f'<a href="{link}">{escape(pick(lang, "Afmelden", "Unsubscribe"))}</a></p>')


def page(body: str, lang: str) -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"></head>'
            f'<body style="font-family: sans-serif; max-width: 640px">{body}</body></html>')


def alert_payload(subscription: Subscription, events: list[Event], alert_id: int, publication: int,
                  now: datetime) -> dict:
    """The webhook body of one alert (schema capacity-alert/1)."""
    return {"schema": SCHEMA, "alert_id": alert_id, "subscription_id": subscription.subscription_id,
            "kind": subscription.kind, "publication": publication, "lang": subscription.lang,
            "evaluated_at": now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "events": [{**event.facts, "item": event.item, "from": event.before, "to": event.after,
                        "text": headline(subscription, event), "url": event_link(subscription, event, now)}
                       for event in events]}
