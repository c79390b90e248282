"""The committed hostile-input set (tests/hostile/, written by tests/hostile/build.py), each file through the
real ingest path (inbox, SourceRunner, DuckDB; a real HTTP server on 127.0.0.1 for the feed), each with
its specific plain-language outcome."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ingest_support import Outcome, ingest_bytes
from queries.export import to_csv, to_xlsx
from queries.paths import DataPaths
from test_ingest_feed import Feeds, feeds, ok, server  # noqa: F401 - the feed fixtures
from test_privacy_ingest import files_under, leaks, loaded

HOSTILE = Path(__file__).resolve().parent / "hostile"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
pytestmark = pytest.mark.timeout(30)


def hostile(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def quarantined(paths: DataPaths) -> dict[str, Path]:
    """Quarantined files by their name without the time stamp."""
    return {path.name[17:]: path for path in files_under(paths.quarantine)}


def assert_refused_and_quarantined(outcome: Outcome, paths: DataPaths, name: str, message: str) -> str:
    """A failed run naming the problem, nothing loaded, the file kept as sent in quarantine with its report."""
    status, *_, error = outcome.last_run()
    assert status == "failed" and message in error
    assert loaded(outcome) == (0, 0, 0)
    found = quarantined(paths)
    assert sorted(found) == [name, f"{name}.fout.txt"]
    assert found[name].read_bytes() == hostile(name)
    report = found[f"{name}.fout.txt"].read_text(encoding="utf-8")
    assert f"File {name} from source provider-a was refused; nothing from it was loaded." in report
    assert message in report
    return report


# ---------------------------------------------------------------- formulas stay text, escaped where we write CSV

def report_rows(paths: DataPaths) -> list[list[str]]:
    (report,) = [p for p in files_under(paths.quarantine) if p.name.endswith(".afgewezen.csv")]
    return list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig")), delimiter=";"))


def test_formula_strings_stay_text_and_are_escaped_in_the_report_and_exports(data_paths: DataPaths,
                                                                              tmp_path: Path) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, "+cmd.csv", hostile("formulas.csv"))
    assert outcome.summary.status == "partial" and outcome.summary.loaded == 2
    services = outcome.query("SELECT s.service_id, s.name, p.name, s.referral_route FROM service AS s "
                             "JOIN provider AS p USING (provider_id) ORDER BY 1")
    assert services == [("F1", '=HYPERLINK("http://x.invalid/steel","klik")', "+cmd|' /C calc'!A0", "@SUM(1+1)"),
                        ("F2", "-1+1", "=1+1", "-2+3")]
    assert [(row, column, value) for row, column, value, _ in outcome.rejected()] == [
        (4, "available", "@SUM(A1:A2)"), (5, "maximum", "-1+1"), (6, None, '=HYPERLINK("http://x.invalid")')]
    _, *lines = report_rows(data_paths)
    assert [line[:3] for line in lines] == [["4", "available", "'@SUM(A1:A2)"], ["5", "maximum", "'-1+1"],
                                            ["6", "", "'=HYPERLINK(\"http://x.invalid\")"]]
    assert lines[2][3].startswith("deze regel heeft meer cellen")
    assert [cell for line in lines for cell in line if cell.startswith(FORMULA_STARTS)] == []
    # the exports of what was stored: CSV cells escaped, XLSX cells text, never a formula
    rows = [dict(zip(("service_id", "name", "provider", "route"), service)) for service in services]
    exported = list(csv.reader(io.StringIO(to_csv(["service_id", "name", "provider", "route"], rows))))
    assert exported[1:] == [["F1", "'=HYPERLINK(\"http://x.invalid/steel\",\"klik\")", "'+cmd|' /C calc'!A0",
                             "'@SUM(1+1)"], ["F2", "'-1+1", "'=1+1", "'-2+3"]]
    sheet = load_workbook(io.BytesIO(to_xlsx(["name", "provider", "route"], rows))).active
    assert {cell.data_type for line in sheet.iter_rows(min_row=2) for cell in line} == {"s"}


# ---------------------------------------------------------------- markup and javascript: URLs are plain text

def test_markup_and_javascript_urls_are_stored_as_plain_text(data_paths: DataPaths, tmp_path: Path) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, "script.csv", hostile("script.csv"))
    assert outcome.summary.status == "ok" and outcome.rejected() == []
    assert outcome.query("SELECT s.name, p.name, s.email, s.website, s.referral_route, s.phone FROM service AS s "
                         "JOIN provider AS p USING (provider_id)") == [
        ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)", "javascript:alert(1)",
         '<a href="javascript:alert(1)">verwijs</a>', "020 555 0199")]


# ---------------------------------------------------------------- personal data: refused, deleted, reported

@pytest.mark.parametrize("name, columns", [("personal.csv", "'Naam cliënt', 'Geb. datum', 'BSN'"),
                                           ("personal.xlsx", "'voornaam', 'geboortedatum'")])
def test_personal_data_columns_refuse_and_delete_the_file(data_paths: DataPaths, tmp_path: Path, name: str,
                                                          columns: str) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, name, hostile(name))
    status, *_, error = outcome.last_run()
    assert status == "failed" and error.startswith(f"{name}: the column(s) {columns} hold personal data of clients")
    assert loaded(outcome) == (0, 0, 0)
    assert list(quarantined(data_paths)) == [f"{name}.fout.txt"]
    assert files_under(data_paths.inbox) == files_under(data_paths.archive) == []
    report = quarantined(data_paths)[f"{name}.fout.txt"].read_text(encoding="utf-8")
    assert "The file was deleted because it contained personal data of clients" in report
    assert leaks(data_paths, ("Fictieve", "01-02-1990", "1990-02-01", "111222333")) == []


# ---------------------------------------------------------------- unsafe workbooks: refused before reading

def test_an_xlsx_beyond_the_size_cap_is_refused(data_paths: DataPaths, tmp_path: Path) -> None:
    size = len(hostile("oversized.xlsx"))
    outcome = ingest_bytes(data_paths, tmp_path, "oversized.xlsx", hostile("oversized.xlsx"), "max_bytes = 4096\n")
    assert_refused_and_quarantined(outcome, data_paths, "oversized.xlsx",
                                   f"oversized.xlsx: the file is {size} bytes, more than the limit of 4096 bytes")


def test_a_zip_bomb_xlsx_is_refused(data_paths: DataPaths, tmp_path: Path) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, "zipbomb.xlsx", hostile("zipbomb.xlsx"))
    report = assert_refused_and_quarantined(outcome, data_paths, "zipbomb.xlsx",
                                            "zipbomb.xlsx: the part 'xl/worksheets/sheet1.xml' is suspiciously "
                                            "highly compressed")
    assert "limit 100); the file is refused" in report and "verdacht sterk ingepakt" in report


def test_an_xlsx_with_an_external_entity_is_refused(data_paths: DataPaths, tmp_path: Path) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, "xxe.xlsx", hostile("xxe.xlsx"))
    assert_refused_and_quarantined(outcome, data_paths, "xxe.xlsx",
                                   "xxe.xlsx: the file contains XML entity declarations (DOCTYPE/ENTITY in "
                                   "'xl/worksheets/sheet1.xml') and is refused for security reasons")
    assert leaks(data_paths, ("root:x:0:0",)) == []


# ---------------------------------------------------------------- a deeply nested feed

def test_a_deeply_nested_feed_fails_with_a_plain_message(feeds: Feeds) -> None:
    feeds.add("diep", feeds.server.script("/diep", ok(hostile("deep.json"))), timeout_seconds=2)
    summary = feeds.run("diep")
    assert summary.status == "failed" and summary.loaded == 0
    (status, rows_in, rows_loaded, _, error_nl, error_en), = feeds.ledger("diep")
    url = f"http://127.0.0.1:{feeds.server.port}/diep"
    assert (status, rows_in, rows_loaded) == ("failed", 0, 0)
    assert error_en.startswith(url) and "nested deeper than 64 levels" in error_en
    assert "dieper genest dan 64 niveaus" in error_nl
    assert feeds.observations() == [] and feeds.feed_state("diep") == []
