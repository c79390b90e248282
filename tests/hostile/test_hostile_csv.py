"""Malformed CSV through the real ingest path: no row vanishes silently. A quote that never closes, a row
with fewer cells, an over-long cell and a byte that is not UTF-8 each cost their own line (named in the
message), never the rows after it and never the whole file. Expectations worked out by hand per file."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest_support import ingest_bytes
from queries.paths import DataPaths

HEADER = "service_id;service_name;provider_name;care_type;target_groups;service_area;valid_at;unit;maximum;available"
pytestmark = pytest.mark.timeout(60)


def line(service_id: str, name: str = "Opvang", available: str = "1") -> str:
    return f"{service_id};{name};Stichting X;shelter;child;GM0014;2026-11-24 10:00;place;5;{available}"


def loaded(outcome) -> list[str]:
    return [service for (service,) in outcome.query("SELECT service_id FROM capacity_observation ORDER BY 1")]


def errors(outcome) -> list[tuple[int, str]]:
    return [(row, message) for row, _, _, message in outcome.rejected()]


@pytest.mark.parametrize("broken, third", [
    (line("Q2", available='"1'), line("Q3")),             # the quote opens in the last column
    (line("Q2", name='"Opvang'), line("Q3")),             # ... in the middle
    (line("Q2", name='"Opvang'), line("Q3", name='Opvang "Zuid"')),  # ... and a quote on the next line closes it
])
def test_a_quote_that_never_closes_costs_only_its_own_line(data_paths: DataPaths, tmp_path: Path,
                                                           broken: str, third: str) -> None:
    """Lines 2-6: Q1, the broken Q2, Q3, Q4, Q5. Before, Q3-Q5 vanished into Q2's cell (and with the quote in
    the last column the run said `ok`)."""
    content = "\n".join([HEADER, line("Q1"), broken, third, line("Q4"), line("Q5")]) + "\n"
    outcome = ingest_bytes(data_paths, tmp_path, "quotes.csv", content.encode())
    assert loaded(outcome) == ["Q1", "Q3", "Q4", "Q5"]
    (row, message), = errors(outcome)
    assert row == 3 and 'the quote (") that opens on line 3 is never closed' in message
    assert outcome.summary.status == "partial"


def test_a_quote_left_open_on_the_last_line_is_caught_too(data_paths: DataPaths, tmp_path: Path) -> None:
    content = "\n".join([HEADER, line("E1"), line("E2", name='"Opvang')]) + "\n"
    outcome = ingest_bytes(data_paths, tmp_path, "eof.csv", content.encode())
    assert loaded(outcome) == ["E1"] and [row for row, _ in errors(outcome)] == [3]
    assert "never closed" in errors(outcome)[0][1]


def test_a_real_multi_line_cell_still_loads(data_paths: DataPaths, tmp_path: Path) -> None:
    content = "\n".join([HEADER, line("M1", name='"Opvang\nafdeling Noord"'), line("M2")]) + "\n"
    outcome = ingest_bytes(data_paths, tmp_path, "multi.csv", content.encode())
    assert loaded(outcome) == ["M1", "M2"] and errors(outcome) == []
    assert outcome.query("SELECT name FROM service WHERE service_id = 'M1'") == [("Opvang\nafdeling Noord",)]


def test_a_row_with_fewer_cells_is_not_loaded_shifted(data_paths: DataPaths, tmp_path: Path) -> None:
    """S2 lost the delimiter between its name and provider: every value after it would sit one column to
    the left (maximum 1, available empty). It is a row error; S1 and S3 load."""
    shifted = line("S2").replace("Opvang;Stichting X", "Opvang Stichting X")
    content = "\n".join([HEADER, line("S1"), shifted, line("S3")]) + "\n"
    outcome = ingest_bytes(data_paths, tmp_path, "short.csv", content.encode())
    assert loaded(outcome) == ["S1", "S3"]
    assert errors(outcome) == [(3, "this line has 9 cells and the header 10 columns; a shifted "
                                   "line is not loaded (check delimiters and quotes)")]


def test_a_cell_longer_than_the_csv_readers_limit_is_named_as_such(data_paths: DataPaths,
                                                                   tmp_path: Path) -> None:
    """200,000 characters is more than Python's default field limit (131,072); that was reported as a
    missing quote. Now the cell is read: too long for a name (a row error saying so), fine in a column
    nobody maps."""
    long = "x" * 200_000
    content = "\n".join([HEADER + ";opmerking", line("L1") + f";{long}", line("L2", name=long) + ";kort"]) + "\n"
    outcome = ingest_bytes(data_paths, tmp_path, "long.csv", content.encode())
    assert loaded(outcome) == ["L1"]
    (row, message), = errors(outcome)
    assert row == 3 and "service_name: text is longer than 500 characters" == message


def test_a_byte_that_is_not_utf8_is_named_with_its_line_and_offset(data_paths: DataPaths, tmp_path: Path) -> None:
    """A UTF-8 file (U1 is called Zoë, in UTF-8) with one Windows-1252 byte (0xEB, ë) on line 3: that line is
    a row error naming byte 0xEB, its value where it is in the file; the rest loads, Zoë read right."""
    first = (HEADER + "\n" + line("U1", name="Zoë") + "\n").encode("utf-8")
    bad = line("U2", name="Zo\udceb").encode("utf-8", "surrogateescape") + b"\n"
    offset = len(first) + len("U2;Zo") + 1  # 1-based
    content = first + bad + (line("U3") + "\n").encode()
    outcome = ingest_bytes(data_paths, tmp_path, "bytes.csv", content)
    assert loaded(outcome) == ["U1", "U3"]
    assert outcome.query("SELECT name FROM service WHERE service_id = 'U1'") == [("Zoë",)]
    assert outcome.rejected() == [(3, None, f"0xEB @ byte {offset}",
                                   "byte 0xEB on this line is not valid UTF-8; save the file as 'CSV UTF-8' and send "
                                   "it again (or, when this source always sends Windows-1252: set encoding = "
                                   "\"windows-1252\" for the source)")]


def test_a_windows_1252_file_is_still_read_as_such(data_paths: DataPaths, tmp_path: Path) -> None:
    content = (HEADER + "\n" + line("W1", name="Zoë's opvang €") + "\n").encode("cp1252")
    outcome = ingest_bytes(data_paths, tmp_path, "ansi.csv", content)
    assert outcome.query("SELECT name FROM service") == [("Zoë's opvang €",)] and errors(outcome) == []
