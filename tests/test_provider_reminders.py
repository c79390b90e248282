"""Reminders before a provider's figures turn stale, through the real outbox to a real SMTP server on 127.0.0.1:
one e-mail per invite address at 75% of the freshness window and one when stale, never twice (also not after a
restart), only the provider's own services, with a fresh link that opens its form."""
from __future__ import annotations

import email
import shutil
import threading
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller

from ingest.mailer import smtp_settings
from ingest.outbox import OutboxSender
from ingest.provider_links import LinkStore
from ingest.provider_mail import LINK_PATH, personaliser
from ingest.reminders import due_services, queue_reminders
from ingest_support import query
from provider_world import register
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import free_port

UTC = timezone.utc
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)       # when the world's figures were true
SHELTER_SOON = T0 + timedelta(hours=36)             # 75% of a shelter's 2 days
SHELTER_STALE = T0 + timedelta(hours=48)            # the window used up: stale just after this


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.arrived:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.arrived.notify_all()
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {"CAPACITY_SMTP_HOST": "127.0.0.1", "CAPACITY_SMTP_PORT": str(port),
                        "CAPACITY_SMTP_SECURITY": "none", "CAPACITY_MAIL_FROM": "Capaciteit <noreply@example.org>",
                        "CAPACITY_PUBLIC_URL": "https://capaciteit.example.org"}.items():
        monkeypatch.setenv(name, value)
    yield inbox
    controller.stop()


@pytest.fixture
def world(data_paths: DataPaths, tmp_path: Path) -> tuple[DataPaths, LinkStore]:
    register(data_paths, tmp_path, T0)
    links = LinkStore(data_paths.provider_links)
    links.issue("veilig", "opvang@example.org", 365, now=T0.timestamp() - 86400)
    links.issue("veilig", "coordinator@example.org", 365, now=T0.timestamp() - 86400)
    links.issue("ander", "huis@example.org", 365, now=T0.timestamp() - 86400)
    links.issue("ander", None, 365, now=T0.timestamp() - 86400)     # no address: never reminded
    return data_paths, links


def remind_and_send(paths: DataPaths, links: LinkStore, now: datetime) -> int:
    """One reminder round and one outbox round at `now`, as the ingest process runs them; e-mails queued."""
    with Warehouse(paths) as warehouse:
        queued = queue_reminders(warehouse, links, now)
        OutboxSender(warehouse, smtp_settings(), personaliser(links)).send_due(now)
    return queued


def text_of(message: Message) -> str:
    return next(part.get_content() if hasattr(part, "get_content") else part.get_payload(decode=True).decode()
                for part in message.walk() if part.get_content_type() == "text/plain")


def test_the_75_percent_and_stale_stages_are_decided_on_exact_microseconds(world) -> None:
    paths, _ = world
    with Warehouse(paths) as warehouse:
        stage = lambda now: [(d.service_id, d.stage) for d in due_services(warehouse.con, ["veilig", "ander"], now)]
        assert stage(SHELTER_SOON - timedelta(microseconds=1)) == []
        assert stage(SHELTER_SOON) == [("X1", "soon"), ("S1", "soon")]
        assert stage(SHELTER_STALE) == [("X1", "soon"), ("S1", "soon")]           # exactly used up: still fresh
        assert stage(SHELTER_STALE + timedelta(microseconds=1)) == [("X1", "stale"), ("S1", "stale")]
        # the trauma team's window is 35 days: 75% is 26 days and 6 hours
        assert ("S2", "soon") in stage(T0 + timedelta(days=26, hours=6))
        assert ("S2", "soon") not in stage(T0 + timedelta(days=26, hours=6) - timedelta(microseconds=1))


