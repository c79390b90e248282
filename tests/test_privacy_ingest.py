"""Personal data and street addresses through the real ingest path: real files in tmp folders, the real
SourceRunner and DuckDB. Personal-data columns refuse the batch and the file is deleted (only a report
stays); a BSN in a free-text field refuses its row and is masked everywhere; address columns are dropped
and the archive keeps only a scrubbed copy, so no file under the data folder holds the address."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType

import duckdb
import pytest
from openpyxl import Workbook

from ingest import crashpoints
from ingest.config import ConfigError, load_sources
from ingest.privacy import address_columns, address_text_columns, elfproef, is_personal, scrubbed_copy
from ingest.rules import rules_of
from ingest.tabular import PlainCsvExtract, TextScan, read_csv_bytes, read_tabular
from ingest.validate import bsn_columns, scan_plain_file
from ingest_support import Outcome, drop, files_under, ingest_bytes, leaks, run_source, write_config
from queries.db import rows
from queries.paths import DataPaths
from test_hsds import PAGES, PagedServer
from test_ingest_feed import Feeds, feeds, ok, server  # noqa: F401 - the feed fixtures
from test_ingest_files import Killed, kill

HEADER = "service_id,service_name,provider_name,care_type,target_groups,service_area,valid_at,unit,maximum,available"
LINE = "S1,Opvang Noord,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,1"
PACKAGE = Path(__file__).resolve().parent / "fixtures" / "hsds" / "package"
HSDS_SECRETS = ("Verborgenstraat", "Schuilweg", "Geheimhof", "1011 ZZ", "3511 ZZ", "3512 ZZ", "achterom", "2e etage")
STREET, POSTCODE = "Geheimstraat 12", "9999 ZX"
BSN = "111222333"          # fictional; passes the 11-test
pytestmark = pytest.mark.timeout(60)


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def xlsx_bytes(rows_: list[list[object]]) -> bytes:
    book = Workbook()
    for values in rows_:
        book.active.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def loaded(outcome: Outcome) -> tuple:
    return (outcome.query("SELECT count(*) FROM capacity_observation")[0][0],
            outcome.query("SELECT count(*) FROM service")[0][0],
            outcome.query("SELECT count(*) FROM rejected_row")[0][0])


def report_of(paths: DataPaths, suffix: str = ".fout.txt") -> str:
    (report,) = [p for p in files_under(paths.quarantine) if p.name.endswith(suffix)]
    return report.read_text(encoding="utf-8-sig")


# ---------------------------------------------------------------- personal data of clients: the file is refused

PERSONAL_HEADERS = ["cliënt", "Client", "clientnaam", "Naam cliënt", "voornaam", "Achternaam", "roepnaam",
                    "geboortedatum", "Geb. datum", "Date of birth", "DOB", "birth_date", "BSN", "burgerservicenummer",
                    "sofinummer", "patiënt", "Patient", "BSN moeder"]


@pytest.mark.parametrize("column", PERSONAL_HEADERS)
def test_a_personal_data_column_refuses_and_deletes_the_file(data_paths: DataPaths, tmp_path: Path,
                                                              column: str) -> None:
    value = "Fictieve Cliënte 01-02-1990"
    outcome = ingest_bytes(data_paths, tmp_path, "week3.csv", csv_bytes(f"{LINE},{value}", header=f"{HEADER},{column}"))
    status, _, rows_loaded, _, error = outcome.last_run()
    assert (status, rows_loaded) == ("failed", 0)
    assert f"week3.csv: the column(s) '{column}' hold personal data of clients" in error
    assert "send the data again without these column(s)" in error
    nl = outcome.query("SELECT error_nl FROM ingest_run ORDER BY run_id DESC LIMIT 1")[0][0]
    assert f"week3.csv: de kolom(men) '{column}' bevatten persoonsgegevens van cliënten" in nl
    assert loaded(outcome) == (0, 0, 0)
    # gone from the inbox, never in the archive; quarantine holds only the plain-text report
    assert files_under(data_paths.inbox) == [] and files_under(data_paths.archive) == []
    (report,) = files_under(data_paths.quarantine)
    assert report.name.endswith("-week3.csv.fout.txt")
    text = report.read_text(encoding="utf-8")
    assert "Het bestand is verwijderd omdat het persoonsgegevens van cliënten bevatte" in text
    assert "The file was deleted because it contained personal data of clients" in text
    assert f"'{column}'" in text and "Send it again without these column(s)" in text
    assert leaks(data_paths, ("Fictieve", "01-02-1990")) == []


def test_a_personal_data_column_in_xlsx_is_refused_the_same_way(data_paths: DataPaths, tmp_path: Path) -> None:
    content = xlsx_bytes([[*HEADER.split(","), "Voornaam", "Geboortedatum"],
                          [*LINE.split(","), "Fictieve", "01-02-1990"]])
    outcome = ingest_bytes(data_paths, tmp_path, "rapport.xlsx", content)
    assert "rapport.xlsx: the column(s) 'Voornaam', 'Geboortedatum' hold personal data" in outcome.last_run()[4]
    assert loaded(outcome) == (0, 0, 0)
    assert [p.name[17:] for p in files_under(data_paths.root / "quarantine")] == ["rapport.xlsx.fout.txt"]
    assert files_under(data_paths.inbox) == files_under(data_paths.archive) == []
    assert leaks(data_paths, ("Fictieve", "01-02-1990")) == []


def test_personal_data_in_a_file_that_cannot_be_read_is_deleted_too(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes(f"{LINE},Fictieve Client", header=f"{HEADER},naam client") + b"\x81\x8d\n"
    outcome = ingest_bytes(data_paths, tmp_path, "kapot.csv", content)
    assert "the characters in the file cannot be read" in outcome.last_run()[4]
    assert files_under(data_paths.inbox) == files_under(data_paths.archive) == []
    assert "'naam client'" in report_of(data_paths) and "personal data of clients" in report_of(data_paths)
    assert leaks(data_paths, ("Fictieve",)) == []


def test_plain_names_contacts_and_counts_of_clients_are_allowed() -> None:
    allowed = ["naam", "name", "dienst_naam", "telefoon", "email", "contactpersoon", "aantal cliënten", "patiëntgroep"]
    assert [column for column in allowed if is_personal(column)] == []


def test_a_mapping_of_a_personal_or_address_column_is_a_configuration_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[sources.mapping]\n"Naam cliënt" = "service_name"\npostcode = "service_area"\n')
    with pytest.raises(ConfigError) as caught:
        load_sources(config)
    assert "mapping 'Naam cliënt' → 'service_name': this column holds personal data or an address" in caught.value.en
    assert "mapping 'postcode' → 'service_area'" in caught.value.en


@pytest.mark.parametrize("column", ["LOCATION_ADDRESS", "Adres opvang", "Postcode locatie", "straat en huisnummer"])
@pytest.mark.parametrize("target", ["phone", "referral_route", "service_name"])
def test_an_address_column_by_pattern_can_be_mapped_to_no_field(tmp_path: Path, column: str, target: str) -> None:
    """Not through the mapping, not as a fallback column, not in a composed value."""
    for extra in (f'[sources.mapping]\n"{column}" = "{target}"\n',
                  f'[sources.fields]\n{target} = ["Naam", "{column}"]\n',
                  f'[sources.fields]\n{target} = "{{Naam}} {{{column}}}"\n'):
        (tmp_path / "sources.toml").unlink(missing_ok=True)
        with pytest.raises(ConfigError) as caught:
            load_sources(write_config(tmp_path, extra))
        assert f"'{column}' → '{target}': this column holds personal data or an address" in caught.value.en, extra


# ---------------------------------------------------------------- a BSN in a free-text field: the row is refused

def test_a_bsn_refuses_its_row_and_is_masked_everywhere(data_paths: DataPaths, tmp_path: Path) -> None:
    assert elfproef(BSN) and elfproef("123456782") and not elfproef("123456789")
    header = f"{HEADER},referral_route,phone"
    content = csv_bytes(
        f"B1,Opvang {BSN},Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,1,,",
        "B2,Opvang Zuid,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,1,bel 1112.22.333,",
        "B3,Opvang West,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,1,,+31 612345678",
        "B4,Opvang Oost 123456789,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,1,,",
        "B5,Opvang Midden,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,123456782,,",
        header=header)
    outcome = ingest_bytes(data_paths, tmp_path, "bsn.csv", content)
    # rows 2 and 3 hold a BSN in a screened text field; row 6 quotes a BSN-like number in a message
    assert outcome.rejected() == [
        (2, "service_name", "*********", "service_name: holds a number that looks like a citizen service number "
                                         "(BSN, *********); personal data of clients does not belong in this file. "
                                         "The row was not loaded; send it again without this number"),
        (3, "referral_route", "*********", outcome.rejected()[1][3]),
        (6, "available", "*********", "available: '*********' is too large (more than 1,000,000)")]
    assert "referral_route: holds a number that looks like a citizen service number" in outcome.rejected()[1][3]
    nl = outcome.query("SELECT message_nl FROM rejected_row WHERE row_number = 2")[0][0]
    assert nl.startswith("service_name: bevat een getal dat een burgerservicenummer lijkt (*********)")
    # a phone number and a 9-digit number failing the 11-test load as they are
    assert outcome.query("SELECT service_id, name, phone FROM service ORDER BY 1") == [
        ("B3", "Opvang West", "+31 612345678"), ("B4", "Opvang Oost 123456789", None)]
    report = report_of(data_paths, ".afgewezen.csv")
    assert report.count("*********") >= 6
    (copy,) = files_under(data_paths.archive)
    assert copy.name.endswith("-bsn.csv.zonder-bsn.csv")
    copied = copy.read_text(encoding="utf-8-sig")
    assert "Opvang *********" in copied and "bel *********" in copied and "Opvang Oost 123456789" in copied
    assert ";123456782;" in copied   # number and id columns are kept as sent, also in the copy
    assert leaks(data_paths, (BSN, "1112.22.333")) == []
    for table in ("rejected_row", "ingest_run"):
        assert "123456782" not in str(outcome.query(f"SELECT * FROM {table}"))
    assert "123456782" not in report


def test_ids_are_not_screened_for_a_bsn(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes("123456782,Opvang Noord,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,1",
                        header=HEADER)
    outcome = ingest_bytes(data_paths, tmp_path, "ids.csv", content)
    assert outcome.summary.status == "ok" and outcome.query("SELECT service_id FROM service") == [("123456782",)]
    assert [p.name[17:] for p in files_under(data_paths.archive)] == ["ids.csv"]


# ---------------------------------------------------------------- street addresses: never stored anywhere

def assert_scrubbed_archive(paths: DataPaths, name: str, original: bytes) -> list[list[str]]:
    """Only a scrubbed copy in the archive; the ledger keys the file by the original's hash."""
    assert files_under(paths.inbox) == []
    (copy,) = files_under(paths.archive)
    assert copy.name[17:] == f"{name}.zonder-adres.csv"
    data = copy.read_bytes()
    assert STREET.encode() not in data and POSTCODE.encode() not in data
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        assert rows(con, "SELECT content_hash, outcome FROM file_seen") == [
            (hashlib.sha256(original).hexdigest(), "loaded")]
    finally:
        con.close()
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_address_columns_in_csv_load_the_rows_and_keep_only_a_scrubbed_copy(data_paths: DataPaths,
                                                                              tmp_path: Path) -> None:
    content = csv_bytes(f"{LINE},{STREET},{POSTCODE},-1+1", header=f"{HEADER},Adres,Post code,referral_route")
    outcome = ingest_bytes(data_paths, tmp_path, "adres.csv", content)
    assert (outcome.summary.status, outcome.summary.loaded) == ("ok", 1)
    lines = assert_scrubbed_archive(data_paths, "adres.csv", content)
    assert lines == [[*HEADER.split(","), "referral_route"], [*LINE.split(","), "'-1+1"]]
    assert leaks(data_paths, (STREET, POSTCODE)) == []
    # the same original dropped again: unchanged, and again only a scrubbed copy
    drop(data_paths, "adres-opnieuw.csv", content)
    again = run_source(data_paths, tmp_path / "sources.toml")
    assert again.summary.status == "unchanged"
    assert sorted(p.name[17:] for p in files_under(data_paths.archive)) == [
        "adres-opnieuw.csv.zonder-adres.csv", "adres.csv.zonder-adres.csv"]
    assert again.query("SELECT count(*) FROM capacity_observation") == [(1,)]
    assert leaks(data_paths, (STREET, POSTCODE)) == []


