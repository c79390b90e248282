"""Set-wise validation gives what a plain row-by-row reference gives (tests/rowwise_reference.py), for random
files that mix valid rows with every kind of error, under two rule sets; and DuckDB reads a plain CSV file
into exactly the rows the Python reader reads."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ingest import tabular
from ingest.records import Extract, RawRow, StructuralError
from ingest.rules import rules_of
from ingest.staging import BOUND_ROWS, MAX_LINE_BYTES, cell_of, stage, staged_text
from ingest.tabular import PlainCsvExtract, read_csv_bytes, read_tabular
from ingest import validate as validate_module
from ingest.cell_lookups import build_lookups
from ingest.validate import read_reference, validate
from queries.db import rows
from queries.paths import DataPaths
from rowwise_reference import reference_outcome

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
BSN = "111222333"   # passes the 11-test: 9+8+7+12+10+8+9+6-3 = 66
GOOD = {   # values a row may hold without an error of its own (the rules between fields aside)
    "service_id": ["S1", "S2", "S3", "S4", "S5"],
    "service_name": ["Dienst A", "Dienst B"],
    "provider_name": ["Stichting A", "Stichting B"],
    "care_type": ["shelter", "trauma_care", "opvang", "daderhulp"],
    "target_groups": ["child", "adult_victim|child", "perpetrator"],
    "service_area": ["GM0014", "Groningen", "GM0034|GM0014"],
    "valid_at": ["2026-11-01T10:00:00+00:00", "01-11-2026 10:00", "2026-11-01 10:00", "2026-11-02"],
    "unit": ["place", "bed"],
    "maximum": ["10", "1.000", "", "2"],
    "available": ["0", "3", "", "1"],
    "status": ["", "open", "wachtlijst"],
    "waiting_count": ["5", ""],
    "wait_days_intake": ["5", ""],
    "wait_days_treatment": ["2", ""],
    "age_min": ["", "12", "18"],
    "age_max": ["", "17", "99"],
    "referral_route": ["", "via Veilig Thuis"],
    "soort": ["capaciteit", "capaciteit", "overig"],
}
BAD = {    # values that are an error, or become one with another field (and empty words, `means` words)
    "service_id": ["", "S\x07"],
    "service_name": ["Opvang Kerkstraat 12", f"Naam {BSN}", ""],
    "provider_name": ["Stichting  A", "", "-"],
    "care_type": ["onzin", ""],
    "target_groups": ["", "xyz"],
    "service_area": ["GM9999", "", "Nergensdorp"],
    "valid_at": ["31-02-2026", "2030-01-01", "", "2026-03-29 02:30"],
    "unit": ["", "stoel"],
    "maximum": ["1,5", "-1", "abc", "10000000", "1,000"],
    "available": ["12", "x", "onbekend", "2000"],
    "status": ["full", "closed", "vol", "raar"],
    "waiting_count": ["veel", "-"],
    "wait_days_intake": ["4000", "stop", "onbekend"],
    "wait_days_treatment": ["1,5", "600", "x"],
    "age_min": ["130", "100"],
    "age_max": ["16", "121"],
    "referral_route": ["Dorpsstraat 5", f"bel {BSN}", "1234 AB"],
    "soort": ["", "Capaciteit"],
}
CELLS = list(GOOD)
RULE_SETS = {
    "template": {},
    "own words": {"empty": {"*": ["onbekend", "-"]}, "means": {"wait_days_intake": {"stop": {"status": "closed"}}},
                  "lenient": ["waiting_count"], "defaults": {"unit": "place"},
                  "convert": {"wait_days_treatment": "weeks"},
                  "filters": [{"column": "soort", "values": ["capaciteit"]}],
                  "fields": {"provider_name": ["naam", "provider_name"]}, "mapping": {"dienst": "service_id"}},
}


@pytest.fixture(scope="module")
def reference(initialised_template: Path):
    con = duckdb.connect(str(DataPaths(initialised_template).warehouse), read_only=True)
    try:
        return read_reference(con)
    finally:
        con.close()


good_st = st.fixed_dictionaries({column: st.sampled_from(values) for column, values in GOOD.items()})
fault_st = st.sampled_from([(column, value) for column, values in BAD.items() for value in values])
row_st = st.builds(lambda row, faults: {**row, **dict(faults)}, good_st, st.lists(fault_st, max_size=2))
line_st = st.one_of(row_st, st.sampled_from(["blank", "short", "extra", "empty-extra"]))


def write(path: Path, header: list[str], lines: list, quote_one: bool) -> None:
    """The file as a provider might send it: ';'-separated, with odd lines between the rows."""
    out = [";".join(header)]
    for line in lines:
        if line == "blank":
            out.append("")
        elif line == "short":
            out.append("S9;Dienst")
        elif line in ("extra", "empty-extra"):
            cells = ["S8"] + ["1"] * (len(header) - 1)
            out.append(";".join(cells + (["zomaar"] if line == "extra" else ["", ""])))
        else:
            out.append(";".join(line[column] for column in CELLS))
    if quote_one:
        out.append('"S7";"Dienst ""7""";' + ";".join([""] * (len(header) - 2)))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line_st, min_size=1, max_size=25), rule_set=st.sampled_from(sorted(RULE_SETS)),
       quote_one=st.booleans())
