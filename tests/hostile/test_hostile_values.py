"""Hostile and malformed values through the real ingest path (real files and DuckDB in temp folders): no
number read wrong, no digit from another script, no silent moment in a daylight-saving change, no text
that breaks storage or an export, no whole file failing for one value. Every expectation is worked out by
hand from the rows written here."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook, load_workbook

from ingest.runner import unexpected
from ingest_support import drop, ingest_bytes, write_config
from queries.export import to_csv, to_json, to_xlsx
from queries.paths import DataPaths
from support import run_cli
from test_ingest_feed import feeds, ok, server  # noqa: F401 - the feed fixtures

HEADER = "service_id;service_name;provider_name;care_type;target_groups;service_area;valid_at;unit;maximum;available"
UTC = timezone.utc
pytestmark = pytest.mark.timeout(90)


def line(service_id: str, maximum: str = "5", available: str = "0", name: str = "Opvang",
         valid_at: str = "2026-11-24 10:00") -> str:
    return f"{service_id};{name};Stichting X;shelter;child;GM0014;{valid_at};place;{maximum};{available}"


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def rejected(outcome) -> dict[int, tuple[str, str, str]]:
    return {row: (column, value, message) for row, column, value, message in outcome.rejected()}


def ledger_errors(paths: DataPaths) -> list[str]:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return [text for (text,) in con.execute("SELECT coalesce(error_en, '') || coalesce(error_nl, '') "
                                                 "FROM ingest_run").fetchall()]
    finally:
        con.close()


# --- whole numbers: one rule --------------------------------------------------------------------------------

WHOLE_NUMBERS = [  # (written, loaded as, or the words of the refusal)
    ("1.000", 1000, None), ("10.000", 10000, None), ("1.000.000", 1_000_000, None), ("1.200", 1200, None),
    ("1 000", 1000, None), ("1\u00a0000", 1000, None), ("12,0", 12, None), ("12.00", 12, None), ("1.00", 1, None),
    ("1.000,0", 1000, None), ("007", 7, None),
    ("1,000", None, "ambiguous"), ("1,000,000", None, "ambiguous"), ("1,5", None, "not a whole number"),
    ("12.5", None, "not a whole number"), ("1 00", None, "not a whole number"), ("1.0000.0", None, "not a whole"),
    ("\u0663", None, "not a whole number"), ("\uff13", None, "not a whole number"), ("٣٠", None, "not a whole"),
    ("+5", None, "not a whole number"), ("-5", None, "negative"), ("1000001", None, "too large"),
    ("9" * 5000, None, "too large"), ("1e3", None, "not a whole number"),
]


def test_whole_numbers_follow_one_rule_and_never_shrink(data_paths: DataPaths, tmp_path: Path) -> None:
    """Row k + 2 holds case k in `maximum`. Points group thousands (1.000 is a thousand, never one), a comma
    with three digits is ambiguous, only ASCII digits count, a number of 5,000 digits is one row error."""
    lines = [line(f"W{k}", maximum=written) for k, (written, _, _) in enumerate(WHOLE_NUMBERS)]
    outcome = ingest_bytes(data_paths, tmp_path, "numbers.csv", csv_bytes(*lines))
    loaded = dict(outcome.query("SELECT service_id, maximum FROM capacity_observation"))
    problems = rejected(outcome)
    for k, (written, expected, words) in enumerate(WHOLE_NUMBERS):
        if expected is not None:
            assert loaded.get(f"W{k}") == expected, (written, loaded.get(f"W{k}"))
        else:
            assert f"W{k}" not in loaded, written
            column, _, message = problems[k + 2]
            assert column == "maximum" and words in message, (written, message)
    assert outcome.summary.status == "partial"
    assert not any("Traceback" in text or 'File "' in text for text in ledger_errors(data_paths))


# --- moments in a daylight-saving change --------------------------------------------------------------------


def test_a_clock_time_skipped_or_repeated_by_daylight_saving_is_refused(data_paths: DataPaths,
                                                                       tmp_path: Path) -> None:
    """29 March 2026 02:30 never happened in the Netherlands; 25 October 2026 02:30 happened twice. Both are
    refused and ask for the offset; with an offset, or just outside the change, they load."""
    lines = [line("D1", valid_at="2026-03-29 02:30"), line("D2", valid_at="29-03-2026 02:00"),
             line("D3", valid_at="2026-10-25 02:30"), line("D4", valid_at="25-10-2026 02:59"),
             line("D5", valid_at="2026-10-25T02:30+01:00"), line("D6", valid_at="2026-03-29 03:00"),
             line("D7", valid_at="2026-10-25 03:00"), line("D8", valid_at="2026-10-25 01:59")]
    outcome = ingest_bytes(data_paths, tmp_path, "dst.csv", csv_bytes(*lines))
    problems = rejected(outcome)
    for row in (2, 3):
        assert problems[row][0] == "valid_at" and "does not exist in Dutch time" in problems[row][2]
    for row in (4, 5):
        assert problems[row][0] == "valid_at" and "occurs twice in Dutch time" in problems[row][2]
    moments = dict(outcome.query("SELECT service_id, valid_at FROM capacity_observation"))
    assert moments == {
        "D5": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),   # the second 02:30, winter time (+01:00)
        "D6": datetime(2026, 3, 29, 1, 0, tzinfo=UTC),     # 03:00 summer time (+02:00)
        "D7": datetime(2026, 10, 25, 2, 0, tzinfo=UTC),    # 03:00 winter time (+01:00)
        "D8": datetime(2026, 10, 24, 23, 59, tzinfo=UTC),  # 01:59 summer time (+02:00)
    }


# --- text that breaks storage or exports ---------------------------------------------------------------------


def test_control_characters_are_refused_at_ingest_and_exports_survive(data_paths: DataPaths,
                                                                       tmp_path: Path) -> None:
    """A NUL or other control character in any field refuses its row (shown escaped, never raw); tab and
    line breaks inside a quoted cell are text. Every export of the ledger and rejections still works."""
    lines = [line("T1", name="Opvang\x00Noord"), line("T2", name="Opvang\x1bZuid"), line("T3\x07"),
             line("T4", name='"Opvang\tWest\nafdeling 2"'), line("T5", name="Opvang\x85Oost")]
    outcome = ingest_bytes(data_paths, tmp_path, "controls.csv", csv_bytes(*lines))
    problems = rejected(outcome)
    assert problems[2][:2] == ("service_name", "Opvang\\x00Noord") and "U+0000 at position 7" in problems[2][2]
    assert problems[3][:2] == ("service_name", "Opvang\\x1bZuid") and "U+001B" in problems[3][2]
    assert problems[4][:2] == ("service_id", "T3\\x07") and "U+0007" in problems[4][2]
    assert problems[7][:2] == ("service_name", "Opvang\\x85Oost") and "U+0085" in problems[7][2]
    assert outcome.query("SELECT name FROM service") == [("Opvang\tWest\nafdeling 2",)]
    for form in ("xlsx", "csv", "json"):
        target = tmp_path / f"sources.{form}"
        result = run_cli("report", "sources", "--format", form, "--out", str(target), "--data-dir",
                         str(data_paths.root))
        assert result.returncode == 0, result.stderr


def test_no_export_can_crash_on_stored_text() -> None:
    """Whatever text reached the warehouse before these rules (NUL, escape, a lone surrogate, U+FFFF), every
    export writes it escaped; tab and line breaks stay."""
    hostile = "a\x00b\x1bc\ud800d\uffffe\tf\ng"
    rows = [{"name": hostile, "n": 1}]
    book = load_workbook(io.BytesIO(to_xlsx(["name", "n"], rows)))
    assert book.active["A2"].value == "a\\x00b\\x1bc\\ud800d\\uffffe\tf\ng"
    assert "a\\x00b" in to_csv(["name", "n"], rows) and "\\ud800" in to_csv(["name", "n"], rows)
    assert json.loads(to_json(rows).encode("utf-8"))[0]["name"] == "a\\x00b\\x1bc\\ud800d\\uffffe\tf\ng"


# --- JSON feeds: one bad value is one row error, in the provider's own words ---------------------------------


def record(service_id: str, **fields: object) -> str:
    base = {"service_id": service_id, "service_name": "Opvang", "provider_name": "Stichting X",
            "service_area": "GM0014", "valid_at": "2026-11-24T10:00", "unit": "place", "maximum": 5,
            "available": 0}
    return json.dumps({**base, **fields})


def test_a_feed_value_that_is_no_number_or_no_text_is_one_row_error(feeds) -> None:
    """Records 1-5 each carry one bad value, record 6 is good: 1e400 and true are shown as the feed wrote
    them, a 5,000-digit number is too large, a lone surrogate in a name is refused, not a crash."""
    body = ('{"records": [' + ", ".join([
        record("J1").replace('"maximum": 5', '"maximum": 1e400'), record("J2", maximum=True),
        record("J3").replace('"maximum": 5', '"maximum": ' + "9" * 5000),
        record("J4").replace('"service_name": "Opvang"', '"service_name": "Opvang \\ud800"'),
        record("J5", available=12.5, maximum=20), record("J6", maximum=8.0, available=2)]) + "]}").encode()
    path = feeds.server.script("/hostile.json", ok(body))
    feeds.add("hostile", path)
    summary = feeds.run("hostile")
    assert summary.status == "partial" and summary.loaded == 1
    found = {row: (column, value, message) for row, column, value, message in feeds.query(
        "SELECT row_number, column_name, value, message_en FROM rejected_row ORDER BY row_number")}
    assert found[1] == ("maximum", "1e400", "maximum: '1e400' is not a whole number ≥ 0")
    assert found[2] == ("maximum", "true", "maximum: 'true' is not a whole number ≥ 0")
    assert found[3][0] == "maximum" and "too large" in found[3][2] and found[3][1].endswith("… (5000)")
    assert found[4][:2] == ("service_name", "Opvang \\ud800") and "U+D800" in found[4][2]
    assert found[5] == ("available", "12.5", "available: '12.5' is not a whole number ≥ 0")
    assert feeds.query("SELECT service_id, maximum, available FROM capacity_observation") == [("J6", 8, 2)]


def test_an_empty_feed_says_it_holds_no_records(feeds) -> None:
    path = feeds.server.script("/empty.json", ok(b"[]"))
    feeds.add("empty", path)
    summary = feeds.run("empty")
    assert summary.status == "failed"
    (status, _, _, _, error_nl, error_en), = feeds.ledger("empty")
    assert "holds no records" in error_en and "bevat geen records" in error_nl and "header" not in error_en


# --- the ledger and the log --------------------------------------------------------------------------------


def test_an_unexpected_fault_reaches_the_ledger_as_one_line_without_traceback() -> None:
    try:
        int("9" * 5000)
    except ValueError as error:
        nl, en = unexpected(error)
    assert "\n" not in en and "Traceback" not in en and en.startswith("Unexpected error (ValueError: ")
    assert "log of the ingest process" in en and "log van het ingest-proces" in nl


def test_a_file_name_cannot_forge_a_log_line(data_paths: DataPaths, tmp_path: Path) -> None:
    """A newline in a file name (possible on Linux) is escaped in the ingester's log and summary."""
    config = write_config(tmp_path)
    drop(data_paths, "report\n2026-12-03 12:00:00 capacity.ingest INFO FORGED.csv", csv_bytes(line("L1")))
    result = run_cli("ingest", "--once", "--data-dir", str(data_paths.root), "--config", str(config))
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "report\\x0a2026-12-03" in output
    assert not any(text.startswith("2026-12-03 12:00:00 capacity.ingest INFO FORGED") for text in
                   output.splitlines())


