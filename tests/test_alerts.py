"""Alerts on transitions, evaluated as the ingest process does after a publication, against a real warehouse,
a real SMTP server and a real webhook receiver on 127.0.0.1 (the world: alert_world.py)."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

import pytest

import shortfall_world
from alert_world import (T0, HookReceiver, MailInbox, add_signals, env, hook_receiver, inbox, new_run, set_sh2,
                         smtp_server)
from ingest.alerts import Observation, Told, decide, evaluate_alerts
from ingest.mailer import smtp_settings
from ingest.outbox import OutboxSender
from ingest.subscriptions import Scope, Subscription, SubscriptionRequest, SubscriptionStore, catalogue, check_request
from ingest.webhooks import WebhookSender
from queries.connection import PublishedReader
from queries.db import rows
from queries.paths import DataPaths
from queries.warehouse import Warehouse

pytestmark = pytest.mark.timeout(120)
__all__ = ["env", "inbox"]  # fixtures from alert_world
SETTLE = timedelta(hours=2)
SHELTER_A = Scope(region_level="testregio", region_code="A", care_type="shelter", target_group="adult_victim")


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    shortfall_world.build(paths)
    return paths


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    yield from hook_receiver()


@pytest.fixture
def world(paths: DataPaths, env: dict[str, str]) -> Iterator[tuple[Warehouse, PublishedReader, SubscriptionStore]]:
    reader = PublishedReader(paths, poll_seconds=0)
    with Warehouse(paths) as warehouse:
        yield warehouse, reader, SubscriptionStore(paths.subscriptions)
    reader.close()


def subscribe(world, kind: str = "status", scope: Scope = SHELTER_A, channel: str = "email",
              address: str = "anne@example.org", audience: str = "professional", lang: str = "nl") -> Subscription:
    warehouse, reader, store = world
    with reader.cursor() as cur:
        request = check_request(SubscriptionRequest(kind, channel, address, lang, audience, scope), catalogue(cur))
    return store.add(request, "anne", "oidc")


def evaluate(world, at, settle: timedelta = SETTLE):
    warehouse, reader, store = world
    return evaluate_alerts(warehouse, reader, store.active(), at, settle)


def deliver(world, at) -> None:
    """One outbox round and one webhook round, as the ingest process's jobs run them."""
    warehouse, _, store = world
    OutboxSender(warehouse, smtp_settings()).send_due(at)
    WebhookSender(warehouse, store.secret_of).send_due(at)


def verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, written from the README: HMAC-SHA256 over timestamp + '.' + body."""
    expected = hmac.new(secret.encode(), headers["X-Capacity-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers["X-Capacity-Signature"])


def text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_region_turning_red_sends_one_mail_and_one_signed_webhook_then_nothing_while_it_stays_red(
        world, inbox: MailInbox, receiver: HookReceiver, paths: DataPaths) -> None:
    warehouse, reader, _ = world
    mail = subscribe(world)
    hook = subscribe(world, channel="webhook", address=receiver.url, lang="en")
    assert evaluate(world, T0).queued == 0                      # the first picture (amber) is told to nobody
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))
    assert evaluate(world, T0 + timedelta(minutes=1)).queued == 2
    deliver(world, T0 + timedelta(minutes=1))
    assert inbox.wait_for(1, 10) and len(inbox.messages) == 1 and len(receiver.calls) == 1
    message, call = inbox.messages[0], receiver.calls[0]
    assert message["To"] == "anne@example.org"
    assert message["Subject"] == "Attendering: Regio A — Vrouwenopvang voor volwassen slachtoffer: oranje → rood"
    body = text(message)
    assert "3 plaatsen tekort op een norm van 10 (30%)" in body      # 10 - (6 + 1) = 3, 30% of the norm
    assert ("https://capaciteit.example.org/regio/A?level=testregio&care_type=shelter&target_group=adult_victim"
            "&at=2026-07-01T00%3A00%3A59%2B02%3A00") in body      # the region page at that moment
    assert message.get_body(preferencelist=("html",)) is not None
    assert verifies(hook.secret, call.headers, call.body) and not verifies(mail.unsubscribe_key, call.headers,
                                                                            call.body)
    payload = call.json()
    assert payload["schema"] == "capacity-alert/1" and payload["subscription_id"] == hook.subscription_id
    (event,) = payload["events"]
    assert (event["from"], event["to"], event["region_code"], event["care_type"]) == ("amber", "red", "A", "shelter")
    assert event["reasons_en"] == ["3 places short of a norm of 10 (30%)"]
    assert event["text"] == "Regio A — Shelter for adult victim: amber → red"
    # staying red: nothing more, not after another publication, not after a restart of the ingest process
    set_sh2(warehouse, places=2, valid_at=T0 - timedelta(hours=1))     # 8 places: gap 2 = 20%: still red
    assert evaluate(world, T0 + timedelta(minutes=2)).queued == 0
    warehouse.close()
    with Warehouse(paths) as again:
        assert evaluate_alerts(again, reader, world[2].active(), T0 + timedelta(minutes=3), SETTLE).queued == 0
        OutboxSender(again, smtp_settings()).send_due(T0 + timedelta(minutes=3))
        WebhookSender(again, world[2].secret_of).send_due(T0 + timedelta(minutes=3))
    assert len(inbox.messages) == 1 and len(receiver.calls) == 1


def test_a_status_that_flaps_back_within_the_settle_time_is_held(world, inbox: MailInbox) -> None:
    warehouse, _, _ = world
    subscribe(world)
    evaluate(world, T0)
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=3))
    told_at = T0 + timedelta(minutes=1)
    assert evaluate(world, told_at).queued == 1                                 # amber -> red, told at once
    set_sh2(warehouse, places=6, valid_at=T0 - timedelta(hours=2), free=2)      # back to amber ...
    assert evaluate(world, told_at + timedelta(minutes=10)).held == 1           # ... held
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=1))              # red again: as told
    assert evaluate(world, told_at + timedelta(minutes=20)).queued == 0
    set_sh2(warehouse, places=6, valid_at=T0 - timedelta(minutes=30), free=2)   # amber again
    assert evaluate(world, told_at + SETTLE - timedelta(microseconds=1)).queued == 0
    assert evaluate(world, told_at + SETTLE).queued == 1                        # settled: red -> amber told
    deliver(world, told_at + SETTLE)
    assert inbox.wait_for(2, 10)
    subjects = [m["Subject"] for m in inbox.messages]
    assert subjects == ["Attendering: Regio A — Vrouwenopvang voor volwassen slachtoffer: oranje → rood",
                        "Attendering: Regio A — Vrouwenopvang voor volwassen slachtoffer: rood → oranje"]


def test_one_message_names_every_cell_that_changed_together(world, inbox: MailInbox) -> None:
    warehouse, _, _ = world
    subscribe(world, scope=Scope(region_level="testregio", region_code="A", care_type="shelter"), lang="en")
    evaluate(world, T0)
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))     # SH2 serves adults and children alike
    assert evaluate(world, T0 + timedelta(minutes=1)).mails == 1
    deliver(world, T0 + timedelta(minutes=1))
    assert inbox.wait_for(1, 10)
    body = text(inbox.messages[0])
    assert inbox.messages[0]["Subject"].startswith("Alert: 2 changes — ")
    assert "Shelter for adult victim: amber → red" in body and "Shelter for child: amber → red" in body


def test_a_threshold_is_crossed_on_the_exact_value(world) -> None:
    warehouse, _, _ = world
    above_2_5 = subscribe(world, kind="threshold", scope=Scope(**{**SHELTER_A.__dict__, "metric": "norm_gap",
                                                                  "threshold": "2,5"}))
    subscribe(world, kind="threshold", scope=Scope(**{**SHELTER_A.__dict__, "metric": "norm_gap", "threshold": 3}))
    evaluate(world, T0)                                                      # gap 0: below both
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))          # gap exactly 3
    assert evaluate(world, T0 + timedelta(minutes=1)).mails == 1            # 3 > 2.5; 3 is not above 3
    (subject,) = rows(warehouse.con, "SELECT subject FROM mail_outbox")[0]
    assert subject == ("Attendering: Regio A — Vrouwenopvang voor volwassen slachtoffer: normtekort (plaatsen) 3, boven "
                       "de drempel 2,5")
    (logged,) = rows(warehouse.con, "SELECT subscription_id, transitions FROM alert_sent")
    assert logged[0] == above_2_5.subscription_id
    assert json.loads(logged[1]) == [{"item": "norm_gap:shelter:adult_victim", "from": "below", "to": "above"}]


def test_nothing_found_signals_are_told_once_a_day_when_they_pass_the_threshold(world) -> None:
    warehouse, _, _ = world
    subscribe(world, kind="signals", scope=Scope(region_level="testregio", region_code="A", threshold=2))
    morning = T0 + timedelta(hours=8)                                        # 1 July, 10:00 in Amsterdam
    add_signals(warehouse, 2, morning)
    assert evaluate(world, morning).queued == 0                              # 2 is not above 2
    add_signals(warehouse, 1, morning + timedelta(minutes=5))
    assert evaluate(world, morning + timedelta(minutes=5)).queued == 1       # 3 today
    add_signals(warehouse, 5, morning + timedelta(minutes=6))
    assert evaluate(world, morning + timedelta(minutes=6)).queued == 0       # still that day: told already
    next_day = morning + timedelta(days=1)
    add_signals(warehouse, 3, next_day)
    assert evaluate(world, next_day).queued == 1                             # a new day counts afresh
    subjects = [s for (s,) in rows(warehouse.con, "SELECT subject FROM mail_outbox ORDER BY message_id")]
    assert subjects == ["Attendering: Regio A: vandaag 3 keer ‘niets gevonden’ gemeld (drempel 2)",
                        "Attendering: Regio A: vandaag 3 keer ‘niets gevonden’ gemeld (drempel 2)"]


def test_a_source_failing_three_times_in_a_row_and_recovering(world) -> None:
    warehouse, _, _ = world
    subscribe(world, kind="source", scope=Scope(source_id="fixture", failures=3), audience="steward")
    evaluate(world, T0, timedelta(0))
    for n in range(2):
        new_run(warehouse, status="failed", at=T0 + timedelta(minutes=n))
    warehouse.publish()
    assert evaluate(world, T0 + timedelta(minutes=2), timedelta(0)).queued == 0   # 2 in a row
    new_run(warehouse, status="failed", at=T0 + timedelta(minutes=3))
    warehouse.publish()
    assert evaluate(world, T0 + timedelta(minutes=4), timedelta(0)).queued == 1
    new_run(warehouse, status="ok", at=T0 + timedelta(minutes=5))
    warehouse.publish()
    assert evaluate(world, T0 + timedelta(minutes=6), timedelta(0)).queued == 1
    (failing, failing_text), (recovered, _) = rows(
        warehouse.con, "SELECT subject, body_text FROM mail_outbox ORDER BY message_id")
    assert failing == "Attendering: Bron fixture mislukt steeds"
    assert "3 runs achter elkaar mislukt. Laatste fout: kapot bestand" in failing_text
    assert recovered == "Attendering: Bron fixture werkt weer en is actueel"


def test_a_public_subscriber_is_told_nothing_about_a_hidden_cell(world) -> None:
    warehouse, _, _ = world
    subscribe(world, audience="public")            # region A's shelter rests on 2 services: hidden in public
    evaluate(world, T0)
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))
    assert evaluate(world, T0 + timedelta(minutes=1)).queued == 0
    assert rows(warehouse.con, "SELECT count(*) FROM alert_state")[0][0] == 0


def test_an_ended_subscription_is_told_nothing(world) -> None:
    warehouse, _, store = world
    made = subscribe(world)
    evaluate(world, T0)
    assert store.end(made.subscription_id)
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))
    assert evaluate(world, T0 + timedelta(minutes=1)).evaluated == 0


def test_an_alert_queued_during_a_mail_outage_arrives_once_when_the_server_is_back(
        world, env: dict[str, str]) -> None:
    warehouse, _, _ = world
    subscribe(world)
    evaluate(world, T0)
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))
    at = T0 + timedelta(minutes=1)
    evaluate(world, at)
    assert OutboxSender(warehouse, smtp_settings()).send_due(at).retried == 1     # nobody listens on the port
    box = MailInbox()
    controller = smtp_server(box, int(env["CAPACITY_SMTP_PORT"]))
    try:
        assert OutboxSender(warehouse, smtp_settings()).send_due(at + timedelta(seconds=59)).sent == 0  # backing off
        assert OutboxSender(warehouse, smtp_settings()).send_due(at + timedelta(seconds=60)).sent == 1
        assert OutboxSender(warehouse, smtp_settings()).send_due(at + timedelta(minutes=5)).sent == 0
        assert box.wait_for(1, 10) and len(box.messages) == 1
    finally:
        controller.stop()


STATUS = "status"


@pytest.mark.parametrize(("kind", "told", "seen", "tell", "announced"), [
    (STATUS, None, "red", False, "red"),            # the first state seen is recorded, told to nobody
    (STATUS, "amber", "red", True, "red"),
    (STATUS, "green", "grey", True, "grey"),
    (STATUS, "red", "grey", True, "grey"),
    (STATUS, "red", "green", True, "green"),        # recovery
    (STATUS, "grey", "amber", True, "amber"),
    (STATUS, "green", "amber", False, "amber"),     # no message between green and amber, but remembered
    (STATUS, "amber", "green", False, "green"),
    (STATUS, "red", None, False, "red"),            # unknown (hidden) changes nothing
    ("threshold", "below", "above", True, "above"),
    ("threshold", "above", "below", True, "below"),
    ("signals", None, "above", True, "above"),      # each day starts below
    ("signals", None, "below", False, "below"),
    ("signals", "above", "below", False, "below"),
    ("source", "ok", "failing", True, "failing"),
    ("source", "failing", "stale", True, "stale"),
    ("source", "stale", "ok", True, "ok"),
])
def test_which_changes_are_told(kind: str, told: str | None, seen: str | None, tell: bool, announced: str) -> None:
    before = Told(told, None) if told else None
    after, told_now = decide(kind, before, Observation("x", seen), T0, SETTLE)
    assert told_now is tell and after.announced == announced
    assert after.announced_at == (T0 if tell else None)


def test_the_settle_time_ends_on_the_exact_microsecond() -> None:
    told = Told("red", T0)
    amber = Observation("x", "amber")
    assert decide(STATUS, told, amber, T0 + SETTLE - timedelta(microseconds=1), SETTLE) == (told, False)
    assert decide(STATUS, told, amber, T0 + SETTLE, SETTLE) == (Told("amber", T0 + SETTLE), True)


def test_the_readmes_signature_check_accepts_a_real_call_and_nothing_altered(world, receiver: HookReceiver) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    code = readme.split("Checking a call, in Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    checks: dict = {}
    exec(code, checks)                                            # the README's own function, as written there
    warehouse, _, _ = world
    hook = subscribe(world, channel="webhook", address=receiver.url)
    evaluate(world, T0)
    set_sh2(warehouse, places=1, valid_at=T0 - timedelta(hours=2))
    evaluate(world, T0 + timedelta(minutes=1))
    deliver(world, T0 + timedelta(minutes=1))
    (call,) = receiver.calls
    assert checks["genuine"](hook.secret, call.headers, call.body)
    assert not checks["genuine"](hook.secret, call.headers, call.body.replace(b"red", b"green"))
    assert not checks["genuine"]("another secret", call.headers, call.body)