def test_address_columns_in_xlsx_load_the_rows_and_keep_only_a_scrubbed_copy(data_paths: DataPaths,
                                                                               tmp_path: Path) -> None:
    header = [*HEADER.split(","), "straat", "huisnummer", "postcode"]
    content = xlsx_bytes([header, ["S1", "Opvang", "Stichting", "shelter", "child", "GM0014",
                                   datetime(2026, 1, 15, 10), "place", 5, 1, "Geheimstraat", 12, POSTCODE],
                          ["S2", "Opvang", "Stichting", "shelter", "child", "GM0014", datetime(2026, 1, 15, 10),
                           "place", 5, 9, STREET, 12, POSTCODE],
                          ["S3", "Opvang", "Stichting", "shelter", "child", "GM0014", datetime(2026, 1, 15, 10),
                           "place", 5, 1, "Geheimstraat", '=CONCAT("12","a")', POSTCODE]])
    outcome = ingest_bytes(data_paths, tmp_path, "adres.xlsx", content)
    assert (outcome.summary.status, outcome.summary.loaded) == ("partial", 1)
    # a formula without a value in an address column: the row cannot be read, the formula is not shown
    assert outcome.rejected() == [
        (3, "available", "9", "available (9) is greater than maximum (5)"),
        (4, "huisnummer", "[adres weggelaten]", "adres.xlsx, row 4, column 'huisnummer' (cell L4): formula without "
                                                "a calculated value ([address withheld]); open the file in Excel, "
                                                "save it and send it again")]
    lines = assert_scrubbed_archive(data_paths, "adres.xlsx", content)
    assert lines[0] == HEADER.split(",")
    assert lines[1] == ["S1", "Opvang", "Stichting", "shelter", "child", "GM0014", "2026-01-15T10:00:00", "place",
                        "5", "1"]
    assert leaks(data_paths, ("Geheimstraat", POSTCODE)) == []


