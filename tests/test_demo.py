"""The living demo: a deterministic, plausible fictional world, written as sources and loaded through the real
ingest path (real files, `capacity demo serve` on 127.0.0.1, the real `capacity ingest` process)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import median

import duckdb
import httpx
import pytest
from support import free_port, run_cli, wait_for_answer
from test_hsds import hsds_validator

from ingest.config import ConfigError, load_sources
from ingest.demo.generate import DemoSettings, demo_folder, generate_demo
from ingest.demo.model import figures
from ingest.demo.self_reporting import self_reporting_providers
from ingest.provider_form import pending_submissions
from ingest.demo.world import DemoError, build_world
from queries.connection import PublishedReader
from queries.db import rows
from queries.demo import shows_demo_data
from queries.paths import DataPaths

NOW = datetime(2026, 3, 4, 10, 17, 30, tzinfo=timezone.utc)
SMALL = DemoSettings(seed=7, scale=0.3, port=8051)
FAILING = "demo-daderhulp-storing"


def files_under(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


# --- the generator -------------------------------------------------------------------------------


def test_the_same_seed_and_moment_give_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        generate_demo(DataPaths(tmp_path / name), SMALL, NOW)
    first, second = files_under(tmp_path / "a"), files_under(tmp_path / "b")
    assert first == second
    assert {Path(name).suffix for name in first} >= {".csv", ".xlsx", ".toml", ".json"}
    assert any(name.startswith("demo/hsds/demo-lotgenoten-pakket/service_capacity") for name in first)
    assert build_world(8, SMALL.scale).services() != build_world(SMALL.seed, SMALL.scale).services()


def test_a_second_run_writes_no_file_twice_and_another_seed_is_refused(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    first = generate_demo(paths, SMALL, NOW)
    for file in paths.inbox.rglob("*.*"):   # what ingest does: loaded files leave the inbox
        file.unlink()
    again = generate_demo(paths, SMALL, NOW + timedelta(minutes=5))
    live_file_sources = [s for s in build_world(SMALL.seed, SMALL.scale).sources if s.kind == "file" and s.live]
    assert (again.files_written, again.files_before) == (len(live_file_sources), first.files_written)
    assert sorted(p.name.split("-actueel-")[0] for p in paths.inbox.rglob("*.*")) == sorted(
        s.id for s in live_file_sources)           # only this week's report as of the new moment
    with pytest.raises(DemoError) as refused:
        generate_demo(paths, DemoSettings(8, SMALL.scale, SMALL.port), NOW)
    assert "seed 7" in refused.value.nl and "--data-dir" in refused.value.en


def test_the_world_is_plausible() -> None:
    world = build_world()
    services = world.services()
    regions = {region.code: region for region in world.regions}
    assert len(regions) == 25 and 200 <= len(services) <= 400
    for code in regions:
        here = [s for s in services if s.region == code]
        for care_type, groups in (("shelter", {"adult_victim", "child"}), ("trauma_care", {"adult_victim", "child"}),
                                  ("peer_group", {"adult_victim", "perpetrator"}),
                                  ("perpetrator_programme", {"perpetrator"})):
            assert {g for s in here if s.care_type == care_type for g in s.target_groups} == groups, (code, care_type)
    without_mandated = [code for code in regions if not any(
        s.framework in ("mandated", "both") for s in services if s.region == code)]
    assert 0 < len(without_mandated) <= 5
    per_10k = [sum(s.maximum for s in services if s.region == code and s.care_type == "shelter")
               / region.inhabitants * 10_000 for code, region in regions.items()]
    assert 0.8 <= median(per_10k) <= 1.2
    assert sum(value < 0.75 for value in per_10k) >= 3 and max(per_10k) < 1.5


def test_names_and_contacts_are_obviously_fictional() -> None:
    services = build_world().services()
    assert all(any(word in s.provider_name for word in ("Fictief", "Fictieve", "Demo")) for s in services)
    assert all(s.phone.startswith("0800-0000") and s.email.endswith("@example.invalid") for s in services)


def test_trauma_waits_lie_around_and_above_the_treeknorm() -> None:
    world = build_world()
    now = [figures(world.seed, s, NOW) for s in world.services() if s.care_type == "trauma_care"]
    intake, treatment = [f.wait_days_intake for f in now], [f.wait_days_treatment for f in now]
    assert 20 <= median(intake) <= 40 and 50 <= median(treatment) <= 100
    assert sum(days > 28 for days in intake) >= len(intake) // 4
    assert sum(days > 70 for days in treatment) >= len(treatment) // 4


def test_the_demo_flag_must_be_true_or_false(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nid = "a"\nkind = "file"\nschedule = "1m"\ndemo = "ja"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as problem:
        load_sources(config)
    assert "regel 5: 'demo' moet true of false zijn" in problem.value.nl
    config.write_text('[[sources]]\nid = "a"\nkind = "file"\nschedule = "1m"\ndemo = true\n', encoding="utf-8")
    assert load_sources(config)[0].options["demo"] is True


# --- the full path -------------------------------------------------------------------------------


@pytest.mark.timeout(180)   # about 100 s on 2 busy cores
def test_the_demo_loads_through_the_real_ingest_path(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    made = run_cli("demo", "--data-dir", str(data), "--port", str(port), "--scale", "0.5")
    assert made.returncode == 0, made.stderr
    assert "Demonstratiegegevens" in made.stdout
    config = demo_folder(DataPaths(data)) / "sources.toml"
    server = subprocess.Popen([sys.executable, "-m", "ingest.cli", "demo", "serve", "--data-dir", str(data),
                               "--refresh-seconds", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_answer(f"http://127.0.0.1:{port}/", 20)
        ingest = run_cli("ingest", "--once", "--config", str(config), "--data-dir", str(data), timeout=90)
        assert ingest.returncode == 1, ingest.stderr          # exactly one source failed: see below
        assert_loaded(DataPaths(data), ingest.stdout)
        assert_new_reports_arrive(DataPaths(data), port)
        assert_self_reports_arrive(DataPaths(data), config)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0


def assert_loaded(paths: DataPaths, summary: str) -> None:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        kinds = dict(rows(con, "SELECT s.kind, count(*) FROM capacity_observation JOIN source AS s USING (source_id) "
                               "GROUP BY s.kind"))
        failed = rows(con, "SELECT DISTINCT source_id FROM ingest_run WHERE status = 'failed'")
        rejected = rows(con, "SELECT source_id, value, message_en FROM rejected_row ORDER BY source_id")
        flags = dict(rows(con, "SELECT source_id, demo FROM source"))
    finally:
        con.close()
    # (a provider's own submission may already be in: the demo server sends them from its first tick on)
    assert set(kinds) - {"submission"} == {"file", "http", "hsds"} and sum(kinds.values()) > 20_000, kinds
    assert failed == [(FAILING,)], failed
    assert f"{FAILING}: failed" in summary and "500" in summary
    by_source = {source: (value, message) for source, value, message in rejected}
    assert len(rejected) == 3 and set(by_source) == {"demo-opvang-noord-oost", "demo-opvang-zuid", "demo-trauma-zuid"}, "\n".join(map(str, rejected))
    assert "greater than maximum" in by_source["demo-opvang-noord-oost"][1]
    assert by_source["demo-opvang-zuid"][0] == "GM9999" and by_source["demo-trauma-zuid"][0] == "nazorg"
    reports = {p.parent.name for p in paths.quarantine.rglob("*.afgewezen.csv")}
    assert reports == {"demo-opvang-noord-oost", "demo-opvang-zuid", "demo-trauma-zuid"}
    assert all(flags[source] for source in flags if source.startswith("demo-")) and flags["signalen"] is False
    reader = PublishedReader(paths, poll_seconds=0)
    with reader.cursor() as cur:
        assert shows_demo_data(cur)
    reader.close()


def assert_self_reports_arrive(paths: DataPaths, config: Path) -> None:
    """The providers that report only through their link send the form's submissions; they load as figures."""
    world = build_world(7, 0.5)
    by_link = self_reporting_providers(world)
    assert len(by_link) == 3
    deadline = time.monotonic() + 10
    while not any(pending_submissions(paths, p) for p in by_link) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.2)     # settled
    ingest = run_cli("ingest", "--once", "aanbieders", "--config", str(config), "--data-dir", str(paths.root))
    assert ingest.returncode == 0 and "aanbieders: failed" not in ingest.stdout, ingest.stdout + ingest.stderr
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        loaded = rows(con, "SELECT DISTINCT s.provider_id FROM capacity_observation JOIN service AS s "
                           "USING (service_id) WHERE capacity_observation.source_id = 'aanbieders'")
    finally:
        con.close()
    assert {provider for (provider,) in loaded} == set(by_link)


