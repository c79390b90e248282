"""Open Referral HSDS 3.1: services with their capacities, from the paged API or a tabular package.

API (`url`): GET {url}/services?page=N&per_page=P&full=true, page after page until `last_page` is
true, `page_number` reaches `total_pages` or a page is empty (at most `max_pages` pages).
Package (`path`): a folder or .zip of HSDS CSV files; services.csv, service_capacity.csv and units.csv
are required, organizations.csv, languages.csv, phones.csv, service_areas.csv, service_at_locations.csv,
addresses.csv, attributes.csv, taxonomy_terms.csv and taxonomies.csv are used when present.

One raw row per service capacity, keyed by canonical field names:
service_id/service_name = service id/name, provider_id/provider_name = its organization,
valid_at = capacity.updated, unit = unit name (else identifier), available/maximum as sent,
age_min/age_max = minimum_age/maximum_age, languages = language codes (else names),
phone = the first phone number, email, website = service url, status = "closed" for an inactive,
defunct or temporarily closed service (else left to validation), service_area = the service's
service area names, else the municipality (locality/city) of its locations' addresses.
Street address lines and postal codes are never read: shelter locations are secret. A package is read
in place and never copied, archived or moved; a misread line of addresses.csv is reported without its
cells. A field or column with personal data of clients (ingest/privacy.py) refuses the whole directory.

Capacity attributes (our convention): a service attribute whose taxonomy term belongs to the taxonomy
"capacity" (term.taxonomy, or the name of its taxonomy) carries one value as its code "key:value",
or as code "key" with the value in the attribute's `value`. Keys: care_type, target_group, framework,
whole_family, violence_profile, wait_days_intake, wait_days_treatment; repeated keys are joined with
"; ". Examples: "care_type:shelter", "target_group:child", "framework:mandated",
"whole_family:true", "violence_profile:intimate_terror", "wait_days_intake:21".
Fields without an attribute stay empty, so the source's configured defaults apply.
"""
from __future__ import annotations

import hashlib
import posixpath
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from queries.paths import DataPaths

from ..config import SourceConfig
from ..fetch import DEFAULT_DEADLINE_SECONDS, Deadline, fetch, parse_json
from ..fields import FIELDS
from ..privacy import personal_columns, personal_fields, refuse_personal, withheld
from ..records import Extract, RawRow, RowError, StructuralError
from ..tabular import MAX_UNPACKED_BYTES, _check_members, read_csv_bytes
from ..values import as_text
from . import Batch, FeedAnswer, FeedMemory
from .feed import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, token_of

DEFAULT_PER_PAGE = 100
DEFAULT_MAX_PAGES = 500
CAPACITY_TAXONOMY = "capacity"
CLOSED_STATUSES = frozenset({"inactive", "defunct", "temporarily closed"})
ATTRIBUTE_FIELDS = {"care_type": "care_type", "target_group": "target_groups", "framework": "framework",
                    "whole_family": "whole_family", "violence_profile": "violence_profiles",
                    "wait_days_intake": "wait_days_intake", "wait_days_treatment": "wait_days_treatment"}
_FILLED = {"service_id", "service_name", "provider_id", "provider_name", "service_area", "valid_at", "unit",
           "maximum", "available", "status", "age_min", "age_max", "languages", "phone", "email", "website",
           *ATTRIBUTE_FIELDS.values()}
HEADER = [f.name for f in FIELDS if f.name in _FILLED]
REQUIRED_FILES = {"services.csv": ("id", "name"), "service_capacity.csv": ("service_id", "unit_id", "updated"),
                  "units.csv": ("id",)}
PACKAGE_FILES = frozenset({*REQUIRED_FILES, "organizations.csv", "languages.csv", "phones.csv",
                           "service_areas.csv", "service_at_locations.csv", "addresses.csv", "attributes.csv",
                           "taxonomy_terms.csv", "taxonomies.csv"})
CAPACITIES = "service_capacity.csv"
ADDRESSES = "addresses.csv"
SERVICE_ENTITIES = frozenset({"", "service", "services"})
T = TypeVar("T")


class HsdsSource:
    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        """The whole directory as one batch: all API pages, or all files of the package."""
        yield _api_batch(source) if source.url else _package_batch(source)


# --- the mapping, shared by both forms ---------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """Why a capacity cannot become a row: the column and value at fault, in Dutch and English."""

    column: str
    value: str
    nl: str
    en: str