def test_the_copy_of_a_plain_file_keeps_its_rows_as_read_and_formulas_as_text(data_paths: DataPaths,
                                                                               tmp_path: Path) -> None:
    """The scrubbed copy of a plain CSV file, read line by line: blank and shifted lines left out as the reader
    leaves them out, a cell that a spreadsheet would take for a formula written as text."""
    content = csv_bytes(f"{LINE},=1+1,{STREET}", "", " ; ", f"S2,Opvang Zuid,P,shelter,child,GM0014,"
                        f"2026-01-15T10:00,place,5,1,-3,{POSTCODE}", "S3,kort", header=f"{HEADER},referral_route,adres")
    with rows_read_in_python() as read:
        outcome = ingest_bytes(data_paths, tmp_path, "adres.csv", content)
    assert read == []
    assert (outcome.summary.status, outcome.summary.loaded) == ("partial", 2)
    lines = assert_scrubbed_archive(data_paths, "adres.csv", content)
    assert lines == [[*HEADER.split(","), "referral_route"], [*LINE.split(","), "'=1+1"],
                     ["S2", "Opvang Zuid", "P", "shelter", "child", "GM0014", "2026-01-15T10:00", "place", "5", "1",
                      "'-3"]]


def test_an_address_in_a_reader_error_is_withheld(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes(f"{LINE},ok", f"S2,A,P,shelter,child,GM0014,2026-01-15T10:00,place,5,1,{STREET},{POSTCODE}",
                        header=f"{HEADER},adres")
    outcome = ingest_bytes(data_paths, tmp_path, "scheef.csv", content)
    (row, column, value, message), = outcome.rejected()
    assert (row, column, value) == (3, None, "[adres weggelaten]")
    assert "[address withheld]" in message
    assert leaks(data_paths, (STREET, POSTCODE)) == []


def test_a_refused_file_with_address_columns_is_quarantined_as_a_scrubbed_copy(data_paths: DataPaths,
                                                                                tmp_path: Path) -> None:
    header = HEADER.replace("care_type,", "") + ",adres"
    content = csv_bytes(f"S1,A,P,child,GM0014,2026-01-15T10:00,place,5,1,{STREET}", header=header)
    outcome = ingest_bytes(data_paths, tmp_path, "mist.csv", content)
    assert "required column(s) missing: care_type" in outcome.last_run()[4]
    names = sorted(p.name[17:] for p in files_under(data_paths.quarantine))
    assert names == ["mist.csv.fout.txt", "mist.csv.zonder-adres.csv"]
    report = report_of(data_paths)
    assert "The file had street-address columns ('adres'); addresses are never kept." in report
    assert "the original was deleted" in report
    assert files_under(data_paths.inbox) == files_under(data_paths.archive) == []
    assert leaks(data_paths, (STREET,)) == []


def test_an_unreadable_file_with_address_columns_is_deleted(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes(f"{LINE},{STREET}", header=f"{HEADER},bezoekadres") + b"\x81\x8d\n"  # not UTF-8 nor 1252
    outcome = ingest_bytes(data_paths, tmp_path, "kapot.csv", content)
    assert "the characters in the file cannot be read" in outcome.last_run()[4]
    assert [p.name[17:] for p in files_under(data_paths.quarantine)] == ["kapot.csv.fout.txt"]
    assert "could not be kept without them either; it was deleted" in report_of(data_paths)
    assert leaks(data_paths, (STREET,)) == []


# ---------------------------------------------------------------- a plain CSV file put away unvalidated: read set-wise

@contextmanager
def rows_read_in_python() -> Iterator[list[tuple[str, str]]]:
    """(file name, function) for each time a function asks a plain CSV file's extract for its rows (or errors)
    meanwhile: each call of `PlainCsvExtract._read_whole`, seen by a profile hook on this thread (the runner
    puts files away on it), and the function that used the property calling it."""
    code, read = PlainCsvExtract._read_whole.__code__, []

    def watch(frame: FrameType, event: str, _: object) -> None:
        if event == "call" and frame.f_code is code:
            read.append((frame.f_locals["self"].file_name, frame.f_back.f_back.f_code.co_name))

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield read
    finally:
        sys.setprofile(previous)


SHELTER = "S1,Opvang Noord,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,place,5,1"


def test_a_plain_file_is_looked_through_set_wise_as_row_by_row(tmp_path: Path) -> None:
    """What the copy of a file not validated to the end masks, found in its staged cells, is what the rows read
    in Python give (a BSN in a screened column, an address in any kept column; rows of the wrong width and
    blank lines left out), and its rows are not read to find it."""
    content = csv_bytes(f"{SHELTER},bel {BSN},ok,{STREET}", "", f"S2,Aan de {STREET},P,shelter,,,,,,,,,,te breed",
                        f"S3,Opvang Zuid,P,shelter,child,GM0014,2026-01-15T10:00,place,5,1,,{POSTCODE},",
                        "S4,Opvang West,P,shelter,child,GM0014,2026-01-15T10:00,place,5,1,123456789,,",
                        header=f"{HEADER},referral_route,phone,adres")
    path = tmp_path / "week.csv"
    path.write_bytes(content)
    plain, python = read_tabular(path), read_csv_bytes(content, path.name)
    assert isinstance(plain, PlainCsvExtract)
    rules, drop_ = rules_of({}), address_columns(plain.header)
    con = duckdb.connect()
    scan_plain_file(con, plain, rules)
    assert plain.scanned == TextScan(["phone"], ["referral_route"]) and plain._whole is None
    assert rows(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == [(0,)]
    for extract in (plain, python):
        assert bsn_columns(extract, rules) == ["referral_route"] and address_text_columns(extract, drop_) == ["phone"]
    assert plain._whole is None
    assert list(scrubbed_copy(plain, drop_, ["referral_route"]).lines()) == \
        list(scrubbed_copy(python, drop_, ["referral_route"]).lines())
    assert plain._whole is None   # the copy's lines were read from the file one at a time


def test_a_plain_file_dropped_again_is_archived_masked_as_the_first_time(data_paths: DataPaths,
                                                                          tmp_path: Path) -> None:
    content = csv_bytes(SHELTER + ",", "S2,Opvang Zuid,Stichting Fictief,shelter,child,GM0014,2026-01-15T10:00,"
                                       f"place,5,1,meld je bij {STREET}", header=f"{HEADER},referral_route")
    config = write_config(tmp_path)
    drop(data_paths, "week.csv", content)
    first = run_source(data_paths, config)
    assert (first.summary.status, first.summary.loaded) == ("partial", 1)
    drop(data_paths, "week-opnieuw.csv", content)
    with rows_read_in_python() as read:
        again = run_source(data_paths, config)
    assert again.summary.status == "unchanged"
    assert read == []   # the scrubbed copy is written as the file is read, line by line
    copies = sorted(files_under(data_paths.archive), key=lambda path: path.name[17:])   # by name, not stamp
    assert [p.name[17:] for p in copies] == ["week-opnieuw.csv.zonder-adres.csv", "week.csv.zonder-adres.csv"]
    assert copies[0].read_bytes() == copies[1].read_bytes()
    assert "meld je bij [adres weggelaten]" in copies[0].read_text(encoding="utf-8-sig")
    assert leaks(data_paths, (STREET,)) == []


def test_a_clean_plain_file_dropped_again_is_archived_as_sent(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_bytes(SHELTER + ",via Veilig Thuis", header=f"{HEADER},referral_route")
    config = write_config(tmp_path)
    drop(data_paths, "week.csv", content)
    assert run_source(data_paths, config).summary.loaded == 1
    drop(data_paths, "week-opnieuw.csv", content)
    with rows_read_in_python() as read:
        assert run_source(data_paths, config).summary.status == "unchanged"
    assert read == []
    copies = sorted(files_under(data_paths.archive), key=lambda path: path.name[17:])   # by name, not stamp
    assert [p.name[17:] for p in copies] == ["week-opnieuw.csv", "week.csv"]
    assert [p.read_bytes() for p in copies] == [content, content]


def test_a_refused_plain_file_is_quarantined_with_its_bsns_masked(data_paths: DataPaths, tmp_path: Path) -> None:
    header = HEADER.replace("care_type,", "") + ",referral_route"
    content = csv_bytes(f"S1,Opvang Noord,P,child,GM0014,2026-01-15T10:00,place,5,1,bel {BSN}", header=header)
    config = write_config(tmp_path)
    drop(data_paths, "mist.csv", content)
    with rows_read_in_python() as read:
        outcome = run_source(data_paths, config)
    assert "required column(s) missing: care_type" in outcome.last_run()[4]
    assert read == []
    report, copy = files_under(data_paths.quarantine)
    assert (report.name[17:], copy.name[17:]) == ("mist.csv.fout.txt", "mist.csv.zonder-bsn.csv")
    assert copy.read_text(encoding="utf-8-sig").splitlines()[1].endswith(";bel *********")
    assert "Citizen service numbers in 'referral_route' were masked." in report_of(data_paths)
    assert leaks(data_paths, (BSN,)) == []


def test_a_put_away_a_kill_interrupted_is_finished_masked_and_set_wise(data_paths: DataPaths, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    content = csv_bytes(SHELTER + f",bel {BSN}", header=f"{HEADER},referral_route")
    config = write_config(tmp_path)
    drop(data_paths, "week.csv", content)
    monkeypatch.setenv(crashpoints.ENVIRONMENT_VARIABLE, "committed")
    monkeypatch.setattr(crashpoints.os, "kill", kill)
    with pytest.raises(Killed):
        run_source(data_paths, config)
    monkeypatch.delenv(crashpoints.ENVIRONMENT_VARIABLE)
    with rows_read_in_python() as read:
        again = run_source(data_paths, config)
    assert read == [] and again.query("SELECT count(*) FROM pending_put_away") == [(0,)]
    (copy,) = files_under(data_paths.archive)
    assert copy.name[17:] == "week.csv.zonder-bsn.csv"
    assert copy.read_text(encoding="utf-8-sig").splitlines()[1].endswith(";bel *********")
    assert leaks(data_paths, (BSN,)) == []


# ---------------------------------------------------------------- HSDS: packages are read in place, never kept

def hsds_config(folder: Path, location: Path) -> Path:
    config = folder / "hsds.toml"
    config.write_text(f'[[sources]]\nid = "hsds-pakket"\nkind = "hsds"\nschedule = "1h"\npath = "{location}"\n',
                      encoding="utf-8")
    return config


def package_copy(tmp_path: Path, extra_address_line: bool = True) -> Path:
    folder = tmp_path / "pakket"
    shutil.copytree(PACKAGE, folder)
    if extra_address_line:  # a misread line: cells beyond the header, holding address parts
        with (folder / "addresses.csv").open("a", encoding="utf-8") as handle:
            handle.write("ad9,10000000-0000-4000-8000-000000000001,,Schuilweg 3,,Amsterdam,,,1011 ZZ,NL,physical,"
                         "Geheimhof 12,3512 ZZ\n")
    return folder


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_an_hsds_package_never_persists_street_lines_or_postal_codes(data_paths: DataPaths, tmp_path: Path,
                                                                      zipped: bool) -> None:
    folder = package_copy(tmp_path)
    location = folder
    if zipped:
        location = tmp_path / "pakket.zip"
        with zipfile.ZipFile(location, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"export/{path.name}")
    before = hashlib.sha256(location.read_bytes()).hexdigest() if zipped else None
    outcome = run_source(data_paths, hsds_config(tmp_path, location), "hsds-pakket")
    assert outcome.summary.status == "partial" and outcome.summary.loaded == 2
    withheld = [r for r in outcome.rejected() if r[2] == "[adres weggelaten]"]
    assert len(withheld) == 1 and "addresses.csv" in withheld[0][3]
    assert leaks(data_paths, HSDS_SECRETS) == []
    assert files_under(data_paths.archive) == [] and files_under(data_paths.inbox) == []
    assert location.exists() and (not zipped or hashlib.sha256(location.read_bytes()).hexdigest() == before)


def test_an_hsds_package_with_a_personal_column_is_refused(data_paths: DataPaths, tmp_path: Path) -> None:
    folder = package_copy(tmp_path, extra_address_line=False)
    services = (folder / "services.csv").read_text(encoding="utf-8").splitlines()
    lines = [services[0] + ",geboortedatum", *(line + ",01-02-1990" for line in services[1:])]
    (folder / "services.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = run_source(data_paths, hsds_config(tmp_path, folder), "hsds-pakket")
    assert outcome.last_run()[0] == "failed"
    assert f"{folder}, services.csv: the column(s) 'geboortedatum' hold personal data" in outcome.last_run()[4]
    assert loaded(outcome) == (0, 0, 0)
    assert leaks(data_paths, ("01-02-1990",)) == []


# ---------------------------------------------------------------- feeds: a personal field at any depth

def test_a_feed_with_a_personal_field_is_refused(feeds: Feeds) -> None:
    record = {"service_id": "F1", "service_name": "Opvang", "provider_name": "P", "service_area": "GM0014",
              "valid_at": "2026-01-15T10:00:00Z", "unit": "place", "maximum": 5, "available": 1,
              "wachtenden": [{"naam": "Fictieve", "bsn": BSN}]}
    feeds.add("feed", feeds.server.script("/feed", ok(json.dumps([record]).encode())))
    summary = feeds.run("feed")
    assert summary.status == "failed"
    (status, _, _, _, _, error_en), = feeds.ledger("feed")
    assert status == "failed"
    assert error_en.startswith(f"http://127.0.0.1:{feeds.server.port}/feed: the column(s) 'wachtenden.bsn' hold "
                               "personal data of clients")
    assert feeds.observations() == [] and feeds.query("SELECT count(*) FROM rejected_row") == [(0,)]


def test_an_hsds_api_with_a_personal_field_is_refused(data_paths: DataPaths, tmp_path: Path) -> None:
    pages = {number: json.loads(path.read_text(encoding="utf-8")) for number, path in enumerate(PAGES, start=1)}
    pages[2]["contents"][0]["service_at_locations"] = [{"id": "x", "clients": [{"voornaam": "Fictieve"}]}]
    server = PagedServer({number: json.dumps(page).encode() for number, page in pages.items()})
    try:
        config = tmp_path / "api.toml"
        config.write_text(f'[[sources]]\nid = "hsds-api"\nkind = "hsds"\nschedule = "1h"\nurl = "{server.url}"\n'
                          "per_page = 2\ntimeout_seconds = 2\n", encoding="utf-8")
        outcome = run_source(data_paths, config, "hsds-api")
    finally:
        server.stop()
    error = outcome.last_run()[4]
    assert error.startswith(f"{server.url}/services?page=2&per_page=2&full=true: the column(s) "
                            "'service_at_locations.clients', 'service_at_locations.clients.voornaam' hold personal")
    assert loaded(outcome) == (0, 0, 0)
    assert leaks(data_paths, ("Fictieve",)) == []
