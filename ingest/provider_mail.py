"""The e-mails a provider gets: its invite, and reminders before its figures turn stale (Dutch, then English).

A reminder is queued with LINK_MARK where its link goes; the outbox fills in a fresh link of the invite at the
moment it sends (`personalise`), so no token is ever stored. Only the provider's own services are named.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import escape

from queries import settings
from queries.errors import CapacityError
from queries.moments import AMSTERDAM

from .outbox import OutboxRow
from .provider_links import LinkStore

LINK_MARK = "[[LINK]]"
LINK_PATH = "/aanbieder/link#"


class LinkGone(CapacityError):
    """The invite of a queued reminder was revoked or expired before it could be sent (it is not sent)."""


@dataclass(frozen=True)
class RemindedService:
    name: str
    valid_at: datetime
    stage: str          # soon | stale


def link_url(token: str) -> str:
    """The address a provider opens: the token in the fragment, which browsers never send to a server."""
    return settings.get("public_url").rstrip("/") + LINK_PATH + token


def invite_mail(provider_name: str, url: str, expires: datetime) -> tuple[str, str, str]:
    """(subject, text, html) of an invite."""
    until = f"{expires.astimezone(AMSTERDAM):%d-%m-%Y}"
    subject = f"Uw link om vrije plekken door te geven / Your link to report free places ({provider_name})"
    text = (f"Beste collega van {provider_name},\n\n"
            "Met deze persoonlijke link geeft u uw vrije plekken en wachttijden door aan het dashboard voor "
            "verwijzers. Klopt alles nog? Dan is één tik op ‘Niets veranderd’ genoeg.\n\n"
            f"{url}\n\nDe link is geldig tot {until}. Deel hem niet; wie hem heeft, kan uw cijfers wijzigen.\n\n"
            f"---\n\nDear colleague at {provider_name},\n\n"
            "With this personal link you report your free places and waiting times to the dashboard for "
            "referrers. Nothing changed? One tap on ‘Nothing changed’ is enough.\n\n"
            f"{url}\n\nThe link is valid until {until}. Do not share it; whoever has it can change your figures.\n")
    return subject, text, _html(text, url)


def reminder_mail(provider_name: str, services: list[RemindedService]) -> tuple[str, str, str]:
    """(subject, text, html) of a reminder, with LINK_MARK where the link goes."""
    stale = any(service.stage == "stale" for service in services)
    subject = (f"Uw cijfers zijn verouderd / Your figures are out of date ({provider_name})" if stale else
               f"Uw cijfers verouderen bijna / Your figures are nearly out of date ({provider_name})")
    listed_nl = "\n".join(f"- {s.name}: laatste cijfers van {_when(s.valid_at)}"
                          f"{' (verouderd)' if s.stage == 'stale' else ''}" for s in services)
    listed_en = "\n".join(f"- {s.name}: latest figures of {_when(s.valid_at)}"
                          f"{' (out of date)' if s.stage == 'stale' else ''}" for s in services)
    text = (f"Beste collega van {provider_name},\n\n"
            f"Verwijzers zien uw cijfers alleen zolang ze vers zijn. Deze zijn {'verouderd' if stale else 'bijna verouderd'}:\n"
            f"{listed_nl}\n\nGeef ze door, of tik op ‘Niets veranderd’ als alles nog klopt:\n\n{LINK_MARK}\n\n"
            f"---\n\nDear colleague at {provider_name},\n\n"
            f"Referrers see your figures only while they are fresh. These are {'out of date' if stale else 'nearly out of date'}:\n"
            f"{listed_en}\n\nReport them, or tap ‘Nothing changed’ if everything is still right:\n\n{LINK_MARK}\n")
    return subject, text, _html(text, LINK_MARK)


def personaliser(links: LinkStore):
    """The outbox hook that puts a fresh link of the message's invite where LINK_MARK stands."""
    def personalise(row: OutboxRow) -> tuple[str, str | None]:
        if row.link_id is None or LINK_MARK not in row.body_text:
            return row.body_text, row.body_html
        issued = links.issue_reminder_link(row.link_id)
        if issued is None:
            raise LinkGone(f"Niet verstuurd: link {row.link_id} is ingetrokken of verlopen",
                           f"Not sent: link {row.link_id} was revoked or expired")
        url = link_url(issued.token)
        return (row.body_text.replace(LINK_MARK, url),
                row.body_html.replace(LINK_MARK, str(escape(url))) if row.body_html else None)
    return personalise


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"


def _html(text: str, url: str) -> str:
    """The text as simple HTML, its link clickable."""
    paragraphs = []
    for block in text.split("\n\n"):
        if block.strip() == url:
            paragraphs.append(f'<p><a href="{escape(url)}">{escape(url)}</a></p>')
        elif block.strip() == "---":
            paragraphs.append("<hr>")
        else:
            paragraphs.append("<p>" + "<br>".join(str(escape(line)) for line in block.split("\n")) + "</p>")
    return '<!DOCTYPE html><html><body style="font-family: sans-serif">' + "".join(paragraphs) + "</body></html>"
