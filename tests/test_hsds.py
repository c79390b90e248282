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
from ingest.sources.hsds import RESOURCES, HsdsSource
from ingest.validate import Reference, SourceRules, validate
from queries.paths import DataPaths

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "data" / "reference" / "hsds" / "schema"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hsds"
PAGES = [FIXTURES / "api" / "page1.json", FIXTURES / "api" / "page2.json"]
PACKAGE = FIXTURES / "package"
PACKAGE_1_1 = FIXTURES / "package_1_1"     # an HSDS 1.1 package, as the HSDS 1.1 datapackage.json names its files
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
CAPACITY_ID = "ca000000-0000-4000-8000-00000000000"    # + the last digit


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


def test_api_all_problems_of_a_capacity_are_reported_at_once(serve, tmp_path):
    """Unknown unit, unknown organization, an attribute with an unknown key and one without a value: four row
    errors for the one capacity, each naming the page, service and capacity (with their ids) and the field."""
    page = json.loads(PAGES[1].read_text(encoding="utf-8"))
    page["page_number"], page["total_pages"] = 1, 1
    service = page["contents"][0]
    del service["organization"]
    service["organization_id"] = unknown_org = "0a000000-0000-4000-8000-000000000077"
    service["capacities"][0] = {**service["capacities"][0], "unit_id": "0c000000-0000-4000-8000-000000000077"}
    del service["capacities"][0]["unit"]
    service["attributes"][0]["taxonomy_term"]["code"] = "care_typ:trauma_care"
    del service["attributes"][2]["value"]
    server = serve({1: json.dumps(page).encode()})
    extract = batch_of(api_source(server.url), tmp_path).read()
    url = f"{server.url}/services?page=1&per_page=2&full=true"
    where_en = f"{url}, service 1 (id {service['id']}), capacity 1 (id ca000000-0000-4000-8000-000000000004)"
    where_nl = f"{url}, dienst 1 (id {service['id']}), capaciteit 1 (id ca000000-0000-4000-8000-000000000004)"
    keys = ("care_type, target_group, framework, whole_family, violence_profile, wait_days_intake, "
            "wait_days_treatment")
    assert extract.rows == []
    assert [(e.row, e.column, e.value, e.en) for e in extract.errors] == [
        (1, "unit_id", "0c000000-0000-4000-8000-000000000077",
         f"{where_en}: unit_id '0c000000-0000-4000-8000-000000000077' is not in the API's answers"),
        (1, "organization_id", unknown_org,
         f"{where_en}: organization_id '{unknown_org}' is not in the API's answers"),
        (1, "attributes[1].taxonomy_term.code", "care_typ:trauma_care",
         f"{where_en}: attributes[1].taxonomy_term.code 'care_typ:trauma_care' is no attribute of taxonomy "
         f"capacity (write key:value, keys: {keys})"),
        (1, "attributes[3].value", "",
         f"{where_en}: attributes[3].value is empty: attribute 'wait_days_intake' in taxonomy capacity needs a "
         "value (or write wait_days_intake:value)"),
    ]
    assert extract.errors[0].nl == (f"{where_nl}: unit_id '0c000000-0000-4000-8000-000000000077' staat niet in "
                                    "de antwoorden van de API")


def test_api_that_ignores_page_is_refused_at_the_second_identical_page(serve, tmp_path):
    """Page 2 holds page 1's services again (here with page_number 2, so only the services are alike)."""
    first = json.loads(PAGES[0].read_text(encoding="utf-8"))
    again = {**first, "page_number": 2, "first_page": False}
    server = serve({1: json.dumps(first).encode(), 2: json.dumps(again).encode(), 3: PAGES[1].read_bytes()})
    with pytest.raises(StructuralError) as error:
        batch_of(api_source(server.url), tmp_path)
    page = f"{server.url}/services?page=2&per_page=2&full=true"
    assert error.value.en == (f"{page}: page 2 holds the same services as page 1: the API apparently ignores the "
                              "parameter 'page'. The directory is not loaded")
    assert error.value.nl == (f"{page}: pagina 2 bevat dezelfde diensten als pagina 1: de API negeert kennelijk de "
                              "parameter 'page'. De gids wordt niet geladen")
    assert len(server.requests) == 2


