"""A shelter whose source report carried its street address: after the real ingest, the address is in no
page, no API answer (JSON, CSV, XLSX, HSDS), no `capacity report` export and no log line of the ingester or
the web server. (That it is in no table or file of the data folder is tested in test_privacy_ingest.py.)"""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest_support import drop, write_config
from queries.paths import DataPaths
from support import dashboard, run_cli
from web_client import Visitor

STREET, POSTCODE = "Geheimstraat", "9999 ZZ"
NEEDLES = (STREET.lower(), POSTCODE.lower(), POSTCODE.replace(" ", "").lower())
NAME = "Fictieve Opvang Noord"
HEADER = "service_id;service_name;provider_id;provider_name;care_type;target_groups;service_area;valid_at;unit;" \
         "maximum;available;status;waiting_count;adres;postcode;bezoekadres"


def report(valid_at: str) -> bytes:
    lines = [HEADER,
             f"VO-1;{NAME};fop;Stichting Fictieve Opvang;shelter;adult_victim;GM0014;{valid_at};place;12;3;open;1;"
             f"{STREET} 13;{POSTCODE};{STREET} 13 {POSTCODE} Groningen",
             f"VO-2;{NAME} kinderen;fop;Stichting Fictieve Opvang;shelter;child;GM0014;{valid_at};place;6;0;full;2;"
             f"{STREET} 15;{POSTCODE};"]
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


@pytest.mark.timeout(180)
def test_a_shelter_address_from_the_source_is_never_output(data_paths: DataPaths, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    config = write_config(tmp_path)
    drop(data_paths, "opvang.csv", report(now.strftime("%Y-%m-%dT%H:%M")))
    ingest = run_cli("ingest", "--once", "--data-dir", str(data_paths.root), "--config", str(config))
    assert ingest.returncode == 0, ingest.stderr
    outputs = {"ingest output": ingest.stdout + ingest.stderr}

    for what in ("shortfall", "providers", "sources"):
        for form in ("csv", "json", "xlsx"):
            target = tmp_path / f"{what}.{form}"
            exported = run_cli("report", what, "--format", form, "--out", str(target), "--data-dir",
                               str(data_paths.root), "--gemeente", "GM0014") if what == "providers" else \
                run_cli("report", what, "--format", form, "--out", str(target), "--data-dir", str(data_paths.root))
            assert exported.returncode == 0, exported.stderr
            outputs[f"capacity report {what} --format {form}"] = readable(target.read_bytes())

    log = tmp_path / "server.log"
    with dashboard(data_paths, log=log) as url:
        visitor = Visitor(url)
        for path, params in (("/api/v1/shortfall", {}), ("/api/v1/providers", {"gemeente": "GM0014"}),
                             ("/api/v1/sources", {})):
            for form in ("json", "csv", "xlsx"):
                answer = visitor.get(path, params={**params, "format": form})
                assert answer.status_code == 200, (path, form, answer.text[:200])
                outputs[f"{path} {form}"] = readable(answer.content)
        outputs["/api/hsds/services"] = visitor.get("/api/hsds/services", params={"per_page": 500}).text
        routing = next(d["output"] for d in visitor.get("/_dash-dependencies").json()
                       if "_pages_content.children" in d["output"])
        for path, search in (("/", "?care_type=shelter&target_group=adult_victim"), ("/regio/VT08", ""),
                             ("/zoek", "?gemeente=GM0014&care_type=shelter"), ("/inkoop", "?region=VT08"),
                             ("/databronnen", "")):
            answer = visitor.post("/_dash-update-component", json={
                "output": routing, "outputs": [{"id": "_pages_content", "property": "children"},
                                               {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                           {"id": "_pages_location", "property": "search", "value": search}],
                "changedPropIds": ["_pages_location.pathname"]})
            assert answer.status_code == 200, path
            outputs[f"page {path}"] = answer.text
        visitor.close()
    outputs["server log"] = log.read_text(errors="replace")

    assert NAME in outputs["/api/v1/providers json"] and NAME in outputs["page /zoek"], "the shelter is shown"
    assert NAME in outputs["/api/hsds/services"] and NAME in outputs["capacity report providers --format xlsx"]
    for where, text in outputs.items():
        assert_no_address(where, text)
