"""The ingest process itself evaluates alerts after a publication: a real `capacity ingest` with a file source,
a real SMTP server and a real webhook receiver on 127.0.0.1. One e-mail and one signed call when a region
turns red; none when it stays red; none after a restart.

Veilig Thuis region VT13 (Amsterdam-Amstelland) has about 1.07 million inhabitants, so its shelter norm is
about 107 places (1 per 10,000): one shelter of 200 places meets it, and the same shelter with 5 places
leaves a norm gap of over 100, far above 20% of the norm: red.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from alert_world import HookReceiver, MailInbox, hook_receiver, mail_env, smtp_server
from ingest.subscriptions import Scope, SubscriptionRequest, SubscriptionStore, catalogue, check_request
from queries.connection import PublishedReader
from queries.db import scalar
from queries.errors import NoPublishedData
from queries.moments import AMSTERDAM
from queries.paths import DataPaths
from support import REPO, free_port, run_cli

HEADER = ("dienst_id;dienst_naam;aanbieder_id;aanbieder_naam;zorgsoort;doelgroepen;werkgebied;peilmoment;eenheid;"
          "maximum;beschikbaar;status;wachtenden\n")
ROW = "OPV-1;Opvang Amstel;amstel;Stichting Amstel;vrouwenopvang;volwassen slachtoffer;VT13;{at};gezinsplek;{places};0;;0\n"
CONFIG = '[[sources]]\nid = "aanbod"\nkind = "file"\nschedule = "1s"\n'
FIRST_ROUND = "alerts: first round done"


def report(paths: DataPaths, name: str, places: int, at: datetime) -> None:
    """A provider's report in the source's inbox, written whole before it appears under its name."""
    folder = paths.inbox / "aanbod"
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.part"
    partial.write_text(HEADER + ROW.format(at=f"{at.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}", places=places),
                       encoding="utf-8")
    partial.rename(folder / name)


def places_published(reader: PublishedReader) -> int | None:
    try:
        with reader.cursor() as cur:
            return scalar(cur, "SELECT max(maximum) FILTER (WHERE valid_at = (SELECT max(valid_at) FROM "
                               "capacity_observation)) FROM capacity_observation")
    except NoPublishedData:
        return None


def wait_until(check, seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MailInbox, HookReceiver, dict[str, str]]]:
    env = mail_env(free_port())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    box = MailInbox()
    controller = smtp_server(box, int(env["CAPACITY_SMTP_PORT"]))
    for receiver in hook_receiver():
        yield box, receiver, env
    controller.stop()


class Ingest:
    """`capacity ingest` as a real process; its log in a file."""

    def __init__(self, paths: DataPaths, config: Path, env: dict[str, str], log: Path) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")} | env
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", "ingest", "--data-dir", str(paths.root), "--config", str(config)],
            cwd=REPO, env=full_env, stdout=log.open("ab"), stderr=subprocess.STDOUT)

    def said(self, text: str) -> int:
        return self.log.read_text(encoding="utf-8", errors="replace").count(text)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0


@pytest.mark.timeout(240)
def test_a_region_turning_red_is_mailed_and_called_once_by_the_ingest_process(
        data_paths: DataPaths, tmp_path: Path, servers) -> None:
    inbox, receiver, env = servers
    config, log = tmp_path / "sources.toml", tmp_path / "ingest.log"
    config.write_text(CONFIG, encoding="utf-8")
    now = datetime.now(AMSTERDAM)
    report(data_paths, "week1.csv", 200, now - timedelta(minutes=10))
    loaded = run_cli("ingest", "--once", "--data-dir", str(data_paths.root), "--config", str(config), env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    reader = PublishedReader(data_paths, poll_seconds=0)
    store = SubscriptionStore(data_paths.subscriptions)
    scope = Scope(region_level="veilig_thuis", region_code="VT13", care_type="shelter", target_group="adult_victim")
    with reader.cursor() as cur:
        known = catalogue(cur)
    for channel, address in (("email", "regio@example.org"), ("webhook", receiver.url)):
        store.add(check_request(SubscriptionRequest("status", channel, address, "nl", "professional", scope),
                                known), "steward", "cli")
    ingest = Ingest(data_paths, config, env, log)
    try:
        assert wait_until(lambda: ingest.said(FIRST_ROUND) == 1, 60), log.read_text()
        report(data_paths, "week2.csv", 5, now - timedelta(minutes=5))
        assert wait_until(lambda: places_published(reader) == 5, 60, step=0.02)
        published = time.monotonic()
        assert inbox.wait_for(1, 60), log.read_text()
        mailed = time.monotonic()
        assert wait_until(lambda: len(receiver.calls) == 1, 30)
        print(f"publication -> alert e-mail: {mailed - published:.2f} s")
        assert mailed - published < 30
        time.sleep(5)                                   # more publications, more rounds: nothing more
        assert (len(inbox.messages), len(receiver.calls)) == (1, 1)
        assert inbox.messages[0]["Subject"].endswith("Vrouwenopvang voor volwassen slachtoffer: groen → rood")
    finally:
        ingest.stop()
    again = Ingest(data_paths, config, env, log)       # a restart tells nothing again
    try:
        assert wait_until(lambda: again.said(FIRST_ROUND) == 2, 60), log.read_text()
        time.sleep(3)
        assert (len(inbox.messages), len(receiver.calls)) == (1, 1)
    finally:
        again.stop()
        reader.close()
