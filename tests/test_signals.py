"""Demand signals end to end: the web's signal file, the built-in `signalen` source through the real runner
and warehouse, and the count per region."""
from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from ingest.runner import RunSummary, SourceRunner
from ingest.signals import MAX_PENDING_SIGNALS, SignalRefused, hour_of, signal_inbox, signal_source, write_signal
from ingest_support import query
from queries.paths import DataPaths
from queries.signals import DemandSignals, demand_signals
from queries.warehouse import Warehouse
from support import run_cli

UTC = timezone.utc
NOW = datetime.now(UTC)
FREE_TEXT = "Jan Jansen, Dorpsstraat 1"


def settle(paths: DataPaths) -> None:
    """Age every waiting signal file past the settle time, as a minute of waiting would."""
    past = time.time() - 60
    for path in signal_inbox(paths).iterdir():
        os.utime(path, (past, past))


def run_signals(paths: DataPaths) -> RunSummary:
    settle(paths)
    with Warehouse(paths) as warehouse:
        return SourceRunner(warehouse, paths).run(signal_source(paths))




def stored(paths: DataPaths) -> list[tuple]:
    return query(paths, "SELECT gemeente_code, care_type, target_group, reason, signalled_at, source_id "
                        "FROM demand_signal ORDER BY signalled_at, gemeente_code, reason")


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- the web side: write_signal

def test_a_signal_is_one_file_of_codes_rounded_down_to_the_hour(data_paths: DataPaths) -> None:
    path = write_signal(data_paths, "GM0363", "shelter", "adult_victim", "no_room",
                        now=datetime(2026, 11, 24, 10, 37, 12, 345, tzinfo=UTC))
    content = json.loads(path.read_text(encoding="utf-8"))
    assert list(content) == ["signal_id", "gemeente_code", "care_type", "target_group", "reason", "signalled_at"]
    assert content["signalled_at"] == "2026-11-24T10:00:00+00:00"
    assert (content["gemeente_code"], content["care_type"], content["target_group"], content["reason"]) == (
        "GM0363", "shelter", "adult_victim", "no_room")
    # the name carries the hour only, and the same id; no temporary file is left behind
    assert path.name == f"20261124T100000Z-{content['signal_id']}.json" and len(content["signal_id"]) == 32
    assert files(signal_inbox(data_paths)) == [path.name]


def test_a_moment_in_dutch_time_is_rounded_in_utc(data_paths: DataPaths) -> None:
    amsterdam = timezone(timedelta(hours=1))
    path = write_signal(data_paths, "GM0014", "trauma_care", "child", "wait_too_long",
                        now=datetime(2026, 11, 24, 0, 59, tzinfo=amsterdam))
    assert json.loads(path.read_bytes())["signalled_at"] == "2026-11-23T23:00:00+00:00"


@pytest.mark.parametrize("values", [
    ("Amsterdam", "shelter", "adult_victim", "no_room"),
    ("GM0363", FREE_TEXT, "adult_victim", "no_room"),
    ("GM0363", "shelter", "Child", "no_room"),
    ("GM0363", "shelter", "adult_victim", FREE_TEXT),
    ("GM٠٣٦٣", "shelter", "adult_victim", "no_room"),     # Arabic-Indic digits are no municipality code
])
def test_write_signal_refuses_what_is_not_a_code(data_paths: DataPaths, values: tuple[str, ...]) -> None:
    with pytest.raises(SignalRefused) as refused:
        write_signal(data_paths, *values)
    assert FREE_TEXT not in refused.value.nl + refused.value.en
    assert files(signal_inbox(data_paths)) == []


def test_write_signal_refuses_a_flood(data_paths: DataPaths) -> None:
    folder = signal_inbox(data_paths)
    folder.mkdir(parents=True)
    for number in range(MAX_PENDING_SIGNALS):
        (folder / f"{number:05}.json").touch()
    (folder / ".half-written.json.tmp").touch()     # temporary files are not waiting signals
    write_signal(data_paths, "GM0363", "shelter", "child", "no_room")   # the 10,001st still fits
    with pytest.raises(SignalRefused) as refused:
        write_signal(data_paths, "GM0363", "shelter", "child", "no_room")
    assert "10000" in refused.value.en and "10000" in refused.value.nl
    assert len(files(folder)) == MAX_PENDING_SIGNALS + 2


# ---------------------------------------------------------------- the ingest side: the signalen source

