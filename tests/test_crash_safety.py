"""Crash safety of the ingest: a loading process killed with SIGKILL at random moments, again and again.

A child process (crash_probe.py) drops prepared CSV files into a file source's inbox
one by one and loads each through the real SourceRunner. The test kills it at
random moments (seeded), checks the warehouse after every kill (read-only, so the
next child replays DuckDB's WAL itself), restarts it, and finally lets a clean run
finish. Afterwards every file was loaded exactly once and ended in the archive, and
its rejected-rows report exists once, whole (a kill between a commit and the report
is finished by the next run). tests/hostile/test_hostile_crash_windows.py kills inside
each of those windows on purpose.
"""
from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from pathlib import Path

import duckdb
import pytest
from support import REPO

from queries.db import rows
from queries.paths import DataPaths

SOURCE_ID = "crashprobe"
FILES = 60
ROWS_PER_FILE = 200
INVALID_ROWS = {10: "available", 20: "service_area", 30: "care_type"}   # row index -> what is wrong
VALID_PER_FILE = ROWS_PER_FILE - len(INVALID_ROWS)
REDROP_EVERY = 6          # after every 6th file, the file three before it is dropped again under a new name
KILLS = 22
EARLY_KILL_EVERY = 6      # every 6th kill lands right after the child starts opening the warehouse
SEED = 20240611
PROBE = REPO / "tests" / "crash_probe.py"
HEADER = ("service_id,service_name,provider_name,care_type,target_groups,service_area,valid_at,unit,maximum,"
          "available,waiting_count")
ARCHIVED_NAME = re.compile(r"\d{8}T\d{6}Z-(.+)")
REPORT_NAME = re.compile(r"\d{8}T\d{6}Z-(.+)\.afgewezen\.csv")


def file_name(index: int) -> str:
    return f"f{index:02d}.csv"


def csv_content(index: int) -> bytes:
    """ROWS_PER_FILE rows for services of this file only (f07-s123), three of them invalid."""
    first = datetime(2025, 3, 1, 8, 0) + timedelta(days=index)
    lines = [HEADER]
    for row in range(ROWS_PER_FILE):
        care, groups = [("shelter", "adult_victim;child"), ("trauma_care", "adult_victim"),
                        ("peer_group", "adult_victim")][row % 3]
        area = ["GM0363", "GM0014", "GM0363;GM0014"][row % 3]
        maximum, available = 10, row % 11
        if INVALID_ROWS.get(row) == "available":
            available = 15
        if INVALID_ROWS.get(row) == "service_area":
            area = "GM9999"
        if INVALID_ROWS.get(row) == "care_type":
            care = "geen_zorgsoort"
        moment = first + timedelta(minutes=row)
        lines.append(f"f{index:02d}-s{row:03d},Dienst {index}.{row},Aanbieder {row % 5},{care},{groups},{area},"
                     f"{moment:%Y-%m-%d %H:%M},bed,{maximum},{available},{row % 4}")
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass
class Child:
    """One probe process with its stdout collected by a thread."""

    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def start(cls, data_dir: Path, config: Path, plan: Path, stderr: Path, finish: bool = False) -> Child:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAPACITY_")}
        command = [sys.executable, str(PROBE), str(data_dir), str(config), str(plan)] + (["--finish"] if finish else [])
        with stderr.open("ab") as errors:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
        child = cls(process)
        threading.Thread(target=child._read, daemon=True).start()
        return child

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.strip())
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<eof>")
            self.changed.notify_all()

    def wait_for(self, word: str, seconds: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: word in self.lines or "<eof>" in self.lines, seconds) \
                and word in self.lines

    def last(self) -> str:
        with self.changed:
            return next((line for line in reversed(self.lines) if line != "<eof>"), "")


class ReadOnly:
    """A read-only look at the warehouse: replays the WAL in memory and leaves it for the next child."""

    def __init__(self, paths: DataPaths) -> None:
        self.con = duckdb.connect(str(paths.warehouse), read_only=True)

    def __call__(self, sql: str) -> list[tuple]:
        return rows(self.con, sql)

    def __enter__(self) -> ReadOnly:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()


def archived(paths: DataPaths) -> list[str]:
    folder = paths.archive / SOURCE_ID
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def reports(paths: DataPaths) -> dict[str, list[list[str]]]:
    """The rejected-rows reports in quarantine, by the name of their file (each must be there once)."""
    found: dict[str, list[list[str]]] = {}
    for path in sorted((paths.quarantine / SOURCE_ID).glob("*.afgewezen.csv")):
        name = REPORT_NAME.fullmatch(path.name).group(1)
        assert name not in found, f"{name} has two reports"
        found[name] = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    return found


