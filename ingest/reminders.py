"""Reminders to providers before their figures turn stale, queued by the ingest process (never by the web).

Every address a provider was invited with (a live invite with an e-mail address) gets one e-mail naming the
services whose latest figure has used 75% of its freshness window ('soon'), and one more when that figure
turns stale ('stale'). A (service, figure, stage, invite) is reminded at most once: `provider_reminder`
records it in the same transaction that queues the mail in the outbox, so neither a second run nor a restart
sends it again. A figure that is already stale when first seen gets only the 'stale' reminder. Without SMTP
settings nothing is queued (the data-sources page says mail is off).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from queries.db import rows, run, sql_file
from queries.warehouse import Warehouse

from .outbox import OutgoingMail, enqueue
from .provider_links import Invite, LinkStore
from .provider_mail import RemindedService, reminder_mail

REMINDER_KIND = "reminder"
REMINDED = """
SELECT service_id, valid_at, stage, link_id FROM provider_reminder
WHERE service_id IN (SELECT unnest(?::VARCHAR[]))"""
RECORD_REMINDER = """
INSERT INTO provider_reminder (service_id, valid_at, stage, link_id, message_id, queued_at)
VALUES (?, ?, ?, ?, ?, ?)"""


@dataclass(frozen=True)
class Due:
    service_id: str
    provider_id: str
    service_name: str
    provider_name: str
    valid_at: datetime
    stage: str


def due_services(con: duckdb.DuckDBPyConnection, provider_ids: list[str], now: datetime) -> list[Due]:
    """Services of these providers whose latest figure reached a reminder stage at `now`."""
    if not provider_ids:
        return []
    found = rows(con, sql_file("reminders_due"), {"providers": provider_ids, "now": now})
    return [Due(s, p, name, provider, valid_at.astimezone(timezone.utc), stage)
            for s, p, name, provider, valid_at, stage in found]


def queue_reminders(warehouse: Warehouse, links: LinkStore, now: datetime) -> int:
    """Queue the reminders due at `now` (one e-mail per invite address); how many e-mails were queued."""
    moment = now.timestamp()
    invites = [i for i in links.invites() if i.email and i.state(moment) == "active"]
    by_provider: dict[str, list[Invite]] = {}
    for invite in invites:
        by_provider.setdefault(invite.provider_id, []).append(invite)
    with warehouse.transaction() as con:
        due = due_services(con, sorted(by_provider), now)
        done = {(s, v.astimezone(timezone.utc), stage, link)
                for s, v, stage, link in rows(con, REMINDED, [[d.service_id for d in due]])} if due else set()
        queued = 0
        for provider_id, provider_invites in by_provider.items():
            services = [d for d in due if d.provider_id == provider_id]
            for invite in provider_invites:
                queued += _queue_for(con, invite, services, done, now)
    return queued


def _queue_for(con: duckdb.DuckDBPyConnection, invite: Invite, services: list[Due],
               done: set[tuple[str, datetime, str, str]], now: datetime) -> int:
    """Queue one e-mail to the invite's address for its services not yet reminded at their stage."""
    todo = [d for d in services
            if (d.service_id, d.valid_at, d.stage, invite.link_id) not in done
            and (d.service_id, d.valid_at, "stale", invite.link_id) not in done]
    if not todo:
        return 0
    subject, text, html = reminder_mail(todo[0].provider_name,
                                        [RemindedService(d.service_name, d.valid_at, d.stage) for d in todo])
    (message_id,) = enqueue(con, [OutgoingMail(REMINDER_KIND, invite.email or "", subject, text, html,
                                               invite.link_id)], now)
    for d in todo:
        run(con, RECORD_REMINDER, [d.service_id, d.valid_at, d.stage, invite.link_id, message_id, now])
    return 1