@dataclass(frozen=True)
class _Service:
    """What the mapping needs of one service, whichever form it came in."""

    id: str
    values: dict[str, object]
    organization_id: str
    organization: dict | None
    problems: list[_Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    """One capacity of a known service, with where it was found."""

    row: int
    where_nl: str
    where_en: str
    service: _Service
    capacity: dict


def _service(row: dict, *, organization: dict | None, languages: Iterable[dict], phones: Iterable[dict],
             areas: Iterable[str], cities: Iterable[str], attributes: Iterable[tuple[dict, object]]) -> _Service:
    """The canonical service-level values of one HSDS service."""
    described, problems = _attribute_values(attributes)
    values = {
        "service_id": row.get("id"), "service_name": row.get("name"),
        "status": "closed" if as_text(row.get("status")).lower() in CLOSED_STATUSES else None,
        "age_min": row.get("minimum_age"), "age_max": row.get("maximum_age"),
        "languages": _join(as_text(item.get("code")) or as_text(item.get("name")) for item in languages),
        "phone": next((number for number in (as_text(p.get("number")) for p in phones) if number), None),
        "email": row.get("email"), "website": row.get("url"),
        "service_area": _join(areas) or _join(cities),
        **described,
    }
    organization_id = as_text(row.get("organization_id")) or as_text((organization or {}).get("id"))
    return _Service(as_text(row.get("id")), values, organization_id, organization, problems)


def _attribute_values(attributes: Iterable[tuple[dict, object]]) -> tuple[dict[str, str], list[_Problem]]:
    """Fields described by attributes in the capacity taxonomy, and the attributes that cannot be read."""
    found: dict[str, list[str]] = {}
    problems = []
    for term, value in attributes:
        if _taxonomy(term).lower() != CAPACITY_TAXONOMY:
            continue
        code = as_text(term.get("code"))
        key, _, word = code.partition(":")
        name = ATTRIBUTE_FIELDS.get(key.strip())
        word = word.strip() or as_text(value)
        if name is None or not word:
            known = ", ".join(ATTRIBUTE_FIELDS)
            problems.append(_Problem("attributes", code,
                                     f"kenmerk '{code}' in taxonomie {CAPACITY_TAXONOMY} is niet te lezen "
                                     f"(schrijf sleutel:waarde, sleutels: {known})",
                                     f"attribute '{code}' in taxonomy {CAPACITY_TAXONOMY} cannot be read "
                                     f"(write key:value, keys: {known})"))
            continue
        found.setdefault(name, []).append(word)
    return {name: _join(words) for name, words in found.items()}, problems


def _taxonomy(term: dict) -> str:
    """The name of the taxonomy a term belongs to."""
    detail = term.get("taxonomy_detail")
    return as_text(term.get("taxonomy")) or as_text(detail.get("name") if isinstance(detail, dict) else None)


def _join(parts: Iterable[object]) -> str:
    """Distinct non-empty parts, in order, as 'a; b'."""
    return "; ".join(dict.fromkeys(text for text in map(as_text, parts) if text))


def _municipality(address: dict) -> str:
    """The only part of an address ever read: its municipality."""
    return as_text(address.get("locality")) or as_text(address.get("city"))


def _extract(name: str, entries: Iterable[_Entry | RowError], organizations: dict[str, dict],
             units: dict[str, dict]) -> Extract:
    extract = Extract(name, list(HEADER))
    for entry in entries:
        if isinstance(entry, RowError):
            extract.errors.append(entry)
            continue
        result = _capacity_row(entry, organizations, units)
        if isinstance(result, RawRow):
            extract.rows.append(result)
        else:
            extract.errors.extend(result)
    return extract


def _capacity_row(entry: _Entry, organizations: dict[str, dict], units: dict[str, dict]) -> RawRow | list[RowError]:
    service, capacity = entry.service, entry.capacity
    nested = capacity.get("unit")
    unit_id = as_text(capacity.get("unit_id"))
    unit = nested if isinstance(nested, dict) else units.get(unit_id)
    organization = service.organization or organizations.get(service.organization_id)
    problems = list(service.problems)
    if unit is None:
        problems.append(_Problem("unit_id", unit_id, f"eenheid '{unit_id}' (unit_id) is onbekend",
                                 f"unit '{unit_id}' (unit_id) is unknown"))
    if organization is None:
        shown = service.organization_id
        problems.append(_Problem("organization_id", shown,
                                 f"organisatie '{shown}' (organization_id) van dienst {service.id} is onbekend",
                                 f"organization '{shown}' (organization_id) of service {service.id} is unknown"))
    if problems:
        return [RowError(entry.row, p.column, p.value, f"{entry.where_nl}: {p.nl}", f"{entry.where_en}: {p.en}")
                for p in problems]
    values = {**service.values, "provider_id": organization.get("id"), "provider_name": organization.get("name"),
              "valid_at": capacity.get("updated"), "unit": as_text(unit.get("name")) or unit.get("identifier"),
              "available": capacity.get("available"), "maximum": capacity.get("maximum")}
    return RawRow(entry.row, {k: v for k, v in values.items() if as_text(v) != ""})


# --- the API form ------------------------------------------------------------------------------


def _api_batch(source: SourceConfig) -> Batch:
    base = source.url.rstrip("/")
    per_page = _positive_option(source, "per_page", DEFAULT_PER_PAGE)
    max_pages = _positive_option(source, "max_pages", DEFAULT_MAX_PAGES)
    token = token_of(source)
    deadline = Deadline.after(float(source.options.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS)))  # all pages
    digest, size, pages = hashlib.sha256(), 0, []
    for number in range(1, max_pages + 1):
        url = f"{base}/services?page={number}&per_page={per_page}&full=true"
        answer = fetch(url, token=token, timeout=float(source.options.get("timeout_seconds", DEFAULT_TIMEOUT)),
                       max_bytes=int(source.options.get("max_bytes", DEFAULT_MAX_BYTES)), deadline=deadline,
                       allow_redirects_to=source.options.get("allow_redirects_to", ()))
        body = answer.body or b""
        page = _page(parse_json(body, answer.content_type, url), url)
        digest.update(body)
        size += len(body)
        pages.append((url, page))
        if _last(page, number):
            break
    else:
        raise StructuralError(f"{source.url}: meer dan {max_pages} pagina's (max_pages); de gids wordt niet geladen",
                              f"{source.url}: more than {max_pages} pages (max_pages); the directory is not loaded")
    return Batch(name=source.url, content_hash=digest.hexdigest(), size=size,
                 read=lambda: _api_extract(source.url, pages), feed=FeedAnswer(None, None))


