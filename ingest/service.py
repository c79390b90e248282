"""`capacity ingest`: the one writer process, an APScheduler job per source."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from dashboard.users import local_role, users_file
from queries.paths import DataPaths
from queries.text import log_in_one_line
from queries.warehouse import Warehouse

from .alert_jobs import AlertJobs
from .config import SourceConfig, load_sources
from .mailer import SmtpSettings, smtp_settings
from .outbox import OutboxSender
from .provider_links import LinkStore
from .provider_mail import personaliser
from .quarantine import remove_partial_copies
from .reference_load import initialise
from .reminders import queue_reminders
from .runner import RunSummary, SourceRunner
from .schedule import TIMEZONE, build_trigger
from .provider_form import form_source
from .signals import signal_source
from .single_instance import IngestLock

log = logging.getLogger("capacity.ingest")
JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 300}
FETCH_THREADS = 4
PUBLISH_EVERY_SECONDS = 2
STOP_SECONDS = 1.5
LEDGER_PUBLISH_SECONDS = 60
REMINDER_MINUTES = 5     # how often reminders are looked for (a shelter's 75% comes 36 hours after its figure)
OUTBOX_SECONDS = 30      # how often the outbox sends what is due


def run_ingest_service(paths: DataPaths, config_path: Path, once: list[str] | None = None) -> int:
    """Run the scheduler until stopped, or (with `once`) run sources now and report. Exit code 1 when one failed."""
    log_in_one_line()
    for noisy in ("apscheduler", "httpx"):   # our own lines say what each run did
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sources = with_builtin_sources(load_sources(config_path), paths)
    with IngestLock(paths.ingest_lock), Warehouse(paths) as warehouse:
        initialise(warehouse)
        remove_partial_copies(paths)   # of copies and reports a kill interrupted; each source's first run redoes them
        runner = SourceRunner(warehouse, paths)
        if once is not None:
            return _run_once(runner, _select(sources, once))
        _run_scheduler(runner, sources)
    return 0


def builtin_sources(paths: DataPaths) -> list[SourceConfig]:
    """The sources the ingester always runs besides the configured ones: the web's demand signals and the
    providers' own figures."""
    return [signal_source(paths), form_source(paths)]


def with_builtin_sources(configured: list[SourceConfig], paths: DataPaths) -> list[SourceConfig]:
    """The configured sources followed by the built-in ones, whose ids no configured source may take."""
    builtin = builtin_sources(paths)
    taken = sorted({source.id for source in builtin} & {source.id for source in configured})
    if taken:
        from .config import ConfigError

        raise ConfigError(f"Bron-id(s) {', '.join(taken)} zijn ingebouwd; kies voor de geconfigureerde bron een "
                          "ander id", f"Source id(s) {', '.join(taken)} are built in; give the configured source "
                          "another id")
    return configured + builtin


def _raise_keyboard_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def publish_if_requested(runner: SourceRunner, ledger_every_seconds: float = LEDGER_PUBLISH_SECONDS) -> bool:
    """Publish for readers once after any number of committed runs (coalesces bursts of small runs); runs that
    only added ledger rows (unchanged, next planned run) are published at most every `ledger_every_seconds`.
    Whether it published."""
    now = time.monotonic()
    ledger_due = runner.ledger_changed.is_set() and now - runner.last_published >= ledger_every_seconds
    if runner.publish_requested.is_set() or ledger_due:
        runner.publish_requested.clear()
        runner.ledger_changed.clear()
        runner.last_published = now
        runner.warehouse.publish()
        return True
    return False


def _publish_until(runner: SourceRunner, stop: threading.Event, published: Callable[[], None]) -> None:
    """Every PUBLISH_EVERY_SECONDS, publish what was committed since, then call `published`. A thread of its
    own: source jobs that run long (a backlog of files) must not hold back the figures they have committed."""
    while not stop.wait(PUBLISH_EVERY_SECONDS):
        try:
            if publish_if_requested(runner):
                published()
        except Exception:  # noqa: BLE001 - a failed publication is retried at the next tick; readers keep the last
            log.exception("publishing for readers failed; trying again in %d s", PUBLISH_EVERY_SECONDS)
            runner.publish_requested.set()


def _select(sources: list[SourceConfig], ids: list[str]) -> list[SourceConfig]:
    if not ids:
        return sources
    by_id = {source.id: source for source in sources}
    unknown = [source_id for source_id in ids if source_id not in by_id]
    if unknown:
        from .config import ConfigError

        raise ConfigError(f"Onbekende bron(nen): {', '.join(unknown)}", f"Unknown source(s): {', '.join(unknown)}")
    return [by_id[source_id] for source_id in ids]


