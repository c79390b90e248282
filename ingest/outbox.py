"""The mail outbox in the warehouse: queue messages with the change that causes them, send them later.

`enqueue` adds rows inside the caller's transaction, so a message exists exactly when its cause committed.
`OutboxSender.send_due` sends what is due, one message at a time, and never holds the warehouse while it
talks to the mail server: it commits 'sending' (attempts + 1) first, then sends, then commits 'sent',
'queued' again (a temporary problem: back off 1, 2, 4 ... minutes, at most an hour) or 'failed' (refused, or
MAX_ATTEMPTS temporary problems). A row still 'sending' at the next start was cut off between those commits:
`recover_after_restart` makes it 'uncertain' and it is never sent again (at most once; a steward can look its
Message-ID up in the mail server's log). After a temporary problem the round stops: the server is probably
down, and the other due messages wait for the next round untouched. A message's inline images (mail_image) are
queued with it and read in the transaction that claims it, never while the mail server talks; once the message
is sent, failed or uncertain they are deleted (the bodies are kept, the images would only grow every copy).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Callable

import duckdb

from queries.db import rows, run, scalar
from queries.errors import CapacityError
from queries.text import printable
from queries.warehouse import Warehouse

from .mailer import (MailRefused, MailRetryable, SmtpSettings, address_domain, build_message, check_images,
                     send_message)

log = logging.getLogger("capacity.ingest")

MAX_ATTEMPTS = 8
BATCH_SIZE = 50
FIRST_BACKOFF = timedelta(seconds=60)
MAX_BACKOFF = timedelta(hours=1)
UNEXPECTED_SHOWN = 200

INSERT_MAIL = """
INSERT INTO mail_outbox (kind, recipient, subject, body_text, body_html, link_id, state, attempts, next_attempt_at,
                         created_at)
VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)
RETURNING message_id"""
INSERT_IMAGE = "INSERT INTO mail_image (message_id, content_id, png) VALUES (?, ?, ?)"
SELECT_IMAGES = "SELECT content_id, png FROM mail_image WHERE message_id = ? ORDER BY content_id"
# A message that will never be sent (again) needs its images no more: they would only grow every published copy.
DROP_IMAGES = "DELETE FROM mail_image WHERE message_id IN (SELECT unnest(?::BIGINT[]))"
SELECT_DUE = """
SELECT message_id, kind, recipient, subject, body_text, body_html, link_id, attempts, created_at
FROM mail_outbox
WHERE state = 'queued' AND next_attempt_at <= ?
ORDER BY created_at, message_id
LIMIT ?"""
COUNT_DUE = "SELECT count(*) FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= ?"
CLAIM = """
UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, smtp_message_id = coalesce(smtp_message_id, ?)
WHERE message_id = ? AND state = 'queued'
RETURNING attempts, smtp_message_id"""
MARK_SENT = """
UPDATE mail_outbox SET state = 'sent', sent_at = ?, last_error = NULL
WHERE message_id = ? AND state = 'sending'"""
MARK_RETRY = """
UPDATE mail_outbox SET state = 'queued', next_attempt_at = ?, last_error = ?
WHERE message_id = ? AND state = 'sending'"""
MARK_FAILED = """
UPDATE mail_outbox SET state = 'failed', last_error = ?
WHERE message_id = ? AND state = 'sending'"""
MARK_UNCERTAIN = """
UPDATE mail_outbox SET state = 'uncertain', last_error = ?
WHERE state = 'sending'
RETURNING message_id"""


@dataclass(frozen=True)
class OutgoingMail:
    """One message to queue; link_id lets the personaliser fill in a fresh link when it is sent; images: (content
    id, PNG) pairs the HTML shows as <img src="cid:CONTENT_ID">."""

    kind: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None = None
    link_id: str | None = None
    images: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class OutboxRow:
    """A queued message as the personaliser sees it; attempts counts this attempt."""

    message_id: int
    kind: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    link_id: str | None
    attempts: int
    created_at: datetime


Personalise = Callable[[OutboxRow], tuple[str, str | None]]


@dataclass
class SendSummary:
    """What one round of send_due did; mail_off: no mail server is set, `waiting` due messages stay queued."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    mail_off: bool = False
    waiting: int = 0

    @property
    def changed(self) -> bool:
        """Whether the outbox changed (then the caller may publish)."""
        return bool(self.sent or self.retried or self.failed)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th attempt failed for a temporary reason: 60 s x 2^(attempts-1), at most 1 h."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def enqueue(con: duckdb.DuckDBPyConnection, mails: list[OutgoingMail], now: datetime) -> list[int]:
    """Queue the mails (and their images) inside the caller's transaction, due at once; their message ids, in
    order."""
    for mail in mails:
        _check(mail)
    return [_insert(con, mail, now) for mail in mails]