def test_setwise_validation_matches_the_row_by_row_reference(tmp_path: Path, reference, lines: list, rule_set: str,
                                                              quote_one: bool) -> None:
    header = list(CELLS)
    if rule_set == "own words":
        header = ["dienst" if c == "service_id" else "naam" if c == "provider_name" else c for c in header]
    path = tmp_path / "rapport.csv"
    write(path, header, lines, quote_one)
    rules = rules_of(RULE_SETS[rule_set])
    extract = read_tabular(path)
    assert isinstance(extract, PlainCsvExtract) == (not quote_one)
    try:
        expected = reference_outcome(read_csv_bytes(path.read_bytes(), path.name), rules, reference, NOW)
    except StructuralError as refused:
        with pytest.raises(StructuralError) as also:
            validate(extract, rules, reference, NOW)
        assert (also.value.nl, also.value.en) == (refused.nl, refused.en)
        return
    found = validate(extract, rules, reference, NOW)
    assert [(e.row, e.column, e.value, e.nl, e.en) for e in found.rejected] == expected["rejected"]
    assert [asdict(r) for r in found.records] == expected["records"]
    assert (found.masked_columns, found.filtered, found.left_out) == \
        (expected["masked"], expected["filtered"], expected["left_out"])


def test_a_column_whose_cells_are_their_own_values_is_read_without_a_join(tmp_path: Path, reference,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A field whose every cell is given as written (its value, encoded, is the cell's text) takes the cell
    through the lookup's SQL instead of joining the lookup; one cell written otherwise ('020' for 20), an
    empty one, or one cell in the whole file keeps the field on the usual path. The values are the same."""
    found = []
    monkeypatch.setattr(validate_module, "build_lookups", lambda *args: found.append(build_lookups(*args)) or found[-1])
    path = tmp_path / "f.csv"
    path.write_text("service_id;service_name;provider_name;care_type;target_groups;service_area;valid_at;unit;"
                    "maximum;available;referral_route\n"
                    "S1;Dienst A;Stichting A;shelter;child;GM0014;2026-11-01T10:00:00+00:00;place;10;3;via Veilig Thuis\n"
                    "S2;Dienst B;Stichting A;shelter;child;GM0014;2026-11-01T11:00:00+00:00;place;020;1;\n",
                    encoding="utf-8")
    result = validate(read_tabular(path), rules_of({}), reference, NOW)
    assert found[0].identity == {"service_id", "service_name", "valid_at", "available"}
    assert [(r.service_id, r.service_name, r.valid_at, r.maximum, r.available, r.referral_route)
            for r in result.records] == [
        ("S1", "Dienst A", datetime(2026, 11, 1, 10, tzinfo=timezone.utc), 10, 3, "via Veilig Thuis"),
        ("S2", "Dienst B", datetime(2026, 11, 1, 11, tzinfo=timezone.utc), 20, 1, None)]


PLAIN_FILES = {
    "lf": b"a;b;c\n1;2;3\n4;5;6\n",
    "crlf, no last line end": b"a;b;c\r\n1;2;3\r\n4;5;6",
    "bom, blank lines": b"\xef\xbb\xbfa;b;c\n\n1;2;3\n;;\n\n4;5;6\n\n",
    "short and long lines": b"a;b;c\n1;2\n1;2;3;4\n1;2;3;;\n7;8;9\n",
    "comma": b"a,b,c\n1,2,3\n",
    "tabs": b"a\tb\tc\n1\t2\t3\n",
    "utf-8 text": "a;b;c\nÅse;Zoë;ñ\n".encode(),
    "spaces at cell edges (read in Python after all)": b"a;b;c\n1 ;2;3\n4; 5;6\n",
    "a no-break space at an edge": "a;b;c\n1\u00a0;2;3\n".encode(),
    "white space only lines": b"a;b;c\n   \n1;2;3\n ; ; \n",
    "a line longer than DuckDB reads (read in Python after all)": b"a;b;c\n1;" + b"x" * (MAX_LINE_BYTES + 10)
                                                                  + b";3\n4;5;6\n",
}


@pytest.mark.parametrize("content", PLAIN_FILES.values(), ids=PLAIN_FILES.keys())
def test_duckdb_reads_a_plain_csv_as_the_python_reader_does(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    extract = read_tabular(path)
    assert isinstance(extract, PlainCsvExtract)
    python = read_csv_bytes(content, path.name)
    con = duckdb.connect()
    staged = stage(con, extract, python.header)
    names = ", ".join(staged.columns.values())
    found = [(row, dict(zip(python.header, cells)))
             for row, *cells in rows(con, f"SELECT row, {names} FROM {staged.table} ORDER BY row")]
    assert found == [(raw.row, raw.values) for raw in python.rows]
    assert staged.errors == python.errors
    assert extract.header == python.header


@pytest.mark.parametrize("content", PLAIN_FILES.values(), ids=PLAIN_FILES.keys())
def test_a_plain_csv_streamed_line_by_line_gives_the_rows_the_python_reader_gives(tmp_path: Path,
                                                                                  content: bytes) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    extract = read_tabular(path)
    assert isinstance(extract, PlainCsvExtract)
    assert list(extract.stream_rows()) == read_csv_bytes(content, path.name).rows
    assert extract._whole is None   # streamed, not read whole


plain_cell_st = st.text(alphabet=st.sampled_from(list("ab1 ;,\t") + ["\u00a0", "\x0b", "\x0c", "\x1c", "\x85",
                                                                          "\u2028", "ë", "é"]), max_size=6)


@settings(max_examples=150, deadline=None)
@given(header=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True),
       lines=st.lists(st.lists(plain_cell_st, max_size=6), max_size=12), delimiter=st.sampled_from([";", ",", "\t"]),
       line_end=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(), last_end=st.booleans())
def test_any_plain_csv_streams_as_the_python_reader_reads_it(header: list[str], lines: list[list[str]],
                                                             delimiter: str, line_end: str, bom: bool,
                                                             last_end: bool) -> None:
    """Random files of short, long, blank and white-space lines, cells with every kind of white space the
    two ways of reading might treat apart, either line end, with or without a byte order mark."""
    text = line_end.join([delimiter.join(header), *(delimiter.join(cells) for cells in lines)])
    content = (b"\xef\xbb\xbf" if bom else b"") + (text + (line_end if last_end else "")).encode("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_bytes(content)
        try:
            extract = read_tabular(path)
        except StructuralError:
            return   # a header the reader refuses (a delimiter in it reads as more columns)
        if isinstance(extract, PlainCsvExtract):
            assert list(extract.stream_rows()) == read_csv_bytes(content, path.name).rows


NOT_PLAIN = {
    "quoted": b'a;b\n"1";2\n',
    "windows-1252": "a;b\nZoë;2\n".encode("cp1252"),
    "mixed line ends": b"a;b\r\n1;2\n3;4\r\n",
    "line feeds, then carriage returns with them": b"a;b\n1;2\n3;4\r\n",
    "old mac line ends": b"a;b\r1;2\r",
    "utf-16": "a;b\n1;2\n".encode("utf-16"),
    "blank first line": b"\na;b\n1;2\n",
}


@pytest.mark.parametrize("content", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_files_duckdb_would_read_otherwise_are_read_in_python(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert not isinstance(read_tabular(path), PlainCsvExtract)


@pytest.mark.parametrize("content, plain", [
    (b"a;b\n1;2\n3;4\r\n5;6\r\n", False), (b"a;b\r\n1;2\r\n3;4\n5;6\r\n", False), (b"a;b\r\n1;2\r\n3;4\r\n", True),
    (b"a;b\n1;2\n3;4\n5;6\n", True)], ids=["lf then crlf", "crlf, one lf", "crlf", "lf"])
@pytest.mark.parametrize("chunk", [1, 3, 5, 16])
def test_line_ends_are_judged_the_same_across_the_pieces_a_file_is_read_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, plain: bool, chunk: int) -> None:
    """A file is checked in pieces of `_PLAIN_CHUNK` bytes (16 MiB); here a few bytes, so that a piece
    boundary falls between the line ends of every kind."""
    monkeypatch.setattr(tabular, "_PLAIN_CHUNK", chunk)
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert isinstance(read_tabular(path), PlainCsvExtract) == plain


@pytest.mark.parametrize("count", [1, BOUND_ROWS, BOUND_ROWS + 1, 3 * BOUND_ROWS])
def test_rows_read_in_python_are_staged_alike_however_many(count: int) -> None:
    """A few rows are staged as bound values, more through a data frame: the same cells either way."""
    kinds = ["tekst", "\x01begint met de markering", "Opvang \ud800", 12, 12.5, True, None,
             datetime(2026, 3, 29, 2, 30), ""]
    extract = Extract("f.json", ["a", "b"], [
        RawRow(2 * n + 1, {"a": kinds[n % len(kinds)], "b": kinds[-n % len(kinds)]}) for n in range(count)])
    con = duckdb.connect()
    staged = stage(con, extract, ["a", "b", "missing"])
    found = rows(con, f"SELECT row, c1, c2, c3 FROM {staged.table} ORDER BY row")
    assert [(row, cell_of(a), cell_of(b), c) for row, a, b, c in found] == [
        (raw.row, "" if raw.values["a"] is None else raw.values["a"],
         "" if raw.values["b"] is None else raw.values["b"], "") for raw in extract.rows]
    assert staged.rows == count


@pytest.mark.parametrize("cell", ["tekst", "\x01begint met de markering", "Opvang \ud800", 12, 12.5, 1e400, True, False,
                                  None, datetime(2026, 3, 29, 2, 30)], ids=repr)
def test_a_staged_cell_gives_the_same_value_back(cell: object) -> None:
    """Text, numbers, yes/no and dates of spreadsheets and feeds, and text DuckDB cannot hold, survive staging;
    None is an empty cell, as the rules read it."""
    con = duckdb.connect()
    text = rows(con, "SELECT ?::VARCHAR", [staged_text(cell)])[0][0]
    assert cell_of(text) == ("" if cell is None else cell) and type(cell_of(text)) is (str if cell is None else type(cell))