def check_consistent(paths: DataPaths, hashes: dict[str, str], when: str) -> dict[str, int]:
    """The invariants that must hold after any crash; returns observations per file prefix."""
    with ReadOnly(paths) as query:
        return _check_consistent(query, paths, hashes, when)


def _check_consistent(query: ReadOnly, paths: DataPaths, hashes: dict[str, str], when: str) -> dict[str, int]:
    runs = {run_id: (status, loaded, rejected, content_hash) for run_id, status, loaded, rejected, content_hash in
            query("SELECT run_id, status, rows_loaded, rows_rejected, content_hash FROM ingest_run")}
    per_run = dict(query("SELECT run_id, count(*) FROM capacity_observation GROUP BY run_id"))
    # no half-loaded runs: the ledger row and its observations commit together
    for run_id, (status, loaded, _, _) in runs.items():
        assert per_run.get(run_id, 0) == loaded, f"{when}: run {run_id} ({status}) says {loaded} rows, " \
                                                 f"warehouse holds {per_run.get(run_id, 0)}"
    orphans = set(per_run) - set(runs)
    assert not orphans, f"{when}: observations of runs without a ledger row: {orphans}"
    rejected_runs = dict(query("SELECT run_id, count(DISTINCT row_number) FROM rejected_row GROUP BY run_id"))
    assert set(rejected_runs) <= set(runs), f"{when}: rejected rows of unknown runs {set(rejected_runs) - set(runs)}"
    for run_id, count in rejected_runs.items():
        assert runs[run_id][2] == count, f"{when}: run {run_id} says {runs[run_id][2]} rejected, has {count}"
    # no duplicate observations
    total, distinct = query("SELECT count(*), count(DISTINCT (service_id, valid_at, source_id)) "
                                   "FROM capacity_observation")[0]
    assert total == distinct, f"{when}: {total - distinct} duplicate observations"
    # a file is loaded whole or not at all, and by one run only
    per_file = dict(query("SELECT split_part(service_id, '-', 1), count(*) FROM capacity_observation "
                                 "GROUP BY 1"))
    assert all(count == VALID_PER_FILE for count in per_file.values()), f"{when}: partial files {per_file}"
    loading_runs = Counter(content_hash for _, loaded, _, content_hash in runs.values() if loaded)
    assert all(count == 1 for count in loading_runs.values()), f"{when}: content loaded twice {loading_runs}"
    assert len(loading_runs) == len(per_file)
    seen = dict(query("SELECT content_hash, run_id FROM file_seen WHERE outcome = 'loaded'"))
    assert set(seen.values()) <= set(runs), f"{when}: file_seen points at unknown runs"
    assert set(loading_runs) <= set(seen), f"{when}: loaded content missing from file_seen"
    # files move only after their commit: whatever is in the archive was loaded
    for name in archived(paths):
        match = ARCHIVED_NAME.fullmatch(name)
        assert match, f"{when}: unexpected archive name {name}"
        assert hashes[match.group(1)] in seen, f"{when}: {name} archived but its content was never committed"
    inbox = paths.inbox / SOURCE_ID
    in_inbox = {path.name for path in inbox.iterdir() if path.suffix != ".part"} if inbox.is_dir() else set()
    in_archive = [ARCHIVED_NAME.fullmatch(name).group(1) for name in archived(paths)]
    assert not in_inbox & set(in_archive), f"{when}: both in inbox and archive: {in_inbox & set(in_archive)}"
    assert len(in_archive) == len(set(in_archive)), f"{when}: archived twice: {Counter(in_archive)}"
    # a report is written whole (never a part of one), once, and only for a committed file
    for name, lines in reports(paths).items():
        assert hashes[name] in seen, f"{when}: a report of {name}, which was never committed"
        assert len(lines) == 1 + len(INVALID_ROWS), f"{when}: the report of {name} is not whole: {lines}"
    return per_file


