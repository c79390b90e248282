"""The dashboard's gunicorn workers stop at once on Ctrl-C, also while requests keep coming
(dashboard/server.py QuitSafeThreadWorker)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from gunicorn.config import Config

from dashboard.server import QuitSafeThreadWorker
from support import free_port, wait_for_answer

APP = """def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


@pytest.mark.timeout(20)
def test_a_quit_signal_inside_the_pools_lock_ends_the_worker_at_once() -> None:
    """Ctrl-C reaches a worker twice (SIGINT from the terminal, SIGQUIT from the master): the second handler
    can run while the main thread holds the pool's lock (inside the first one's pool shutdown, or handing a
    request to the pool). gunicorn's own handler waited there on itself until the worker was killed."""
    worker = QuitSafeThreadWorker(0, os.getppid(), [], None, 30, Config(), None)
    worker.tpool = worker.get_thread_pool()
    started = time.monotonic()
    try:
        with worker.tpool._shutdown_lock:   # where the main thread was when the second signal came
            with pytest.raises(SystemExit):
                worker.handle_quit(signal.SIGQUIT, None)
    finally:
        worker.tpool.shutdown()
    assert time.monotonic() - started < 2
    assert not worker.alive


@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_server_at_once_while_requests_keep_coming(tmp_path: Path) -> None:
    (tmp_path / "tiny_app.py").write_text(APP, encoding="utf-8")
    for attempt in range(6):
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--graceful-timeout", "10",
             "--worker-class", "dashboard.server.QuitSafeThreadWorker", "--bind", f"127.0.0.1:{port}",
             "--chdir", str(tmp_path), "tiny_app:app"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        stop = threading.Event()
        try:
            wait_for_answer(f"http://127.0.0.1:{port}/", 20)
            clients = [threading.Thread(target=_keep_asking, args=(port, stop), daemon=True) for _ in range(4)]
            for client in clients:
                client.start()
            time.sleep(0.3 + 0.05 * attempt)
            started = time.monotonic()
            os.killpg(server.pid, signal.SIGINT)   # Ctrl-C in a terminal: the whole process group
            server.wait(timeout=30)
            stopped = time.monotonic() - started
        finally:
            stop.set()
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log = server.stderr.read()
        assert stopped < 3 and "SIGKILL" not in log, f"stop {attempt + 1} took {stopped:.1f} s: {log[-1500:]}"


def _keep_asking(port: int, stop: threading.Event) -> None:
    """Requests on kept-alive connections until told to stop (or the server is gone)."""
    while not stop.is_set():
        try:
            with httpx.Client(timeout=2) as client:
                for _ in range(20):
                    client.get(f"http://127.0.0.1:{port}/")
        except httpx.HTTPError:
            time.sleep(0.01)