def xlsx_with_raw_numbers(rows: list[list[object]], raw: dict[str, str]) -> bytes:
    """An .xlsx written by openpyxl, then each placeholder number's <v> replaced by raw text (as a broken
    or hostile exporter could write it)."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    written = io.BytesIO()
    book.save(written)
    source, patched = zipfile.ZipFile(io.BytesIO(written.getvalue())), io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for placeholder, text in raw.items():
                    data = data.replace(f"<v>{placeholder}</v>".encode(), f"<v>{text}</v>".encode())
            target.writestr(item, data)
    return patched.getvalue()


def test_an_xlsx_number_cell_that_is_no_number_is_one_row_error(data_paths: DataPaths, tmp_path: Path) -> None:
    """Rows 2-4: a number cell of 5,000 digits, one holding 'abc', one fine. Before, the first two failed the
    whole file ('damaged')."""
    header = HEADER.split(";")
    base = ["Stichting X", "shelter", "child", "GM0014", "2026-11-24 10:00", "place"]
    rows = [header, ["X1", "Opvang", *base, 111111, 0], ["X2", "Opvang", *base, 222222, 0],
            ["X3", "Opvang", *base, 7, 1]]
    content = xlsx_with_raw_numbers(rows, {"111111": "9" * 5000, "222222": "abc"})
    outcome = ingest_bytes(data_paths, tmp_path, "numbers.xlsx", content)
    assert outcome.query("SELECT service_id, maximum FROM capacity_observation") == [("X3", 7)]
    problems = rejected(outcome)
    assert problems[2][0] == "maximum" and "too large" in problems[2][2]
    assert problems[3] == ("maximum", "abc", "maximum: 'abc' is not a whole number ≥ 0")
