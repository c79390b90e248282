"""File sources through the whole pipeline: parsing quirks, validation rules, the inbox lifecycle."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook

from ingest import crashpoints
from access_site import routing_body, routing_output
from ingest_support import drop, ingest_bytes, query, run_source, write_config
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import REPO, dashboard
from web_client import Visitor

HEADER = "service_id,service_name,provider_name,care_type,target_groups,service_area,valid_at,unit,maximum,available"
UTC = timezone.utc


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode(encoding)


def observation(outcome, service_id: str) -> tuple:
    return outcome.query("SELECT valid_at, maximum, available, status FROM capacity_observation "
                         "WHERE service_id = ?", [service_id])


# ---------------------------------------------------------------- the provider templates

@pytest.mark.parametrize("name, services", [
    ("capaciteit_sjabloon.csv", 2), ("capaciteit_sjabloon.xlsx", 2),
    ("capacity_template.csv", 1), ("capacity_template.xlsx", 1)])
def test_the_shipped_templates_load_without_rejections(data_paths: DataPaths, tmp_path: Path, name: str,
                                                       services: int) -> None:
    content = (REPO / "examples" / "templates" / name).read_bytes()
    outcome = ingest_bytes(data_paths, tmp_path, name, content)
    assert outcome.rejected() == []
    assert outcome.summary.status == "ok" and outcome.summary.loaded == services
    # VO-NOORD-01: 12 family places, 2 free, shelter for adult victims and children in Veilig Thuis region VT08
    assert outcome.query("SELECT maximum, available, waiting_count, unit FROM capacity_observation "
                         "WHERE service_id = 'VO-NOORD-01'") == [(12, 2, 3, "place")]
    assert outcome.query("SELECT target_group FROM service_target_group WHERE service_id = 'VO-NOORD-01' "
                         "ORDER BY 1") == [("adult_victim",), ("child",)]
    assert outcome.query("SELECT area_level, area_code FROM service_area WHERE service_id = 'VO-NOORD-01'") == [
        ("veilig_thuis", "VT08")]


# ---------------------------------------------------------------- CSV quirks

def test_utf8_with_bom_and_commas(data_paths: DataPaths, tmp_path: Path) -> None:
    content = b"\xef\xbb\xbf" + csv_bytes("S1,Opvang A,Stichting A,shelter,child,GM0363,2026-11-24T10:00,place,10,4")
    outcome = ingest_bytes(data_paths, tmp_path, "a.csv", content)
    # 10:00 Dutch winter time (CET, UTC+1) is 09:00 UTC
    assert observation(outcome, "S1") == [(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), 10, 4, "open")]


def test_windows_1252_semicolons_dutch_headers_and_words(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes("S2;Zoë's opvang €;Stichting B;vrouwenopvang;kind;Amsterdam;24-11-2026 10:00;plek;8;0",
                        header="dienst_id;dienst_naam;aanbieder_naam;zorgsoort;doelgroepen;werkgebied;peilmoment;"
                               "eenheid;maximum;beschikbaar", encoding="cp1252")
    outcome = ingest_bytes(data_paths, tmp_path, "b.csv", content)
    assert outcome.query("SELECT name, care_type FROM service") == [("Zoë's opvang €", "shelter")]
    # no status column: 0 available means full; 'Amsterdam' matched exactly to GM0363
    assert observation(outcome, "S2")[0][3] == "full"
    assert outcome.query("SELECT area_code FROM service_area") == [("GM0363",)]


def test_tab_delimited(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes("S3\tOpvang C\tStichting C\tshelter\tchild\tGM0014\t2026-11-24\tbed\t6\t1",
                        header=HEADER.replace(",", "\t"))
    outcome = ingest_bytes(data_paths, tmp_path, "c.tsv", content)
    assert observation(outcome, "S3")[0][1:] == (6, 1, "open")


def test_decimal_comma_and_waits_in_weeks(data_paths: DataPaths, tmp_path: Path) -> None:
    header = "dienst_id;dienst_naam;aanbieder_naam;zorgsoort;doelgroepen;werkgebied;peilmoment;eenheid;maximum;" \
             "beschikbaar;wachttijd_weken"
    content = csv_bytes("S4;Trauma D;Stichting D;trauma_care;child;GM0014;24-11-2026;treatment_slot;12,0;3;2,5",
                        "S5;Trauma E;Stichting D;trauma_care;child;GM0014;24-11-2026;treatment_slot;12;1,5;1",
                        header=header)
    extra = '[sources.mapping]\nwachttijd_weken = "wait_days_intake"\n[sources.convert]\nwait_days_intake = "weeks"\n'
    outcome = ingest_bytes(data_paths, tmp_path, "d.csv", content, extra)
    # '12,0' is twelve; 2,5 weeks = 17.5 days, rounded to 18
    assert outcome.query("SELECT maximum, wait_days_intake FROM capacity_observation WHERE service_id = 'S4'") == [
        (12, 18)]
    assert outcome.rejected() == [(3, "beschikbaar", "1,5", "beschikbaar: '1,5' is not a whole number ≥ 0")]


def test_dutch_and_iso_moments_in_dutch_time_stored_as_utc(data_paths: DataPaths, tmp_path: Path) -> None:
    header = HEADER.replace(",", ";")
    content = csv_bytes("S6;A;P;shelter;child;GM0014;31-12-2025 14:30;place;5;1",
                        "S7;A;P;shelter;child;GM0014;30-06-2026 14:30;place;5;1",
                        "S8;A;P;shelter;child;GM0014;2026-06-30T14:30:00Z;place;5;1",
                        "S9;A;P;shelter;child;GM0014;24-11-2026;place;5;1", header=header)
    outcome = ingest_bytes(data_paths, tmp_path, "e.csv", content)
    moments = dict(outcome.query("SELECT service_id, valid_at FROM capacity_observation"))
    assert moments == {
        "S6": datetime(2025, 12, 31, 13, 30, tzinfo=UTC),   # CET = UTC+1
        "S7": datetime(2026, 6, 30, 12, 30, tzinfo=UTC),    # CEST = UTC+2
        "S8": datetime(2026, 6, 30, 14, 30, tzinfo=UTC),    # explicit UTC stays
        "S9": datetime(2026, 11, 23, 23, 0, tzinfo=UTC),    # a bare date is the start of that Dutch day
    }


def test_quoted_newlines_keep_row_numbers_right(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes('S10,"Opvang\nmet tweede regel",P,shelter,child,GM0014,2026-11-24,place,5,1',
                        "S11,B,P,shelter,child,GM0014,2026-11-24,place,5,9")
    outcome = ingest_bytes(data_paths, tmp_path, "f.csv", content)
    assert outcome.query("SELECT name FROM service") == [("Opvang\nmet tweede regel",)]
    # the header is line 1, S10 spans lines 2-3, so S11 starts on line 4
    assert outcome.rejected() == [(4, "available", "9", "available (9) is greater than maximum (5)")]


def test_header_only_file_loads_nothing_and_is_archived(data_paths: DataPaths, tmp_path: Path) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, "g.csv", csv_bytes())
    assert outcome.last_run()[:4] == ("unchanged", 0, 0, 0)
    assert [p.name.split("-", 1)[1] for p in (data_paths.archive / "provider-a").iterdir()] == ["g.csv"]


def test_empty_file_is_quarantined_with_a_report(data_paths: DataPaths, tmp_path: Path) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, "h.csv", b"")
    status, *_, error = outcome.last_run()
    assert status == "failed" and "empty" in error
    quarantined = sorted(p.name for p in (data_paths.quarantine / "provider-a").iterdir())
    assert len(quarantined) == 2 and quarantined[0].endswith("-h.csv") and quarantined[1].endswith(".fout.txt")
    report = (data_paths.quarantine / "provider-a" / quarantined[1]).read_text(encoding="utf-8")
    assert "h.csv" in report and "niets" in report and "nothing" in report
    assert not any((data_paths.inbox / "provider-a").iterdir())


def test_a_bad_value_far_below_the_first_rows(data_paths: DataPaths, tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = [f"S12,A,P,shelter,child,GM0014,{(start + timedelta(hours=i)).isoformat()},place,10,"
             f"{'veel' if i == 3999 else i % 10}" for i in range(5000)]
    outcome = ingest_bytes(data_paths, tmp_path, "i.csv", csv_bytes(*lines))
    # row i sits on line i + 2; i = 3999 is line 4001
    assert outcome.rejected() == [(4001, "available", "veel", "available: 'veel' is not a whole number ≥ 0")]
    assert outcome.last_run()[:4] == ("partial", 5000, 4999, 1)


# ---------------------------------------------------------------- XLSX

def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in [HEADER.split(","), *rows]:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_values_and_a_formula_without_a_cached_value(data_paths: DataPaths, tmp_path: Path) -> None:
    content = xlsx_bytes([["X1", "Opvang", "P", "shelter", "child", "GM0014", datetime(2026, 11, 24, 10), "place", 7, 2],
                          ["X2", "Opvang", "P", "shelter", "child", "GM0014", datetime(2026, 11, 24, 10), "place",
                           "=5+5", 2]])
    outcome = ingest_bytes(data_paths, tmp_path, "j.xlsx", content)
    assert observation(outcome, "X1") == [(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), 7, 2, "open")]
    (row, column, value, message), = outcome.rejected()
    assert (row, column, value) == (3, "maximum", "=5+5") and "formula" in message


def test_xlsx_zip_bomb_is_refused_and_quarantined(data_paths: DataPaths, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    outcome = ingest_bytes(data_paths, tmp_path, "bomb.xlsx", buffer.getvalue())
    assert outcome.last_run()[0] == "failed"
    assert any(p.name.endswith("bomb.xlsx") for p in (data_paths.quarantine / "provider-a").iterdir())
    assert outcome.query("SELECT count(*) FROM capacity_observation") == [(0,)]


# ---------------------------------------------------------------- exactly once, inbox lifecycle

GOOD = csv_bytes("S20,A,P,shelter,child,GM0014,2026-11-24,place,5,1", "S21,B,P,shelter,child,GM0014,2026-11-24,place,5,2")


def test_redropped_renamed_or_touched_files_load_nothing_new(data_paths: DataPaths, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    drop(data_paths, "week47.csv", GOOD)
    assert run_source(data_paths, config).summary.loaded == 2
    drop(data_paths, "week47-again.csv", GOOD)               # renamed copy
    second = run_source(data_paths, config)
    drop(data_paths, "week47.csv", GOOD, age_seconds=30)      # same name, touched
    third = run_source(data_paths, config)
    assert (second.summary.status, third.summary.status) == ("unchanged", "unchanged")
    assert third.query("SELECT count(*) FROM capacity_observation") == [(2,)]
    assert len(list((data_paths.archive / "provider-a").iterdir())) == 3
    assert not any((data_paths.inbox / "provider-a").iterdir())


@pytest.mark.parametrize("header, line, kept", [
    (HEADER.replace("care_type,", ""), "S1,A,P,child,GM0014,2026-11-24,place,5,1",
     ["again.csv", "again.csv.fout.txt", "k.csv", "k.csv.fout.txt"]),
    (HEADER + ",geboortedatum", "S1,A,P,shelter,child,GM0014,2026-11-24,place,5,1,01-02-1990",
     ["again.csv.fout.txt", "k.csv.fout.txt"])], ids=["quarantined", "personal-data-deleted"])
def test_a_refused_file_dropped_again_is_put_away_as_the_first_time_and_refused_once(
        data_paths: DataPaths, tmp_path: Path, header: str, line: str, kept: list[str]) -> None:
    config = write_config(tmp_path)
    content = csv_bytes(line, header=header)
    drop(data_paths, "k.csv", content)
    first = run_source(data_paths, config)
    drop(data_paths, "again.csv", content)
    again = run_source(data_paths, config)
    assert (first.summary.status, again.summary.status) == ("failed", "unchanged")
    assert "this content was refused before; put away again as the first time" in again.summary.messages[0]
    # one failed run in the ledger for that content, however often it is sent
    assert again.query("SELECT status, file_name FROM ingest_run WHERE content_hash IS NOT NULL") == [
        ("failed", "k.csv")]
    quarantine = data_paths.quarantine / "provider-a"
    assert sorted(path.name[17:] for path in quarantine.iterdir()) == kept
    reports = {path.name[17:]: path.read_text(encoding="utf-8") for path in quarantine.glob("*.fout.txt")}
    # the same refusal in the same words (the ledger's), only the name of the file sent again differs
    assert reports["again.csv.fout.txt"].replace("again.csv", "k.csv") == reports["k.csv.fout.txt"]
    assert not any((data_paths.inbox / "provider-a").iterdir()) and not (data_paths.archive / "provider-a").exists()


class Killed(BaseException):
    """What SIGKILL does at a crash point, inside this one test process: nothing after it runs."""


def kill(pid: int, sig: int) -> None:
    raise Killed(pid, sig)


def test_a_report_a_kill_kept_from_being_written_is_written_by_the_next_run(data_paths: DataPaths, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    in_place = tmp_path / "verslag.csv"      # a file read in place: only its report is owed after the commit
    in_place.write_bytes(csv_bytes("S40,A,P,shelter,child,GM0014,2026-11-24,place,5,1",
                                   "S41,B,P,shelter,child,GM0014,2026-11-24,place,5,9"))
    config = write_config(tmp_path, f'path = "{in_place}"')
    monkeypatch.setenv(crashpoints.ENVIRONMENT_VARIABLE, "committed")
    monkeypatch.setattr(crashpoints.os, "kill", kill)
    with pytest.raises(Killed):
        run_source(data_paths, config)
    quarantine = data_paths.quarantine / "provider-a"
    assert not quarantine.exists()
    monkeypatch.delenv(crashpoints.ENVIRONMENT_VARIABLE)
    again = run_source(data_paths, config)
    (report,) = quarantine.iterdir()
    ((started,),) = again.query("SELECT started_at FROM ingest_run WHERE status = 'partial'")
    assert report.name == f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-verslag.csv.afgewezen.csv"
    assert report.read_text(encoding="utf-8-sig").splitlines()[1:] == [
        "3;available;9;beschikbaar (9) is groter dan maximum (5);available (9) is greater than maximum (5)"]
    assert again.query("SELECT count(*) FROM pending_put_away") == [(0,)] and in_place.exists()


def test_a_file_still_being_written_is_not_picked_up(data_paths: DataPaths, tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nid = "provider-a"\nkind = "file"\nschedule = "15m"\nsettle_seconds = 30\n')
    drop(data_paths, "busy.csv", GOOD, age_seconds=0)
    drop(data_paths, ".~lock.other.csv#", GOOD)
    drop(data_paths, "upload.csv.part", GOOD)
    outcome = run_source(data_paths, config)
    assert outcome.summary.status == "unchanged" and outcome.summary.loaded == 0
    assert sorted(p.name for p in (data_paths.inbox / "provider-a").iterdir()) == [
        ".~lock.other.csv#", "busy.csv", "upload.csv.part"]


def test_other_figures_for_a_loaded_moment_correct_it_identical_ones_are_skipped(data_paths: DataPaths,
                                                                                 tmp_path: Path) -> None:
    """S20 is sent again unchanged (skipped); S21 again with 0 free instead of 2: a correction. The later load
    wins, the superseded figures are kept for audit, and the run counts one correction."""
    config = write_config(tmp_path)
    drop(data_paths, "one.csv", GOOD)
    first = run_source(data_paths, config)
    drop(data_paths, "two.csv", csv_bytes("S20,A,P,shelter,child,GM0014,2026-11-24,place,5,1",
                                          "S21,B,P,shelter,child,GM0014,2026-11-24,place,5,0"))
    outcome = run_source(data_paths, config)
    assert (outcome.summary.loaded, outcome.summary.unchanged, outcome.summary.corrected) == (1, 1, 1)
    assert outcome.rejected() == [] and outcome.summary.status == "ok"
    assert "of which corrections 1" in outcome.summary.line()
    assert observation(outcome, "S21")[0][2:] == (0, "full")
    (first_run,), (second_run,) = outcome.query("SELECT run_id FROM ingest_run WHERE rows_loaded > 0 ORDER BY run_id")
    assert outcome.query("SELECT service_id, available, status, run_id, superseded_by_run FROM superseded_observation"
                         ) == [("S21", 2, "open", first_run, second_run)]
    assert first.summary.corrected == 0
    drop(data_paths, "three.csv", csv_bytes("S21,B,P,shelter,child,GM0014,2026-11-24,place,5,0"))
    assert run_source(data_paths, config).summary.corrected == 0   # the same correction again changes nothing
    assert outcome.query("SELECT service_id, count(*) FROM capacity_observation GROUP BY service_id, valid_at, "
                         "source_id ORDER BY service_id") == [("S20", 1), ("S21", 1)]   # one row per key, always
    with Warehouse(data_paths) as warehouse:
        warehouse.publish()
    with dashboard(data_paths) as url:   # login off: a steward sees Databronnen
        visitor = Visitor(url)
        page = visitor.post("/_dash-update-component", json=routing_body(routing_output(visitor), "/databronnen"))
        visitor.close()
    text = json.dumps(page.json(), ensure_ascii=False)
    assert "corrections-table" in text and "2 van 5 vrij, – wachtend" in text and "0 van 5 vrij, – wachtend" in text


def test_a_service_of_another_source_is_not_overwritten(data_paths: DataPaths, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config = write_config(tmp_path, source_id="provider-b")
    drop(data_paths, "a.csv", GOOD)
    run_source(data_paths, config)
    drop(data_paths, "b.csv", GOOD, source_id="provider-b")
    outcome = run_source(data_paths, config, source_id="provider-b")
    assert [r[3] for r in outcome.rejected()] == [
        "service S20 is already reported by source provider-a; use a service_id of your own",
        "service S21 is already reported by source provider-a; use a service_id of your own"]


def test_a_file_with_known_and_new_services_updates_the_one_and_adds_the_other(data_paths: DataPaths,
                                                                             tmp_path: Path) -> None:
    """The load inserts a batch of new services only; one known service among them makes it update that
    service's name, groups and areas, and add the new one with its own. Of a service's rows the newest
    describes it, wherever it stands in the file."""
    config = write_config(tmp_path)
    drop(data_paths, "a.csv", csv_bytes("S20,Oud,P,shelter,child,GM0014,2026-11-24,place,5,1"))
    run_source(data_paths, config)
    drop(data_paths, "b.csv", csv_bytes("S20,Nieuw,P,shelter,adult_victim,GM0034,2026-11-25,place,5,2",
                                        "S22,Erbij,P,shelter,child,GM0363,2026-11-25,place,3,3",
                                        "S22,Eerder,P,shelter,adult_victim,GM0014,2026-11-24,place,3,1"))
    outcome = run_source(data_paths, config)
    assert outcome.rejected() == [] and outcome.summary.loaded == 3
    assert outcome.query("SELECT service_id, name, first_valid_at FROM service ORDER BY 1") == [
        ("S20", "Nieuw", datetime(2026, 11, 23, 23, tzinfo=UTC)),   # midnight Dutch time, the first report
        ("S22", "Erbij", datetime(2026, 11, 23, 23, tzinfo=UTC))]
    assert outcome.query("SELECT service_id, target_group FROM service_target_group ORDER BY 1") == [
        ("S20", "adult_victim"), ("S22", "child")]
    assert outcome.query("SELECT service_id, area_code FROM service_area ORDER BY 1") == [
        ("S20", "GM0034"), ("S22", "GM0363")]
    assert outcome.query("SELECT service_id, count(*) FROM capacity_observation GROUP BY 1 ORDER BY 1") == [
        ("S20", 2), ("S22", 2)]


def test_a_source_configured_anew_is_registered_anew(data_paths: DataPaths, tmp_path: Path) -> None:
    """Its schedule and freshness change in the source table; when it was first registered does not."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    drop(data_paths, "a.csv", GOOD)
    run_source(data_paths, write_config(tmp_path / "one"))
    (first,) = query(data_paths, "SELECT registered_at FROM source WHERE source_id = 'provider-a'")
    drop(data_paths, "b.csv", csv_bytes("S20,A,P,shelter,child,GM0014,2026-11-25,place,5,1"))
    run_source(data_paths, write_config(tmp_path / "two", "freshness_days = 3"))
    assert query(data_paths, "SELECT schedule, freshness_days, registered_at FROM source") == [("15m", 3, *first)]