def assert_new_reports_arrive(paths: DataPaths, port: int) -> None:
    inbox = paths.inbox / "demo-daderhulp"
    deadline = time.monotonic() + 10
    while not any(inbox.glob("*.csv")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [p.name for p in inbox.glob("*.csv")], "no new report within 10 s"
    feed = f"http://127.0.0.1:{port}/feeds/demo-trauma-feed"
    first = httpx.get(feed, timeout=10)
    repeat = httpx.get(feed, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert repeat.status_code == 304 or repeat.headers["ETag"] != first.headers["ETag"]   # unless a tick passed
    time.sleep(2.1)
    later = httpx.get(feed, timeout=10)
    newest = max(datetime.fromisoformat(r["peilmoment"]) for r in json.loads(later.content)["records"])
    assert later.headers["ETag"] != first.headers["ETag"] and later.content != first.content
    assert newest > datetime.now(timezone.utc) - timedelta(seconds=5)
    page = httpx.get(f"http://127.0.0.1:{port}/hsds/demo-sociale-kaart/services?page=1&per_page=5&full=true",
                     timeout=10).json()
    assert page["page_number"] == 1 and page["size"] == 5 and not page["last_page"]
    validator = hsds_validator("service.json")
    for service in page["contents"]:
        validator.validate(service)