def test_each_address_gets_one_reminder_per_stage_naming_only_its_own_services(world, smtp: Inbox) -> None:
    paths, links = world
    assert remind_and_send(paths, links, SHELTER_SOON) == 3
    assert sorted(m["To"] for m in smtp.messages) == ["coordinator@example.org", "huis@example.org",
                                                      "opvang@example.org"]
    veilig = [m for m in smtp.messages if m["To"] != "huis@example.org"]
    for message in veilig:
        body = text_of(message)
        assert "verouderen bijna" in message["Subject"] and "Stichting Veilig" in message["Subject"]
        assert "Opvang Oost" in body and "Traumateam" not in body         # S2 is still fresh
        assert "Andere opvang" not in body and "Ander Huis" not in body
        assert "https://capaciteit.example.org" + LINK_PATH in body and "[[LINK]]" not in body
    assert remind_and_send(paths, links, SHELTER_SOON + timedelta(hours=1)) == 0     # staying due: nothing new
    assert remind_and_send(paths, links, SHELTER_STALE + timedelta(minutes=1)) == 3
    assert [("verouderd" in m["Subject"] and "bijna" not in m["Subject"]) for m in smtp.messages[3:]] == [True] * 3
    assert remind_and_send(paths, links, SHELTER_STALE + timedelta(days=1)) == 0
    assert len(smtp.messages) == 6
    assert query(paths, "SELECT count(*), count(DISTINCT (service_id, stage, link_id)) FROM provider_reminder") == [
        (6, 6)]


def test_the_link_in_a_reminder_opens_that_providers_form_and_is_stored_only_as_a_hash(world, smtp: Inbox) -> None:
    paths, links = world
    remind_and_send(paths, links, SHELTER_SOON)
    message = next(m for m in smtp.messages if m["To"] == "huis@example.org")
    token = text_of(message).split(LINK_PATH, 1)[1].split()[0]
    link = links.redeem(token)
    assert link is not None and link.provider_id == "ander"
    assert token.encode() not in paths.provider_links.read_bytes()
    assert query(paths, "SELECT count(*) FROM mail_outbox WHERE body_text LIKE ?", [f"%{token}%"]) == [(0,)]
    invite = next(i for i in links.invites("ander") if i.email)
    links.revoke(invite.link_id)
    assert links.live(link.link_id) is None     # a reminder's link ends with its invite


def test_a_restart_of_the_ingester_sends_no_reminder_again(world, smtp: Inbox) -> None:
    paths, links = world
    assert remind_and_send(paths, links, SHELTER_SOON) == 3
    fresh_links = LinkStore(paths.provider_links)            # a new process: new objects, the same files
    assert remind_and_send(paths, fresh_links, SHELTER_SOON + timedelta(minutes=5)) == 0
    assert len(smtp.messages) == 3


def test_a_new_figure_starts_a_new_window(world, smtp: Inbox) -> None:
    paths, links = world
    remind_and_send(paths, links, SHELTER_SOON)
    later = T0 + timedelta(hours=40)
    with Warehouse(paths) as warehouse, warehouse.transaction() as con:
        con.execute("INSERT INTO capacity_observation VALUES ('S1', ?, 'provider-a', 'place', 10, 3, 'open', 0, "
                    "NULL, NULL, 1, ?)", [later, later])
    assert remind_and_send(paths, links, later + timedelta(hours=35)) == 1     # only X1 (stale) for ander
    assert remind_and_send(paths, links, later + timedelta(hours=36)) == 2     # S1's new figure at 75%
    assert len(smtp.messages) == 6


def test_without_smtp_settings_nothing_is_queued(world, monkeypatch: pytest.MonkeyPatch) -> None:
    paths, links = world
    monkeypatch.delenv("CAPACITY_SMTP_HOST", raising=False)
    assert smtp_settings() is None
    from ingest.service import queue_reminders_if_mail_on

    with Warehouse(paths) as warehouse:
        assert queue_reminders_if_mail_on(warehouse, links, None, SHELTER_STALE) == 0
    assert query(paths, "SELECT count(*) FROM mail_outbox") == [(0,)]


def test_a_reminder_whose_invite_was_revoked_before_sending_is_not_sent(world, smtp: Inbox) -> None:
    paths, links = world
    with Warehouse(paths) as warehouse:
        assert queue_reminders(warehouse, links, SHELTER_SOON) == 3
    huis = next(i for i in links.invites("ander") if i.email)
    links.revoke(huis.link_id)
    with Warehouse(paths) as warehouse:
        summary = OutboxSender(warehouse, smtp_settings(), personaliser(links)).send_due(SHELTER_SOON)
    assert (summary.sent, summary.failed) == (2, 1)
    assert sorted(m["To"] for m in smtp.messages) == ["coordinator@example.org", "opvang@example.org"]
    assert query(paths, "SELECT recipient, state, last_error LIKE 'Niet verstuurd: link % / Not sent: link %' "
                        "FROM mail_outbox WHERE state <> 'sent'") == [("huis@example.org", "failed", True)]
