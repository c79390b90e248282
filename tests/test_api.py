"""The read-only HTTP API (dashboard/api.py) served for real on 127.0.0.1, on the hand-made world of
shortfall_world.py: figures as worked out by hand in test_shortfall.py and test_search_and_health.py,
downloads, refusals, and HSDS 3.1 pages checked against the shared JSON schemas and read back by our own
HSDS reader.

One service is added to the world: FX1 (peer group in GM0006, no figure yet) with text a spreadsheet
would run as a formula, an e-mail address and a web address without scheme.
"""
from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import flask
import httpx
import pytest
from jsonschema import Draft202012Validator
from openpyxl import load_workbook
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.serving import make_server

import shortfall_world
from dashboard import api, data
from ingest.config import SourceConfig
from ingest.reports import PROVIDER_COLUMNS, SOURCE_COLUMNS
from ingest.sources import FeedMemory
from ingest.sources.hsds import HsdsSource
from queries.db import run
from queries.paths import DataPaths
from queries.publish import read_pointer
from queries.shortfall import REPORT_COLUMNS
from queries.warehouse import Warehouse

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "reference" / "hsds" / "schema"
T = "2026-06-30"
T_ISO = "2026-06-30T21:59:59.999999+00:00"           # end of 30 June in Amsterdam
FORMULA_NAME, FORMULA_PHONE = "=HYPERLINK(\"http://x\")", "+31 20 000 0000"
PAGE_SIZE = 3


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    paths = DataPaths(tmp_path_factory.mktemp("api") / "data")
    shortfall_world.build(paths)
    with Warehouse(paths) as warehouse:
        with warehouse.transaction() as con:
            run(con, """INSERT INTO service (service_id, provider_id, name, care_type, phone, email, website,
                                             languages, source_id, updated_at)
                        VALUES ('FX1', 'P', ?, 'peer_group', ?, 'fx@example.org', 'www.fx.example', ['tr'],
                                'fixture', now())""", [FORMULA_NAME, FORMULA_PHONE])
            run(con, "INSERT INTO service_target_group VALUES ('FX1', 'adult_victim')")
            run(con, "INSERT INTO service_area VALUES ('FX1', 'gemeente', 'GM0006')")
        warehouse.publish()
    return paths


@pytest.fixture(scope="module")
def base(world: DataPaths) -> Iterator[str]:
    """The blueprint on a plain Flask app, served by a real threaded HTTP server on a free loopback port."""
    data.configure(world, 1.0)
    app = flask.Flask(__name__)
    app.register_blueprint(api.blueprint)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    data.reader().close()


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as http:
        yield http


def get(client: httpx.Client, path: str, **params: object) -> httpx.Response:
    response = client.get(path, params=params)
    assert response.headers["Cache-Control"] == "no-store"
    return response


