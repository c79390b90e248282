"""Alerts: after a publication the ingest process compares what each subscription watches with what it last
told the subscriber, and queues one message (an e-mail or a webhook call) per subscription whose watched
things changed. Nothing here runs in a web worker.

What a subscription watches is observed on the newest published copy, through the subscriber's audience (the
public sees suppressed cells as unknown). Per watched item, `alert_state` keeps what was last told (or first
seen) and when. A change is told when it matters (`notable`): a status turning red or grey or recovering
from it; a threshold crossed either way; a day's 'nothing found' signals rising above the threshold; a source
starting or stopping to fail or to be stale. After a message about an item, the next one about it waits until
the settle time has passed; if the item is back to what was last told by then, nothing is sent. The state,
the queued message and its log row commit in one transaction, so a restart never tells anything twice.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

import duckdb

from queries import settings
from queries.connection import PublishedReader
from queries.db import rows, run, scalar
from queries.health import SourceHealth, source_health
from queries.moments import AMSTERDAM
from queries.reference import care_labels
from queries.shortfall import Shortfall, shortfall
from queries.signals import signals_between
from queries.status import exceeds
from queries.suppression import SUPPRESSED, public_shortfall
from queries.warehouse import Warehouse

from .alert_messages import Event, alert_mail, alert_payload
from .outbox import OutgoingMail, enqueue
from .subscriptions import ALL_SOURCES, Scope, Subscription
from .webhooks import OutgoingWebhook, enqueue_webhooks

log = logging.getLogger("capacity.ingest")

ALERT_KIND = "alert"
BAD_STATUSES = ("red", "grey")
STORED = """
SELECT subscription_id, item, announced, announced_at, seen FROM alert_state
WHERE subscription_id IN (SELECT unnest(?::VARCHAR[]))"""
SAVE_STATE = """
INSERT INTO alert_state (subscription_id, item, announced, announced_at, seen, seen_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (subscription_id, item) DO UPDATE
SET announced = excluded.announced, announced_at = excluded.announced_at, seen = excluded.seen,
    seen_at = excluded.seen_at"""
NEXT_ALERT = "SELECT nextval('alert_id')"
LOG_ALERT = """
INSERT INTO alert_sent (alert_id, subscription_id, kind, publication, evaluated_at, transitions, message_id,
                        delivery_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""


@dataclass(frozen=True)
class Observation:
    """One watched item now: its state (None: unknown, nothing is told) and the facts a message gives."""

    item: str
    state: str | None
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Told:
    """What alert_state holds for an item: the state last told (or first seen) and when it was told."""

    announced: str
    announced_at: datetime | None


@dataclass
class AlertRound:
    """What one evaluation did."""

    evaluated: int = 0
    mails: int = 0
    webhooks: int = 0
    held: int = 0

    @property
    def queued(self) -> int:
        return self.mails + self.webhooks


def settle_time() -> timedelta:
    return timedelta(minutes=int(settings.get("alert_settle_minutes")))


def notable(kind: str, before: str, after: str) -> bool:
    """Whether a change from `before` to `after` is worth a message for a subscription of `kind`."""
    if kind == "status":
        return after in BAD_STATUSES or before in BAD_STATUSES
    if kind == "signals":
        return after == "above"
    return True


def decide(kind: str, told: Told | None, observed: Observation, now: datetime,
           settle: timedelta) -> tuple[Told | None, bool]:
    """The item's new told state and whether to tell it now. Unknown states change nothing; the first state
    seen is recorded untold (signals start each day 'below'); a change that matters is told unless the last
    message about the item is younger than the settle time (then it waits: the state stays as told)."""
    if observed.state is None:
        return told, False
    if told is None:
        if kind != "signals":
            return Told(observed.state, None), False
        told = Told("below", None)
    if observed.state == told.announced:
        return told, False
    if not notable(kind, told.announced, observed.state):
        return Told(observed.state, told.announced_at), False
    if told.announced_at is not None and now - told.announced_at < settle:
        return told, False
    return Told(observed.state, now), True


def evaluate_alerts(warehouse: Warehouse, reader: PublishedReader, subscriptions: list[Subscription],
                    now: datetime, settle: timedelta | None = None) -> AlertRound:
    """Observe every (non-digest) subscription on the newest copy and queue what changed; one transaction."""
    settle = settle_time() if settle is None else settle
    watching = [s for s in subscriptions if s.kind != "digest"]
    summary = AlertRound(evaluated=len(watching))
    if not watching:
        return summary
    with reader.snapshot() as (publication, cur):
        labels = care_labels(cur)
        figures = Figures(cur, now)
        observed = {s.subscription_id: observe(figures, s, labels) for s in watching}
    with warehouse.transaction() as con:
        told, seen = _stored(con, [s.subscription_id for s in watching])
        for subscription in watching:
            events = []
            for observation in observed[subscription.subscription_id]:
                before = told.get((subscription.subscription_id, observation.item))
                after, tell = decide(subscription.kind, before, observation, now, settle)
                if after is None or observation.state is None:
                    continue
                if after != before or seen.get((subscription.subscription_id, observation.item)) != observation.state:
                    _save(con, subscription.subscription_id, observation, after, now)
                if tell:
                    events.append(Event(observation.item, before.announced if before else "below",
                                        observation.state, observation.facts))
                elif observation.state != after.announced:
                    summary.held += 1
            if events:
                _queue(con, subscription, events, publication.sequence, now, summary)
    return summary


class Figures:
    """The newest copy's figures at one moment, each selection read once per round however many
    subscriptions watch it."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, now: datetime) -> None:
        self.cur, self.now = cur, now
        self._read: dict[tuple, list] = {}

    def cells(self, audience: str, scope: Scope) -> list[Shortfall]:
        """A region's cells as the audience sees them (the public: suppressed over the whole level)."""
        public = audience == "public"
        key = ("cells", public, scope.region_level, scope.region_code, scope.care_type, scope.target_group)
        if key not in self._read:
            read = public_shortfall if public else _shortfall_of
            self._read[key] = read(self.cur, scope.region_level or "", self.now, scope.care_type,
                                   scope.target_group, scope.region_code)
        return self._read[key]

    def sources(self) -> list[SourceHealth]:
        if ("sources",) not in self._read:
            self._read[("sources",)] = source_health(self.cur, self.now)
        return self._read[("sources",)]


def _shortfall_of(cur: duckdb.DuckDBPyConnection, level: str, now: datetime, care_type: str | None,
                  target_group: str | None, region: str | None) -> list[Shortfall]:
    return shortfall(cur, level, now, care_type, target_group, region=region)


def observe(figures: Figures, subscription: Subscription,
            labels: dict[tuple[str, str], tuple[str, str]]) -> list[Observation]:
    """The items a subscription watches, as its audience sees them at the round's moment."""
    scope = subscription.scope
    if subscription.kind == "source":
        return [_source_observation(h, scope.failures or 1) for h in figures.sources()
                if scope.source_id in (ALL_SOURCES, h.source_id)]
    if subscription.kind == "signals":
        return [_signals_observation(figures.cur, subscription, figures.now)]
    cells = figures.cells(subscription.audience, scope)
    if subscription.kind == "status":
        return [Observation(f"cell:{c.care_type}:{c.target_group}", None if c.status == SUPPRESSED else c.status,
                            _cell_facts(c, labels)) for c in cells]
    return [_threshold_observation(c, scope.metric or "", scope.threshold or 0.0, labels) for c in cells]


def _cell_facts(cell: Shortfall, labels: dict[tuple[str, str], tuple[str, str]]) -> dict:
    care, group = labels[("care_type", cell.care_type)], labels[("target_group", cell.target_group)]
    return {"region_level": cell.region_level, "region_code": cell.region_code, "region_name": cell.region_name,
            "care_type": cell.care_type, "target_group": cell.target_group, "care_type_nl": care[0],
            "care_type_en": care[1], "target_group_nl": group[0], "target_group_en": group[1],
            "status": cell.status, "reasons_nl": list(cell.reasons_nl), "reasons_en": list(cell.reasons_en)}


def _threshold_observation(cell: Shortfall, metric: str, threshold: float,
                           labels: dict[tuple[str, str], tuple[str, str]]) -> Observation:
    value = None if cell.status == SUPPRESSED else getattr(cell, metric)
    state = None if value is None else "above" if exceeds(value, threshold) else "below"
    facts = {**_cell_facts(cell, labels), "metric": metric, "value": value, "threshold": threshold}
    return Observation(f"{metric}:{cell.care_type}:{cell.target_group}", state, facts)


def _signals_observation(cur: duckdb.DuckDBPyConnection, subscription: Subscription, now: datetime) -> Observation:
    """Today's (Dutch day) 'nothing found' signals in the region against the threshold; one item per day."""
    scope = subscription.scope
    day = now.astimezone(AMSTERDAM).date()
    midnight = datetime.combine(day, time(0), tzinfo=AMSTERDAM)
    found = signals_between(cur, scope.region_level or "", midnight - timedelta(microseconds=1), now,
                            scope.region_code)
    count = sum(s.signals for s in found)
    state = "above" if exceeds(count, scope.threshold or 0.0) else "below"
    name = found[0].region_name if found else scope.region_code
    return Observation(f"signals:{day.isoformat()}", state, {
        "region_level": scope.region_level, "region_code": scope.region_code, "region_name": name,
        "day": day.isoformat(), "signals": count, "threshold": scope.threshold})


def _source_observation(health: SourceHealth, failures: int) -> Observation:
    state = ("failing" if health.consecutive_failures >= failures else "stale" if health.stale else "ok")
    return Observation(f"source:{health.source_id}", state, {
        "source_id": health.source_id, "consecutive_failures": health.consecutive_failures, "failures": failures,
        "last_error_nl": health.last_error_nl, "last_error_en": health.last_error_en,
        "newest_valid_at": health.newest_valid_at.isoformat() if health.newest_valid_at else None})


def _stored(con: duckdb.DuckDBPyConnection, ids: list[str]
            ) -> tuple[dict[tuple[str, str], Told], dict[tuple[str, str], str]]:
    """What was told and what was last seen, per (subscription, item)."""
    found = rows(con, STORED, [ids])
    return ({(sid, item): Told(announced, at.astimezone(timezone.utc) if at else None)
             for sid, item, announced, at, _ in found},
            {(sid, item): seen for sid, item, _, _, seen in found})


def _save(con: duckdb.DuckDBPyConnection, subscription_id: str, observation: Observation, told: Told,
          now: datetime) -> None:
    run(con, SAVE_STATE, [subscription_id, observation.item, told.announced, told.announced_at, observation.state,
                          now])


def _queue(con: duckdb.DuckDBPyConnection, subscription: Subscription, events: list[Event], publication: int,
           now: datetime, summary: AlertRound) -> None:
    """Queue the subscription's one message about `events` and log it, in the caller's transaction."""
    alert_id = scalar(con, NEXT_ALERT)
    message_id = delivery_id = None
    if subscription.channel == "email":
        subject, text, html = alert_mail(subscription, events, now)
        (message_id,) = enqueue(con, [OutgoingMail(ALERT_KIND, subscription.address, subject, text, html)], now)
        summary.mails += 1
    else:
        body = json.dumps(alert_payload(subscription, events, alert_id, publication, now), ensure_ascii=False,
                          sort_keys=True)
        (delivery_id,) = enqueue_webhooks(con, [OutgoingWebhook(subscription.subscription_id, subscription.address,
                                                                body)], now)
        summary.webhooks += 1
    run(con, LOG_ALERT, [alert_id, subscription.subscription_id, subscription.kind, publication, now,
                         json.dumps([{"item": e.item, "from": e.before, "to": e.after} for e in events]),
                         message_id, delivery_id])
    log.info("alert %d for subscription %s: %s", alert_id, subscription.subscription_id,
             ", ".join(f"{e.item} {e.before}→{e.after}" for e in events))