def _run_once(runner: SourceRunner, sources: list[SourceConfig]) -> int:
    summaries: list[RunSummary] = [runner.run(source) for source in sources]
    publish_if_requested(runner, ledger_every_seconds=0)
    for summary in summaries:
        print(summary.line())
    return 1 if any(summary.status == "failed" for summary in summaries) else 0


def _run_scheduler(runner: SourceRunner, sources: list[SourceConfig]) -> None:
    scheduler = BlockingScheduler(timezone=TIMEZONE, job_defaults=JOB_DEFAULTS,
                                  executors={"default": ThreadPoolExecutor(FETCH_THREADS)})
    for source in sources:
        scheduler.add_job(runner.run, build_trigger(source.schedule), args=[source], id=source.id,
                          name=f"source {source.id}", next_run_time=datetime.now().astimezone())
    source_ids = {source.id for source in sources}
    scheduler.add_listener(lambda event: event.job_id in source_ids and _record_next_run(scheduler, runner,
                                                                                          event.job_id),
                           EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    for source in sources:
        runner.record_next_run(source.id, scheduler.get_job(source.id).next_run_time)
    mail = _add_mail_jobs(scheduler, runner)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    stop = threading.Event()
    alerts = AlertJobs(runner, mail is not None, lambda name: local_role(users_file(runner.paths.root), name))
    evaluating = alerts.start(scheduler, stop)
    runner.publish_requested.set()   # what the previous process committed after its last publication
    publisher = threading.Thread(target=_publish_until, args=(runner, stop, alerts.published), name="publisher",
                                 daemon=True)
    publisher.start()
    log.info("ingest started: %d source(s), data folder %s", len(sources), runner.paths.root)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        _stop(scheduler, runner, stop, (publisher, evaluating), alerts.due)


def queue_reminders_if_mail_on(warehouse: Warehouse, links: LinkStore, mail: SmtpSettings | None,
                               now: datetime) -> int:
    """Queue the reminders due at `now`, only when mail can be sent (else nothing: they would pile up)."""
    return queue_reminders(warehouse, links, now) if mail is not None else 0


def _add_mail_jobs(scheduler: BlockingScheduler, runner: SourceRunner) -> SmtpSettings | None:
    """The reminder and outbox jobs; what a killed process left 'sending' is never sent again. The mail
    settings (None: mail is off)."""
    mail = smtp_settings()
    sender = OutboxSender(runner.warehouse, mail, personaliser(runner.links))
    if sender.recover_after_restart(datetime.now(timezone.utc)):
        runner.publish_requested.set()
    if mail is None:
        log.info("mail is off (CAPACITY_SMTP_HOST is empty): no reminders or e-mail alerts are sent")
        return None

    def remind() -> None:
        if queue_reminders_if_mail_on(runner.warehouse, runner.links, mail, datetime.now(timezone.utc)):
            runner.publish_requested.set()

    def send() -> None:
        if sender.send_due(datetime.now(timezone.utc), runner.stopping).changed:
            runner.publish_requested.set()

    now = datetime.now().astimezone()
    scheduler.add_job(remind, IntervalTrigger(minutes=REMINDER_MINUTES), id="reminders", name="reminders",
                      next_run_time=now)
    scheduler.add_job(send, IntervalTrigger(seconds=OUTBOX_SECONDS), id="outbox", name="outbox", next_run_time=now)
    return mail


def _stop(scheduler: BlockingScheduler, runner: SourceRunner, stop: threading.Event,
          threads: tuple[threading.Thread, ...], wake: threading.Event) -> None:
    """Stop within STOP_SECONDS: no new job or batch starts; running ones (and the publisher and alerts
    threads, woken by `wake`) get the time that is left to finish. A run still busy after that is left to roll
    back: the process ends without closing the warehouse (what was committed is in DuckDB's write-ahead log;
    the open transaction is lost, as with a crash). No thread is left inside DuckDB while Python shuts down."""
    for sig in (signal.SIGINT, signal.SIGTERM):   # Ctrl-C reaches the whole group, `capacity run` sends TERM too
        signal.signal(sig, signal.SIG_IGN)
    deadline = time.monotonic() + STOP_SECONDS
    runner.stopping.set()
    stop.set()
    wake.set()
    if scheduler.running:
        scheduler.shutdown(wait=False)
    finished = runner.wait_until_idle(max(0.0, deadline - time.monotonic()))
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if finished and not any(thread.is_alive() for thread in threads):
        log.info("ingest stopped")
        return
    log.warning("ingest stopped with a source run or publication unfinished; it is rolled back and done again "
                "at the next start")
    logging.shutdown()
    os._exit(0)


def _record_next_run(scheduler: BlockingScheduler, runner: SourceRunner, job_id: str) -> None:
    """After a source's job, keep its next planned run in the warehouse (for the data-health page)."""
    job = scheduler.get_job(job_id)
    if job is not None:
        runner.record_next_run(job_id, job.next_run_time)
