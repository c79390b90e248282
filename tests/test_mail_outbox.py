"""The mail outbox against a real SMTP server (aiosmtpd on 127.0.0.1) and a real warehouse."""
from __future__ import annotations

import email
import io
import re
import socket
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Iterator

import duckdb
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from PIL import Image

from ingest.mailer import (MailRefused, MailRetryable, SmtpSettings, build_message, send_message,
                           smtp_settings)
from ingest.outbox import MAX_ATTEMPTS, OutboxRow, OutboxSender, OutgoingMail, backoff, enqueue
from queries.db import connect, rows, run, scalar
from queries.errors import CapacityError
from queries.outbox import outbox_summary
from queries.paths import DataPaths
from queries.warehouse import Warehouse

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SENDER = "Capaciteit <noreply@example.nl>"
STEWARD = "steward@example.nl"
REFUSED = "weg@example.nl"      # the test server answers 550 for this one
BUSY = "druk@example.nl"        # and 451 for this one
SMTP_TIMEOUT = 5.0
COUNT_IMAGES = "SELECT count(*) FROM mail_image"
SELECT_ROW = ("SELECT state, attempts, next_attempt_at, last_error, sent_at, smtp_message_id FROM mail_outbox "
              "WHERE message_id = ?")


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it accepts, refuses REFUSED (550) and defers BUSY (451)."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    during_data: list[object] = field(default_factory=list)
    on_data: object = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address == REFUSED:
            return "550 5.1.1 Mailbox unavailable"
        if address == BUSY:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if callable(self.on_data):
            self.during_data.append(self.on_data())
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(inbox: Inbox, port: int, **options: object) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=5, **options)
    controller.start()
    return controller


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def server(inbox: Inbox, port: int) -> Iterator[Controller]:
    controller = start_server(inbox, port)
    yield controller
    controller.stop()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, port: int) -> SmtpSettings:
    """Settings from the environment as an operator sets them (no encryption: loopback only), time-out 5 s."""
    for name, value in {"CAPACITY_SMTP_HOST": "127.0.0.1", "CAPACITY_SMTP_PORT": str(port),
                        "CAPACITY_SMTP_SECURITY": "none", "CAPACITY_MAIL_FROM": SENDER}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CAPACITY_SMTP_USER", raising=False)
    found = smtp_settings()
    assert found is not None and found.timeout == 20
    return replace(found, timeout=SMTP_TIMEOUT)


@pytest.fixture
def warehouse(data_paths: DataPaths) -> Iterator[Warehouse]:
    with Warehouse(data_paths) as opened:
        yield opened


def queue(warehouse: Warehouse, *mails: OutgoingMail, now: datetime = NOW) -> list[int]:
    with warehouse.transaction() as con:
        return enqueue(con, list(mails), now)


def reminder(recipient: str = STEWARD, html: str | None = None, link_id: str | None = None) -> OutgoingMail:
    return OutgoingMail("reminder", recipient, "Herinnering: cijfers vóór vrijdag", "Geef uw cijfers door.", html,
                        link_id)


