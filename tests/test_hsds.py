"""The hsds source kind: HSDS 3.1 services with capacities from a real paged HTTP API on 127.0.0.1 and from
real package folders and zips; the fixtures are checked against the HSDS JSON schemas."""
from __future__ import annotations

import json
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ingest.config import SourceConfig
from ingest.fetch import FetchError
from ingest.records import Extract, RowError, StructuralError
from ingest.sources import FeedMemory
from ingest.sources.hsds import HsdsSource
from ingest.validate import Reference, SourceRules, validate
from queries.paths import DataPaths

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "data" / "reference" / "hsds" / "schema"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hsds"
PAGES = [FIXTURES / "api" / "page1.json", FIXTURES / "api" / "page2.json"]
PACKAGE = FIXTURES / "package"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)
SECRETS = ("Verborgenstraat", "Schuilweg", "Geheimhof", "1011 ZZ", "3511 ZZ", "3512 ZZ", "achterom", "2e etage")

ORG1, ORG2 = "0a000000-0000-4000-8000-000000000001", "0a000000-0000-4000-8000-000000000002"
AMSTEL = {"service_id": "5e000000-0000-4000-8000-000000000011", "service_name": "Vrouwenopvang Amstel",
          "provider_id": ORG1, "provider_name": "Stichting Veilig Onderdak", "care_type": "shelter",
          "target_groups": "adult_victim; child", "service_area": "GM0363", "age_min": 18, "whole_family": "true",
          "languages": "nl; Arabisch", "violence_profiles": "intimate_terror", "phone": "020 555 0101",
          "email": "aanmelden@opvang-amstel.example", "website": "https://opvang-amstel.example"}
API_ROWS = {
    1: {**AMSTEL, "valid_at": "2025-06-01T08:00:00Z", "unit": "bed", "available": 3, "maximum": 12},
    2: {**AMSTEL, "valid_at": "2025-06-01T08:30:00Z", "unit": "gezinsplek", "available": 0, "maximum": 4},
    3: {"service_id": "5e000000-0000-4000-8000-000000000012", "service_name": "Daderhulp Utrecht",
        "provider_id": ORG2, "provider_name": "Centrum De Linde", "status": "closed", "service_area": "Utrecht",
        "care_type": "perpetrator_programme", "target_groups": "perpetrator", "framework": "mandated",
        "valid_at": "2025-06-01T09:00:00+02:00", "unit": "groepsplek", "available": 0, "maximum": 8},
    4: {"service_id": "5e000000-0000-4000-8000-000000000013", "service_name": "Traumabehandeling Domstad",
        "provider_id": ORG2, "provider_name": "Centrum De Linde", "service_area": "Utrecht", "age_min": 12,
        "age_max": 23, "languages": "en", "care_type": "trauma_care", "target_groups": "child",
        "wait_days_intake": "21", "valid_at": "2025-06-01T10:15:00+02:00", "unit": "behandelplek", "available": 2,
        "maximum": 6},
}

NOORD = {"service_id": "5e000000-0000-4000-8000-000000000001", "service_name": "Opvang Noord", "provider_id": ORG1,
         "provider_name": "Stichting Veilig Onderdak", "care_type": "shelter", "target_groups": "adult_victim; child",
         "service_area": "Amsterdam", "age_min": "18", "whole_family": "true", "languages": "nl; en",
         "phone": "020 555 0111", "email": "aanmelden@opvang-noord.example", "website": "https://opvang-noord.example"}
TRAUMA = {"service_id": "5e000000-0000-4000-8000-000000000002", "service_name": "Traumazorg Utrecht",
          "provider_id": ORG2, "provider_name": "Centrum De Linde", "care_type": "trauma_care",
          "target_groups": "child", "wait_days_intake": "21", "service_area": "Utrecht", "age_min": "4",
          "age_max": "17", "languages": "Turks", "website": "https://delinde.example"}
ZUID = {"service_id": "5e000000-0000-4000-8000-000000000003", "service_name": "Opvang Zuid", "provider_id": ORG1,
        "provider_name": "Stichting Veilig Onderdak", "care_type": "shelter", "target_groups": "adult_victim",
        "service_area": "Atlantis", "status": "closed"}
