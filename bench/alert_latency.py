"""From a publication to the alert e-mail, through the real ingest process.

Starts `capacity ingest` on a fresh data folder (`capacity init`) with one file source read every second and a
real SMTP server (aiosmtpd) on 127.0.0.1, subscribes to Veilig Thuis region VT13's shelter status, then drops
reports that turn it red and green again TRIALS times (settle time 0, so every change is told). For each it
times the publication (the newest copy shows the new figure) to the e-mail's arrival, and the report's arrival
in the inbox to the e-mail. Baseline, in the same run: one message handed straight to the same SMTP server.
Prints each time, the median and the maximum; the last line is JSON.
    .venv/bin/python bench/alert_latency.py [--trials 6]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.mailer import build_message, send_message, smtp_settings  # noqa: E402
from ingest.subscriptions import (Scope, SubscriptionRequest, SubscriptionStore, catalogue,  # noqa: E402
                                  check_request)
from queries.connection import PublishedReader  # noqa: E402
from queries.db import scalar  # noqa: E402
from queries.errors import NoPublishedData  # noqa: E402
from queries.moments import AMSTERDAM  # noqa: E402
from queries.paths import DataPaths  # noqa: E402

HEADER = "dienst_id;dienst_naam;aanbieder_id;aanbieder_naam;zorgsoort;doelgroepen;werkgebied;peilmoment;eenheid;maximum\n"
ROW = "OPV-1;Opvang Amstel;amstel;Stichting Amstel;vrouwenopvang;volwassen slachtoffer;VT13;{at};gezinsplek;{places}\n"
NEWEST = ("SELECT max(maximum) FILTER (WHERE valid_at = (SELECT max(valid_at) FROM capacity_observation)) "
          "FROM capacity_observation")
WAIT_SECONDS = 60


class Inbox:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.arrived:
            self.arrivals.append(time.monotonic())
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.arrivals) >= count, timeout=WAIT_SECONDS):
                raise SystemExit("the alert e-mail did not arrive")
            return self.arrivals[count - 1]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report(folder: Path, name: str, places: int, at: datetime) -> float:
    """Drop a report into the source's inbox (written whole, then renamed); the moment it appeared."""
    partial = folder / f".{name}.part"
    partial.write_text(HEADER + ROW.format(at=f"{at.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}", places=places),
                       encoding="utf-8")
    partial.rename(folder / name)
    return time.monotonic()


def newest_places(reader: PublishedReader) -> int | None:
    try:
        with reader.cursor() as cur:
            return scalar(cur, NEWEST)
    except NoPublishedData:
        return None


def wait_until(check, seconds: float = WAIT_SECONDS) -> float:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.01)
    raise SystemExit("timed out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="capacity-alert-latency-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    env.update({"CAPACITY_DATA_DIR": str(work / "data"), "CAPACITY_SMTP_HOST": "127.0.0.1",
                "CAPACITY_SMTP_PORT": str(port), "CAPACITY_SMTP_SECURITY": "none",
                "CAPACITY_MAIL_FROM": "Capaciteit <noreply@example.org>", "CAPACITY_ALERT_SETTLE_MINUTES": "0"})
    os.environ.update(env)
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    paths = DataPaths(work / "data")
    folder = paths.inbox / "aanbod"
    ingest = None
    try:
        cli = [sys.executable, "-m", "ingest.cli"]
        subprocess.run([*cli, "init"], env=env, cwd=REPO, check=True, capture_output=True)
        folder.mkdir(parents=True)
        config = work / "sources.toml"
        config.write_text('[[sources]]\nid = "aanbod"\nkind = "file"\nschedule = "1s"\n', encoding="utf-8")
        start = datetime.now(AMSTERDAM) - timedelta(hours=2)
        report(folder, "0.csv", 200, start)
        subprocess.run([*cli, "ingest", "--once", "--config", str(config)], env=env, cwd=REPO, check=True,
                       capture_output=True)
        reader = PublishedReader(paths, poll_seconds=0)
        with reader.cursor() as cur:
            known = catalogue(cur)
        SubscriptionStore(paths.subscriptions).add(check_request(SubscriptionRequest(
            "status", "email", "regio@example.org", "nl", "professional",
            Scope(region_level="veilig_thuis", region_code="VT13", care_type="shelter",
                  target_group="adult_victim")), known), "bench", "cli")
        log = (work / "ingest.log").open("wb")
        ingest = subprocess.Popen([*cli, "ingest", "--config", str(config)], env=env, cwd=REPO, stdout=log,
                                  stderr=subprocess.STDOUT)
        wait_until(lambda: "alerts: first round done" in (work / "ingest.log").read_text(errors="replace"))
        from_publication, from_report = [], []
        for trial in range(1, args.trials + 1):
            places = 5 if trial % 2 else 200                     # red, then green again
            dropped = report(folder, f"{trial}.csv", places, start + timedelta(minutes=trial))
            published = wait_until(lambda: newest_places(reader) == places)
            mailed = inbox.wait_for(trial)
            from_publication.append(mailed - published)
            from_report.append(mailed - dropped)
            print(f"trial {trial}: publication -> e-mail {from_publication[-1]:.2f} s, report -> e-mail "
                  f"{from_report[-1]:.2f} s", flush=True)
        reader.close()
        baseline = []
        settings = smtp_settings()
        for _ in range(5):
            began = time.monotonic()
            send_message(settings, build_message(settings.mail_from, "regio@example.org", "baseline", "baseline"))
            baseline.append(time.monotonic() - began)
    finally:
        if ingest is not None:
            ingest.terminate()
            ingest.wait(timeout=30)
        smtp.stop()
        shutil.rmtree(work, ignore_errors=True)
    smtp_s = statistics.median(baseline)
    result = {"trials": len(from_publication), "median_s": statistics.median(from_publication),
              "max_s": max(from_publication), "report_median_s": statistics.median(from_report),
              "report_max_s": max(from_report), "smtp_send_s": smtp_s,
              "ratio_to_smtp": statistics.median(from_publication) / smtp_s,
              "seconds": [round(s, 2) for s in from_publication]}
    print(f"publication -> alert e-mail: median {result['median_s']:.2f} s, max {result['max_s']:.2f} s; report -> "
          f"e-mail median {result['report_median_s']:.2f} s; one direct SMTP send {smtp_s * 1000:.0f} ms "
          f"({result['ratio_to_smtp']:.0f}×)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