def png(colour: str) -> bytes:
    """A tiny real PNG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return buffer.getvalue()


CHARTS = (("trend-1.png", png("navy")), ("Trend_2", png("orange")))
CHART_HTML = ('<p>Uw week</p><img src="cid:trend-1.png" alt="Vrije plaatsen">'
              '<img src="cid:Trend_2" alt="Wachtenden">')


def digest(html: str | None = CHART_HTML, images: tuple[tuple[str, bytes], ...] = CHARTS) -> OutgoingMail:
    return OutgoingMail("digest", STEWARD, "Weekoverzicht", "De grafieken staan in de HTML-versie.", html,
                        images=images)


def row_of(warehouse: Warehouse, message_id: int) -> tuple:
    with warehouse.transaction() as con:
        return rows(con, SELECT_ROW, [message_id])[0]


def test_a_queued_message_arrives_once_with_text_html_and_a_message_id(
        warehouse: Warehouse, settings: SmtpSettings, server: Controller, inbox: Inbox) -> None:
    (message_id,) = queue(warehouse, reminder(html="<p>Geef uw cijfers <b>door</b>.</p>"))
    sender = OutboxSender(warehouse, settings)

    summary = sender.send_due(NOW)

    assert (summary.sent, summary.retried, summary.failed, summary.changed) == (1, 0, 0, True)
    assert len(inbox.received) == 1
    mail_from, recipients, message = inbox.received[0]
    assert mail_from == "noreply@example.nl" and recipients == [STEWARD]
    assert message["Subject"] == "Herinnering: cijfers vóór vrijdag" and message["To"] == STEWARD
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain" and text.get_content_charset() == "utf-8"
    assert text.get_content().strip() == "Geef uw cijfers door."
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == "<p>Geef uw cijfers <b>door</b>.</p>"
    assert message["Date"] is not None
    state, attempts, _, last_error, sent_at, smtp_message_id = row_of(warehouse, message_id)
    assert (state, attempts, last_error, sent_at) == ("sent", 1, None, NOW)
    assert message["Message-ID"] == smtp_message_id and smtp_message_id.endswith("@example.nl>")

    again = sender.send_due(NOW + timedelta(hours=1))
    assert (again.sent, again.retried, again.failed, again.changed) == (0, 0, 0, False)
    assert len(inbox.received) == 1


def test_a_plain_message_is_text_only(warehouse: Warehouse, settings: SmtpSettings, server: Controller,
                                      inbox: Inbox) -> None:
    queue(warehouse, reminder())
    OutboxSender(warehouse, settings).send_due(NOW)
    (_, _, message), = inbox.received
    assert message.get_content_type() == "text/plain" and not message.is_multipart()


def test_a_message_with_two_images_arrives_once_with_them_inline_in_the_html(
        warehouse: Warehouse, settings: SmtpSettings, server: Controller, inbox: Inbox) -> None:
    (message_id,) = queue(warehouse, digest())
    sender = OutboxSender(warehouse, settings)

    assert sender.send_due(NOW).sent == 1 and sender.send_due(NOW + timedelta(hours=1)).changed is False

    (_, _, message), = inbox.received
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == "De grafieken staan in de HTML-versie."
    assert related.get_content_type() == "multipart/related"
    html, *pictures = related.iter_parts()
    assert html.get_content_type() == "text/html" and html.get_content().strip() == CHART_HTML
    assert [picture.get_content_type() for picture in pictures] == ["image/png", "image/png"]
    content_ids = [picture["Content-ID"].removeprefix("<").removesuffix(">") for picture in pictures]
    assert sorted(content_ids) == sorted(re.findall(r'src="cid:([^"]+)"', html.get_content()))
    assert dict(zip(content_ids, [picture.get_content() for picture in pictures])) == dict(CHARTS)
    assert [(picture.get_content_disposition(), picture.get_filename()) for picture in pictures] == [
        ("inline", f"{content_id}.png") for content_id in content_ids]
    assert row_of(warehouse, message_id)[0] == "sent"
    with warehouse.transaction() as con:   # sent: its images are no longer kept (every published copy holds them)
        assert scalar(con, COUNT_IMAGES) == 0


def test_images_without_html_after_personalising_fail_only_that_message(
        warehouse: Warehouse, settings: SmtpSettings, server: Controller, inbox: Inbox) -> None:
    with_images, plain = queue(warehouse, digest(), reminder())
    summary = OutboxSender(warehouse, settings, lambda row: (row.body_text, None)).send_due(NOW)
    assert (summary.sent, summary.failed) == (1, 1) and len(inbox.received) == 1
    state, _, _, last_error, _, _ = row_of(warehouse, with_images)
    assert state == "failed" and "HTML-tekst" in last_error and "HTML body" in last_error
    assert row_of(warehouse, plain)[0] == "sent"


def test_the_state_sending_is_committed_and_the_warehouse_free_while_smtp_talks(
        warehouse: Warehouse, settings: SmtpSettings, server: Controller, inbox: Inbox) -> None:
    (message_id,) = queue(warehouse, reminder())

    def look() -> tuple[bool, str | None]:
        """From the server's thread: can another writer take the warehouse, and what does it see?"""
        free = warehouse.lock.acquire(timeout=2)
        try:
            return free, (row_of(warehouse, message_id)[0] if free else None)
        finally:
            if free:
                warehouse.lock.release()

    inbox.on_data = look
    OutboxSender(warehouse, settings).send_due(NOW)
    assert inbox.during_data == [(True, "sending")]
    assert row_of(warehouse, message_id)[0] == "sent"