def test_api_repeating_page_2_after_a_different_page_1_is_refused_at_page_3(serve, tmp_path):
    second = json.loads(PAGES[1].read_text(encoding="utf-8"))
    second.update(total_pages=5, last_page=False)
    body = json.dumps(second).encode()
    server = serve({1: PAGES[0].read_bytes(), 2: body, 3: body, 4: body, 5: body})
    with pytest.raises(StructuralError) as error:
        batch_of(api_source(server.url), tmp_path)
    assert error.value.en.startswith(f"{server.url}/services?page=3&per_page=2&full=true: page 3 holds the same "
                                     "services as page 2: the API apparently ignores the parameter 'page'.")
    assert len(server.requests) == 3


def test_api_answering_as_hsds_1_x_is_refused(serve, tmp_path):
    """An HSDS 1.x API (HSDA) answers /services with a bare list of services: no capacities, no page."""
    server = serve({1: (FIXTURES / "api" / "hsda_1_1_services.json").read_bytes()})
    with pytest.raises(StructuralError) as error:
        batch_of(api_source(server.url), tmp_path)
    page = f"{server.url}/services?page=1&per_page=2&full=true"
    assert error.value.en == (f"{page}: this answer is HSDS 1.x (HSDA): a list, without the HSDS 3 page "
                              "('contents', 'total_pages'); capacities need HSDS 3.1 (service_capacity with units). "
                              "Please deliver the directory as HSDS 3.1; nothing was loaded")
    assert error.value.nl == (f"{page}: dit antwoord is HSDS 1.x (HSDA): een lijst, zonder de pagina van HSDS 3 "
                              "('contents', 'total_pages'); capaciteiten staan pas in HSDS 3.1 (service_capacity "
                              "met units). Lever de gids aan als HSDS 3.1; er is niets geladen")
    assert len(server.requests) == 1


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


def assert_unknown_service_and_unit(errors: list[RowError], capacities: str = "service_capacity.csv",
                                    services: str = "services.csv", units: str = "units.csv") -> None:
    line9, line10 = f"{capacities}, line 9, id {CAPACITY_ID}7", f"{capacities}, line 10, id {CAPACITY_ID}8"
    regel9, regel10 = f"{capacities}, regel 9, id {CAPACITY_ID}7", f"{capacities}, regel 10, id {CAPACITY_ID}8"
    assert errors == [
        RowError(9, "service_id", UNKNOWN_SERVICE, f"{regel9}: service_id '{UNKNOWN_SERVICE}' staat niet in {services}",
                 f"{line9}: service_id '{UNKNOWN_SERVICE}' is not in {services}"),
        RowError(10, "unit_id", UNKNOWN_UNIT, f"{regel10}: unit_id '{UNKNOWN_UNIT}' staat niet in {units}",
                 f"{line10}: unit_id '{UNKNOWN_UNIT}' is not in {units}"),
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


# --- package form: as published (datapackage.json, HSDS 3.1 names, HSDS 1.x) ----------------------

RENAMED = {"service": "data/diensten.csv", "service_capacity": "data/capaciteit/plaatsen.csv", "unit": "eenheden.csv",
           "organization": "data/organisaties.csv", "language": "talen.csv", "phone": "telefoons.csv",
           "service_area": "gebieden.csv", "service_at_location": "data/dienst_op_locatie.csv",
           "address": "data/adressen.csv", "attribute": "kenmerken.csv", "taxonomy_term": "termen.csv",
           "taxonomy": "taxonomieen.csv", "location": "data/locaties.csv"}
FIXTURE_FILES = {**RESOURCES, "location": "locations.csv"}     # a resource we do not read is named too
UNKNOWN_ORG = "0a000000-0000-4000-8000-000000000077"
HSDS_3_1 = "; capacities need HSDS 3.1 (service_capacity with units). Please deliver the directory as HSDS 3.1; " \
           "nothing was loaded"


def package_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "pakket"
    shutil.copytree(PACKAGE, folder)
    return folder


def append_lines(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))


