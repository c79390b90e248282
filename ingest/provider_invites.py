"""Inviting a provider to report through its own link: one implementation for `capacity providers` and the
Databronnen page.

The provider must be one the published data knows. With an e-mail address and SMTP settings the invite is
mailed at once (not queued: the outbox never stores a token), else the link is only shown, once, to the steward.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from queries.db import rows
from queries.errors import CapacityError

from .mailer import MailRefused, MailRetryable, build_message, send_message, smtp_settings
from .provider_links import IssuedLink, LinkStore
from .provider_mail import invite_mail, link_url

PROVIDERS = "SELECT provider_id, name FROM provider ORDER BY name, provider_id"
MAX_DAYS = 730
_ADDRESS = re.compile(r"[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]{1,190}\.[A-Za-z]{2,24}")


class InviteError(CapacityError):
    """An invite that cannot be made: unknown provider, bad address or number of days."""


@dataclass(frozen=True)
class InviteOutcome:
    link: IssuedLink
    provider_name: str
    url: str
    mailed: bool
    mail_problem: tuple[str, str] | None     # (nl, en) why the invite was not mailed, when an address was given


def known_providers(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Provider id -> name, from a published copy."""
    return dict(rows(cur, PROVIDERS))


def invite(links: LinkStore, providers: dict[str, str], provider_id: str, email: str | None, days: int,
           now: datetime | None = None) -> InviteOutcome:
    """Issue an invite and mail it when an address is given and mail is on; InviteError when it cannot be."""
    provider_id = provider_id.strip()
    if provider_id not in providers:
        close = difflib.get_close_matches(provider_id, list(providers), n=3)
        hint_nl = f"; bedoelt u {', '.join(close)}?" if close else ""
        hint_en = f"; did you mean {', '.join(close)}?" if close else ""
        raise InviteError(f"Aanbieder '{provider_id}' staat niet in de gepubliceerde gegevens{hint_nl}",
                          f"Provider '{provider_id}' is not in the published data{hint_en}")
    address = (email or "").strip() or None
    if address is not None and not _ADDRESS.fullmatch(address):
        raise InviteError(f"'{address[:80]}' is geen e-mailadres", f"'{address[:80]}' is not an e-mail address")
    if not 1 <= days <= MAX_DAYS:
        raise InviteError(f"Het aantal dagen moet tussen 1 en {MAX_DAYS} liggen", f"The number of days must be "
                                                                                  f"between 1 and {MAX_DAYS}")
    moment = now or datetime.now(timezone.utc)
    issued = links.issue(provider_id, address, days, now=moment.timestamp())
    url = link_url(issued.token)
    name = providers[provider_id]
    mailed, problem = (_mail(address, name, url, issued) if address else (False, None))
    return InviteOutcome(issued, name, url, mailed, problem)


def _mail(address: str, provider_name: str, url: str, issued: IssuedLink) -> tuple[bool, tuple[str, str] | None]:
    mail = smtp_settings()
    if mail is None:
        return False, ("Geen e-mail verstuurd: SMTP is niet ingesteld (CAPACITY_SMTP_HOST). Geef de link zelf door.",
                       "No e-mail sent: SMTP is not set up (CAPACITY_SMTP_HOST). Pass the link on yourself.")
    subject, text, html = invite_mail(provider_name, url, datetime.fromtimestamp(issued.expires_at, timezone.utc))
    try:
        send_message(mail, build_message(mail.mail_from, address, subject, text, html))
    except (MailRetryable, MailRefused) as error:
        return False, (f"Geen e-mail verstuurd: {error.nl}. Geef de link zelf door.",
                       f"No e-mail sent: {error.en}. Pass the link on yourself.")
    return True, None
