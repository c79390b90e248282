"""What a data steward runs: `capacity sources check` (every configuration mistake with its line, before it
costs a run), `capacity sources preview` (what a file would become; loads nothing), re-applying a changed
configuration (its fingerprint is part of "already seen") and `capacity sources reprocess`, and the rejection
summary (`capacity report rejected`, the Databronnen page in Chromium). Real processes, real files."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from browser import console_errors, screenshot, start_chromium
from ingest_support import drop, query, run_source, write_config
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import dashboard, run_cli

pytestmark = pytest.mark.timeout(120)
HEADER = "service_id;service_name;provider_name;care_type;target_groups;service_area;valid_at;unit;maximum;available"
AT = "2026-11-24 10:00"


def csv_of(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def line(service_id: str, available: str = "1", area: str = "GM0014") -> str:
    return f"{service_id};Opvang {service_id};Stichting X;shelter;child;{area};{AT};place;5;{available}"


def sources(*args: str, config: Path, paths: DataPaths) -> tuple[int, str, str]:
    done = run_cli("sources", *args, "--config", str(config), "--data-dir", str(paths.root), "--lang", "en")
    return done.returncode, done.stdout, done.stderr


def numbered(text: str) -> str:
    """The configuration as written, for reading line numbers off (1-based)."""
    return "\n".join(f"{n}: {line}" for n, line in enumerate(text.splitlines(), 1))


# --- check ----------------------------------------------------------------------------------------------------


STRUCTURE = '''[[sources]]
id = "a"
kind = "file"
schedule = "15m"
[sources.mapping]
"Naam" = "service_name"
"Locatie" = "service_name"
"" = "provider_name"
[sources.values.maximum]
veel = "10"
[sources.values.unit]
kamer = ["place", "bed"]
'''


def test_check_names_each_structural_mistake_with_its_line(tmp_path: Path, data_paths: DataPaths) -> None:
    """Line 7: a second column for service_name; line 8: an empty column name; line 9: `values` (the whole
    table) for a number; line 12: one word for two units (a unit is one code)."""
    config = tmp_path / "sources.toml"
    config.write_text(STRUCTURE, encoding="utf-8")
    code, out, err = sources("check", config=config, paths=data_paths)
    assert code == 2, numbered(STRUCTURE) + out + err
    assert "line 7: mapping: columns 'Naam' and 'Locatie' both point to 'service_name'" in err
    assert "line 8: mapping: an empty column name" in err
    assert "line 9: values.maximum: this field takes no codes (it is int)" in err
    assert "line 12: values.unit: this field takes one code per word, not a list ('kamer')" in err


CODES = '''[[sources]]
id = "b"
kind = "file"
schedule = "15m"
path = "bestaat-niet.csv"
[sources.values.care_type]
opvang = "opvang-typo"
[sources.defaults]
unit = "kamer"
'''


def test_check_finds_unknown_codes_bad_defaults_and_a_missing_file(tmp_path: Path, data_paths: DataPaths) -> None:
    """Against the warehouse's code lists: line 7 maps to no care type (ingest would never get as far as a
    database error), line 9 is no unit, line 5 names a file that is not there."""
    config = tmp_path / "sources.toml"
    config.write_text(CODES, encoding="utf-8")
    code, out, err = sources("check", config=config, paths=data_paths)
    assert code == 2, out + err
    assert ("error: b: line 7: values.care_type: 'opvang' → 'opvang-typo' is not a known code (known: "
            "peer_group, perpetrator_programme, shelter, trauma_care)") in err
    assert "error: b: line 9: default for unit is invalid: 'kamer'" in err
    assert f"error: b: line 5: 'path' {tmp_path / 'bestaat-niet.csv'} does not exist" in err
    # ingest refuses the source the same way, with a message and no traceback
    drop(data_paths, "x.csv", csv_of(line("S1")), source_id="b")
    config.write_text(CODES.replace('path = "bestaat-niet.csv"\n', "settle_seconds = 0\n"), encoding="utf-8")
    outcome = run_source(data_paths, config, "b")
    assert outcome.summary.status == "failed"
    assert "'opvang' → 'opvang-typo' is geen bekende code" in outcome.summary.messages[0]


def test_check_with_a_file_warns_about_the_columns_it_lacks(tmp_path: Path, data_paths: DataPaths) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nid = "c"\nkind = "file"\nschedule = "15m"\n[sources.fields]\n'
                      'maximum = ["Bedden", "Kamers"]\n[sources.mapping]\n"Vrij" = "available"\n', encoding="utf-8")
    sample = tmp_path / "voorbeeld.csv"
    sample.write_bytes(csv_of(line("S1"), header=HEADER.replace(";maximum;available", ";Bedden;Beschikbaar")))
    code, out, err = sources("check", "c", str(sample), config=config, paths=data_paths)
    assert code == 0, out + err
    assert "warning: c: line 6: voorbeeld.csv has no column 'Kamers'" in out
    assert "warning: c: line 8: voorbeeld.csv has no column 'Vrij'" in out
    # a required field the file lacks is an error
    sample.write_bytes(csv_of("S1;Opvang", header="service_id;service_name"))
    code, out, err = sources("check", "c", str(sample), config=config, paths=data_paths)
    assert code == 2 and "required column(s) missing: provider_name, care_type" in err


# --- preview -------------------------------------------------------------------------------------------------


def test_preview_shows_what_a_file_would_become_and_loads_nothing(tmp_path: Path, data_paths: DataPaths) -> None:
    """Five rows: one skipped by the filter, three with the same error (one line, 3 ×, example rows), one
    valid; the file stays in the inbox and the ledger stays empty."""
    config = write_config(tmp_path, '[[sources.filters]]\ncolumn = "service_area"\nvalues = ["GM0014", "GM0034"]\n')
    content = csv_of(line("V1"), line("V2", available="9"), line("V3", available="9"), line("V4", "1", "GM0363"),
                     line("V5", available="9"))
    waiting = drop(data_paths, "rapport.csv", content)
    code, out, err = sources("preview", "provider-a", config=config, paths=data_paths)
    assert code == 0, err
    assert out.splitlines()[0] == "rapport.csv: 5 rows; skipped by filter 1, valid 1, rejected 3"
    assert "  row 2: service_id=V1, service_name=Opvang V1," in out
    assert "  3 x available (9) is greater than maximum (5)  (e.g. row 3, 4, 6)" in out
    assert waiting.exists()
    assert query(data_paths, "SELECT count(*) FROM ingest_run") == [(0,)]
    assert query(data_paths, "SELECT count(*) FROM capacity_observation") == [(0,)]


# --- re-applying a changed configuration ---------------------------------------------------------------------------


WAITS = HEADER + ";wait_days_intake"


def test_a_changed_configuration_is_applied_to_a_file_read_in_place(tmp_path: Path, data_paths: DataPaths) -> None:
    """The file says 2 (weeks, as the steward learns). Read as days, then again unchanged; once `convert`
    says weeks, the same file is read again: 14 days, a correction of the one observation, not a second."""
    report = tmp_path / "wachttijden.csv"
    report.write_bytes(csv_of(line("W1") + ";2", header=WAITS))
    config = tmp_path / "sources.toml"
    base = f'[[sources]]\nid = "w"\nkind = "file"\nschedule = "1h"\npath = "{report}"\n'
    config.write_text(base, encoding="utf-8")
    first = run_source(data_paths, config, "w")
    again = run_source(data_paths, config, "w")
    config.write_text(base + '[sources.convert]\nwait_days_intake = "weeks"\n', encoding="utf-8")
    corrected = run_source(data_paths, config, "w")
    assert [(o.summary.status, o.summary.loaded, o.summary.corrected) for o in (first, again, corrected)] == [
        ("ok", 1, 0), ("unchanged", 0, 0), ("ok", 1, 1)]
    assert query(data_paths, "SELECT service_id, wait_days_intake FROM capacity_observation") == [("W1", 14)]
    assert run_source(data_paths, config, "w").summary.status == "unchanged"


def test_reprocess_reads_the_archived_files_with_the_current_configuration(tmp_path: Path,
                                                                          data_paths: DataPaths) -> None:
    """Two reports went to the archive. After the mapping changes, `reprocess` reads both again: R1's wait
    becomes 14 days and R2's 21 (corrections); a second reprocess changes nothing and duplicates nothing."""
    config = write_config(tmp_path)
    drop(data_paths, "week1.csv", csv_of(line("R1") + ";2", header=WAITS))
    assert run_source(data_paths, config).summary.loaded == 1
    time.sleep(1.1)     # archive names carry the second
    drop(data_paths, "week2.csv", csv_of(line("R2") + ";3", header=WAITS))
    assert run_source(data_paths, config).summary.loaded == 1
    assert len(list((data_paths.archive / "provider-a").iterdir())) == 2
    config.write_text(config.read_text(encoding="utf-8") + '[sources.convert]\nwait_days_intake = "weeks"\n',
                      encoding="utf-8")
    code, out, err = sources("reprocess", "provider-a", config=config, paths=data_paths)
    assert code == 0, err
    assert "loaded 2" in out and "of which corrections 2" in out
    code, out, err = sources("reprocess", "provider-a", config=config, paths=data_paths)
    assert code == 0 and "loaded 0" in out and "unchanged 2" in out, out + err
    assert query(data_paths, "SELECT service_id, wait_days_intake FROM capacity_observation ORDER BY 1") == [
        ("R1", 14), ("R2", 21)]
    assert len(list((data_paths.archive / "provider-a").iterdir())) == 2