def test_an_outage_leaves_the_message_queued_and_it_arrives_once_when_the_server_is_back(
        warehouse: Warehouse, settings: SmtpSettings, inbox: Inbox, port: int) -> None:
    (message_id,) = queue(warehouse, reminder())
    sender = OutboxSender(warehouse, settings)

    down = sender.send_due(NOW)    # nothing listens on the port yet

    assert (down.sent, down.retried, down.failed) == (0, 1, 0)
    state, attempts, next_attempt_at, last_error, sent_at, _ = row_of(warehouse, message_id)
    assert (state, attempts, sent_at) == ("queued", 1, None)
    assert next_attempt_at == NOW + timedelta(seconds=60)
    assert f"127.0.0.1:{port}" in last_error and "niet bereikbaar" in last_error and "cannot be reached" in last_error

    controller = start_server(inbox, port)
    try:
        early = sender.send_due(NOW + timedelta(seconds=59))
        assert (early.sent, early.retried, early.changed) == (0, 0, False) and inbox.received == []
        back = sender.send_due(NOW + timedelta(seconds=60))
        assert back.sent == 1 and len(inbox.received) == 1
        sender.send_due(NOW + timedelta(hours=2))
        assert len(inbox.received) == 1
    finally:
        controller.stop()
    state, attempts, _, last_error, sent_at, _ = row_of(warehouse, message_id)
    assert (state, attempts, last_error, sent_at) == ("sent", 2, None, NOW + timedelta(seconds=60))


def test_after_a_temporary_problem_the_round_stops_and_the_others_wait_untouched(
        warehouse: Warehouse, settings: SmtpSettings) -> None:
    first, second = queue(warehouse, reminder(), reminder("ander@example.nl"))
    summary = OutboxSender(warehouse, settings).send_due(NOW)   # no server
    assert (summary.retried, summary.sent, summary.failed) == (1, 0, 0)
    assert row_of(warehouse, first)[:2] == ("queued", 1)
    assert row_of(warehouse, second)[:4] == ("queued", 0, NOW, None)


def test_a_550_answer_fails_the_message_at_once_and_the_round_goes_on(
        warehouse: Warehouse, settings: SmtpSettings, server: Controller, inbox: Inbox, port: int) -> None:
    refused, accepted = queue(warehouse, reminder(REFUSED), reminder())
    sender = OutboxSender(warehouse, settings)

    summary = sender.send_due(NOW)

    assert (summary.sent, summary.retried, summary.failed) == (1, 0, 1)
    assert [recipients for _, recipients, _ in inbox.received] == [[STEWARD]]
    state, attempts, _, last_error, sent_at, _ = row_of(warehouse, refused)
    assert (state, attempts, sent_at) == ("failed", 1, None)
    assert "550" in last_error and f"127.0.0.1:{port}" in last_error and "Mailbox unavailable" in last_error
    assert row_of(warehouse, accepted)[0] == "sent"
    assert sender.send_due(NOW + timedelta(days=1)).changed is False
    assert row_of(warehouse, refused)[:2] == ("failed", 1)