def get_json(client: httpx.Client, path: str, **params: object) -> dict:
    response = get(client, path, **params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def close(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) < 1e-6


# --- /api/v1/shortfall -------------------------------------------------------------------------


def test_shortfall_as_json_field_by_field(client: httpx.Client, world: DataPaths) -> None:
    answer = get_json(client, "/api/v1/shortfall", level="testregio", at=T)
    assert (answer["level"], answer["at"], answer["columns"]) == ("testregio", T_ISO, list(REPORT_COLUMNS))
    assert answer["published_at"] == read_pointer(world).published_at
    cells = {(r["region_code"], r["care_type"], r["target_group"]): r for r in answer["rows"]}
    assert all(list(row) == list(REPORT_COLUMNS) for row in answer["rows"])
    b = cells[("B", "shelter", "child")]
    assert (b["region_level"], b["region_name"], b["services"], b["services_fresh"]) == ("testregio", "Regio B", 2, 1)
    assert close(b["places"], 5) and close(b["available"], 0) and close(b["waiting"], 20 / 11)
    assert close(b["unmet_now"], 20 / 11) and close(b["norm_places"], 10) and close(b["norm_gap"], 5)
    assert close(b["per_10k"], 5 / 18_000 * 10_000)
    assert close(b["national_median_per_10k"], (5 / 18_000 * 10_000 + 2 / 3_600 * 10_000) / 2)
    assert b["median_wait_intake_days"] is None and b["wait_breaches"] == 0
    assert (b["status"], b["status_reasons"]) == ("red", "5 plaatsen tekort op een norm van 10 (50%)")
    c = cells[("C", "shelter", "adult_victim")]
    assert (c["services"], c["waiting"], c["unmet_now"], c["status"]) == (0, None, None, "red")   # unknown: null
    trauma = cells[("B", "trauma_care", "child")]
    assert (trauma["median_wait_intake_days"], trauma["median_wait_treatment_days"]) == (21, 98)
    assert trauma["status"] == "red"


def test_shortfall_in_english_with_filters(client: httpx.Client) -> None:
    answer = get_json(client, "/api/v1/shortfall", level="testregio", at=T, care_type="shelter", target_group="child",
                      region="B", lang="en")
    (b,) = answer["rows"]
    assert (b["region_code"], b["status"], b["status_reasons"]) == ("B", "red", "5 places short of a norm of 10 (50%)")
    mandated = get_json(client, "/api/v1/shortfall", level="testregio", at=T, care_type="perpetrator_programme",
                        framework="mandated")
    assert {r["region_code"]: r["services"] for r in mandated["rows"]} == {"A": 0, "B": 1, "C": 0, "D": 0}


def test_shortfall_as_csv_download(client: httpx.Client) -> None:
    response = get(client, "/api/v1/shortfall", level="testregio", at=T, care_type="trauma_care", format="csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="shortfall-testregio-2026-06-30.csv"'
    table = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert tuple(table[0]) == REPORT_COLUMNS
    b = next(r for r in table if (r["region_code"], r["target_group"]) == ("B", "child"))
    assert (b["services"], b["places"], b["waiting"], b["median_wait_treatment_days"], b["status"]) == (
        "1", "10.0", "12.0", "98.0", "red")
    assert b["status_reasons"] == "mediane behandelwachttijd 98 dagen > norm 70"
    c = next(r for r in table if (r["region_code"], r["target_group"]) == ("C", "child"))
    assert c["waiting"] == "" and c["unmet_now"] == ""               # unknown stays empty, never 0


# --- /api/v1/providers and /api/v1/sources ---------------------------------------------------


def provider_ids(client: httpx.Client, **params: object) -> list[tuple[str, int]]:
    answer = get_json(client, "/api/v1/providers", at=T, **params)
    assert answer["columns"] == list(PROVIDER_COLUMNS)
    return [(row["service_id"], row["rank_group"]) for row in answer["rows"]]


def test_providers_ranking_and_filters(client: httpx.Client) -> None:
    assert provider_ids(client, gemeente="GM0003") == [("TR3", 1), ("TR1", 2), ("SH1", 2), ("PP2", 3)]
    assert provider_ids(client, gemeente="gm0003", available_only="true") == [("TR3", 1)]
    assert provider_ids(client, gemeente="GM0003", age=9) == [("TR1", 2), ("SH1", 2), ("PP2", 3)]
    assert provider_ids(client, gemeente="GM0003", language="AR") == [("TR3", 1)]
    assert provider_ids(client, gemeente="GM0003", whole_family="ja") == [("SH1", 2)]
    assert provider_ids(client, gemeente="GM0003", violence_profile="family_in_stress") == [("TR1", 2)]
    assert provider_ids(client, gemeente="GM0003", target_group="child") == [("TR1", 2), ("SH1", 2)]
    assert provider_ids(client, gemeente="GM0003", framework="voluntary") == []


def test_provider_row_field_by_field_and_never_an_address(client: httpx.Client) -> None:
    answer = get_json(client, "/api/v1/providers", gemeente="GM0003", care_type="shelter", at=T)
    (sh1,) = answer["rows"]
    assert list(sh1) == list(PROVIDER_COLUMNS)
    assert (sh1["service_name"], sh1["provider_name"], sh1["target_groups"], sh1["languages"]) == (
        "Dienst SH1", "Fictieve Aanbieder", ["adult_victim", "child"], ["en", "nl"])
    assert (sh1["age_min"], sh1["age_max"], sh1["whole_family"], sh1["phone"], sh1["referral_route"]) == (
        0, 99, True, "010-0000001", "via Veilig Thuis")
    assert (sh1["valid_at"], sh1["maximum"], sh1["available"], sh1["waiting_count"], sh1["fresh"]) == (
        "2026-06-30T08:00:00+00:00", 11, 0, 4, True)
    assert close(sh1["age_days"], (21 + 59 / 60 + 59.999999 / 3600 - 8) / 24)
    assert not [key for key in answer["columns"] if "address" in key or "adres" in key]


def test_providers_as_xlsx_keep_numbers_and_never_run_formulas(client: httpx.Client) -> None:
    response = get(client, "/api/v1/providers", gemeente="GM0003", at=T, format="xlsx")
    assert response.headers["Content-Type"] == api.XLSX_TYPE
    assert response.headers["Content-Disposition"] == 'attachment; filename="providers-2026-06-30.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert tuple(header) == PROVIDER_COLUMNS
    table = [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [row["service_id"] for row in table] == ["TR3", "TR1", "SH1", "PP2"]
    assert (table[0]["available"], table[0]["maximum"], table[0]["age_days"]) == (1, 3, 10.5)   # numbers
    formula = load_workbook(io.BytesIO(get(client, "/api/v1/providers", gemeente="GM0006", format="xlsx").content))
    rows = {row[1]: row for row in formula.active.iter_rows(min_row=2, values_only=True)}
    assert rows["FX1"][header.index("service_name")] == "'" + FORMULA_NAME
    assert rows["FX1"][header.index("phone")] == "'" + FORMULA_PHONE


def test_providers_as_csv_never_run_formulas(client: httpx.Client) -> None:
    response = get(client, "/api/v1/providers", gemeente="GM0006", at=T, format="csv")
    table = {row["service_id"]: row for row in csv.DictReader(io.StringIO(response.text, newline=""))}
    assert (table["FX1"]["service_name"], table["FX1"]["phone"]) == ("'" + FORMULA_NAME, "'" + FORMULA_PHONE)
    assert (table["SH5"]["available"], table["SH5"]["maximum"], table["SH5"]["rank_group"]) == ("1", "2", "1")


def test_sources_row(client: httpx.Client) -> None:
    answer = get_json(client, "/api/v1/sources", at=T)
    (row,) = answer["rows"]
    assert list(row) == list(SOURCE_COLUMNS)
    assert (row["source_id"], row["kind"], row["last_status"], row["consecutive_failures"], row["stale"]) == (
        "fixture", "file", "ok", 0, False)
    assert (row["last_rows_in"], row["last_rows_loaded"], row["last_rows_rejected"]) == (13, 13, 0)
    assert (row["newest_valid_at"], row["stale_since"]) == ("2026-06-30T08:00:00+00:00", "2026-07-02T08:00:00+00:00")


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params", "name", "value", "en"), [
    ("/api/v1/shortfall", {"level": "planet"}, "level", "planet", "choose from testregio, nederland"),
    ("/api/v1/shortfall", {"level": "testregio", "at": "30-06-2026"}, "at", "30-06-2026",
     "not a date (2026-06-30) or moment (2026-06-30T14:00)"),
    ("/api/v1/shortfall", {"level": "testregio", "format": "pdf"}, "format", "pdf", "choose from json, csv, xlsx"),
    ("/api/v1/shortfall", {"level": "testregio", "lang": "fr"}, "lang", "fr", "choose from nl, en"),
    ("/api/v1/shortfall", {"level": "testregio", "care_type": "opvang"}, "care_type", "opvang",
     "choose from shelter, trauma_care, perpetrator_programme, peer_group"),
    ("/api/v1/shortfall", {"care-type": "shelter"}, "care-type", "shelter",
     "unknown parameter; allowed: " + ", ".join(api.SHORTFALL_PARAMETERS)),
    ("/api/v1/providers", {"age": "nine"}, "age", "nine", "must be a whole number from 0 to 120"),
    ("/api/v1/providers", {"age": "4.5"}, "age", "4.5", "must be a whole number from 0 to 120"),
    ("/api/v1/providers", {"gemeente": "Utrecht"}, "gemeente", "Utrecht", "not a municipality code like GM0363"),
    ("/api/v1/providers", {"whole_family": "maybe"}, "whole_family", "maybe",
     "choose from true, 1, yes, ja or false, 0, no, nee"),
    ("/api/v1/sources", {"at": "2026-02-30"}, "at", "2026-02-30",
     "not a date (2026-06-30) or moment (2026-06-30T14:00)"),
    ("/api/hsds/services", {"page": "0"}, "page", "0", "must be a whole number from 1 to 1000000"),
    ("/api/hsds/services", {"per_page": "501"}, "per_page", "501", "must be a whole number from 1 to 500"),
    ("/api/hsds/services", {"per_page": "ten"}, "per_page", "ten", "must be a whole number from 1 to 500"),
])
def test_bad_parameters_are_refused_naming_them(client: httpx.Client, path: str, params: dict, name: str,
                                                value: str, en: str) -> None:
    response = get(client, path, **params)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["en"] == f"invalid parameter {name}='{value}': {en}"
    assert error["nl"].startswith(f"ongeldige parameter {name}='{value}': ")


def test_dutch_message_and_the_default_level(client: httpx.Client) -> None:
    error = get(client, "/api/v1/shortfall").json()["error"]      # the fixture world has no veilig_thuis level
    assert error["nl"] == "ongeldige parameter level='veilig_thuis': kies uit testregio, nederland"


def test_only_get(client: httpx.Client) -> None:
    assert client.post("/api/v1/sources").status_code == 405


def test_no_published_data_is_503(client: httpx.Client, world: DataPaths, tmp_path: Path) -> None:
    data.reader().close()
    empty = data.configure(DataPaths(tmp_path / "empty"), 1.0)
    try:
        response = get(client, "/api/v1/sources")
    finally:
        empty.close()
        data.configure(world, 1.0)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert response.json()["error"]["en"] == "No data has been published yet; try again later."
    assert str(tmp_path) not in response.text                  # no server paths in answers


# --- /api/hsds/services ------------------------------------------------------------------------


def hsds_validator(name: str) -> Draft202012Validator:
    """A validator for one HSDS schema file, its $refs resolved to the other files by file name."""
    registry = Registry().with_resources(
        (path.name, DRAFT202012.create_resource(json.loads(path.read_text(encoding="utf-8"))))
        for path in SCHEMAS.glob("*.json"))
    return Draft202012Validator(registry.contents(name), registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def hsds_pages(client: httpx.Client) -> list[dict]:
    pages = []
    while not pages or not pages[-1]["last_page"]:
        pages.append(get_json(client, "/api/hsds/services", page=len(pages) + 1, per_page=PAGE_SIZE))
    return pages


@pytest.fixture(scope="module")
def hsds_services(hsds_pages: list[dict]) -> dict[str, dict]:
    """The exported services by name."""
    return {service["name"]: service for page in hsds_pages for service in page["contents"]}


def test_every_page_is_valid_hsds_3_1(hsds_pages: list[dict], client: httpx.Client) -> None:
    services = hsds_validator("service.json")
    page_schema = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]["Page"]
    for page in hsds_pages:
        Draft202012Validator(page_schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(page)
        assert set(page) == {*page_schema["properties"], "contents"}
        for service in page["contents"]:
            services.validate(service)
    broken = json.loads(json.dumps(next(s for s in hsds_pages[0]["contents"] if s["capacities"])))
    broken["capacities"][0]["unit"]["id"] = "SH1-place"
    assert not services.is_valid(broken)                                            # formats are checked
    assert [(p["page_number"], p["size"], p["first_page"], p["last_page"], p["empty"]) for p in hsds_pages] == [
        (1, 3, True, False, False), (2, 3, False, False, False), (3, 3, False, False, False),
        (4, 2, False, True, False)]
    assert {(p["total_items"], p["total_pages"]) for p in hsds_pages} == {(11, 4)}
    beyond = get_json(client, "/api/hsds/services", page=5, per_page=PAGE_SIZE)
    assert (beyond["size"], beyond["empty"], beyond["last_page"], beyond["contents"]) == (0, True, True, [])
    assert get_json(client, "/api/hsds/services")["size"] == 11                       # 50 per page by default


def test_ids_are_deterministic_uuids_and_never_an_address(hsds_pages: list[dict], client: httpx.Client) -> None:
    again = [get_json(client, "/api/hsds/services", page=n, per_page=PAGE_SIZE)
             for n in range(1, len(hsds_pages) + 1)]
    assert again == hsds_pages
    ids = [s["id"] for page in hsds_pages for s in page["contents"]]
    assert len(set(ids)) == 11 and all(str(uuid.UUID(i)) == i for i in ids)
    text = json.dumps(hsds_pages).lower()
    assert not any(word in text for word in ("address", "location", "postal", "latitude"))


def test_capacities_are_the_latest_observations(hsds_services: dict[str, dict]) -> None:
    latest: dict[str, tuple] = {}
    for service_id, valid_at, maximum, available, *_ in sorted(shortfall_world.OBSERVATIONS, key=lambda o: o[1]):
        latest[service_id] = (valid_at, maximum, available)
    for service_id, (valid_at, maximum, available) in latest.items():
        (capacity,) = hsds_services[f"Dienst {service_id}"]["capacities"]
        moment = datetime.fromisoformat(valid_at).replace(tzinfo=timezone.utc)
        assert datetime.fromisoformat(capacity["updated"]) == moment, service_id
        assert (capacity["available"], capacity["maximum"], capacity["unit"]["name"]) == (available, maximum, "place")
        assert capacity["service_id"] == hsds_services[f"Dienst {service_id}"]["id"]
    assert hsds_services[FORMULA_NAME]["capacities"] == []                         # no figure yet


def test_service_fields(hsds_services: dict[str, dict]) -> None:
    sh1 = hsds_services["Dienst SH1"]
    assert (sh1["status"], sh1["minimum_age"], sh1["maximum_age"]) == ("active", 0, 99)
    assert sh1["organization"] == {"id": sh1["organization_id"], "name": "Fictieve Aanbieder", "description": ""}
    assert [(x["code"], x["service_id"]) for x in sh1["languages"]] == [("en", sh1["id"]), ("nl", sh1["id"])]
    assert [(x["number"], x["service_id"]) for x in sh1["phones"]] == [("010-0000001", sh1["id"])]
    assert [a["name"] for a in sh1["service_areas"]] == ["Gemeente 2", "Gemeente 3"]
    # a region area is written as level:code (what our reader accepts back), its name in the description
    assert [(a["name"], a["description"]) for a in hsds_services["Dienst SH2"]["service_areas"]] == [
        ("testregio:A", "Regio A")]
    assert "minimum_age" not in hsds_services["Dienst SH2"] and "email" not in sh1      # unknown: left out
    fx1 = hsds_services[FORMULA_NAME]
    assert fx1["email"] == "fx@example.org" and "url" not in fx1                   # no scheme: not a URI


def attributes(service: dict) -> set[tuple[str, str | None]]:
    for attribute in service["attributes"]:
        assert attribute["link_id"] == service["id"] and attribute["link_entity"] == "service"
        assert attribute["taxonomy_term"]["taxonomy"] == "capacity"
        assert attribute["taxonomy_term_id"] == attribute["taxonomy_term"]["id"]
    return {(a["taxonomy_term"]["code"], a.get("value")) for a in service["attributes"]}


def test_attributes_follow_the_capacity_taxonomy(hsds_services: dict[str, dict]) -> None:
    assert attributes(hsds_services["Dienst PP2"]) == {
        ("care_type:perpetrator_programme", None), ("target_group:perpetrator", None), ("framework:mandated", None),
        ("whole_family:false", None), ("wait_days_intake", "40"), ("wait_days_treatment", "80")}
    assert attributes(hsds_services["Dienst TR1"]) == {
        ("care_type:trauma_care", None), ("target_group:child", None), ("whole_family:false", None),
        ("violence_profile:family_in_stress", None), ("wait_days_intake", "21"), ("wait_days_treatment", "98")}
    assert ("whole_family:true", None) in attributes(hsds_services["Dienst SH1"])
    shelter_terms = {a["taxonomy_term"]["id"] for name in ("Dienst SH1", "Dienst SH2")
                     for a in hsds_services[name]["attributes"] if a["taxonomy_term"]["code"] == "care_type:shelter"}
    assert len(shelter_terms) == 1                                                  # one term, shared


def test_our_hsds_reader_reads_the_export_back(base: str, hsds_services: dict[str, dict], tmp_path: Path) -> None:
    source = SourceConfig("terug", "hsds", "15m", url=f"{base}/api/hsds", options={"per_page": PAGE_SIZE})
    (batch,) = HsdsSource().batches(source, DataPaths(tmp_path / "data"), FeedMemory(None, None, None),
                                    datetime.now(timezone.utc))
    extract = batch.read()
    assert extract.errors == []
    rows = {raw.values["service_name"]: raw.values for raw in extract.rows}
    assert set(rows) == {f"Dienst {service_id}" for service_id in shortfall_world.SERVICES}   # FX1 has no figure
    sh1 = hsds_services["Dienst SH1"]
    assert rows["Dienst SH1"] == {
        "service_id": sh1["id"], "service_name": "Dienst SH1", "provider_id": sh1["organization_id"],
        "provider_name": "Fictieve Aanbieder", "care_type": "shelter", "target_groups": "adult_victim; child",
        "whole_family": "true", "age_min": 0, "age_max": 99, "languages": "en; nl", "phone": "010-0000001",
        "service_area": "Gemeente 2; Gemeente 3", "valid_at": "2026-06-30T08:00:00+00:00", "unit": "place",
        "available": 0, "maximum": 11}
    pp2 = rows["Dienst PP2"]
    assert (pp2["framework"], pp2["wait_days_intake"], pp2["wait_days_treatment"], pp2["service_area"]) == (
        "mandated", "40", "80", "Gemeente 3")
    assert rows["Dienst TR1"]["violence_profiles"] == "family_in_stress"
    assert rows["Dienst SH2"]["service_area"] == "testregio:A"
