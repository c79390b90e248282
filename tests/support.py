"""Helpers for tests: the CLI and the dashboard as real processes, a free loopback port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from queries.paths import DataPaths

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run `capacity ARGS` as a real process and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ingest.cli", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout, input=stdin)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_answer(url: str, seconds: float) -> httpx.Response:
    """GET `url` until the server answers at all (any status), for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def dashboard(paths: DataPaths, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """`capacity serve` (gunicorn, one worker) on a free loopback port with these settings; yields its URL."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    full_env.update(env or {})
    output = log.open("wb") if log else subprocess.DEVNULL
    server = subprocess.Popen([sys.executable, "-m", "ingest.cli", "serve", "--data-dir", str(paths.root),
                               "--port", str(port), "--workers", "1", "--threads", "4"], cwd=REPO, env=full_env,
                              stdout=output, stderr=subprocess.STDOUT if log else subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(url + "/assets/style.css", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "dashboard exited at start"
                assert time.monotonic() < deadline, "dashboard did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)
        if log:
            output.close()
