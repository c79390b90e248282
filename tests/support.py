"""Helpers for tests: the CLI as a real process, a free loopback port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `capacity ARGS` as a real process and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ingest.cli", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