def test_signals_load_once_and_are_archived(data_paths: DataPaths) -> None:
    at = datetime(2026, 1, 5, 14, 20, tzinfo=UTC)
    for gemeente, reason in (("GM0363", "no_room"), ("GM0363", "no_service"), ("GM0014", "wait_too_long")):
        write_signal(data_paths, gemeente, "shelter", "adult_victim", reason, now=at)
    names = files(signal_inbox(data_paths))

    summary = run_signals(data_paths)
    assert (summary.status, summary.loaded, summary.rejected) == ("ok", 3, 0), summary.line()
    hour = datetime(2026, 1, 5, 14, tzinfo=UTC)
    assert stored(data_paths) == [("GM0014", "shelter", "adult_victim", "wait_too_long", hour, "signalen"),
                                  ("GM0363", "shelter", "adult_victim", "no_room", hour, "signalen"),
                                  ("GM0363", "shelter", "adult_victim", "no_service", hour, "signalen")]
    # each signal committed with its own ledger row and file_seen row
    assert query(data_paths, "SELECT r.status, r.rows_in, r.rows_loaded, r.file_name FROM demand_signal AS s "
                             "JOIN ingest_run AS r USING (run_id) ORDER BY r.file_name") == [
        ("ok", 1, 1, name) for name in names]
    assert query(data_paths, "SELECT count(*) FROM file_seen WHERE source_id = 'signalen' "
                             "AND outcome = 'loaded'") == [(3,)]
    assert query(data_paths, "SELECT kind, location FROM source WHERE source_id = 'signalen'") == [
        ("submission", str(signal_inbox(data_paths)))]
    assert files(signal_inbox(data_paths)) == []
    assert [name.split("-", 1)[1] for name in files(data_paths.archive / "signalen")] == names

    again = run_signals(data_paths)
    assert (again.status, again.loaded) == ("unchanged", 0), again.line()
    assert len(stored(data_paths)) == 3


def test_a_resent_signal_is_skipped_not_an_error(data_paths: DataPaths) -> None:
    path = write_signal(data_paths, "GM0363", "peer_group", "adult_victim", "not_eligible")
    content = json.loads(path.read_bytes())
    assert run_signals(data_paths).loaded == 1
    (archived,) = (data_paths.archive / "signalen").iterdir()
    shutil.copy(archived, signal_inbox(data_paths) / "same-file.json")       # the same content again
    changed = {**content, "reason": "other"}                                   # same signal id, other content
    (signal_inbox(data_paths) / "same-id.json").write_text(json.dumps(changed), encoding="utf-8")

    summary = run_signals(data_paths)
    assert (summary.status, summary.loaded, summary.unchanged) == ("unchanged", 0, 1), summary.line()
    assert [row[3] for row in stored(data_paths)] == ["not_eligible"]
    assert files(signal_inbox(data_paths)) == [] and files(data_paths.quarantine) == []


def _signal_file(paths: DataPaths) -> tuple[Path, dict]:
    path = write_signal(paths, "GM0363", "shelter", "child", "no_room")
    return path, json.loads(path.read_bytes())


def _future() -> str:
    return hour_of(NOW + timedelta(days=3)).isoformat()


@pytest.mark.parametrize("change, message", [
    (lambda c: {**c, "naam": FREE_TEXT}, "1 unknown field(s)"),
    (lambda c: {**c, FREE_TEXT: "x"}, "1 unknown field(s)"),
    (lambda c: {k: v for k, v in c.items() if k != "reason"}, "missing fields: reason"),
    (lambda c: {**c, "reason": FREE_TEXT}, "'reason' must be one of"),
    (lambda c: {**c, "gemeente_code": "GM9999"}, "unknown gemeente_code GM9999"),
    (lambda c: {**c, "care_type": "massage"}, "unknown care_type massage"),
    (lambda c: {**c, "target_group": ["child"]}, "'target_group' is not a valid code"),
    (lambda c: {**c, "signal_id": "1234"}, "'signal_id' is not a valid code"),
    (lambda c: {**c, "signalled_at": "2026-11-24T10:37:00+00:00"}, "not on the whole hour"),
    (lambda c: {**c, "signalled_at": "2026-11-24T10:00:00"}, "not an ISO moment with a time zone"),
    (lambda c: {**c, "signalled_at": _future()}, "more than a day in the future"),
    (lambda c: [c], "not a JSON object"),
])
def test_a_malformed_signal_is_quarantined_with_a_report(data_paths: DataPaths, change, message: str) -> None:
    path, content = _signal_file(data_paths)
    path.write_text(json.dumps(change(content)), encoding="utf-8")
    _assert_refused(data_paths, path.name, message)


@pytest.mark.parametrize("raw, message", [
    (b'{"signal_id": "x", "signal_id": "y"}', "not valid JSON"),     # a duplicate key hides a value
    (b"\xff\xfe{}", "not valid JSON"),
    (b"naam;Jan Jansen, Dorpsstraat 1", "not valid JSON"),
])
def test_a_file_that_is_no_signal_is_quarantined(data_paths: DataPaths, raw: bytes, message: str) -> None:
    path, _ = _signal_file(data_paths)
    path.write_bytes(raw)
    _assert_refused(data_paths, path.name, message)


