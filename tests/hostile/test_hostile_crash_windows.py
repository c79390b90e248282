"""The ingest killed with SIGKILL inside each window between a batch's commit and the last file operation
of its put-away (the named points of ingest/crashpoints.py), then restarted: every artefact exists once,
identical to what a run without a kill writes, no `.part` file is left, one ledger run per file.

One data folder holds a file source per scenario (a kind of file x a crash point), each with one file in
its inbox. `capacity ingest --once SOURCE` runs as a real process with CAPACITY_CRASH_AT set and must die
at that point; the folder is then looked at (read-only) to see that the kill landed inside the window.
Other sources are not run by it, so their interrupted put-aways wait. One `capacity ingest --once` of all
sources then finishes them; a second data folder, loaded by one run without any kill (beside the kills,
on the other core), is what every artefact and ledger row is compared with. The kinds of file:

| kind | what a run without a kill leaves |
| --- | --- |
| afgewezen | the file in archive/, its rejected row in `.afgewezen.csv` |
| adres | only a scrubbed copy without the address column in archive/, a rejected row in `.afgewezen.csv` |
| fout | refused whole (a required column missing): the file in quarantine/ with its `.fout.txt` |
| persoon | refused for a personal-data column: the file deleted, only its `.fout.txt` in quarantine/ |
"""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
from datetime import timezone
from pathlib import Path

import pytest

from ingest.crashpoints import ENVIRONMENT_VARIABLE
from ingest_support import drop, query
from queries.paths import DataPaths
from support import run_cli

HEADER = "service_id,service_name,provider_name,care_type,target_groups,service_area,valid_at,unit,maximum,available"
STREET, BIRTH_DATE = "Geheimstraat 12", "01-02-1990"
STAMP = re.compile(r"\d{8}T\d{6}Z-")
# (kind of file, crash point): every point once where its step is done, and the window right after the commit
# and the one between the report and the file for each way a file is put away
SCENARIOS = [("afgewezen", "committed"), ("afgewezen", "report-part"),
             ("adres", "committed"), ("adres", "copy-part"), ("adres", "copy-written"), ("adres", "put-away"),
             ("fout", "committed"), ("fout", "report-written"),
             ("persoon", "committed"), ("persoon", "report-written")]
# kind -> (its report, its file or scrubbed copy, or None when deleted), as named without the stamp
ARTEFACTS = {"afgewezen": ("quarantine/afgewezen.csv.afgewezen.csv", "archive/afgewezen.csv"),
             "adres": ("quarantine/adres.csv.afgewezen.csv", "archive/adres.csv.zonder-adres.csv"),
             "fout": ("quarantine/fout.csv.fout.txt", "quarantine/fout.csv"),
             "persoon": ("quarantine/persoon.csv.fout.txt", None)}
pytestmark = pytest.mark.timeout(150)


def source_id(kind: str, point: str) -> str:
    return f"{kind}.{point}"


def content(kind: str, prefix: str) -> bytes:
    """Three rows for services of this source only, the second rejected (9 free of 5) where rows are read."""
    lines = [f"{prefix}-{number},Opvang {number},Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,"
             f"{available}" for number, available in ((1, 1), (2, 9), (3, 2))]
    if kind == "adres":
        return "\n".join([HEADER + ",adres", *(f"{line},{STREET}" for line in lines)]).encode() + b"\n"
    if kind == "fout":
        return "\n".join([HEADER.replace("care_type,", ""), *(line.replace("shelter,", "") for line in lines)]
                         ).encode() + b"\n"
    if kind == "persoon":
        return "\n".join([HEADER + ",geboortedatum", *(f"{line},{BIRTH_DATE}" for line in lines)]).encode() + b"\n"
    return "\n".join([HEADER, *lines]).encode() + b"\n"


def write_sources(folder: Path) -> Path:
    config = folder / "sources.toml"
    config.write_text("".join(f'[[sources]]\nid = "{source_id(kind, point)}"\nkind = "file"\nschedule = "15m"\n'
                              "settle_seconds = 0\n\n" for kind, point in SCENARIOS), encoding="utf-8")
    return config


def ingest_once(paths: DataPaths, config: Path, *sources: str, crash_at: str | None = None
                ) -> subprocess.CompletedProcess:
    """`capacity ingest --once` as a real process; with `crash_at` it kills itself at that point."""
    env = {ENVIRONMENT_VARIABLE: crash_at} if crash_at else {}
    return run_cli("ingest", "--data-dir", str(paths.root), "--config", str(config), "--once", *sources, env=env,
                   timeout=60)




def put_away_files(paths: DataPaths, source: str) -> dict[str, bytes]:
    """Every file in the archive and quarantine of a source (hidden ones too), named without the stamp."""
    return {f"{path.parent.parent.name}/{STAMP.sub('', path.name, count=1)}": path.read_bytes()
            for folder in (paths.archive, paths.quarantine) for path in sorted((folder / source).glob("*"))}