# ---------------------------------------------------------------- validation rules

def future() -> str:
    return (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("line, column, message", [
    ("R1,,P,shelter,child,GM0014,2026-11-24,place,5,1", "service_name", "service_name: required field is empty"),
    ("R1,A,P,shelter,child,GM0014,2026-11-24,place,5,-2", "available", "available: '-2' is negative"),
    ("R1,A,P,shelter,child,GM0014,2026-11-24,place,5,7", "available", "available (7) is greater than maximum (5)"),
    ("R1,A,P,shelter,child,GM9999,2026-11-24,place,5,1", "service_area",
     "service_area: 'GM9999' is not a known municipality or place"),
    ("R1,A,P,astrology,child,GM0014,2026-11-24,place,5,1", "care_type", "care_type: 'astrology' is not a known value"),
    ("R1,A,P,shelter,elderly,GM0014,2026-11-24,place,5,1", "target_groups",
     "target_groups: 'elderly' is not a known value"),
    ("R1,A,P,shelter,child,GM0014,FUTURE,place,5,1", "valid_at", "is more than a day in the future"),
    ("R1,A,P,shelter,child,GM0014,2026-13-45,place,5,1", "valid_at", "is not a date"),
    ("R1,A,P,shelter,child,GM0014,2026-11-24,place,5.5,1", "maximum", "'5.5' is not a whole number ≥ 0"),
])
def test_each_rule_rejects_the_row_with_a_clear_message(data_paths: DataPaths, tmp_path: Path, line: str,
                                                        column: str, message: str) -> None:
    content = csv_bytes(line.replace("FUTURE", future()), "OK1,A,P,shelter,child,GM0014,2026-11-24,place,5,1")
    outcome = ingest_bytes(data_paths, tmp_path, "rules.csv", content)
    (row, found_column, _, found_message), = outcome.rejected()
    assert (row, found_column) == (2, column)
    assert message in found_message
    assert outcome.query("SELECT service_id FROM capacity_observation") == [("OK1",)]


def test_waits_status_and_duplicates(data_paths: DataPaths, tmp_path: Path) -> None:
    header = HEADER + ",status,wait_days_intake"
    content = csv_bytes("W1,A,P,trauma_care,child,GM0014,2026-11-24,treatment_slot,5,1,open,4000",
                        "W2,A,P,shelter,child,GM0014,2026-11-24,place,5,2,full,",
                        "W3,A,P,shelter,child,GM0014,2026-11-24,place,5,1,open,",
                        "W3,A,P,shelter,child,GM0014,2026-11-24,place,5,0,full,", header=header)
    outcome = ingest_bytes(data_paths, tmp_path, "w.csv", content)
    messages = [(row, message) for row, _, _, message in outcome.rejected()]
    assert messages[0] == (2, "wait_days_intake: 4000 days is more than 3650 (10 years)")
    assert messages[1] == (3, "status 'full' but available is 2; which one is right?")
    assert [row for row, _ in messages[2:]] == [4, 5]
    assert all("occurs more than once in this file" in message for _, message in messages[2:])
    assert outcome.query("SELECT count(*) FROM capacity_observation") == [(0,)]


def test_a_missing_required_column_rejects_the_file(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes("S1,A,P,child,GM0014,2026-11-24,place,5,1", header=HEADER.replace("care_type,", ""))
    outcome = ingest_bytes(data_paths, tmp_path, "k.csv", content)
    status, *_, error = outcome.last_run()
    assert status == "failed" and "required column(s) missing: care_type" in error
    assert any(p.name.endswith("k.csv.fout.txt") for p in (data_paths.quarantine / "provider-a").iterdir())


def test_formulas_stay_text_and_street_addresses_are_never_stored(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes('S30,"=HYPERLINK(""http://x.invalid"")",P,shelter,child,GM0014,2026-11-24,place,5,1,'
                        "Geheimstraat 12,1234 AB", header=HEADER + ",adres,postcode")
    outcome = ingest_bytes(data_paths, tmp_path, "l.csv", content)
    assert outcome.query("SELECT name FROM service") == [('=HYPERLINK("http://x.invalid")',)]
    text_columns = outcome.query("SELECT table_name, column_name FROM information_schema.columns "
                                 "WHERE data_type = 'VARCHAR'")
    for table, column in text_columns:
        hits = outcome.query(f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE ? OR "{column}" LIKE ?',
                             ["%Geheimstraat%", "%1234 AB%"])
        assert hits == [(0,)], (table, column)