PACKAGE_ROWS = {  # keyed by the line in service_capacity.csv; line 3 holds a quoted line break
    2: {**NOORD, "valid_at": "2025-06-01T09:00:00+02:00", "unit": "bed", "available": "3", "maximum": "10"},
    3: {**TRAUMA, "valid_at": "2025-06-01T10:00:00+02:00", "unit": "behandelplek", "available": "2", "maximum": "5"},
    5: {**NOORD, "valid_at": "2025-06-01T11:00:00+02:00", "unit": "plek", "available": "12", "maximum": "10"},
    6: {**ZUID, "valid_at": "2025-06-01T12:00:00+02:00", "unit": "bed", "available": "0", "maximum": "4"},
    7: {**TRAUMA, "valid_at": "2030-01-01T09:00:00+01:00", "unit": "behandelplek", "available": "1", "maximum": "5"},
    8: {**NOORD, "valid_at": "2025-06-01T13:00:00+02:00", "unit": "bed", "available": "-1", "maximum": "10"},
}
UNKNOWN_SERVICE = "5e000000-0000-4000-8000-000000000009"
UNKNOWN_UNIT = "0c000000-0000-4000-8000-000000000099"


# --- helpers -----------------------------------------------------------------------------------


Answer = Callable[[BaseHTTPRequestHandler], None]


class PagedServer:
    """A real HTTP server answering /services?page=N with the body set for page N, or letting the answer set for
    it reply (404 for others)."""

    def __init__(self, pages: dict[int, bytes | Answer]) -> None:
        self.pages = pages
        self.requests: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hsds"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                parts = urlsplit(self.path)
                number = int(parse_qs(parts.query).get("page", ["0"])[0])
                body = server.pages.get(number) if parts.path == "/hsds/services" else None
                if callable(body):
                    body(self)
                    return
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def serve() -> Iterator:
    servers: list[PagedServer] = []

    def start(pages: dict[int, bytes | Answer]) -> PagedServer:
        servers.append(PagedServer(pages))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def fixture_pages() -> dict[int, bytes]:
    return {number: path.read_bytes() for number, path in enumerate(PAGES, start=1)}


def redirect_to(location: str) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return answer


