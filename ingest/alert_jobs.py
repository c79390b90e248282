"""The ingest process's alert jobs: evaluate after each publication (and every minute, for changes that come
with time, such as figures turning stale, and for the weekly digest when it is due), and the webhook sender. Mail goes through the
one outbox and its sender (ingest/service.py); a channel that is off (no mail server, no webhook hosts)
gets nothing queued, and its subscriptions are evaluated again once it is on.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from queries.connection import PublishedReader
from queries.errors import NoPublishedData

from .alerts import evaluate_alerts
from .digest import send_digests
from .runner import SourceRunner
from .subscriptions import Subscription, SubscriptionStore, effective
from .webhooks import WebhookSender, allowed_hosts

log = logging.getLogger("capacity.ingest")

EVALUATE_SECONDS = 60    # besides after every publication
WEBHOOK_SECONDS = 15     # how often the webhook outbox sends what is due


class AlertJobs:
    """Alerts, digests and webhook deliveries for one ingest process. Evaluation runs in a thread of its own,
    woken by each publication (a scheduler job would be skipped while a previous round still runs)."""

    def __init__(self, runner: SourceRunner, mail_on: bool, local_role: Callable[[str], str | None]) -> None:
        self.runner = runner
        self.mail_on = mail_on
        self.local_role = local_role
        self.store = SubscriptionStore(runner.paths.subscriptions)
        self.reader = PublishedReader(runner.paths, poll_seconds=0)
        self.webhooks = WebhookSender(runner.warehouse, self.store.secret_of)
        self.due = threading.Event()
        self.wake: Callable[[str], None] = lambda _job_id: None

    def subscriptions(self) -> list[Subscription]:
        """The live subscriptions whose owners may receive them, on a channel that is on."""
        hooks_on = bool(allowed_hosts())
        return [s for s in effective(self.store.active(), self.local_role)
                if (s.channel == "email" and self.mail_on) or (s.channel == "webhook" and hooks_on)]

    def evaluate(self) -> int:
        """Evaluate the alerts and queue what changed; then, when due, this week's digests. How many
        subscriptions there were (0 while nothing is published)."""
        try:
            subscriptions = self.subscriptions()
            done = evaluate_alerts(self.runner.warehouse, self.reader, subscriptions, _now())
            digests = send_digests(self.runner.warehouse, self.reader, subscriptions, _now())
        except NoPublishedData:
            return 0
        if digests:
            log.info("weekly digest: %d queued", digests)
        if done.queued or digests:
            self.runner.publish_requested.set()   # the outbox on Databronnen
            self.wake("outbox")
            self.wake("webhooks")
        return len(subscriptions)

    def deliver_webhooks(self) -> None:
        if self.webhooks.send_due(_now(), self.runner.stopping).changed:
            self.runner.publish_requested.set()

    def published(self) -> None:
        """Called after each publication: evaluate now."""
        self.due.set()

    def start(self, scheduler: BaseScheduler, stop: threading.Event) -> threading.Thread:
        """The evaluation thread and the webhook job; what a killed process left 'sending' is never sent."""
        if self.webhooks.recover_after_restart(_now()):
            self.runner.publish_requested.set()
        self.wake = lambda job_id: _wake(scheduler, job_id)
        scheduler.add_job(self.deliver_webhooks, IntervalTrigger(seconds=WEBHOOK_SECONDS), id="webhooks",
                          name="webhooks", next_run_time=datetime.now().astimezone())
        thread = threading.Thread(target=self._evaluate_until, args=(stop,), name="alerts", daemon=True)
        thread.start()
        return thread

    def _evaluate_until(self, stop: threading.Event) -> None:
        self.due.set()
        first = True
        while not stop.is_set():
            self.due.wait(EVALUATE_SECONDS)
            self.due.clear()
            if stop.is_set():
                return
            try:
                watched = self.evaluate()
            except Exception:  # noqa: BLE001 - one failed round must not end alerts; the next round retries
                log.exception("evaluating alerts failed; trying again in %d s", EVALUATE_SECONDS)
                continue
            if first:
                log.info("alerts: first round done (%d subscription(s) on a channel that is on)", watched)
                first = False


def _wake(scheduler: BaseScheduler, job_id: str) -> None:
    """Run a scheduler job now (it keeps its interval afterwards); nothing when there is no such job."""
    job = scheduler.get_job(job_id)
    if job is not None:
        job.modify(next_run_time=datetime.now().astimezone())


def _now() -> datetime:
    return datetime.now(timezone.utc)