def test_reprocess_refuses_a_feed_and_an_unknown_source(tmp_path: Path, data_paths: DataPaths) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nid = "feed"\nkind = "http"\nschedule = "1h"\nurl = "http://127.0.0.1:9/x"\n',
                      encoding="utf-8")
    code, _, err = sources("reprocess", "feed", config=config, paths=data_paths)
    assert code == 2 and "Source feed is no file source" in err
    code, _, err = sources("reprocess", "onbekend", config=config, paths=data_paths)
    assert code == 2 and "Unknown source 'onbekend'" in err


# --- the rejection summary ------------------------------------------------------------------------------------


def test_rejections_are_summarised_by_message_in_the_cli_and_on_the_page(tmp_path: Path,
                                                                        data_paths: DataPaths) -> None:
    """30 rows with the same error read as one line with 30 rows and the first three as examples; two
    unknown places are one line each (their values differ). On the page too, with the rows the filter left
    out counted in the sources table."""
    config = write_config(tmp_path, '[[sources.filters]]\ncolumn = "care_type"\nvalues = ["shelter"]\n')
    lines = [line("OK")] + [line(f"S{n}", available="9") for n in range(30)]
    lines += [line("U1", area="Atlantis"), line("U2", area="Lemurië"),
              line("T1").replace(";shelter;", ";trauma_care;")]
    drop(data_paths, "veel-fouten.csv", csv_of(*lines))
    assert run_source(data_paths, config).summary.rejected == 32
    with Warehouse(data_paths) as warehouse:
        warehouse.publish()
    done = run_cli("report", "rejected", "--source", "provider-a", "--format", "json", "--data-dir",
                   str(data_paths.root))
    groups = json.loads(done.stdout)
    assert [(g["column_name"], g["rows"], g["example_rows"], g["example_value"]) for g in groups] == [
        ("available", 30, [3, 4, 5], "9"), ("service_area", 1, [33], "Atlantis"), ("service_area", 1, [34], "Lemurië")]
    assert groups[0]["message_en"] == "available (9) is greater than maximum (5)"

    with dashboard(data_paths) as url:
        driver = start_chromium()
        try:
            driver.get(url + "/databronnen?lang=en")
            WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, "rejections-table")))
            rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#rejections-table tbody tr")]
            assert len(rows) == 3 and "30" in rows[0] and "3, 4, 5" in rows[0]
            assert "available (9) is greater than maximum (5)" in rows[0]
            source = driver.find_element(By.CSS_SELECTOR, '#sources-table tr[data-source="provider-a"]')
            cells = [cell.text for cell in source.find_elements(By.TAG_NAME, "td")]
            assert cells[4:7] == ["1", "32", "1"]      # loaded, rejected, skipped by filter
            screenshot(driver, "sources-rejections")
            assert console_errors(driver) == []
        finally:
            driver.quit()
