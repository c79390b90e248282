"""`capacity run` (what `make run` starts): dashboard and ingest as separate processes; Ctrl-C stops both."""
from __future__ import annotations

import os
from datetime import datetime, timezone
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support import REPO, free_port, run_cli, wait_for_answer


def children_of(pid: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = cmdline
    return found


@pytest.mark.timeout(120)
def test_run_starts_ingest_and_dashboard_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    port, demo_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    output = tmp_path / "run.log"
    system = subprocess.Popen([sys.executable, "-m", "ingest.cli", "run", "--data-dir", str(tmp_path / "data"),
                               "--port", str(port), "--workers", "2", "--demo-port", str(demo_port)], cwd=tmp_path,
                              env=env, stdout=output.open("w"), stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        page = wait_for_answer(f"http://127.0.0.1:{port}/", 60)
        assert page.status_code == 200 and 'lang="nl"' in page.text
        # the dashboard starts first; ingest on its own, and without a configuration the demo's feeds beside
        # them, once the demo is written
        deadline = time.monotonic() + 30
        while True:
            children = {pid: cmd for pid, cmd in children_of(system.pid).items() if " ingest.cli " in cmd}
            roles = sorted(cmd.split(" ingest.cli ", 1)[1].split()[0] for cmd in children.values())
            if roles == ["demo", "ingest", "serve"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert roles == ["demo", "ingest", "serve"]
        assert httpx.get(f"http://127.0.0.1:{demo_port}/", timeout=5).status_code == 200
        # a second writer is refused with a clear message while the first runs (once it holds the lock)
        ingest_pid = next(pid for pid, cmd in children.items() if " ingest.cli ingest " in f"{cmd} ")
        lock = tmp_path / "data" / "ingest.lock"
        deadline = time.monotonic() + 30
        while (not lock.exists() or lock.read_text().strip() != str(ingest_pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        second = run_cli("ingest", "--data-dir", str(tmp_path / "data"), timeout=60)
        assert second.returncode == 2 and "al een ingest-proces" in second.stderr
        # Ctrl-C in a terminal: SIGINT to the whole process group, with a browser's keep-alive connections open
        browser = httpx.Client(timeout=5)
        for path in ("/", "/regio/VT13", "/_dash-layout"):
            browser.get(f"http://127.0.0.1:{port}{path}")
        started = time.monotonic()
        os.killpg(system.pid, signal.SIGINT)
        assert system.wait(timeout=30) == 0
        while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() - started < 30:
            time.sleep(0.05)
        stopped = time.monotonic() - started
        browser.close()
        assert stopped <= 3, f"everything stopped after {stopped:.1f} s"
        log = output.read_text(errors="replace")
        assert "SIGKILL" not in log and "Traceback" not in log, log[-2000:]
    finally:
        if system.poll() is None:
            system.kill()


def test_data_dir_comes_from_option_environment_or_current_folder(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "data" / "warehouse.duckdb").exists()
    from_env = tmp_path / "elsewhere"
    assert run_cli("init", cwd=tmp_path, env={"CAPACITY_DATA_DIR": str(from_env)}).returncode == 0
    assert (from_env / "warehouse.duckdb").exists()
    option = tmp_path / "option"
    assert run_cli("init", "--data-dir", str(option), cwd=tmp_path,
                   env={"CAPACITY_DATA_DIR": str(from_env)}).returncode == 0
    assert (option / "warehouse.duckdb").exists()


def test_config_defaults_to_local_sources_toml_else_the_demo(tmp_path: Path) -> None:
    from queries.settings import chosen_config_path, config_path

    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert config_path() == REPO / "examples" / "sources.toml"
        assert chosen_config_path() is None               # so `capacity run` writes and runs the demo
        (tmp_path / "sources.toml").write_text("", encoding="utf-8")
        assert config_path() == chosen_config_path() == tmp_path / "sources.toml"
        assert config_path("other.toml") == tmp_path / "other.toml"
    finally:
        os.chdir(previous)


@pytest.mark.timeout(90)
def test_ingest_records_each_sources_next_planned_run(tmp_path: Path) -> None:
    from queries.connection import PublishedReader
    from queries.errors import NoPublishedData
    from queries.health import next_runs
    from queries.paths import DataPaths

    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nid = "hourly"\nkind = "file"\nschedule = "1h"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
    ingest = subprocess.Popen([sys.executable, "-m", "ingest.cli", "ingest", "--data-dir", str(tmp_path / "data"),
                               "--config", str(config)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        reader = PublishedReader(DataPaths(tmp_path / "data"), poll_seconds=0)
        deadline = time.monotonic() + 60
        planned = None
        while planned is None and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                with reader.cursor() as cur:
                    planned = next_runs(cur).get("hourly")
            except NoPublishedData:
                continue
        # the first run happens at start; the next one an hour later (within the small jitter)
        assert planned is not None
        ahead = (planned - datetime.now(timezone.utc)).total_seconds()
        assert 3300 < ahead <= 3605, ahead
        reader.close()
    finally:
        ingest.send_signal(signal.SIGTERM)
        assert ingest.wait(timeout=30) == 0
