"""`capacity run`: the ingest process and the dashboard side by side (and, for the demo, its feeds);
Ctrl-C stops all."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from queries.paths import DataPaths

from .demo.generate import demo_folder

STOP_GRACE_SECONDS = 15
DEMO_START_SECONDS = 15


def run_system(paths: DataPaths, initialise: Callable[[], object], config: Path | None, host: str, port: int,
               workers: int, threads: int, demo_port: int | None = None) -> int:
    """Start `capacity serve`; bring the warehouse up to date with `initialise` while, without a
    configuration (`config` None), `capacity demo` writes the demo beside it; then start `capacity ingest`
    (and `capacity demo serve` for the demo). Stop all when one ends or on a signal."""
    common = [sys.executable, "-m", "ingest.cli"]
    root = ["--data-dir", str(paths.root)]
    children = {"serve": subprocess.Popen([*common, "serve", *root, "--host", host, "--port", str(port),
                                           "--workers", str(workers), "--threads", str(threads)])}
    if config is None:
        children["demo writer"] = subprocess.Popen([*common, "demo", *root, "--port", str(demo_port)])
    try:
        initialise()
        if config is None:
            if children.pop("demo writer").wait() != 0:
                raise SystemExit("capacity demo failed")
            config = demo_folder(paths) / "sources.toml"
            children["demo"] = _start_demo(common, paths, demo_port)
    except BaseException:
        _stop_all(children)
        raise
    children["ingest"] = subprocess.Popen([*common, "ingest", *root, "--config", str(config)])
    print(f"Dashboard: http://{host}:{port}/  (ingest pid {children['ingest'].pid}, "
          f"web pid {children['serve'].pid}; Ctrl-C stopt alles / stops everything)", flush=True)
    stopping = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while stopping["signal"] is None and all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
    finally:
        _stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping["signal"] is not None:
        return 0
    failed = [name for name, child in children.items() if child.returncode not in (0, None)]
    print(f"Gestopt omdat {', '.join(failed) or 'een proces'} eindigde / stopped because "
          f"{', '.join(failed) or 'a process'} ended", file=sys.stderr)
    return 1


def _start_demo(common: list[str], paths: DataPaths, port: int) -> subprocess.Popen:
    """`capacity demo serve`, waited for (a while) so that ingest's first fetches find it listening."""
    child = subprocess.Popen([*common, "demo", "serve", "--data-dir", str(paths.root), "--port", str(port)])
    deadline = time.monotonic() + DEMO_START_SECONDS
    while child.poll() is None and time.monotonic() < deadline and not _listening(port):
        time.sleep(0.1)
    return child


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop_all(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