def stamps(paths: DataPaths, source: str) -> set[str]:
    """The times in the names of the files put away for a source."""
    return {STAMP.search(path.name).group() for folder in (paths.archive, paths.quarantine)
            for path in (folder / source).glob("*")}


def inbox(paths: DataPaths, source: str) -> list[str]:
    return sorted(path.name for path in (paths.inbox / source).iterdir())


def hidden_part(name: str) -> str:
    folder, file = name.split("/")
    return f"{folder}/.{file}.part"


def inside(kind: str, point: str) -> tuple[bool, set[str]]:
    """Where a kill at `point` leaves a file of this kind: (still in the inbox?, the files put away so far).
    The report comes first, then the file or its copy; the original leaves the inbox last."""
    report, placed = ARTEFACTS[kind]
    if point == "committed":
        return True, set()
    if point.startswith("report-"):
        return True, {hidden_part(report) if point == "report-part" else report}
    if point.startswith("copy-") and placed is not None:
        return True, {report, hidden_part(placed) if point == "copy-part" else placed}
    return False, {report, *([placed] if placed else [])}


def ledger(paths: DataPaths, source: str) -> list[tuple]:
    return query(paths, "SELECT status, rows_in, rows_loaded, rows_rejected, file_name, error_en FROM ingest_run "
                        "WHERE source_id = ? AND content_hash IS NOT NULL", [source])


def test_a_kill_in_each_window_after_a_commit_leaves_every_artefact_once(data_paths: DataPaths,
                                                                          initialised_template: Path,
                                                                          tmp_path: Path) -> None:
    reference = DataPaths(tmp_path / "reference" / "data")
    shutil.copytree(initialised_template, reference.root)
    config = write_sources(tmp_path)
    for index, (kind, point) in enumerate(SCENARIOS):
        for paths in (data_paths, reference):
            drop(paths, f"{kind}.csv", content(kind, f"S{index:02d}"), source_id=source_id(kind, point))
    without_kills: list = []
    beside = threading.Thread(target=lambda: without_kills.append(ingest_once(reference, config)))
    beside.start()

    for kind, point in SCENARIOS:
        source = source_id(kind, point)
        killed = ingest_once(data_paths, config, source, crash_at=point)
        assert killed.returncode == -signal.SIGKILL, f"{source}: not killed at {point}\n{killed.stdout}{killed.stderr}"
        kept, placed = inside(kind, point)
        assert inbox(data_paths, source) == ([f"{kind}.csv"] if kept else []), source
        assert set(put_away_files(data_paths, source)) == placed, source
        assert len(ledger(data_paths, source)) == 1, source
        assert query(data_paths, "SELECT count(*) FROM pending_put_away WHERE source_id = ?", [source]) == [(1,)]

    restarted = ingest_once(data_paths, config)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    beside.join()
    assert without_kills[0].returncode == 1, without_kills[0].stdout   # the refused files fail their runs

    assert query(data_paths, "SELECT count(*) FROM pending_put_away") == [(0,)]
    for kind, point in SCENARIOS:
        source = source_id(kind, point)
        files = put_away_files(data_paths, source)
        # every artefact once, as named and written by a run without a kill; no `.part` file; the inbox empty
        assert files == put_away_files(reference, source), source
        assert set(files) == inside(kind, "put-away")[1], source
        assert inbox(data_paths, source) == [], source
        # named after the start of the one run the ledger holds for the file (refused once, loaded once)
        (started,), = query(data_paths, "SELECT started_at FROM ingest_run WHERE source_id = ? "
                                        "AND content_hash IS NOT NULL", [source])
        assert stamps(data_paths, source) == {f"{started.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-"}, source
        assert ledger(data_paths, source) == ledger(reference, source), source
        rejected = "SELECT row_number, column_name, value, message_en FROM rejected_row WHERE source_id = ?"
        assert query(data_paths, rejected, [source]) == query(reference, rejected, [source]), source
    observations = "SELECT source_id, service_id, available FROM capacity_observation ORDER BY ALL"
    assert query(data_paths, observations) == query(reference, observations)
    assert len(query(data_paths, observations)) == 2 * len([kind for kind, _ in SCENARIOS
                                                            if kind in ("afgewezen", "adres")])
    kept = [path for folder in (data_paths.inbox, data_paths.archive, data_paths.quarantine)
            for path in folder.rglob("*") if path.is_file()]
    assert not [path for path in kept if any(secret.encode() in path.read_bytes() for secret in (STREET, BIRTH_DATE))]
    assert not [path for path in kept if path.suffix == ".part"]