class OutboxSender:
    """Sends the outbox's due messages through one mail server; nothing is sent without settings."""

    def __init__(self, warehouse: Warehouse, settings: SmtpSettings | None,
                 personalise: Personalise | None = None) -> None:
        self.warehouse = warehouse
        self.settings = settings
        self.personalise = personalise or _stored_bodies

    def recover_after_restart(self, now: datetime) -> int:
        """Make every message cut off while 'sending' 'uncertain' (never sent again); how many there were."""
        moment = now.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        error = (f"Het versturen werd onderbroken (herstart op {moment}); het bericht is misschien wel, misschien niet "
                 "aangekomen en wordt niet opnieuw verstuurd (zoek de Message-ID op in het log van de mailserver). / "
                 f"Sending was cut off (restart at {moment}); the message may or may not have arrived and is not "
                 "sent again (look its Message-ID up in the mail server's log).")
        with self.warehouse.transaction() as con:
            recovered = rows(con, MARK_UNCERTAIN, [error])
            run(con, DROP_IMAGES, [[row[0] for row in recovered]])
        if recovered:
            log.warning("mail outbox: %d message(s) uncertain after a restart: %s", len(recovered),
                        ", ".join(str(row[0]) for row in recovered))
        return len(recovered)

    def send_due(self, now: datetime, stopping: threading.Event | None = None) -> SendSummary:
        """Send the queued messages due at `now`, oldest first, at most BATCH_SIZE; stop early when `stopping`."""
        if self.settings is None:
            with self.warehouse.transaction() as con:
                return SendSummary(mail_off=True, waiting=scalar(con, COUNT_DUE, [now]))
        with self.warehouse.transaction() as con:
            due = [OutboxRow(*row) for row in rows(con, SELECT_DUE, [now, BATCH_SIZE])]
        summary = SendSummary()
        for row in due:
            if stopping is not None and stopping.is_set():
                break
            if not self._send_one(self.settings, row, now, summary):
                break
        return summary

    def _send_one(self, settings: SmtpSettings, row: OutboxRow, now: datetime, summary: SendSummary) -> bool:
        """Claim, send and record one message; False after a temporary problem (end the round)."""
        with self.warehouse.transaction() as con:
            claimed = rows(con, CLAIM, [make_msgid(domain=address_domain(settings.mail_from)), row.message_id])
            images = rows(con, SELECT_IMAGES, [row.message_id]) if claimed else []
        if not claimed:
            return True   # no longer queued: another round took it
        attempts, message_id_header = claimed[0]
        row = replace(row, attempts=attempts)
        try:
            text, html = self.personalise(row)
            message = build_message(settings.mail_from, row.recipient, row.subject, text, html, images)
            message.replace_header("Message-ID", message_id_header)
        except CapacityError as error:
            self._finish(MARK_FAILED, [_both(error), row.message_id])
            summary.failed += 1
            return True
        except Exception as error:   # a bug in the personaliser: record it, never stop the other messages
            log.exception("mail outbox: message %d could not be prepared", row.message_id)
            self._finish(MARK_FAILED, [_unexpected(error), row.message_id])
            summary.failed += 1
            return True
        try:
            send_message(settings, message)
        except MailRefused as error:
            self._finish(MARK_FAILED, [_both(error), row.message_id])
            summary.failed += 1
            return True
        except MailRetryable as error:
            if attempts >= MAX_ATTEMPTS:
                self._finish(MARK_FAILED, [_gave_up(error, attempts), row.message_id])
                summary.failed += 1
            else:
                self._finish(MARK_RETRY, [now + backoff(attempts), _both(error), row.message_id])
                summary.retried += 1
            return False
        self._finish(MARK_SENT, [now, row.message_id])
        summary.sent += 1
        return True

    def _finish(self, statement: str, params: list) -> None:
        """Record an attempt's outcome; a message sent or failed (the last parameter) loses its images."""
        with self.warehouse.transaction() as con:
            run(con, statement, params)
            if statement is not MARK_RETRY:
                run(con, DROP_IMAGES, [[params[-1]]])


def _insert(con: duckdb.DuckDBPyConnection, mail: OutgoingMail, now: datetime) -> int:
    """Insert one checked mail and its images; its message id."""
    message_id = scalar(con, INSERT_MAIL, [mail.kind, mail.recipient.strip(), mail.subject, mail.body_text,
                                           mail.body_html, mail.link_id, now, now])
    for content_id, png in mail.images:
        run(con, INSERT_IMAGE, [message_id, content_id, png])
    return message_id


def _stored_bodies(row: OutboxRow) -> tuple[str, str | None]:
    return row.body_text, row.body_html


def _check(mail: OutgoingMail) -> None:
    """Refuse a mail that could never be sent: no kind, not one address, a line break in a header, bad images."""
    if not mail.kind.strip():
        raise CapacityError("Een e-mail in de outbox heeft een soort nodig.", "A mail in the outbox needs a kind.")
    if any(c in mail.subject for c in "\r\n"):
        raise CapacityError("Het onderwerp van een e-mail mag geen regeleinde bevatten.",
                            "The subject of an e-mail must not contain a line break.")
    shown = printable(mail.recipient)[:UNEXPECTED_SHOWN]
    if any(c in mail.recipient for c in "\r\n,;") or not address_domain(mail.recipient):
        raise CapacityError(f"Geen geldig e-mailadres (één ontvanger per bericht): '{shown}'.",
                            f"Not a valid e-mail address (one recipient per message): '{shown}'.")
    check_images(mail.images, mail.body_html)


def _both(error: CapacityError) -> str:
    return f"{error.nl} / {error.en}"


def _gave_up(error: MailRetryable, attempts: int) -> str:
    return (f"Opgegeven na {attempts} pogingen; de laatste: {error.nl} / "
            f"Given up after {attempts} attempts; the last: {error.en}")


def _unexpected(error: Exception) -> str:
    first = printable(str(error).splitlines()[0] if str(error) else "")[:UNEXPECTED_SHOWN]
    what = f"{type(error).__name__}{': ' + first if first else ''}"
    return (f"Onverwachte fout bij het opstellen ({what}); de details staan in het log van het ingest-proces / "
            f"Unexpected error while preparing the message ({what}); the details are in the log of the ingest process")
