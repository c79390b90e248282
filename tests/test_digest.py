"""The weekly digest on shortfall_world.py's regions: once per subscription and week (also after a restart),
with its chart image and links, and for the public only what the public may see. Real SMTP on 127.0.0.1.

The digest moment is 'wed 00:30' Dutch time: 1 July 2026 00:30 = 30 June 22:30 UTC, half an hour after the
moment test_shortfall.py works the figures out for (no figure changes freshness in that half hour).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

import pytest

import shortfall_world
from alert_world import MailInbox, env, inbox
from ingest.digest import last_digest_moment, schedule_moment, send_digests
from ingest.mailer import smtp_settings
from ingest.outbox import OutboxSender
from ingest.subscriptions import Scope, Subscription, SubscriptionRequest, SubscriptionStore, catalogue, check_request
from queries.connection import PublishedReader
from queries.db import rows
from queries.errors import CapacityError
from queries.paths import DataPaths
from queries.warehouse import Warehouse

pytestmark = pytest.mark.timeout(120)
SCHEDULE = "wed 00:30"
MOMENT = datetime(2026, 6, 30, 22, 30, tzinfo=timezone.utc)
PNG = b"\x89PNG\r\n\x1a\n"
__all__ = ["env", "inbox"]  # fixtures from alert_world


@pytest.fixture(autouse=True)
def schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPACITY_DIGEST_SCHEDULE", SCHEDULE)


@pytest.fixture
def paths(tmp_path: Path, env: dict[str, str]) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    shortfall_world.build(paths)
    return paths


@pytest.fixture
def reader(paths: DataPaths) -> Iterator[PublishedReader]:
    published = PublishedReader(paths, poll_seconds=0)
    yield published
    published.close()


def subscribe(paths: DataPaths, reader: PublishedReader, *codes: str, audience: str = "professional",
              lang: str = "en", made_at: datetime = MOMENT - timedelta(days=1)) -> Subscription:
    store = SubscriptionStore(paths.subscriptions)
    with reader.cursor() as cur:
        request = check_request(SubscriptionRequest("digest", "email", "wethouder@example.org", lang, audience,
                                                    Scope(regions=tuple(("testregio", c) for c in codes))),
                                catalogue(cur))
    made = store.add(request, "steward", "cli")
    with store._connect() as con:      # the subscription was made at `made_at`
        con.execute("UPDATE subscription SET created_at = ? WHERE subscription_id = ?",
                    [made_at.timestamp(), made.subscription_id])
    return store.get(made.subscription_id)


def digests(paths: DataPaths, reader: PublishedReader, now: datetime) -> int:
    with Warehouse(paths) as warehouse:      # a fresh process each time: what a restart sees
        queued = send_digests(warehouse, reader, SubscriptionStore(paths.subscriptions).active(), now)
        OutboxSender(warehouse, smtp_settings()).send_due(now)
    return queued


def plain(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def test_the_digest_arrives_once_a_week_with_its_chart_and_links(paths, reader, inbox: MailInbox) -> None:
    subscribe(paths, reader, "B", "D")
    assert digests(paths, reader, MOMENT - timedelta(microseconds=1)) == 0    # last week's moment: made after it
    assert digests(paths, reader, MOMENT) == 1
    assert digests(paths, reader, MOMENT + timedelta(minutes=5)) == 0          # once, also after a restart
    assert inbox.wait_for(1, 10) and len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "Weekly capacity digest, week of 01-07-2026"
    text = plain(message)
    region_b, region_d = text.split("\n\nRegio D\n")
    # B: shelter has 5 places (SH1 5/11 x 11; SH3 stale) against a norm of 10; trauma care for children has
    # 12 waiting and 0 free (test_shortfall.py)
    assert "  - Shelter — adult victim: 5 places below the norm" in region_b
    assert "  - Shelter — child: 5 places below the norm" in region_b
    assert "  - Trauma care — child: 12 more waiting than free places" in region_b
    # D: SH5 alone, 2 places against 2.2 for adults and for children, both fresh; nothing else is offered
    assert "Fresh figures: 100% of the services" in region_d
    assert "  - Shelter — adult victim: 0.2 places below the norm" in region_d
    assert "https://capaciteit.example.org/regio/B?level=testregio&lang=en" in region_b
    html_part = message.get_body(preferencelist=("html",))
    related = next(part for part in message.walk() if part.get_content_type() == "multipart/related")
    images = [part for part in related.iter_parts() if part.get_content_type() == "image/png"]
    shown = re.findall(r'src="cid:([^"]+)"', html_part.get_content())
    assert sorted(part["Content-ID"].strip("<>") for part in images) == sorted(shown) == ["trend-0", "trend-1"]
    assert all(part.get_content().startswith(PNG) for part in images)
    # B's worst combination with fresh figures: shelter for adult victims (red, 5 short), its norm gap charted
    assert 'alt="12-week trend of places short of the norm for Regio B: Shelter — adult victim"' in \
        html_part.get_content()
    assert re.search(r"/attenderingen/afmelden\?id=[0-9a-f]{16}&sig=[0-9a-f]{64}&lang=en\n", text)
    assert digests(paths, reader, MOMENT + timedelta(days=7)) == 1             # next week: the next one


def test_the_digest_says_what_changed_since_a_week_ago(paths, reader, inbox: MailInbox) -> None:
    subscribe(paths, reader, "A")
    digests(paths, reader, MOMENT)
    assert inbox.wait_for(1, 10)
    text = plain(inbox.messages[0])
    # a week before, SH2 had no figure yet and SH1's of 9 June was stale: grey; now amber (test_shortfall.py)
    assert ("  - Shelter — adult victim: grey → amber (1.2 more waiting than free places)") in text
    assert ("  - Shelter — child: grey → amber (1.2 more waiting than free places)") in text


def test_a_subscription_made_after_this_weeks_moment_waits_for_the_next(paths, reader) -> None:
    subscribe(paths, reader, "B", made_at=MOMENT + timedelta(minutes=1))
    assert digests(paths, reader, MOMENT + timedelta(hours=1)) == 0
    assert digests(paths, reader, MOMENT + timedelta(days=7)) == 1


def test_a_public_digest_shows_no_hidden_cell_no_history_and_no_chart(paths, reader, inbox: MailInbox) -> None:
    subscribe(paths, reader, "A", "B", audience="public", lang="nl")
    assert digests(paths, reader, MOMENT) == 1
    assert inbox.wait_for(1, 10)
    message = inbox.messages[0]
    text = plain(message)
    # every cell of A and B with services rests on 1 or 2 of them: hidden; the public sees what has none
    assert "Een week geleden" not in text and "12 meer wachtenden" not in text and "1,2 meer" not in text
    assert "plaatsen onder de norm" not in text and "Actuele cijfers" not in text
    assert "cijfers van minder dan 3 aanbieders zijn afgeschermd en weggelaten" in text
    assert not [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert "https://capaciteit.example.org/?level=testregio" in text and "/regio/" not in text


def test_a_digest_queued_is_recorded_with_its_message(paths, reader) -> None:
    made = subscribe(paths, reader, "D")
    digests(paths, reader, MOMENT)
    with Warehouse(paths) as warehouse:
        ((subscription_id, week_of, message_id),) = rows(
            warehouse.con, "SELECT subscription_id, week_of, message_id FROM digest_sent")
        (kind,) = rows(warehouse.con, "SELECT kind FROM mail_outbox WHERE message_id = ?", [message_id])[0]
    assert (subscription_id, week_of.isoformat(), kind) == (made.subscription_id, "2026-07-01", "digest")


@pytest.mark.parametrize(("now", "expected"), [
    # Monday 30 March 2026, the day after the clocks went forward: 07:00 CEST = 05:00 UTC
    (datetime(2026, 3, 30, 5, 0, tzinfo=timezone.utc), datetime(2026, 3, 30, 5, 0, tzinfo=timezone.utc)),
    (datetime(2026, 3, 30, 4, 59, 59, 999999, tzinfo=timezone.utc), datetime(2026, 3, 23, 6, 0, tzinfo=timezone.utc)),
    # Monday 26 October 2026, the day after the clocks went back: 07:00 CET = 06:00 UTC
    (datetime(2026, 10, 26, 6, 0, tzinfo=timezone.utc), datetime(2026, 10, 26, 6, 0, tzinfo=timezone.utc)),
    (datetime(2026, 10, 26, 5, 30, tzinfo=timezone.utc), datetime(2026, 10, 19, 5, 0, tzinfo=timezone.utc)),
    # a Sunday night: last Monday
    (datetime(2026, 11, 29, 22, 0, tzinfo=timezone.utc), datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)),
])
def test_the_digest_moment_is_monday_seven_in_dutch_time(now: datetime, expected: datetime) -> None:
    assert last_digest_moment(now, "mon 07:00") == expected


@pytest.mark.parametrize("schedule", ["monday 07:00", "mon 7:00", "mon 24:00", "07:00", "", "mon 07:00 extra"])
def test_a_schedule_that_is_no_weekday_and_time_is_refused_with_its_value(schedule: str) -> None:
    with pytest.raises(CapacityError) as refused:
        schedule_moment(schedule)
    assert f"'{schedule}'" in refused.value.en
