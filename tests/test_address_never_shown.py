"""A shelter whose source report carried its street address, in address columns or written into its name,
referral route or provider name: after the real ingest, the address is in no page, no API answer (JSON, CSV,
XLSX, HSDS), no `capacity report` export, no log line of the ingester or the web server, and (for the
free-text case here; for address columns in test_privacy_ingest.py) in no table or file of the data folder."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from ingest_support import drop, leaks, write_config
from queries.paths import DataPaths
from support import dashboard, run_cli
from web_client import Visitor

STREET, POSTCODE = "Geheimstraat", "9999 ZZ"
# Headers recognised as addresses by the words in them (none is on a fixed list), with their secrets.
PATTERN_HEADERS = ("LOCATION_ADDRESS", "Adres opvang", "Postcode locatie", "straat en huisnummer")
PATTERN_SECRETS = ("Verborgenlaan", "Stillekade", "8888 XY", "Zwijgpad")
NEEDLES = (STREET.lower(), POSTCODE.lower(), POSTCODE.replace(" ", "").lower(),
           *(secret.lower() for secret in PATTERN_SECRETS))
NAME = "Fictieve Opvang Noord"
HEADER = "service_id;service_name;provider_id;provider_name;care_type;target_groups;service_area;valid_at;unit;" \
         "maximum;available;status;waiting_count;adres;postcode;bezoekadres;" + ";".join(PATTERN_HEADERS) + \
         ";Opmerkingen"


def report(valid_at: str) -> bytes:
    lines = [HEADER,
             f"VO-1;{NAME};fop;Stichting Fictieve Opvang;shelter;adult_victim;GM0014;{valid_at};place;12;3;open;1;"
             f"{STREET} 13;{POSTCODE};{STREET} 13 {POSTCODE} Groningen;Verborgenlaan 4;Stillekade 9;8888 XY;"
             "Zwijgpad 12;Nieuw adres sinds maart: Zwijgpad 12",
             f"VO-2;{NAME} kinderen;fop;Stichting Fictieve Opvang;shelter;child;GM0014;{valid_at};place;6;0;full;2;"
             f"{STREET} 15;{POSTCODE};;;;;;"]
    return ("\n".join(lines) + "\n").encode()


def readable(content: bytes) -> str:
    """The text of an answer; an XLSX is read member by member (it is a zip)."""
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return content.decode("utf-8", "replace")


def assert_no_address(where: str, text: str) -> None:
    lowered = text.lower()
    for needle in NEEDLES:
        assert needle not in lowered, f"{needle!r} found in {where}"


def outputs_of(data_paths: DataPaths, tmp_path: Path, gemeente: str, region: str) -> dict[str, str]:
    """Every output after `capacity ingest --once`: the CLI's reports, the API, each page, both logs."""
    config = write_config(tmp_path)
    ingest = run_cli("ingest", "--once", "--data-dir", str(data_paths.root), "--config", str(config))
    assert ingest.returncode in (0, 1), ingest.stderr
    outputs = {"ingest output": ingest.stdout + ingest.stderr}

    for what in ("shortfall", "providers", "sources"):
        for form in ("csv", "json", "xlsx"):
            target = tmp_path / f"{what}.{form}"
            extra = ("--gemeente", gemeente) if what == "providers" else ()
            exported = run_cli("report", what, "--format", form, "--out", str(target), "--data-dir",
                               str(data_paths.root), *extra)
            assert exported.returncode == 0, exported.stderr
            outputs[f"capacity report {what} --format {form}"] = readable(target.read_bytes())

    log = tmp_path / "server.log"
    with dashboard(data_paths, log=log) as url:
        visitor = Visitor(url)
        for path, params in (("/api/v1/shortfall", {}), ("/api/v1/providers", {"gemeente": gemeente}),
                             ("/api/v1/sources", {})):
            for form in ("json", "csv", "xlsx"):
                answer = visitor.get(path, params={**params, "format": form})
                assert answer.status_code == 200, (path, form, answer.text[:200])
                outputs[f"{path} {form}"] = readable(answer.content)
        outputs["/api/hsds/services"] = visitor.get("/api/hsds/services", params={"per_page": 500}).text
        routing = next(d["output"] for d in visitor.get("/_dash-dependencies").json()
                       if "_pages_content.children" in d["output"])
        for path, search in (("/", "?care_type=shelter&target_group=adult_victim"), (f"/regio/{region}", ""),
                             ("/zoek", f"?gemeente={gemeente}&care_type=shelter"), ("/inkoop", f"?region={region}"),
                             ("/databronnen", ""), ("/databronnen", "?all=reports")):
            answer = visitor.post("/_dash-update-component", json={
                "output": routing, "outputs": [{"id": "_pages_content", "property": "children"},
                                               {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                           {"id": "_pages_location", "property": "search", "value": search}],
                "changedPropIds": ["_pages_location.pathname"]})
            assert answer.status_code == 200, path
            outputs[f"page {path}{search}"] = answer.text
        visitor.close()
    outputs["server log"] = log.read_text(errors="replace")
    return outputs


@pytest.mark.timeout(180)
def test_a_shelter_address_from_the_source_is_never_output(data_paths: DataPaths, tmp_path: Path) -> None:
    """Address columns by name and by pattern, and an unmapped remark holding a street and number: both
    shelters load; no address is in any output, table or file; the archived copy keeps the remark masked."""
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    drop(data_paths, "opvang.csv", report(now.strftime("%Y-%m-%dT%H:%M")))
    outputs = outputs_of(data_paths, tmp_path, "GM0014", "VT01")
    assert NAME in outputs["/api/v1/providers json"] and NAME in outputs["page /zoek?gemeente=GM0014&care_type=shelter"]
    assert NAME in outputs["/api/hsds/services"] and NAME in outputs["capacity report providers --format xlsx"]
    for where, text in outputs.items():
        assert_no_address(where, text)
    assert leaks(data_paths, (STREET, POSTCODE, *PATTERN_SECRETS)) == []
    (archived,) = [path for path in data_paths.archive.rglob("*") if path.is_file()]
    kept = archived.read_text(encoding="utf-8-sig")
    header = kept.splitlines()[0].split(";")
    assert header[-1] == "Opmerkingen" and not {"adres", "postcode", "bezoekadres", *PATTERN_HEADERS} & set(header)
    assert "Nieuw adres sinds maart: [adres weggelaten]" in kept


FREE_TEXT = ("Kanariestraat", "1011 ZZ", "1011ZZ")
FREE_TEXT_HEADER = "service_id;service_name;provider_name;care_type;target_groups;service_area;valid_at;unit;" \
                   "maximum;available;referral_route"


def free_text_report(valid_at: str) -> bytes:
    """Three shelter rows with the address written into a text field, one clean shelter, one trauma team
    whose (public) office address is in its referral route."""
    rows = [FREE_TEXT_HEADER,
            f"VO-1;Opvang Kanariestraat 17;Stichting Fictieve Opvang;shelter;adult_victim;GM0363;{valid_at};place;8;2;"
            "via Veilig Thuis",
            f"VO-2;Fictieve Opvang Centrum;Stichting Fictieve Opvang;shelter;child;GM0363;{valid_at};place;4;1;"
            "Aanmelden bij Kanariestraat 17, 1011 ZZ Amsterdam",
            f"VO-3;Fictieve Opvang Oost;Stichting Opvang 1011ZZ;shelter;adult_victim;GM0363;{valid_at};place;6;0;",
            f"VO-4;Fictieve Opvang West;Stichting Fictieve Opvang;shelter;adult_victim;GM0363;{valid_at};place;10;4;"
            "via Veilig Thuis Amsterdam-Amstelland",
            f"TR-1;Fictief Traumateam;Stichting Fictieve Zorg;trauma_care;child;GM0363;{valid_at};treatment_slot;5;1;"
            "Spreekuur Praktijkstraat 3"]
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.timeout(180)
def test_a_shelter_address_in_a_text_field_refuses_the_row_and_is_never_output(data_paths: DataPaths,
                                                                               tmp_path: Path) -> None:
    """VO-1 (name), VO-2 (referral route: street and postcode) and VO-3 (provider name: postcode) are refused
    with a message naming the field, never the value; VO-4 and the trauma team load. The shelter address is
    then in no output and in no table or file of the data folder (the archived copy is masked too). A trauma
    team's office address is no secret: it is loaded and shown."""
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    drop(data_paths, "opvang.csv", free_text_report(now.strftime("%Y-%m-%dT%H:%M")))
    outputs = outputs_of(data_paths, tmp_path, "GM0363", "VT13")
    con = duckdb.connect(str(data_paths.warehouse), read_only=True)
    rejected = con.execute("SELECT row_number, column_name, value, message_en FROM rejected_row "
                           "ORDER BY row_number").fetchall()
    con.close()
    assert [(row, column, value) for row, column, value, _ in rejected] == [
        (2, "service_name", "[adres weggelaten]"), (3, "referral_route", "[adres weggelaten]"),
        (4, "provider_name", "[adres weggelaten]")]
    assert all("seems to hold a street address" in message for *_, message in rejected)
    assert "service_name: lijkt een straatadres" in outputs["page /databronnen"]
    assert "Fictieve Opvang West" in outputs["/api/v1/providers json"]
    assert "Praktijkstraat 3" in outputs["/api/v1/providers json"]
    for name in ("Opvang Kanariestraat", "Fictieve Opvang Centrum", "Fictieve Opvang Oost"):
        assert name not in outputs["/api/v1/providers json"], name
    for where, text in outputs.items():
        for needle in FREE_TEXT:
            assert needle.lower() not in text.lower(), f"{needle!r} found in {where}"
    assert leaks(data_paths, FREE_TEXT) == []
