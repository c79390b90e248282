"""Real files nobody wrote for this project, loaded by configuration alone through the real ingest path:
the NZa waiting-time export with the steward's configuration in examples/real/nza/, and the City of Toronto
shelter feed mapped onto one test municipality (examples/real/toronto/). Provenance: the PROVENANCE.md next
to each file. Expected counts are computed here from the file with the csv module; expected figures were
read off the file by hand (row numbers are the file's lines, as the provider would point at them)."""
from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.config import load_sources
from ingest_support import drop, files_under, leaks, run_source
from queries.paths import DataPaths

REAL = Path(__file__).resolve().parent.parent / "examples" / "real"
NZA_CONFIG = REAL / "nza" / "sources.toml"
NZA_FILE = REAL / "nza" / "nza_ggz_wachttijden_2016_ruw.csv"
TORONTO_CONFIG = REAL / "toronto" / "sources.toml"
TORONTO_FILE = REAL / "toronto" / "toronto_shelter_occupancy_2023-01-01_02.csv"
pytestmark = pytest.mark.timeout(120)


def records_with_lines(text: str, delimiter: str) -> list[tuple[int, dict[str, str]]]:
    """(line where the record starts, record) for every record; a quoted cell may span lines."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    found, previous_end = [], reader.line_num
    for record in reader:
        found.append((previous_end + 1, record))
        previous_end = reader.line_num
    return found


def nza_records() -> list[tuple[int, dict[str, str]]]:
    # latin-1 reads every byte; the columns counted here hold ASCII only
    return records_with_lines(NZA_FILE.read_bytes().decode("latin-1"), ";")


def nza_streets_sample() -> tuple[str, ...]:
    """The street names (STRAAT: a name, no number) and postcodes of the psychotrauma rows and of every 50th
    other row."""
    chosen = [record for number, (_, record) in enumerate(nza_records())
              if re.search("trauma", record["Nadere.typering"], re.I) or number % 50 == 0]
    streets = {record["STRAAT"].strip() for record in chosen if len(record["STRAAT"].strip()) >= 8}
    postcodes = {record["POSTCODE"] for record in chosen if re.fullmatch(r"\d{4}[A-Z]{2}", record["POSTCODE"])}
    streets.discard("Postbus")
    # a street name that the file also has elsewhere (a place "Wolfheze", a location "loc. Rijnstraat") is
    # no secret of the address columns
    elsewhere = " ".join(value for _, record in nza_records() for column, value in record.items()
                         if column not in ("STRAAT", "POSTCODE"))
    streets = {street for street in streets if street not in elsewhere}
    assert "Klaprozenweg" in streets and "1033NN" in postcodes and len(streets) > 30
    return tuple(sorted(streets | postcodes))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def observation(outcome, service_id: str) -> tuple:
    (found,) = outcome.query(
        "SELECT o.valid_at, o.unit, o.maximum, o.available, o.status, o.wait_days_intake, o.wait_days_treatment, "
        "s.name, s.provider_id, s.care_type FROM capacity_observation AS o JOIN service AS s USING (service_id) "
        "WHERE o.service_id = ?", [service_id])
    return found


def areas(outcome, service_id: str) -> list[str]:
    return [code for (code,) in outcome.query("SELECT area_code FROM service_area WHERE service_id = ? ORDER BY 1",
                                              [service_id])]


def groups(outcome, service_id: str) -> list[str]:
    return [g for (g,) in outcome.query("SELECT target_group FROM service_target_group WHERE service_id = ? "
                                        "ORDER BY 1", [service_id])]


# --- NZa --------------------------------------------------------------------------------------------------


def test_nza_psychotrauma_rows_load_as_trauma_care_waits(data_paths: DataPaths) -> None:
    """Every row whose Nadere.typering mentions trauma loads; every other row is counted as skipped by the
    filter; none is rejected (the six city districts are mapped in the configuration)."""
    records = nza_records()
    trauma = [record for _, record in records if re.search("trauma", record["Nadere.typering"], re.I)]
    assert len(records) == 2578 and len(trauma) == 48
    outcome = run_source(data_paths, NZA_CONFIG, "nza-ggz-trauma")
    assert (outcome.summary.status, outcome.summary.loaded, outcome.summary.rejected) == ("ok", len(trauma), 0)
    assert outcome.summary.filtered == len(records) - len(trauma) == 2530
    assert outcome.summary.line().endswith("ongewijzigd/unchanged 0, overgeslagen door filter/skipped by filter 2.530")
    assert outcome.query("SELECT status, rows_in, rows_loaded, rows_rejected, rows_filtered FROM ingest_run") == [
        ("ok", 2578, 48, 0, 2530)]
    assert outcome.query("SELECT count(*), count(DISTINCT service_id) FROM capacity_observation") == [(48, 48)]
    assert outcome.query("SELECT DISTINCT care_type FROM service") == [("trauma_care",)]
    assert outcome.query("SELECT DISTINCT unit FROM capacity_observation") == [("treatment_slot",)]
    # no address column was read: the AGB registrations' streets are in no table
    assert leaks(data_paths, nza_streets_sample()) == []


def test_nza_hand_picked_rows_weeks_words_fallbacks_and_places(data_paths: DataPaths) -> None:
    """Figures read off the file by hand:
    - Altrecht Trauma TRTC (line 271): Aanmeldtijd 3 weeks = 21 days; Behandeltijd `stop` = no wait and
      status closed; Datum.actualisatie `-`, so Peildatum 27-9-2016 (Dutch midnight = 22:00 UTC the day
      before); PLAATS `BILTHOVEN` (padded capitals) is a place in De Bilt (GM0310).
    - PsyQ Den Bosch (AGB `NA`, PLAATS `NA`, Plaats.zorgaanbieder `-`): the location name `Den Bosch` is an
      alias of 's-Hertogenbosch (GM0796); no AGB code, so the provider id comes from the name; 4 and 8
      weeks = 28 and 56 days; 5-10-2016.
    - Lentis Apeldoorn: PLAATS `ZUIDLAREN` is a place in Tynaarlo (GM1730); 4 and 2 weeks.
    - De Jutters: `'S-GRAVENHAGE` is 's-Gravenhage (GM0518); no location name, so the provider's name.
    - PsyQ Den Haag Noord: a district, mapped by [sources.values.service_area] to GM0518.
    - GGZ Drenthe Beilen: Behandeltijd `-` is unknown: no wait, status unknown."""
    outcome = run_source(data_paths, NZA_CONFIG, "nza-ggz-trauma")
    altrecht = "nza-6290618-Altrecht, Trauma TRTC-Volwassenen-Vroegkinderlijke chronische traumatisering"
    assert observation(outcome, altrecht) == (utc(2016, 9, 26, 22), "treatment_slot", None, None, "closed", 21, None,
                                              "Altrecht, Trauma TRTC", "6290618", "trauma_care")
    assert areas(outcome, altrecht) == ["GM0310"] and groups(outcome, altrecht) == ["adult_victim"]
    den_bosch = "nza--Den Bosch-Volwassenen-Psychotrauma"
    assert observation(outcome, den_bosch) == (utc(2016, 10, 4, 22), "treatment_slot", None, None, "unknown", 28, 56,
                                               "Den Bosch", "psyq-overige-locaties", "trauma_care")
    assert areas(outcome, den_bosch) == ["GM0796"]
    assert outcome.query("SELECT name FROM provider WHERE provider_id = 'psyq-overige-locaties'") == [
        ("PsyQ overige locaties",)]
    lentis = "nza-6290308-Lentis, PsyQ, loc. Apeldoorn-Volwassenen-Psychotrauma"
    assert observation(outcome, lentis)[5:7] == (28, 14) and areas(outcome, lentis) == ["GM1730"]
    jutters = "nza-6290828--Adolescenten-Persoonlijkheidsstoornis en trauma"
    assert observation(outcome, jutters)[4:8] == ("unknown", 70, 56, "De Jutters") and areas(outcome, jutters) == [
        "GM0518"]
    assert areas(outcome, "nza--Den Haag Noord-Volwassenen-Psychotrauma") == ["GM0518"]
    beilen = "nza-6290301-GGZ Drenthe, loc. Beilen-Volwassenen-Traumacentrum"
    assert observation(outcome, beilen)[4:7] == ("unknown", 56, None) and areas(outcome, beilen) == ["GM0106"]


def test_nza_without_the_district_words_rejects_those_rows_saying_what_was_meant(data_paths: DataPaths,
                                                                                tmp_path: Path) -> None:
    """The one rejection class of this file: a location named after a city district is no place. Without
    the steward's [sources.values.service_area], each such row is rejected naming the column and value and
    the closest municipality names; the rest of the file loads."""
    text = NZA_CONFIG.read_text(encoding="utf-8")
    config = tmp_path / "sources.toml"
    config.write_text(text[:text.index("[sources.values.service_area]")].replace(
        'path = "nza_ggz_wachttijden_2016_ruw.csv"', f'path = "{NZA_FILE}"'), encoding="utf-8")
    districts = {"Amsterdam Centrum-West", "Amsterdam Oost", "Den Haag Noord", "Rotterdam-Centrum",
                 "Rotterdam-Kralingen", "Rotterdam-Zuid"}
    lines = sorted(line for line, record in nza_records() if record["Vestigingslocatie"] in districts
                   and re.search("trauma", record["Nadere.typering"], re.I))
    outcome = run_source(data_paths, config, "nza-ggz-trauma")
    assert (outcome.summary.status, outcome.summary.loaded, outcome.summary.rejected) == ("partial", 42, 6)
    rejected = outcome.rejected()
    assert [(row, column) for row, column, _, _ in rejected] == [(line, "Vestigingslocatie") for line in lines]
    assert {value for _, _, value, _ in rejected} == districts
    oost = next(message for _, _, value, message in rejected if value == "Amsterdam Oost")
    assert oost.startswith("Vestigingslocatie: 'Amsterdam Oost' is not a known municipality or place; did you mean ")
    assert "Amsterdam" in oost


def test_nza_through_an_inbox_keeps_no_address_in_the_archive(data_paths: DataPaths, tmp_path: Path) -> None:
    """The same export dropped into an inbox: the archived copy has no STRAAT or POSTCODE column, and the
    street in the free-text remarks (Opmerkingen.MQ: "… gevestigd aan de Bremstraat 3 in Bussum") is masked;
    the rows are all there (filtered rows too: it is the file as received, minus addresses)."""
    text = NZA_CONFIG.read_text(encoding="utf-8").replace('path = "nza_ggz_wachttijden_2016_ruw.csv"',
                                                          "settle_seconds = 0")
    config = tmp_path / "sources.toml"
    config.write_text(text, encoding="utf-8")
    drop(data_paths, "wachttijden.csv", NZA_FILE.read_bytes(), source_id="nza-ggz-trauma")
    outcome = run_source(data_paths, config, "nza-ggz-trauma")
    assert (outcome.summary.status, outcome.summary.loaded) == ("ok", 48)
    (archived,) = files_under(data_paths.archive)
    copy = records_with_lines(archived.read_text(encoding="utf-8-sig"), ";")
    assert len(copy) == 2578
    header = list(copy[0][1])
    assert "STRAAT" not in header and "POSTCODE" not in header and "Opmerkingen.MQ" in header
    remark = next(record["Opmerkingen.MQ"] for _, record in copy if "nevenvestiging" in record["Opmerkingen.MQ"])
    assert "gevestigd aan de [adres weggelaten] in Bussum" in remark and "Bremstraat" not in remark
    assert leaks(data_paths, ("Bremstraat", *nza_streets_sample())) == []


# --- Toronto -----------------------------------------------------------------------------------------------


def toronto_loaded(data_paths: DataPaths):  # noqa: ANN201 - an Outcome
    return run_source(data_paths, TORONTO_CONFIG, "toronto-opvang")


def test_toronto_sector_filter_counts_and_the_programme_named_after_its_address(data_paths: DataPaths) -> None:
    """Women and Families rows are kept, the rest counted as skipped. One kept programme is named after its
    street address ("545 Lake Shore Blvd W. Women", both days): a shelter's address is never stored, so its
    rows are rejected naming the column, not the value. The address columns are never read."""
    records = records_with_lines(TORONTO_FILE.read_text(encoding="utf-8"), ",")
    kept = [(line, record) for line, record in records if record["SECTOR"] in ("Women", "Families")]
    named_after_address = [line for line, record in kept if record["PROGRAM_NAME"] == "545 Lake Shore Blvd W. Women"]
    assert (len(records), len(kept), len(named_after_address)) == (272, 74, 2)
    outcome = toronto_loaded(data_paths)
    assert (outcome.summary.status, outcome.summary.loaded, outcome.summary.rejected) == ("partial", 72, 2)
    assert outcome.summary.filtered == len(records) - len(kept) == 198
    assert [(row, column, value) for row, column, value, _ in outcome.rejected()] == [
        (line, "PROGRAM_NAME", "[adres weggelaten]") for line in named_after_address]
    assert outcome.query("SELECT DISTINCT area_code FROM service_area") == [("GM0014",)]
    addresses = sorted({record[column] for _, record in records for column in ("LOCATION_ADDRESS",
                                                                               "LOCATION_POSTAL_CODE")} - {""})
    assert "640 Dixon Rd." in addresses and "M9W 1J1" in addresses
    assert leaks(data_paths, ("Lake Shore Blvd", *addresses[::3])) == []


@pytest.mark.parametrize(("line", "service_id", "day", "unit", "maximum", "available", "status", "target"), [
    # Fred Victor Transition to Housing: Women, bed-based, 25 beds of which 1 unoccupied
    (62, "toronto-13191", 1, "bed", 25, 1, "open", ["adult_victim"]),
    # Street Haven Hotel Program: Women, room-based (the bed columns are empty): 33 rooms, none unoccupied
    (107, "toronto-15972", 1, "place", 33, 0, "full", ["adult_victim"]),
    # Red Door Family Shelter: Families, room-based: 26 rooms, 1 unoccupied; a family is a woman and children
    (126, "toronto-11791", 1, "place", 26, 1, "open", ["adult_victim", "child"]),
])
def test_toronto_hand_picked_rows(data_paths: DataPaths, line: int, service_id: str, day: int, unit: str,
                                  maximum: int, available: int, status: str, target: list[str]) -> None:
    records = dict(records_with_lines(TORONTO_FILE.read_text(encoding="utf-8"), ","))
    assert records[line]["PROGRAM_ID"] == service_id.removeprefix("toronto-")
    outcome = toronto_loaded(data_paths)
    # 2023-01-0d is a date: midnight Dutch time (winter, UTC+1), 23:00 UTC the day before
    moment = utc(2022, 12, 31, 23) + timedelta(days=day - 1)
    (found,) = outcome.query("SELECT unit, maximum, available, status FROM capacity_observation "
                             "WHERE service_id = ? AND valid_at = ?", [service_id, moment])
    assert found == (unit, maximum, available, status)
    assert groups(outcome, service_id) == target
    assert outcome.query("SELECT count(*) FROM capacity_observation WHERE service_id = ?", [service_id]) == [(2,)]


def test_the_real_configurations_pass_sources_check(data_paths: DataPaths) -> None:
    from ingest.steward import check

    for config, file in ((NZA_CONFIG, NZA_FILE), (TORONTO_CONFIG, TORONTO_FILE)):
        (source,) = load_sources(config)
        findings = check(config, data_paths, source.id, file)
        assert [f.en for f in findings if f.error] == [], config


def test_a_copy_of_the_real_folder_works_elsewhere(tmp_path: Path, data_paths: DataPaths) -> None:
    """The configuration's `path` is relative to the configuration file: the folder can be moved."""
    moved = tmp_path / "elders"
    shutil.copytree(REAL / "toronto", moved)
    outcome = run_source(data_paths, moved / "sources.toml", "toronto-opvang")
    assert (outcome.summary.loaded, outcome.summary.rejected) == (72, 2)