def _positive_option(source: SourceConfig, name: str, default: int) -> int:
    value = source.options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StructuralError(f"bron {source.id}: '{name}' moet een geheel getal ≥ 1 zijn, niet {value!r}",
                              f"source {source.id}: '{name}' must be a whole number ≥ 1, not {value!r}")
    return value


def _page(document: object, url: str) -> dict:
    """The page, refused unless it is an object with a list `contents`."""
    if not isinstance(document, dict) or not isinstance(document.get("contents"), list):
        raise StructuralError(f"{url}: deze pagina is geen object met een lijst 'contents'",
                              f"{url}: this page is not an object with a list 'contents'")
    return document


def _last(page: dict, number: int) -> bool:
    """Whether no page follows this one."""
    total, current = page.get("total_pages"), page.get("page_number", number)
    counted = isinstance(total, int) and isinstance(current, int) and current >= total
    return page.get("last_page") is True or counted or not page["contents"]


def _api_extract(name: str, pages: list[tuple[str, dict]]) -> Extract:
    for url, page in pages:
        refuse_personal(url, personal_fields(page["contents"]))
    items = [(url, position, item) for url, page in pages for position, item in enumerate(page["contents"], 1)]
    services = [item for _, _, item in items if isinstance(item, dict)]
    organizations = _index(item.get("organization") for item in services)
    units = _index(capacity.get("unit") for item in services for capacity in _dicts(item, "capacities"))
    return _extract(name, _api_entries(items), organizations, units)


def _api_entries(items: list[tuple[str, int, object]]) -> Iterator[_Entry | RowError]:
    """Every capacity of every service, numbered over the whole directory."""
    number = 0
    for url, position, item in items:
        if not isinstance(item, dict):
            yield RowError(None, None, as_text(item)[:100], f"{url}: dienst {position} is geen object",
                           f"{url}: service {position} is not an object")
            continue
        service = _service_from_json(item)
        capacities = item.get("capacities")
        for index, capacity in enumerate(capacities if isinstance(capacities, list) else [], start=1):
            number += 1
            where_nl = f"{url}, dienst {position}, capaciteit {index}"
            where_en = f"{url}, service {position}, capacity {index}"
            if isinstance(capacity, dict):
                yield _Entry(number, where_nl, where_en, service, capacity)
            else:
                yield RowError(number, "capacities", as_text(capacity)[:100], f"{where_nl}: is geen object",
                               f"{where_en}: is not an object")