def _assert_refused(paths: DataPaths, name: str, message: str) -> None:
    summary = run_signals(paths)
    assert summary.status == "failed", summary.line()
    assert stored(paths) == []
    status, error_en = query(paths, "SELECT status, error_en FROM ingest_run WHERE source_id = 'signalen'")[0]
    assert status == "failed" and message in error_en and FREE_TEXT not in error_en
    assert query(paths, "SELECT file_name, outcome FROM file_seen WHERE source_id = 'signalen'") == [
        (name, "quarantined")]
    assert files(signal_inbox(paths)) == []
    quarantined, report = files(paths.quarantine / "signalen")
    assert quarantined.endswith(name) and report == quarantined + ".fout.txt"
    text = (paths.quarantine / "signalen" / report).read_text(encoding="utf-8")
    assert message in text and "nothing from it was loaded" in text and FREE_TEXT not in text


def test_ingest_once_runs_the_builtin_source(data_paths: DataPaths, tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text("# no configured sources\n", encoding="utf-8")
    write_signal(data_paths, "GM0014", "perpetrator_programme", "perpetrator", "no_service")
    settle(data_paths)
    result = run_cli("ingest", "--data-dir", str(data_paths.root), "--config", str(config), "--once", "signalen",
                     env={"CAPACITY_LANG": "en"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("signalen: ok") and "loaded 1" in result.stdout
    assert [row[:4] for row in stored(data_paths)] == [("GM0014", "perpetrator_programme", "perpetrator",
                                                        "no_service")]


def test_a_configured_source_cannot_take_the_builtin_id(data_paths: DataPaths, tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nid = "signalen"\nkind = "file"\nschedule = "15m"\n', encoding="utf-8")
    result = run_cli("ingest", "--data-dir", str(data_paths.root), "--config", str(config), "--once",
                     env={"CAPACITY_LANG": "en"})
    assert result.returncode == 2 and "signalen are built in" in result.stderr, result.stdout + result.stderr


# ---------------------------------------------------------------- the count per region

def test_demand_signals_count_per_region_care_type_and_target_group(data_paths: DataPaths) -> None:
    at = hour_of(NOW)
    for gemeente, care, group, reason, ago in (
            ("GM0363", "shelter", "adult_victim", "no_room", timedelta(hours=1)),        # Amsterdam, VT01
            ("GM0363", "shelter", "adult_victim", "no_service", timedelta(days=30)),
            ("GM0014", "shelter", "adult_victim", "wait_too_long", timedelta(hours=2)),  # Groningen, VT08
            ("GM0363", "trauma_care", "child", "no_room", timedelta(days=5)),
            ("GM0363", "shelter", "adult_victim", "other", timedelta(days=91))):         # outside 90 days
        write_signal(data_paths, gemeente, care, group, reason, now=at - ago)
    assert run_signals(data_paths).loaded == 5

    con = duckdb.connect(str(data_paths.warehouse), read_only=True)
    try:
        cells = {(c.region_code, c.care_type, c.target_group): c for c in demand_signals(con, "veilig_thuis", at)}
        assert cells == {
            ("VT01", "shelter", "adult_victim"): DemandSignals("veilig_thuis", "VT01", "Amsterdam-Amstelland",
                                                               "shelter", "adult_victim", 2, 1, 1, 0, 0, 0),
            ("VT01", "trauma_care", "child"): DemandSignals("veilig_thuis", "VT01", "Amsterdam-Amstelland",
                                                            "trauma_care", "child", 1, 0, 1, 0, 0, 0),
            ("VT08", "shelter", "adult_victim"): DemandSignals("veilig_thuis", "VT08", "Groningen", "shelter",
                                                               "adult_victim", 1, 0, 0, 1, 0, 0)}
        # a week back: the 30-day-old signal drops out; 2.5 hours earlier: the newest two are not yet there
        assert [(c.region_code, c.care_type, c.signals) for c in demand_signals(con, "veilig_thuis", at, days=7)
                if c.care_type == "shelter"] == [("VT01", "shelter", 1), ("VT08", "shelter", 1)]
        earlier = demand_signals(con, "veilig_thuis", at - timedelta(minutes=150))
        assert [(c.region_code, c.care_type, c.signals) for c in earlier] == [
            ("VT01", "shelter", 1), ("VT01", "trauma_care", 1)]
        assert [(c.region_code, c.signals) for c in demand_signals(con, "veilig_thuis", at, region="VT08")] == [
            ("VT08", 1)]
    finally:
        con.close()