def after(seconds: float, body: bytes) -> Answer:
    """The page, after `seconds` of silence."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


def batch_of(source: SourceConfig, tmp_path: Path):
    batches = list(HsdsSource().batches(source, DataPaths(tmp_path / "data"), FeedMemory(None, None, None), NOW))
    assert len(batches) == 1
    return batches[0]


def api_source(url: str, **options: object) -> SourceConfig:
    return SourceConfig("hsds-api", "hsds", "15m", url=url, options={"per_page": 2, **options})


def package_source(path: Path) -> SourceConfig:
    return SourceConfig("hsds-pakket", "hsds", "1h", path=path)


def zipped(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"hsds-export/{path.name}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def rows_by_number(extract: Extract) -> dict[int, dict[str, object]]:
    return {raw.row: raw.values for raw in extract.rows}


def every_text(extract: Extract) -> str:
    values = [str(v) for raw in extract.rows for v in raw.values.values()]
    messages = [f"{e.value} {e.nl} {e.en}" for e in extract.errors]
    return "\n".join(values + messages)


# --- the fixtures are real HSDS 3.1 ------------------------------------------------------------


def hsds_validator(name: str) -> Draft202012Validator:
    """A validator for one HSDS schema file, its $refs resolved to the other files by file name."""
    registry = Registry().with_resources(
        (path.name, DRAFT202012.create_resource(json.loads(path.read_text(encoding="utf-8"))))
        for path in SCHEMAS.glob("*.json"))
    schema = registry.contents(name)
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_api_fixture_services_are_valid_hsds_3_1():
    services = hsds_validator("service.json")
    openapi = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))
    assert openapi["jsonSchemaDialect"] == "https://json-schema.org/draft/2020-12/schema"
    page_schema = Draft202012Validator(openapi["components"]["schemas"]["Page"])
    for path in PAGES:
        page = json.loads(path.read_text(encoding="utf-8"))
        page_schema.validate(page)
        for service in page["contents"]:
            services.validate(service)
    broken = json.loads(PAGES[0].read_text(encoding="utf-8"))["contents"][0]
    broken["capacities"][0]["unit"] = {"id": "not-a-uuid", "name": "bed"}
    with pytest.raises(ValidationError):
        services.validate(broken)


# --- API form ----------------------------------------------------------------------------------


def test_api_pages_become_canonical_rows(serve, tmp_path):
    server = serve(fixture_pages())
    batch = batch_of(api_source(server.url + "/"), tmp_path)
    assert server.requests == ["/hsds/services?page=1&per_page=2&full=true",
                               "/hsds/services?page=2&per_page=2&full=true"]
    assert batch.name == server.url + "/"
    assert batch.size == sum(len(body) for body in fixture_pages().values())
    assert batch.feed is not None
    extract = batch.read()
    assert rows_by_number(extract) == API_ROWS
    assert extract.errors == []
    assert set(extract.header) >= {name for values in API_ROWS.values() for name in values}


def test_api_content_hash_follows_the_pages(serve, tmp_path):
    pages = fixture_pages()
    first = batch_of(api_source(serve(pages).url), tmp_path).content_hash
    again = batch_of(api_source(serve(pages).url), tmp_path).content_hash
    changed = batch_of(api_source(serve({**pages, 2: pages[2].replace(b'"available": 2', b'"available": 1')}).url),
                       tmp_path).content_hash
    assert first == again != changed


def test_api_stops_at_max_pages(serve, tmp_path):
    server = serve(fixture_pages())
    with pytest.raises(StructuralError) as error:
        batch_of(api_source(server.url, max_pages=1), tmp_path)
    assert "max_pages" in error.value.en and server.url in error.value.en
    assert len(server.requests) == 1


def test_api_page_without_contents_is_refused_naming_it(serve, tmp_path):
    server = serve({1: fixture_pages()[1], 2: b'{"total_pages": 2, "page_number": 2, "items": []}'})
    with pytest.raises(StructuralError) as error:
        batch_of(api_source(server.url), tmp_path)
    page = f"{server.url}/services?page=2&per_page=2&full=true"
    assert error.value.en == f"{page}: this page is not an object with a list 'contents'"
    assert error.value.nl == f"{page}: deze pagina is geen object met een lijst 'contents'"


def test_api_unknown_unit_and_organization_are_row_errors(serve, tmp_path):
    page = json.loads(PAGES[1].read_text(encoding="utf-8"))
    page["page_number"], page["total_pages"] = 1, 1
    service = page["contents"][0]
    del service["organization"]
    service["organization_id"] = unknown_org = "0a000000-0000-4000-8000-000000000077"
    service["capacities"][0] = {**service["capacities"][0], "unit_id": "0c000000-0000-4000-8000-000000000077"}
    del service["capacities"][0]["unit"]
    server = serve({1: json.dumps(page).encode()})
    extract = batch_of(api_source(server.url), tmp_path).read()
    where = f"{server.url}/services?page=1&per_page=2&full=true, service 1, capacity 1"
    assert extract.rows == []
    assert [(e.row, e.column, e.value, e.en) for e in extract.errors] == [
        (1, "unit_id", "0c000000-0000-4000-8000-000000000077",
         f"{where}: unit '0c000000-0000-4000-8000-000000000077' (unit_id) is unknown"),
        (1, "organization_id", unknown_org,
         f"{where}: organization '{unknown_org}' (organization_id) of service {service['id']} is unknown"),
    ]


def test_api_unreadable_capacity_attribute_is_a_row_error(serve, tmp_path):
    page = json.loads(PAGES[1].read_text(encoding="utf-8"))
    page["contents"][0]["attributes"][0]["taxonomy_term"]["code"] = "care_typ:trauma_care"
    server = serve({1: json.dumps(page).encode()})
    extract = batch_of(api_source(server.url), tmp_path).read()
    assert extract.rows == []
    [error] = extract.errors
    assert (error.row, error.column, error.value) == (1, "attributes", "care_typ:trauma_care")
    assert error.en.endswith(": attribute 'care_typ:trauma_care' in taxonomy capacity cannot be read (write "
                             "key:value, keys: care_type, target_group, framework, whole_family, violence_profile, "
                             "wait_days_intake, wait_days_treatment)")


@pytest.mark.timeout(30)
def test_api_page_redirects_follow_the_feed_rules(serve, tmp_path):
    """A page may move within the API's own origin; a page redirecting elsewhere (here: the cloud metadata
    address) fails the directory, naming the page and where it pointed."""
    pages = fixture_pages()
    server = serve({1: redirect_to("/hsds/services?page=101&per_page=2&full=true"), 101: pages[1], 2: pages[2]})
    assert rows_by_number(batch_of(api_source(server.url), tmp_path).read()) == API_ROWS
    hostile = serve({1: pages[1], 2: redirect_to("http://169.254.169.254/latest/meta-data")})
    with pytest.raises(FetchError) as error:
        batch_of(api_source(hostile.url, allow_redirects_to=["http://169.254.169.254"]), tmp_path)
    page = f"{hostile.url}/services?page=2&per_page=2&full=true"
    assert error.value.en == (f"Fetching {page} failed: the source redirects to http://169.254.169.254/latest/"
                              "meta-data, which is refused: link-local address 169.254.169.254.")
    assert not error.value.retryable and len(hostile.requests) == 2


@pytest.mark.timeout(30)
def test_api_deadline_covers_all_pages_together(serve, tmp_path):
    """Each page comes within the timeout, but the directory as a whole does not come within deadline_seconds."""
    pages = fixture_pages()
    server = serve({1: after(0.9, pages[1]), 2: after(0.9, pages[2])})
    started = time.monotonic()
    with pytest.raises(FetchError) as error:
        batch_of(api_source(server.url, timeout_seconds=1, deadline_seconds=1.5), tmp_path)
    assert 1.4 <= time.monotonic() - started < 2.2
    page = f"{server.url}/services?page=2&per_page=2&full=true"
    assert error.value.en == f"Fetching {page} failed: no complete answer within 1.5 seconds (deadline_seconds)."
    assert error.value.nl == f"Ophalen van {page} mislukt: geen volledig antwoord binnen 1,5 seconden (deadline_seconds)."


# --- package form ------------------------------------------------------------------------------


def test_package_folder_becomes_canonical_rows(tmp_path):
    batch = batch_of(package_source(PACKAGE), tmp_path)
    assert batch.name == str(PACKAGE) and batch.inbox_file is None and batch.feed is None
    extract = batch.read()
    assert rows_by_number(extract) == PACKAGE_ROWS
    assert_unknown_service_and_unit(extract.errors)


def test_package_zip_gives_the_same_rows_and_hash(tmp_path):
    archive = zipped(PACKAGE, tmp_path / "export.zip")
    batch = batch_of(package_source(archive), tmp_path)
    extract = batch.read()
    assert rows_by_number(extract) == PACKAGE_ROWS
    assert_unknown_service_and_unit(extract.errors)
    assert batch.content_hash == batch_of(package_source(PACKAGE), tmp_path).content_hash


def assert_unknown_service_and_unit(errors: list[RowError]) -> None:
    assert errors == [
        RowError(9, "service_id", UNKNOWN_SERVICE,
                 f"service_capacity.csv, regel 9: dienst '{UNKNOWN_SERVICE}' (service_id) staat niet in services.csv",
                 f"service_capacity.csv, line 9: service '{UNKNOWN_SERVICE}' (service_id) is not in services.csv"),
        RowError(10, "unit_id", UNKNOWN_UNIT,
                 f"service_capacity.csv, regel 10: eenheid '{UNKNOWN_UNIT}' (unit_id) is onbekend",
                 f"service_capacity.csv, line 10: unit '{UNKNOWN_UNIT}' (unit_id) is unknown"),
    ]


def test_zip_bomb_member_is_refused(tmp_path):
    archive = zipped(PACKAGE, tmp_path / "bomb.zip", {"padding.csv": b"0" * (8 * 1024 * 1024)})
    with pytest.raises(StructuralError) as error:
        batch_of(package_source(archive), tmp_path)
    assert "'padding.csv' is suspiciously highly compressed" in error.value.en


def test_zip_member_outside_the_package_is_refused(tmp_path):
    archive = zipped(PACKAGE, tmp_path / "evil.zip", {"../evil.csv": b"id\n1\n"})
    with pytest.raises(StructuralError) as error:
        batch_of(package_source(archive), tmp_path)
    assert "unsafe name ('../evil.csv')" in error.value.en


def test_missing_units_csv_is_refused_naming_it(tmp_path):
    folder = tmp_path / "package"
    shutil.copytree(PACKAGE, folder)
    (folder / "units.csv").unlink()
    with pytest.raises(StructuralError) as error:
        batch_of(package_source(folder), tmp_path).read()
    assert error.value.en == f"{folder}: the package lacks units.csv"
    assert error.value.nl == f"{folder}: het pakket mist units.csv"


def test_street_addresses_never_appear(serve, tmp_path):
    fixture_text = "".join(p.read_text(encoding="utf-8") for p in [*PAGES, PACKAGE / "addresses.csv"])
    assert all(secret in fixture_text for secret in SECRETS)
    extracts = [batch_of(api_source(serve(fixture_pages()).url), tmp_path).read(),
                batch_of(package_source(PACKAGE), tmp_path).read()]
    for extract in extracts:
        text = every_text(extract)
        assert [secret for secret in SECRETS if secret in text] == []


# --- through validation ------------------------------------------------------------------------


def test_validation_rejects_rows_that_break_the_rules(tmp_path):
    reference = Reference(
        care_types={"shelter": "shelter", "vrouwenopvang": "shelter", "trauma_care": "trauma_care"},
        target_groups={"adult_victim": "adult_victim", "child": "child", "kind": "child"},
        municipalities={"GM0363": "Amsterdam", "GM0344": "Utrecht"}, region_codes={}, levels=frozenset())
    validated = validate(batch_of(package_source(PACKAGE), tmp_path).read(), SourceRules(), reference, NOW)

    assert [(r.row, r.service_id, r.unit, r.service_area, r.status) for r in validated.records] == [
        (2, NOORD["service_id"], "bed", [("gemeente", "GM0363")], "open"),
        (3, TRAUMA["service_id"], "treatment_slot", [("gemeente", "GM0344")], "open"),
    ]
    noord, trauma = validated.records
    assert (noord.care_type, noord.target_groups, noord.whole_family, noord.languages) == \
        ("shelter", ["adult_victim", "child"], True, ["en", "nl"])
    assert (trauma.wait_days_intake, trauma.age_min, trauma.age_max, trauma.phone) == (21, 4, 17, None)
    assert [(e.row, e.column, e.value, e.nl) for e in validated.rejected] == [
        (5, "available", "12", "beschikbaar (12) is groter dan maximum (10)"),
        (6, "service_area", "Atlantis",
         "service_area: gebied 'Atlantis' is geen bekende gemeente (GM-code of exacte naam) of regiocode"),
        (7, "valid_at", "2030-01-01T09:00:00+01:00",
         "valid_at: '2030-01-01T09:00:00+01:00' ligt meer dan een dag in de toekomst"),
        (8, "available", "-1", "available: '-1' is negatief"),
        (9, "service_id", UNKNOWN_SERVICE,
         f"service_capacity.csv, regel 9: dienst '{UNKNOWN_SERVICE}' (service_id) staat niet in services.csv"),
        (10, "unit_id", UNKNOWN_UNIT,
         f"service_capacity.csv, regel 10: eenheid '{UNKNOWN_UNIT}' (unit_id) is onbekend"),
    ]
    assert [e.en for e in validated.rejected[:4]] == [
        "available (12) is greater than maximum (10)",
        "service_area: area 'Atlantis' is not a known municipality (GM code or exact name) or region code",
        "valid_at: '2030-01-01T09:00:00+01:00' is more than a day in the future",
        "available: '-1' is negative",
    ]