def _service_from_json(item: dict) -> _Service:
    organization = item.get("organization")
    at_locations = _dicts(item, "service_at_locations")
    locations = [entry["location"] for entry in at_locations if isinstance(entry.get("location"), dict)]
    areas = [*_dicts(item, "service_areas"), *(a for entry in at_locations for a in _dicts(entry, "service_areas"))]
    attributes = [(attribute["taxonomy_term"], attribute.get("value")) for attribute in _dicts(item, "attributes")
                  if isinstance(attribute.get("taxonomy_term"), dict)]
    return _service(item, organization=organization if isinstance(organization, dict) else None,
                    languages=_dicts(item, "languages"), phones=_dicts(item, "phones"),
                    areas=(area.get("name") for area in areas),
                    cities=(_municipality(a) for location in locations for a in _dicts(location, "addresses")),
                    attributes=attributes)


def _dicts(item: dict, key: str) -> list[dict]:
    """The objects in the list at `key` (nothing when absent or not a list)."""
    value = item.get(key)
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _index(objects: Iterable[object]) -> dict[str, dict]:
    """Objects by their id."""
    return {as_text(o.get("id")): o for o in objects if isinstance(o, dict) and as_text(o.get("id"))}


# --- the package form --------------------------------------------------------------------------


def _package_batch(source: SourceConfig) -> Batch:
    location = source.path
    assert location is not None
    is_zip = location.is_file() and location.suffix.lower() == ".zip"
    files = _zip_files(location) if is_zip else _folder_files(location)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\n{len(files[name])}\n".encode())
        digest.update(files[name])
    return Batch(name=str(location), content_hash=digest.hexdigest(), size=sum(map(len, files.values())),
                 read=lambda: _package_extract(str(location), files))


def _refuse(where: Path | str, nl: str, en: str) -> StructuralError:
    return StructuralError(f"{where}: {nl}", f"{where}: {en}")


def _folder_files(folder: Path) -> dict[str, bytes]:
    """The CSV files in a package folder, by lower-case name."""
    if not folder.is_dir():
        raise _refuse(folder, "dit is geen map en geen .zip-bestand (of het bestaat niet)",
                      "this is not a folder nor a .zip file (or it does not exist)")
    try:
        paths = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() == ".csv"]
        total = sum(p.stat().st_size for p in paths)
        if total > MAX_UNPACKED_BYTES:
            limit = MAX_UNPACKED_BYTES
            raise _refuse(folder, f"de CSV-bestanden zijn samen {total} bytes, meer dan de grens van {limit} bytes",
                          f"the CSV files together are {total} bytes, more than the limit of {limit} bytes")
        return {p.name.lower(): p.read_bytes() for p in paths}
    except OSError as exc:
        raise _refuse(folder, f"de map kan niet worden gelezen ({exc.strerror})",
                      f"the folder cannot be read ({exc.strerror})") from None


