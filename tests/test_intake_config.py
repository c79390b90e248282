"""Intake by configuration alone: places to municipalities, the source's own area words and region level, row
filters, empty words and what a word implies, lenient fields, fallback columns, composed ids, one word for
several codes, ignored and unnamed columns, errors naming the file's own columns, provider name clashes, and
a run in which every row was rejected. Every file goes through the real runner into a real warehouse;
expected values are worked out by hand from the few lines written here (line 1 is the header)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest_support import drop, ingest_bytes, write_config
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import run_cli

pytestmark = pytest.mark.timeout(120)
HEADER = "service_id;service_name;provider_name;care_type;target_groups;service_area;valid_at;unit;maximum;available"
AT = "2026-11-24 10:00"                  # Dutch time (winter): 09:00 UTC
AT_UTC = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)


def csv_of(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def line(service_id: str, area: str = "GM0014", maximum: str = "5", available: str = "1", group: str = "child",
         name: str = "Opvang") -> str:
    return f"{service_id};{name} {service_id};Stichting X;shelter;{group};{area};{AT};place;{maximum};{available}"


def areas_by_service(outcome) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for service, level, code in outcome.query("SELECT service_id, area_level, area_code FROM service_area "
                                              "ORDER BY 1, 2, 3"):
        found.setdefault(service, []).append((level, code))
    return found


def published_health(paths: DataPaths) -> list[dict]:
    """`capacity report sources` after publishing what the runner wrote."""
    with Warehouse(paths) as warehouse:
        warehouse.publish()
    report = run_cli("report", "sources", "--format", "json", "--data-dir", str(paths.root))
    assert report.returncode == 0, report.stderr
    return json.loads(report.stdout)


def errors(outcome) -> list[tuple[int, str | None, str | None]]:
    return [(row, column, value) for row, column, value, _ in outcome.rejected()]


def message_of(outcome, row: int) -> str:
    return next(message for number, _, _, message in outcome.rejected() if number == row)


# --- places ------------------------------------------------------------------------------------------------


def test_place_names_aliases_and_woonplaatsen_become_municipalities(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_of(line("P1", "AMSTERDAM"), line("P2", "'s-Hertogenbosch"), line("P3", "s-Hertogenbosch"),
                     line("P4", "Den Haag"), line("P5", "Zuidlaren"), line("P6", "Bussum|Den Bosch"),
                     line("P7", "Broekhuizen"), line("P8", "Amsterdm"))
    outcome = ingest_bytes(data_paths, tmp_path, "plaatsen.csv", content)
    assert areas_by_service(outcome) == {
        "P1": [("gemeente", "GM0363")], "P2": [("gemeente", "GM0796")], "P3": [("gemeente", "GM0796")],
        "P4": [("gemeente", "GM0518")], "P5": [("gemeente", "GM1730")],
        "P6": [("gemeente", "GM0796"), ("gemeente", "GM1942")]}
    assert errors(outcome) == [(8, "service_area", "Broekhuizen"), (9, "service_area", "Amsterdm")]
    assert message_of(outcome, 8) == ("service_area: 'Broekhuizen' is a place in two municipalities (Horst aan de "
                                      "Maas GM1507, Meppel GM0119); write the municipality or its GM code")
    assert message_of(outcome, 9).startswith("service_area: 'Amsterdm' is not a known municipality or place; "
                                             "did you mean Amsterdam")


def test_own_area_words_and_a_region_level(data_paths: DataPaths, tmp_path: Path) -> None:
    """`[sources.values.service_area]`: "Regio Noord" stands for two municipalities. `area_level`: this source
    writes safety regions, so "Drenthe" is VR03 and "Groningen" the region VR01, not the municipality."""
    extra = ('area_level = "veiligheidsregio"\n[sources.values.service_area]\n'
             '"Regio Noord" = ["GM0014", "GM0034"]\n')
    content = csv_of(line("A1", "Regio Noord"), line("A2", "Drenthe"), line("A3", "Groningen"), line("A4", "GM0344"))
    outcome = ingest_bytes(data_paths, tmp_path, "regio.csv", content, extra)
    assert errors(outcome) == []
    assert areas_by_service(outcome) == {
        "A1": [("gemeente", "GM0014"), ("gemeente", "GM0034")], "A2": [("veiligheidsregio", "VR03")],
        "A3": [("veiligheidsregio", "VR01")], "A4": [("gemeente", "GM0344")]}


def test_without_a_region_level_a_region_name_is_no_place(data_paths: DataPaths, tmp_path: Path) -> None:
    content = csv_of(line("B1", "Drenthe"), line("B2", "Groningen"))
    outcome = ingest_bytes(data_paths, tmp_path, "regio.csv", content)
    assert areas_by_service(outcome) == {"B2": [("gemeente", "GM0014")]}
    assert errors(outcome) == [(2, "service_area", "Drenthe")]


# --- filters -----------------------------------------------------------------------------------------------


def test_filters_keep_matching_rows_and_count_the_rest(data_paths: DataPaths, tmp_path: Path) -> None:
    """Both filters must hold: sector among the values (any case), soort matching the pattern. F1 and F4 are
    kept; F2 (sector), F3 (soort) and F5 (both) are skipped and counted: 3."""
    header = HEADER + ";sector;soort"
    content = csv_of(line("F1") + ";Vrouwen;Vrouwenopvang", line("F2") + ";Mannen;Vrouwenopvang",
                     line("F3") + ";gezinnen;Ambulant", line("F4") + ";GEZINNEN;Crisisopvang",
                     line("F5") + ";Jeugd;Dagbesteding", header=header)
    extra = ('[[sources.filters]]\ncolumn = "sector"\nvalues = ["Vrouwen", "Gezinnen"]\n'
             '[[sources.filters]]\ncolumn = "soort"\npattern = "(?i)opvang"\n')
    outcome = ingest_bytes(data_paths, tmp_path, "gefilterd.csv", content, extra)
    assert outcome.query("SELECT service_id FROM capacity_observation ORDER BY 1") == [("F1",), ("F4",)]
    assert (outcome.summary.status, outcome.summary.loaded, outcome.summary.filtered) == ("ok", 2, 3)
    assert outcome.summary.line() == ("provider-a: ok — geladen/loaded 2, afgewezen/rejected 0, ongewijzigd/unchanged 0, "
                                      "overgeslagen door filter/skipped by filter 3")
    assert outcome.query("SELECT rows_in, rows_loaded, rows_rejected, rows_filtered FROM ingest_run") == [(5, 2, 0, 3)]
    (health,) = published_health(data_paths)
    assert (health["last_rows_in"], health["last_rows_loaded"], health["last_rows_filtered"]) == (5, 2, 3)


# --- empty words, implied values, lenient fields --------------------------------------------------------------


WAITS = HEADER + ";status;waiting_count;wait_days_intake"
WORDS = ('[sources.empty]\n"*" = ["-", "onbekend"]\nwaiting_count = ["n.v.t."]\n'
         '[sources.means.wait_days_intake]\nstop = { status = "closed" }\n')


def waits_file() -> bytes:
    return csv_of(line("E1") + ";;-;3", line("E2") + ";;n.v.t.;onbekend", line("E3", available="") + ";;2;stop",
                  line("E4") + ";open;2;Stop", line("E5") + ";;veel;4", line("E6", maximum="n.v.t.") + ";;1;1",
                  header=WAITS)


def test_empty_words_and_a_word_that_sets_another_field(data_paths: DataPaths, tmp_path: Path) -> None:
    """E1: "-" (every field) is empty; E2: "n.v.t." is empty in waiting_count, "onbekend" everywhere; E3:
    "stop" leaves the wait empty and makes the status closed; E4: the row's own status (open) stands over
    what "Stop" implies. E5: "veel" is no number and nothing said otherwise: the row is rejected naming the
    value. E6: "n.v.t." is empty only in waiting_count, so as a maximum it is an error."""
    outcome = ingest_bytes(data_paths, tmp_path, "woorden.csv", waits_file(), WORDS)
    assert outcome.query("SELECT service_id, status, waiting_count, wait_days_intake FROM capacity_observation "
                         "ORDER BY 1") == [("E1", "open", None, 3), ("E2", "open", None, None),
                                           ("E3", "closed", 2, None), ("E4", "open", 2, None)]
    assert errors(outcome) == [(6, "waiting_count", "veel"), (7, "maximum", "n.v.t.")]
    assert message_of(outcome, 6) == "waiting_count: 'veel' is not a whole number ≥ 0"


def test_a_lenient_field_leaves_an_unreadable_value_out_and_keeps_the_row(data_paths: DataPaths,
                                                                         tmp_path: Path) -> None:
    outcome = ingest_bytes(data_paths, tmp_path, "woorden.csv", waits_file(),
                           'lenient = ["waiting_count"]\n' + WORDS)
    assert outcome.query("SELECT status, waiting_count, wait_days_intake FROM capacity_observation "
                         "WHERE service_id = 'E5'") == [("open", None, 4)]
    assert errors(outcome) == [(7, "maximum", "n.v.t.")]      # lenient is per field
    assert outcome.summary.left_out == 1 and "unreadable values left empty 1" in outcome.summary.line()


# --- fallbacks, templates, several codes, ignored and unnamed columns ----------------------------------------------


FOREIGN = ";Org;Code;Naam locatie;Organisatie;Bedden;Kamers;Vrij bedden;Vrij kamers;Datum;Peildatum;Doelgroep;status"
FOREIGN_CONFIG = '''ignore_columns = ["status"]
[sources.fields]
service_id = "{Org}-{Code}"
provider_id = "Org"
service_name = ["Naam locatie", "Organisatie"]
provider_name = "Organisatie"
maximum = ["Bedden", "Kamers"]
available = ["Vrij bedden", "Vrij kamers"]
valid_at = ["Datum", "Peildatum"]
target_groups = "Doelgroep"
[sources.values.target_groups]
Gezinnen = ["adult_victim", "child"]
[sources.empty]
"*" = ["-"]
[sources.defaults]
care_type = "shelter"
service_area = "GM0014"
unit = "place"
'''


def test_fallback_columns_composed_ids_several_codes_and_ignored_columns(data_paths: DataPaths,
                                                                        tmp_path: Path) -> None:
    """G1: beds filled, so beds win; its name is the location's; its status column ("vol") is ignored, so
    the status follows from 2 free places (open). G2: no location name, so the organisation's; rooms (the
    bed cells are empty); Datum "-" is empty, so Peildatum (a date: Dutch midnight, 23:00 UTC the day
    before). "Gezinnen" stands for two target groups. The unnamed first column is read and left alone."""
    content = csv_of("x;ORG1;A;Huis A;Stichting Een;10;;2;;24-11-2026 10:00;25-11-2026;Gezinnen;vol",
                     "y;ORG1;B;;Stichting Een;;6;;0;-;25-11-2026;volwassen slachtoffer;", header=FOREIGN)
    outcome = ingest_bytes(data_paths, tmp_path, "extern.csv", content, FOREIGN_CONFIG)
    assert errors(outcome) == []
    assert outcome.query("SELECT o.service_id, s.name, s.provider_id, o.maximum, o.available, o.status, o.valid_at "
                         "FROM capacity_observation AS o JOIN service AS s USING (service_id) ORDER BY 1") == [
        ("ORG1-A", "Huis A", "ORG1", 10, 2, "open", AT_UTC),
        ("ORG1-B", "Stichting Een", "ORG1", 6, 0, "full", datetime(2026, 11, 24, 23, tzinfo=timezone.utc))]
    assert outcome.query("SELECT service_id, list(target_group ORDER BY target_group) FROM service_target_group "
                         "GROUP BY 1 ORDER BY 1") == [("ORG1-A", ["adult_victim", "child"]),
                                                      ("ORG1-B", ["adult_victim"])]


def test_an_error_names_the_column_as_the_file_names_it(data_paths: DataPaths, tmp_path: Path) -> None:
    """Through [sources.fields]: a bad room count is named "Kamers", the composed id by its template."""
    content = csv_of("x;ORG1;A;Huis A;Stichting Een;;zes;;0;24-11-2026 10:00;;Gezinnen;",
                     "x;;;Huis B;Stichting Een;4;;1;;24-11-2026 10:00;;Gezinnen;", header=FOREIGN)
    outcome = ingest_bytes(data_paths, tmp_path, "extern.csv", content, FOREIGN_CONFIG)
    assert errors(outcome) == [(2, "Kamers", "zes"), (3, "{Org}-{Code}", "")]


DUTCH = "dienst_id;dienst_naam;aanbieder_id;aanbieder_naam;zorgsoort;doelgroepen;werkgebied;peilmoment;eenheid;" \
        "maximum;beschikbaar"


def dutch(service_id: str, provider_id: str = "st-x", provider: str = "Stichting X", available: str = "1") -> str:
    return f"{service_id};Opvang {service_id};{provider_id};{provider};opvang;kind;GM0014;{AT};plek;5;{available}"


def test_dutch_columns_in_every_error_including_duplicates_and_provider_name_clashes(data_paths: DataPaths,
                                                                                    tmp_path: Path) -> None:
    """D1 twice at one moment: both rejected, named by dienst_id. D3 gives provider st-x another name than D2
    did (first on row 2, whose duplicate does not change its name): reported (the first name stands), never
    silently resolved. D4: a bad count named beschikbaar."""
    content = csv_of(dutch("D1"), dutch("D1"), dutch("D2"), dutch("D3", provider="Stichting Y"),
                     dutch("D4", available="veel"), header=DUTCH)
    outcome = ingest_bytes(data_paths, tmp_path, "nederlands.csv", content)
    assert outcome.query("SELECT service_id FROM capacity_observation") == [("D2",)]
    assert errors(outcome) == [(2, "dienst_id", "D1"), (3, "dienst_id", "D1"), (5, "aanbieder_naam", "Stichting Y"),
                               (6, "beschikbaar", "veel")]
    assert message_of(outcome, 2) == ("service D1 occurs more than once in this file at 2026-11-24 09:00 UTC "
                                      "(rows 2, 3); none of them was loaded")
    assert message_of(outcome, 5).startswith("aanbieder_naam: provider st-x is called 'Stichting X' on row 2 and "
                                             "'Stichting Y' here")
    assert outcome.query("SELECT name FROM provider WHERE provider_id = 'st-x'") == [("Stichting X",)]


# --- a run in which every row was rejected -------------------------------------------------------------------


def test_a_run_that_rejects_every_row_has_failed(data_paths: DataPaths, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    drop(data_paths, "alles-fout.csv", csv_of(line("X1", available="9"), line("X2", "Atlantis")))
    done = run_cli("ingest", "--once", "--data-dir", str(data_paths.root), "--config", str(config))
    assert done.returncode == 1, done.stdout + done.stderr
    with Warehouse(data_paths) as warehouse:
        ledger = warehouse.con.execute("SELECT status, rows_in, rows_loaded, rows_rejected, error_en "
                                       "FROM ingest_run WHERE source_id = 'provider-a'").fetchall()
    assert [row[:4] for row in ledger] == [("failed", 2, 0, 2)]
    assert ledger[0][4] == "all 2 rows were rejected; see the rejected rows"
    (health,) = [h for h in published_health(data_paths) if h["source_id"] == "provider-a"]
    assert (health["last_status"], health["last_success_at"]) == ("failed", None)
    # the refused rows are in quarantine with their messages; the file itself is archived, so that
    # `capacity sources reprocess` reads it again once the configuration is corrected
    assert [path.name[17:] for path in (data_paths.quarantine / "provider-a").iterdir()] == [
        "alles-fout.csv.afgewezen.csv"]
    assert [path.name[17:] for path in (data_paths.archive / "provider-a").iterdir()] == ["alles-fout.csv"]