def test_a_451_answer_is_retried_later(warehouse: Warehouse, settings: SmtpSettings, server: Controller,
                                       inbox: Inbox) -> None:
    (message_id,) = queue(warehouse, reminder(BUSY))
    summary = OutboxSender(warehouse, settings).send_due(NOW)
    assert (summary.retried, summary.failed) == (1, 0) and inbox.received == []
    state, attempts, next_attempt_at, last_error, _, _ = row_of(warehouse, message_id)
    assert (state, attempts, next_attempt_at) == ("queued", 1, NOW + timedelta(seconds=60))
    assert "451" in last_error and "tijdelijk" in last_error and "temporary" in last_error


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    # 60 s x 2^(n-1): 60, 120, 240, 480, 960, 1920, then 3840 capped at 3600
    assert [backoff(n) / timedelta(seconds=1) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(3) == timedelta(seconds=240)


def test_eight_temporary_failures_make_the_message_failed(warehouse: Warehouse, settings: SmtpSettings,
                                                         port: int) -> None:
    (message_id,) = queue(warehouse, reminder())
    sender = OutboxSender(warehouse, settings)   # nothing listens: every attempt is refused at once
    waits = [60, 120, 240, 480, 960, 1920, 3600]
    at = NOW
    for attempt, wait in enumerate(waits, start=1):
        summary = sender.send_due(at)
        assert (summary.retried, summary.failed) == (1, 0)
        state, attempts, next_attempt_at, _, _, _ = row_of(warehouse, message_id)
        assert (state, attempts, next_attempt_at) == ("queued", attempt, at + timedelta(seconds=wait))
        at = next_attempt_at
    assert at == NOW + timedelta(seconds=7380)   # the sum of the waits
    last = sender.send_due(at)
    assert (last.retried, last.failed) == (0, 1)
    state, attempts, _, last_error, _, _ = row_of(warehouse, message_id)
    assert (state, attempts) == ("failed", MAX_ATTEMPTS) == ("failed", 8)
    assert "Opgegeven na 8 pogingen" in last_error and "Given up after 8 attempts" in last_error
    assert f"127.0.0.1:{port}" in last_error
    assert sender.send_due(at + timedelta(days=1)).changed is False


class Killed(BaseException):
    """Stands in for the process being killed between marking 'sending' and the server's answer."""


def test_a_message_cut_off_while_sending_becomes_uncertain_and_is_never_sent(
        data_paths: DataPaths, settings: SmtpSettings, server: Controller, inbox: Inbox) -> None:
    def killed(row: OutboxRow) -> tuple[str, str | None]:
        raise Killed()

    with Warehouse(data_paths) as warehouse:
        (message_id,) = queue(warehouse, reminder())
        with pytest.raises(Killed):
            OutboxSender(warehouse, settings, killed).send_due(NOW)
        assert row_of(warehouse, message_id)[:2] == ("sending", 1)

    with Warehouse(data_paths) as restarted:
        sender = OutboxSender(restarted, settings)
        assert sender.recover_after_restart(NOW + timedelta(minutes=5)) == 1
        assert sender.recover_after_restart(NOW + timedelta(minutes=6)) == 0
        summary = sender.send_due(NOW + timedelta(days=1))
        state, attempts, _, last_error, sent_at, smtp_message_id = row_of(restarted, message_id)
    assert summary.changed is False and inbox.received == []
    assert (state, attempts, sent_at) == ("uncertain", 1, None)
    assert "may or may not have arrived" in last_error and "misschien wel, misschien niet" in last_error
    assert smtp_message_id.endswith("@example.nl>")   # to look up in the mail server's log


def test_without_a_mail_server_nothing_is_sent_and_messages_stay_queued(
        monkeypatch: pytest.MonkeyPatch, warehouse: Warehouse, server: Controller, inbox: Inbox) -> None:
    monkeypatch.delenv("CAPACITY_SMTP_HOST", raising=False)
    assert smtp_settings() is None
    first, second = queue(warehouse, reminder(), reminder("ander@example.nl"))
    sender = OutboxSender(warehouse, smtp_settings())
    summary = sender.send_due(NOW)
    assert (summary.mail_off, summary.waiting, summary.sent, summary.changed) == (True, 2, 0, False)
    assert inbox.received == []
    assert [row_of(warehouse, message_id)[:2] for message_id in (first, second)] == [("queued", 0)] * 2


def test_the_personalised_text_is_what_arrives(warehouse: Warehouse, settings: SmtpSettings, server: Controller,
                                              inbox: Inbox) -> None:
    stored = OutgoingMail("reminder", STEWARD, "Uw cijfers", "Open {link}", "<a href='{link}'>open</a>", "L-42")
    (message_id,) = queue(warehouse, stored)
    seen: list[OutboxRow] = []

    def personalise(row: OutboxRow) -> tuple[str, str | None]:
        seen.append(row)
        link = f"http://127.0.0.1:8050/cijfers/{row.link_id}-vers"
        return row.body_text.format(link=link), row.body_html.format(link=link)

    assert OutboxSender(warehouse, settings, personalise).send_due(NOW).sent == 1
    assert [(row.message_id, row.link_id, row.attempts) for row in seen] == [(message_id, "L-42", 1)]
    (_, _, message), = inbox.received
    text, html = message.iter_parts()
    assert text.get_content().strip() == "Open http://127.0.0.1:8050/cijfers/L-42-vers"
    assert html.get_content().strip() == "<a href='http://127.0.0.1:8050/cijfers/L-42-vers'>open</a>"
    with warehouse.transaction() as con:   # the stored body keeps its placeholder
        assert scalar(con, "SELECT body_text FROM mail_outbox WHERE message_id = ?", [message_id]) == "Open {link}"


def test_a_personaliser_that_fails_fails_only_its_own_message(warehouse: Warehouse, settings: SmtpSettings,
                                                              server: Controller, inbox: Inbox) -> None:
    broken, fine = queue(warehouse, reminder(link_id="gone"), reminder())

    def personalise(row: OutboxRow) -> tuple[str, str | None]:
        if row.link_id == "gone":
            raise KeyError("gone")
        return row.body_text, row.body_html

    summary = OutboxSender(warehouse, settings, personalise).send_due(NOW)
    assert (summary.sent, summary.failed) == (1, 1) and len(inbox.received) == 1
    state, _, _, last_error, _, _ = row_of(warehouse, broken)
    assert state == "failed" and "KeyError" in last_error
    assert row_of(warehouse, fine)[0] == "sent"


def test_enqueue_belongs_to_the_callers_transaction(warehouse: Warehouse) -> None:
    with pytest.raises(RuntimeError):
        with warehouse.transaction() as con:
            enqueue(con, [reminder()], NOW)
            raise RuntimeError("the change that caused the mail failed")
    with warehouse.transaction() as con:
        assert scalar(con, "SELECT count(*) FROM mail_outbox") == 0
        assert enqueue(con, [], NOW) == []


@pytest.mark.parametrize("recipient", ["", "geen-adres", "a@example.nl, b@example.nl", "a@example.nl\nBcc: x@y.nl"])
def test_enqueue_refuses_what_could_never_be_sent(warehouse: Warehouse, recipient: str) -> None:
    with pytest.raises(CapacityError) as caught:
        queue(warehouse, reminder(recipient))
    assert "e-mailadres" in caught.value.nl and "e-mail address" in caught.value.en
    with pytest.raises(CapacityError):
        queue(warehouse, OutgoingMail("reminder", STEWARD, "Twee\nregels", "tekst"))
    with warehouse.transaction() as con:
        assert scalar(con, "SELECT count(*) FROM mail_outbox") == 0


@pytest.mark.parametrize(("mail", "nl", "en"), [
    (digest(images=(("gif", b"GIF89a" + bytes(20)),)), "geen PNG", "not a PNG"),
    (digest(images=(("met spatie", png("navy")),)), "Content-ID", "Content-ID"),
    (digest(images=(("", png("navy")),)), "Content-ID", "Content-ID"),
    (digest(images=(("x" * 65, png("navy")),)), "Content-ID", "Content-ID"),
    (digest(images=(("a>b", png("navy")),)), "Content-ID", "Content-ID"),
    (digest(images=(("trend", png("navy")), ("trend", png("orange")))), "dubbele", "repeated"),
    (digest(html=None), "HTML-tekst", "HTML body"),
], ids=["not-png", "space", "empty", "too-long", "angle", "duplicate", "no-html"])
def test_enqueue_refuses_images_that_could_not_be_shown(warehouse: Warehouse, mail: OutgoingMail, nl: str,
                                                        en: str) -> None:
    with pytest.raises(CapacityError) as caught:
        queue(warehouse, reminder(), mail)
    assert nl in caught.value.nl and en in caught.value.en and caught.value.nl != caught.value.en
    with warehouse.transaction() as con:
        assert (scalar(con, "SELECT count(*) FROM mail_outbox"), scalar(con, COUNT_IMAGES)) == (0, 0)


def test_an_enqueue_rolled_back_leaves_no_images(warehouse: Warehouse) -> None:
    with pytest.raises(RuntimeError):
        with warehouse.transaction() as con:
            enqueue(con, [digest()], NOW)
            assert scalar(con, COUNT_IMAGES) == 2
            raise RuntimeError("the digest's week could not be recorded")
    with warehouse.transaction() as con:
        assert (scalar(con, "SELECT count(*) FROM mail_outbox"), scalar(con, COUNT_IMAGES)) == (0, 0)


@pytest.mark.parametrize(("env", "value", "named"), [
    ("CAPACITY_SMTP_PORT", "vijf", "CAPACITY_SMTP_PORT"),
    ("CAPACITY_SMTP_PORT", "70000", "CAPACITY_SMTP_PORT"),
    ("CAPACITY_SMTP_SECURITY", "ssl", "CAPACITY_SMTP_SECURITY"),
    ("CAPACITY_MAIL_FROM", "", "CAPACITY_MAIL_FROM"),
    ("CAPACITY_MAIL_FROM", "Capaciteit", "CAPACITY_MAIL_FROM"),
    ("CAPACITY_SMTP_USER", "capaciteit", "CAPACITY_SMTP_USER"),   # a login over an unencrypted connection
])
def test_bad_mail_settings_give_a_plain_message(monkeypatch: pytest.MonkeyPatch, settings: SmtpSettings, env: str,
                                                value: str, named: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(CapacityError) as caught:
        smtp_settings()
    assert named in caught.value.nl and named in caught.value.en and caught.value.nl != caught.value.en


def test_the_password_stays_out_of_repr_and_messages(port: int, inbox: Inbox) -> None:
    password = "Geheim-wachtwoord-123"

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        return AuthResult(success=False, handled=False)

    controller = start_server(inbox, port, authenticator=authenticator, auth_require_tls=False)
    try:
        # built by hand: smtp_settings() refuses a login without encryption, the test server has no TLS
        settings = SmtpSettings("127.0.0.1", port, "none", "capaciteit", password, SENDER, SMTP_TIMEOUT)
        with pytest.raises(MailRefused) as caught:
            send_message(settings, build_message(SENDER, STEWARD, "Test", "tekst"))
    finally:
        controller.stop()
    assert caught.value.code == 535 and "535" in caught.value.en and f"127.0.0.1:{port}" in caught.value.nl
    assert password not in caught.value.nl + caught.value.en and password not in repr(settings)
    assert inbox.received == []


def test_a_server_that_hangs_up_is_retryable(port: int) -> None:
    with socket.socket() as listener:   # accepts the connection, then closes it without a greeting
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        closer = threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True)
        closer.start()
        settings = SmtpSettings("127.0.0.1", port, "none", "", "", SENDER, SMTP_TIMEOUT)
        with pytest.raises(MailRetryable) as caught:
            send_message(settings, build_message(SENDER, STEWARD, "Test", "tekst"))
        closer.join(timeout=SMTP_TIMEOUT)
    assert caught.value.code is None and f"127.0.0.1:{port}" in caught.value.en


def test_build_message_refuses_a_line_break_in_a_header() -> None:
    with pytest.raises(CapacityError):
        build_message(SENDER, STEWARD, "Onderwerp\r\nBcc: iemand@example.nl", "tekst")


def test_the_steward_summary_counts_states_and_lists_problems_without_bodies(
        warehouse: Warehouse, settings: SmtpSettings, server: Controller, data_paths: DataPaths) -> None:
    sent, refused, busy, waiting = queue(warehouse, reminder(), reminder(REFUSED), reminder(BUSY),
                                         reminder("later@example.nl"), now=NOW)
    with warehouse.transaction() as con:   # created later, so listed first; then cut off while sending
        (cut_off,) = enqueue(con, [reminder("kwijt@example.nl")], NOW + timedelta(minutes=1))
        run(con, "UPDATE mail_outbox SET state = 'sending', attempts = 1 WHERE message_id = ?", [cut_off])
    sender = OutboxSender(warehouse, settings)
    sender.recover_after_restart(NOW + timedelta(minutes=2))
    sender.send_due(NOW + timedelta(minutes=2))   # sent; refused fails; busy is retried, which ends the round
    warehouse.publish()

    published = warehouse.latest_publication()
    reader = connect(published.path(data_paths), read_only=True)
    try:
        summary = outbox_summary(reader)
    finally:
        reader.close()
    assert (summary.queued, summary.retrying, summary.sending, summary.sent, summary.failed, summary.uncertain) == (
        2, 1, 0, 1, 1, 1)
    assert summary.oldest_queued_at == NOW
    assert [(p.message_id, p.state, p.attempts) for p in summary.problems] == [
        (cut_off, "uncertain", 1), (busy, "queued", 1), (refused, "failed", 1)]
    busy_problem = summary.problems[1]
    assert busy_problem.retrying and busy_problem.next_attempt_at == NOW + timedelta(minutes=3)
    assert busy_problem.recipient == BUSY and busy_problem.subject == "Herinnering: cijfers vóór vrijdag"
    assert not any(hasattr(problem, "body_text") or hasattr(problem, "body_html") for problem in summary.problems)
    assert sent not in [p.message_id for p in summary.problems] and waiting not in [p.message_id for p in
                                                                                    summary.problems]


def test_the_summary_is_empty_on_a_copy_from_before_the_outbox(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        empty = outbox_summary(con)
    finally:
        con.close()
    assert (empty.queued, empty.failed, empty.problems) == (0, 0, [])


def test_images_are_kept_while_a_message_may_still_go_and_dropped_once_it_cannot(
        data_paths: DataPaths, settings: SmtpSettings, server: Controller, inbox: Inbox) -> None:
    def killed(row: OutboxRow) -> tuple[str, str | None]:
        raise Killed()

    def images_of(warehouse: Warehouse, message_id: int) -> int:
        with warehouse.transaction() as con:
            return scalar(con, "SELECT count(*) FROM mail_image WHERE message_id = ?", [message_id])

    with Warehouse(data_paths) as warehouse:
        (cut_off,) = queue(warehouse, digest())
        with pytest.raises(Killed):
            OutboxSender(warehouse, settings, killed).send_due(NOW)
    with Warehouse(data_paths) as restarted:
        OutboxSender(restarted, settings).recover_after_restart(NOW + timedelta(minutes=1))
        assert row_of(restarted, cut_off)[0] == "uncertain" and images_of(restarted, cut_off) == 0
        refused, busy = queue(restarted, replace(digest(), recipient=REFUSED), replace(digest(), recipient=BUSY))
        OutboxSender(restarted, settings).send_due(NOW + timedelta(minutes=2))    # 550, then 451
        assert row_of(restarted, refused)[0] == "failed" and images_of(restarted, refused) == 0
        assert row_of(restarted, busy)[0] == "queued" and images_of(restarted, busy) == 2   # still needed