@pytest.mark.timeout(170)
def test_sigkill_at_random_moments_never_half_loads_or_duplicates(data_paths: DataPaths, tmp_path: Path) -> None:
    started = time.monotonic()
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    plan: list[tuple[str, str]] = []
    hashes: dict[str, str] = {}
    for index in range(FILES):
        content = csv_content(index)
        path = prepared / file_name(index)
        path.write_bytes(content)
        plan.append((path.name, str(path)))
        hashes[path.name] = sha256(content).hexdigest()
        if index % REDROP_EVERY == REDROP_EVERY - 1:
            again = prepared / file_name(index - 3)
            plan.append((f"redrop-{again.name}", str(again)))
            hashes[f"redrop-{again.name}"] = hashes[again.name]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    config = tmp_path / "sources.toml"
    config.write_text(f'[[sources]]\nid = "{SOURCE_ID}"\nkind = "file"\nschedule = "15m"\nsettle_seconds = 0\n',
                      encoding="utf-8")
    stderr = tmp_path / "probe.stderr"
    chance = random.Random(SEED)
    landed: Counter[str] = Counter()
    progress: list[int] = []

    for kill in range(1, KILLS + 1):
        child = Child.start(data_paths.root, config, plan_file, stderr)
        try:
            if kill % EARLY_KILL_EVERY == 0:
                assert child.wait_for("opening", 30), f"child {kill} did not start: {stderr.read_text()[-3000:]}"
                time.sleep(chance.uniform(0.0, 0.05))
            else:
                assert child.wait_for("ready", 30), \
                    f"child {kill} could not open the warehouse after a kill: {stderr.read_text()[-3000:]}"
                time.sleep(chance.uniform(0.05, 0.6))
            assert child.process.poll() is None, f"child {kill} stopped by itself: {stderr.read_text()[-3000:]}"
            child.process.send_signal(signal.SIGKILL)
        finally:
            if child.process.poll() is None:
                child.process.kill()
            child.process.wait(timeout=30)
        assert child.process.returncode == -signal.SIGKILL
        child.wait_for("<eof>", 5)
        last = child.last()
        landed["loading" if last == "run" else last.split()[0] if last else "starting"] += 1
        per_file = check_consistent(data_paths, hashes, f"after kill {kill} (last progress: {last!r})")
        progress.append(len(per_file))

    assert progress[-1] > progress[0], f"the children made no progress between kills: {progress}"
    assert landed["loading"] >= 5, f"too few kills landed during a load: {landed}"

    final = Child.start(data_paths.root, config, plan_file, stderr, finish=True)
    assert final.process.wait(timeout=60) == 0, f"the clean run failed: {stderr.read_text()[-3000:]}"
    assert final.wait_for("finished", 5)

    per_file = check_consistent(data_paths, hashes, "after the clean run")
    with ReadOnly(data_paths) as query:
        check_final(query, data_paths, hashes, per_file)
    print(f"\n{KILLS} kills, landed: {dict(landed)}, files loaded after each kill: {progress}, "
          f"{time.monotonic() - started:.1f} s")


def check_final(query: ReadOnly, data_paths: DataPaths, hashes: dict[str, str], per_file: dict[str, int]) -> None:
    # every dropped file loaded exactly once: observations per file = its valid rows
    assert per_file == {f"f{index:02d}": VALID_PER_FILE for index in range(FILES)}
    assert query("SELECT count(*) FROM capacity_observation")[0][0] == FILES * VALID_PER_FILE
    assert query("SELECT count(DISTINCT service_id) FROM service WHERE source_id = 'crashprobe'")[0][0] \
        == FILES * VALID_PER_FILE
    loaded_runs = query("SELECT file_name, status, rows_in, rows_loaded, rows_rejected FROM ingest_run "
                                    "WHERE rows_loaded > 0 ORDER BY file_name")
    assert loaded_runs == [(file_name(index), "partial", ROWS_PER_FILE, VALID_PER_FILE, len(INVALID_ROWS))
                           for index in range(FILES)]
    rejected = query("SELECT file_name, row_number, column_name FROM rejected_row "
                                 "ORDER BY file_name, row_number")
    # CSV line = row index + 2 (the header is line 1)
    assert rejected == [(file_name(index), row + 2, column) for index in range(FILES)
                        for row, column in sorted(INVALID_ROWS.items())]
    # re-dropped copies loaded nothing
    assert not query("SELECT file_name FROM ingest_run WHERE file_name LIKE 'redrop-%' "
                                 "AND status <> 'unchanged'")
    # every inbox file ended in the archive, once; nothing left in the inbox (not even a partial copy)
    assert list((data_paths.inbox / SOURCE_ID).iterdir()) == []
    assert sorted(ARCHIVED_NAME.fullmatch(name).group(1) for name in archived(data_paths)) == sorted(hashes)
    for name in archived(data_paths):
        original = ARCHIVED_NAME.fullmatch(name).group(1)
        assert sha256((data_paths.archive / SOURCE_ID / name).read_bytes()).hexdigest() == hashes[original]
    assert not list(data_paths.quarantine.glob(f"{SOURCE_ID}/*.fout.txt"))
    # every loaded file has its rejected-rows report, the same for all (the same three rows are wrong in each),
    # also when a kill fell between its commit and the report; nothing is left half done
    written = reports(data_paths)
    assert sorted(written) == [file_name(index) for index in range(FILES)]
    assert [(int(line[0]), line[1]) for line in written[file_name(0)][1:]] == [
        (row + 2, column) for row, column in sorted(INVALID_ROWS.items())]
    assert all(lines == written[file_name(0)] for lines in written.values())
    assert not [path for folder in (data_paths.archive, data_paths.quarantine) for path in folder.rglob("*.part")]
    assert query("SELECT count(*) FROM pending_put_away")[0][0] == 0