def _zip_files(path: Path) -> dict[str, bytes]:
    """The CSV members of a package zip by lower-case file name, after refusing unsafe or bomb members."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive, path.name)
            files: dict[str, bytes] = {}
            for info in archive.infolist():
                name = posixpath.basename(info.filename).lower()
                if info.is_dir() or not name.endswith(".csv"):
                    continue
                if name in files:
                    raise _refuse(path, f"{name} staat meer dan eens in het pakket",
                                  f"{name} occurs more than once in the package")
                files[name] = archive.read(info)
            return files
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _refuse(path, f"het .zip-bestand is beschadigd of onleesbaar ({exc})",
                      f"the .zip file is damaged or unreadable ({exc})") from None


def _package_extract(name: str, files: dict[str, bytes]) -> Extract:
    for required in REQUIRED_FILES:
        if required not in files:
            raise _refuse(name, f"het pakket mist {required}", f"the package lacks {required}")
    tables = {file: read_csv_bytes(data, file) for file, data in files.items() if file in PACKAGE_FILES}
    for file, table in sorted(tables.items()):
        refuse_personal(f"{name}, {file}", personal_columns(table.header))
    for file, columns in REQUIRED_FILES.items():
        missing = [column for column in columns if column not in tables[file].header]
        if missing:
            raise _refuse(name, f"{file} mist de kolom(men) {', '.join(missing)}",
                          f"{file} lacks the column(s) {', '.join(missing)}")
    rows = {file: [raw.values for raw in table.rows] for file, table in tables.items()}
    extract = _extract(name, _package_entries(tables[CAPACITIES], _services_from_tables(rows)),
                       _index(rows.get("organizations.csv", [])), _index(rows["units.csv"]))
    extract.errors[:0] = [*_misread_rows(tables)]
    return extract


def _misread_rows(tables: dict[str, Extract]) -> Iterator[RowError]:
    """Unreadable lines: in service_capacity.csv at their line, elsewhere without a row (the message names it);
    those of addresses.csv without their cells."""
    for file, table in sorted(tables.items()):
        for error in table.errors:
            if file == ADDRESSES:
                error = withheld(error)
            yield error if file == CAPACITIES else RowError(None, error.column, error.value, error.nl, error.en)


def _package_entries(capacities: Extract, services: dict[str, _Service]) -> Iterator[_Entry | RowError]:
    for raw in capacities.rows:
        where_nl, where_en = f"{CAPACITIES}, regel {raw.row}", f"{CAPACITIES}, line {raw.row}"
        service_id = as_text(raw.values.get("service_id"))
        service = services.get(service_id)
        if service is None:
            yield RowError(raw.row, "service_id", service_id,
                           f"{where_nl}: dienst '{service_id}' (service_id) staat niet in services.csv",
                           f"{where_en}: service '{service_id}' (service_id) is not in services.csv")
        else:
            yield _Entry(raw.row, where_nl, where_en, service, raw.values)


def _services_from_tables(rows: dict[str, list[dict]]) -> dict[str, _Service]:
    """Every service in services.csv with what the other files say about it."""
    def by_service(file: str) -> dict[str, list[dict]]:
        return _group((as_text(r.get("service_id")), r) for r in rows.get(file, []))

    languages, phones = by_service("languages.csv"), by_service("phones.csv")
    at_locations = rows.get("service_at_locations.csv", [])
    areas = _areas_by_service(rows.get("service_areas.csv", []), at_locations)
    cities = _cities_by_service(at_locations, rows.get("addresses.csv", []))
    attributes = _attributes_by_service(rows.get("attributes.csv", []), rows.get("taxonomy_terms.csv", []),
                                        rows.get("taxonomies.csv", []))
    services = {}
    for row in rows["services.csv"]:
        key = as_text(row.get("id"))
        services[key] = _service(row, organization=None, languages=languages.get(key, []),
                                 phones=phones.get(key, []), areas=areas.get(key, []), cities=cities.get(key, []),
                                 attributes=attributes.get(key, []))
    return services


def _group(pairs: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """Values by key, in order."""
    grouped: dict[str, list[T]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _areas_by_service(areas: list[dict], at_locations: list[dict]) -> dict[str, list[str]]:
    """Service area names by service, linked directly or through a service at a location."""
    service_of = {as_text(link.get("id")): as_text(link.get("service_id")) for link in at_locations}
    return _group((as_text(area.get("service_id")) or service_of.get(as_text(area.get("service_at_location_id")), ""),
                   as_text(area.get("name"))) for area in areas)


def _cities_by_service(at_locations: list[dict], addresses: list[dict]) -> dict[str, list[str]]:
    """The municipalities of each service's locations (nothing else of the address)."""
    cities_at = _group((as_text(address.get("location_id")), _municipality(address)) for address in addresses)
    return _group((as_text(link.get("service_id")), city) for link in at_locations
                  for city in cities_at.get(as_text(link.get("location_id")), []))


def _attributes_by_service(attributes: list[dict], terms: list[dict], taxonomies: list[dict]
                           ) -> dict[str, list[tuple[dict, object]]]:
    """(taxonomy term with its taxonomy, value) of each service's attributes."""
    taxonomy_by_id = _index(taxonomies)
    term_by_id = {as_text(term.get("id")): _with_taxonomy(term, taxonomy_by_id) for term in terms}
    return _group((as_text(attribute.get("link_id")), (term_by_id[term_id], attribute.get("value")))
                  for attribute in attributes
                  if (term_id := as_text(attribute.get("taxonomy_term_id"))) in term_by_id
                  and as_text(attribute.get("link_entity")).lower() in SERVICE_ENTITIES)


def _with_taxonomy(term: dict, taxonomy_by_id: dict[str, dict]) -> dict:
    """A taxonomy term row with its taxonomy nested, as the API gives it."""
    return {**term, "taxonomy_detail": taxonomy_by_id.get(as_text(term.get("taxonomy_id")))}
