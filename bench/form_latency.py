"""From a provider's tap on "Opslaan" to the figure on the dashboard, with the default schedule.

Starts the real processes on a small world in a temporary data folder: `capacity ingest` (the scheduler: the
built-in source `aanbieders` every 15 s, publication every 2 s) and `capacity serve`; opens a personal link over
HTTP on 127.0.0.1, then saves a new number of free places TRIALS times and times how long until the providers API
of the dashboard answers with it. Prints each time, the median and the maximum; the last line is JSON.
    .venv/bin/python bench/form_latency.py [--trials 8]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.provider_links import LinkStore  # noqa: E402

REGISTER = ("service_id;service_name;provider_id;provider_name;care_type;target_groups;service_area;valid_at;unit;"
            "maximum;available\nB1;Opvang Bench;bench;Stichting Bench;shelter;adult_victim;GM0363;{t};place;50;0\n")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
WAIT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """Keeps the (Secure) session cookie by hand, as a browser on 127.0.0.1 would."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10)
        self.cookie = ""

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        answer = self.client.request(method, path, headers=headers, **kwargs)
        for header in answer.headers.get_list("set-cookie"):
            self.cookie = header.split(";", 1)[0]
        return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="capacity-form-latency-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    env.update({"CAPACITY_SECRET_KEY": "f" * 48, "CAPACITY_DATA_DIR": str(work / "data")})
    processes: list[subprocess.Popen] = []
    try:
        inbox = work / "data" / "inbox" / "register"
        inbox.mkdir(parents=True)
        moment = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%MZ")
        (inbox / "register.csv").write_text(REGISTER.format(t=moment), encoding="utf-8")
        config = work / "sources.toml"
        config.write_text('[[sources]]\nid = "register"\nkind = "file"\nschedule = "1h"\nsettle_seconds = 0\n',
                          encoding="utf-8")
        cli = [sys.executable, "-m", "ingest.cli"]
        subprocess.run([*cli, "ingest", "--once", "register", "--config", str(config)], env=env, cwd=REPO,
                       check=True, capture_output=True)
        port = free_port()
        log = (work / "processes.log").open("wb")
        processes.append(subprocess.Popen([*cli, "ingest", "--config", str(config)], env=env, cwd=REPO, stdout=log,
                                          stderr=subprocess.STDOUT))
        processes.append(subprocess.Popen([*cli, "serve", "--port", str(port), "--workers", "2"], env=env, cwd=REPO,
                                          stdout=log, stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{port}"
        _wait_for(url)
        token = LinkStore(work / "data" / "links" / "provider_links.sqlite3").issue("bench", None, 1).token
        browser = Browser(url)
        assert browser.request("POST", "/aanbieder/link", data={"token": token}).status_code == 303
        csrf = CSRF.search(browser.request("GET", "/aanbieder").text).group(1)
        seconds = []
        for trial in range(1, args.trials + 1):
            started = time.monotonic()
            saved = browser.request("POST", "/aanbieder/dienst", data={
                "csrf": csrf, "dienst": "1", "action": "save", "available": str(trial), "maximum": "50"})
            assert saved.status_code == 303, saved.text
            while _available(url) != trial:
                assert time.monotonic() - started < WAIT_SECONDS, "the figure did not arrive"
                time.sleep(0.2)
            seconds.append(time.monotonic() - started)
            print(f"trial {trial}: {seconds[-1]:.1f} s", flush=True)
            time.sleep(3)   # a person does not tap twice in one breath
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    result = {"trials": len(seconds), "median_s": statistics.median(seconds), "max_s": max(seconds),
              "seconds": [round(s, 1) for s in seconds]}
    print(f"median {result['median_s']:.1f} s, max {result['max_s']:.1f} s (target ≤ 60 s)")
    print(json.dumps(result))


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _available(url) is not None:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("the dashboard did not come up with the registered service")


def _available(url: str) -> int | None:
    answer = httpx.get(url + "/api/v1/providers", params={"gemeente": "GM0363"}, timeout=10)
    if answer.status_code != 200:
        return None
    rows = [row for row in answer.json()["rows"] if row.get("service_id") == "B1"]
    return rows[0]["available"] if rows else None


if __name__ == "__main__":
    main()