def write_descriptor(folder: Path, paths: dict[str, str]) -> None:
    """A datapackage.json as HSDS 3.1 writes it, naming these resources at these paths."""
    resources = [{"name": name, "path": path, "profile": "tabular-data-resource", "format": "csv",
                  "mediatype": "text/csv"} for name, path in paths.items()]
    (folder / "datapackage.json").write_text(json.dumps({
        "name": "human_services_data", "title": "Opvang en hulp (fictief)", "profile": "tabular-data-package",
        "version": "3.1.0", "resources": resources}, indent=2), encoding="utf-8")


def described_package(folder: Path, paths: dict[str, str]) -> Path:
    """The fixture package with its files moved to `paths` and a datapackage.json naming them there."""
    for name, path in paths.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / FIXTURE_FILES[name], folder / path)
    write_descriptor(folder, paths)
    return folder


def zipped_tree(folder: Path, target: Path, root: str = "export/", extra: dict[str, bytes] | None = None) -> Path:
    """The folder with its subfolders as a zip, under `root`."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, f"{root}{path.relative_to(folder).as_posix()}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def refusal(source: SourceConfig, tmp_path: Path) -> StructuralError:
    with pytest.raises(StructuralError) as error:
        batch_of(source, tmp_path).read()
    return error.value


def test_without_datapackage_json_the_hsds_3_1_file_names_are_read():
    """The file names are the `path` of each resource in the HSDS 3.1 schemas we ship: the link table is
    service_at_location.csv (the fixture package holds it, and Traumazorg Utrecht gets its area through it)."""
    for name, file in RESOURCES.items():
        schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
        assert (schema["name"], schema["path"]) == (name, file)
    assert RESOURCES["service_at_location"] == "service_at_location.csv"
    assert (PACKAGE / "service_at_location.csv").is_file() and PACKAGE_ROWS[3]["service_area"] == "Utrecht"


def test_package_all_problems_of_a_capacity_are_reported_at_once(tmp_path):
    """Line 11: unknown unit, its service's unknown organization, an attribute term with an unknown key and an
    attribute without a value; line 12: unknown service and unknown unit. Each error names the file, line and id
    of the capacity, and the file, id and column of the field at fault."""
    folder = package_copy(tmp_path)
    service = "5e000000-0000-4000-8000-000000000005"
    append_lines(folder / "services.csv", f"{service},{UNKNOWN_ORG},,Opvang Oost,,,,,active,,,")
    append_lines(folder / "taxonomy_terms.csv", "7e000000-0000-4000-8000-000000000008,care_typ:shelter,Tikfout,,,"
                                                "capacity,nl,,")
    append_lines(folder / "attributes.csv",
                 f"a7000000-0000-4000-8000-000000000011,{service},7e000000-0000-4000-8000-000000000008,,service,,",
                 f"a7000000-0000-4000-8000-000000000012,{service},7e000000-0000-4000-8000-000000000006,,service,,")
    append_lines(folder / "service_capacity.csv", f"{CAPACITY_ID}9,{service},{UNKNOWN_UNIT},1,2,,2025-06-01T09:00Z",
                 f"ca000000-0000-4000-8000-000000000010,{UNKNOWN_SERVICE},{UNKNOWN_UNIT},1,2,,2025-06-01T09:00Z")
    extract = batch_of(package_source(folder), tmp_path).read()
    assert rows_by_number(extract) == PACKAGE_ROWS
    line11 = f"service_capacity.csv, line 11, id {CAPACITY_ID}9"
    line12 = "service_capacity.csv, line 12, id ca000000-0000-4000-8000-000000000010"
    keys = ("care_type, target_group, framework, whole_family, violence_profile, wait_days_intake, "
            "wait_days_treatment")
    assert [(e.row, e.column, e.value, e.en) for e in extract.errors[2:]] == [
        (11, "unit_id", UNKNOWN_UNIT, f"{line11}: unit_id '{UNKNOWN_UNIT}' is not in units.csv"),
        (11, "organization_id", UNKNOWN_ORG,
         f"{line11}: services.csv, id {service}, organization_id '{UNKNOWN_ORG}' is not in organizations.csv"),
        (11, "code", "care_typ:shelter",
         f"{line11}: taxonomy_terms.csv, id 7e000000-0000-4000-8000-000000000008, code 'care_typ:shelter' is no "
         f"attribute of taxonomy capacity (write key:value, keys: {keys})"),
        (11, "value", "",
         f"{line11}: attributes.csv, id a7000000-0000-4000-8000-000000000012, value is empty: attribute "
         "'wait_days_intake' in taxonomy capacity needs a value (or write wait_days_intake:value)"),
        (12, "service_id", UNKNOWN_SERVICE, f"{line12}: service_id '{UNKNOWN_SERVICE}' is not in services.csv"),
        (12, "unit_id", UNKNOWN_UNIT, f"{line12}: unit_id '{UNKNOWN_UNIT}' is not in units.csv"),
    ]
    assert extract.errors[3].nl == (f"service_capacity.csv, regel 11, id {CAPACITY_ID}9: services.csv, id {service}, "
                                    f"organization_id '{UNKNOWN_ORG}' staat niet in organizations.csv")


def test_datapackage_json_decides_where_the_resources_are(tmp_path):
    """Renamed and nested paths are read as datapackage.json names them, a file with an HSDS name that it does not
    name is not read, errors name the files as published, and the zipped package reads the same."""
    folder = described_package(tmp_path / "pakket", RENAMED)
    (folder / "services.csv").write_text("id,name\nlokaas,Niet lezen\n", encoding="utf-8")
    batch = batch_of(package_source(folder), tmp_path)
    extract = batch.read()
    assert rows_by_number(extract) == PACKAGE_ROWS
    assert_unknown_service_and_unit(extract.errors, "data/capaciteit/plaatsen.csv", "data/diensten.csv",
                                    "eenheden.csv")
    zipped_batch = batch_of(package_source(zipped_tree(folder, tmp_path / "pakket.zip")), tmp_path)
    assert rows_by_number(zipped_batch.read()) == PACKAGE_ROWS
    assert zipped_batch.content_hash == batch.content_hash != batch_of(package_source(PACKAGE), tmp_path).content_hash


def test_missing_file_named_in_datapackage_json_is_refused_naming_it(tmp_path):
    folder = described_package(tmp_path / "pakket", RENAMED)
    (folder / "telefoons.csv").unlink()
    error = refusal(package_source(folder), tmp_path)
    assert error.en == (f"{folder}: datapackage.json names 'telefoons.csv' for resource 'phone', but that file is "
                        "not in the package")
    assert error.nl == (f"{folder}: datapackage.json noemt 'telefoons.csv' voor resource 'phone', maar dat bestand "
                        "staat niet in het pakket")
    write_descriptor(folder, {name: path for name, path in RENAMED.items() if name not in ("phone", "unit")})
    assert refusal(package_source(folder), tmp_path).en == f"{folder}: datapackage.json names no resource 'unit' " \
                                                           "(units.csv)"


@pytest.mark.parametrize("path", ["../buiten.csv", "data/../../buiten.csv", "OUTSIDE", "file://OUTSIDE",
                                  "https://example.invalid/services.csv", "C:/buiten.csv", "..\\buiten.csv"])
def test_datapackage_path_leaving_the_package_is_refused(tmp_path, path):
    outside = tmp_path / "buiten.csv"
    shutil.copyfile(PACKAGE / "services.csv", outside)
    path = path.replace("OUTSIDE", str(outside))
    folder = described_package(tmp_path / "pakket", RENAMED)
    write_descriptor(folder, {**RENAMED, "service": path})
    error = refusal(package_source(folder), tmp_path)
    assert error.en == (f"{folder}: resource 'service' ({path!r}) in datapackage.json lies outside the package and is "
                        "not read; the package is refused")
    assert error.nl == (f"{folder}: resource 'service' ({path!r}) in datapackage.json ligt buiten het pakket en wordt "
                        "niet gelezen; het pakket wordt geweigerd")


def test_link_out_of_a_package_folder_is_refused(tmp_path):
    outside = tmp_path / "buiten.csv"
    shutil.copyfile(PACKAGE / "services.csv", outside)
    folder = package_copy(tmp_path)
    (folder / "services.csv").unlink()
    (folder / "services.csv").symlink_to(outside)
    assert refusal(package_source(folder), tmp_path).en == (
        f"{folder}: 'services.csv' lies outside the package and is not read; the package is refused")


def test_zipped_package_cannot_reach_outside_its_root(tmp_path):
    """In a zip, datapackage.json sits in export/: '../services.csv' would be the zip's own services.csv, outside
    the package, and a member named '../evil.csv' (zip slip) is refused before anything is unpacked."""
    folder = described_package(tmp_path / "pakket", RENAMED)
    write_descriptor(folder, {**RENAMED, "service": "../services.csv"})
    archive = zipped_tree(folder, tmp_path / "uit.zip", extra={"services.csv": (PACKAGE / "services.csv").read_bytes()})
    assert refusal(package_source(archive), tmp_path).en == (
        f"{archive}: resource 'service' ('../services.csv') in datapackage.json lies outside the package and is not "
        "read; the package is refused")
    write_descriptor(folder, {**RENAMED, "service": "../evil.csv"})
    archive = zipped_tree(folder, tmp_path / "slip.zip", extra={"export/../evil.csv": b"id,name\n1,x\n"})
    assert "unsafe name ('export/../evil.csv')" in refusal(package_source(archive), tmp_path).en


def test_hsds_1_x_package_is_refused_whole_naming_it(tmp_path):
    """By its datapackage.json version and its HSDS 1.x file names; without datapackage.json by the file names."""
    signs = "physical_addresses.csv, services_at_location.csv"
    error = refusal(package_source(PACKAGE_1_1), tmp_path)
    assert error.en == (f"{PACKAGE_1_1}: this package is HSDS 1.x (datapackage.json version 1.1.1, {signs}) and has "
                        f"no service_capacity.csv{HSDS_3_1}")
    assert error.nl == (f"{PACKAGE_1_1}: dit pakket is HSDS 1.x (datapackage.json version 1.1.1, {signs}) en heeft "
                        "geen service_capacity.csv; capaciteiten staan pas in HSDS 3.1 (service_capacity met units). "
                        "Lever de gids aan als HSDS 3.1; er is niets geladen")
    archive = zipped_tree(PACKAGE_1_1, tmp_path / "hsds-1.1.zip")
    assert refusal(package_source(archive), tmp_path).en == error.en.replace(str(PACKAGE_1_1), str(archive))
    folder = tmp_path / "zonder-descriptor"
    shutil.copytree(PACKAGE_1_1, folder)
    (folder / "datapackage.json").unlink()
    assert refusal(package_source(folder), tmp_path).en == (
        f"{folder}: this package is HSDS 1.x ({signs}) and has no service_capacity.csv{HSDS_3_1}")


def test_package_without_service_capacity_says_capacities_need_hsds_3_1(tmp_path):
    folder = package_copy(tmp_path)
    (folder / "service_capacity.csv").unlink()
    assert refusal(package_source(folder), tmp_path).en == (
        f"{folder}: the package lacks service_capacity.csv; capacities need HSDS 3.1")


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
        (9, "service_id", UNKNOWN_SERVICE, f"service_capacity.csv, regel 9, id {CAPACITY_ID}7: service_id "
                                           f"'{UNKNOWN_SERVICE}' staat niet in services.csv"),
        (10, "unit_id", UNKNOWN_UNIT,
         f"service_capacity.csv, regel 10, id {CAPACITY_ID}8: unit_id '{UNKNOWN_UNIT}' staat niet in units.csv"),
    ]
    assert [e.en for e in validated.rejected[:4]] == [
        "available (12) is greater than maximum (10)",
        "service_area: area 'Atlantis' is not a known municipality (GM code or exact name) or region code",
        "valid_at: '2030-01-01T09:00:00+01:00' is more than a day in the future",
        "available: '-1' is negative",
    ]
