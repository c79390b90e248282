"""Open Referral HSDS 3.1: services with their capacities, from the paged API or a tabular package.

API (`url`): GET {url}/services?page=N&per_page=P&full=true, page after page until `last_page` is
true, `page_number` reaches `total_pages` or a page is empty (at most `max_pages` pages). A page with the
same services as an earlier page means the API ignores `page`: the directory is refused at that page. An
answer that is a bare list instead of an HSDS 3 page is HSDS 1.x (HSDA) and refused: capacities need HSDS 3.1.

Package (`path`): a folder or .zip holding a Frictionless data package of HSDS CSV files. With a
datapackage.json, the resources named in RESOURCES are read at their `path`, relative to the descriptor;
a path that would leave the package (absolute, `..`, a web address, a link pointing outside the folder) and a
named file that is missing refuse the package. Without one, the HSDS 3.1 file names in RESOURCES are read (in
a folder at its top, in a zip at any depth). service, service_capacity and unit are required. A package
without service_capacity is refused as lacking it, or as HSDS 1.x when it is one (datapackage.json `version`
1.x, or a file only HSDS 1.x has, such as services_at_location.csv).

One raw row per service capacity, keyed by canonical field names:
service_id/service_name = service id/name, provider_id/provider_name = its organization,
valid_at = capacity.updated, unit = unit name (else identifier), available/maximum as sent,
age_min/age_max = minimum_age/maximum_age, languages = language codes (else names),
phone = the first phone number, email, website = service url, status = "closed" for an inactive,
defunct or temporarily closed service (else left to validation), service_area = the service's
service area names, else the municipality (locality/city) of its locations' addresses.
A capacity that cannot become a row gives one row error per problem, all at once: each names the capacity
(file, line and id, or page, service and capacity with their ids) and the record, column and value at fault.
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
import json
import posixpath
import re
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

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
DESCRIPTOR = "datapackage.json"
MAX_DESCRIPTOR_BYTES = 5 * 1024 * 1024
# The resources read, by their HSDS 3.1 name, with their HSDS 3.1 file name (the `path` in the HSDS 3.1
# datapackage.json and in the schemas in data/reference/hsds/schema/).
RESOURCES = {"service": "services.csv", "service_capacity": "service_capacity.csv", "unit": "units.csv",
             "organization": "organizations.csv", "language": "languages.csv", "phone": "phones.csv",
             "service_area": "service_areas.csv", "service_at_location": "service_at_location.csv",
             "address": "addresses.csv", "attribute": "attributes.csv", "taxonomy_term": "taxonomy_terms.csv",
             "taxonomy": "taxonomies.csv"}
RESOURCE_OF_FILE = {file: name for name, file in RESOURCES.items()}
REQUIRED_COLUMNS = {"service": ("id", "name"), "service_capacity": ("service_id", "unit_id", "updated"),
                    "unit": ("id",)}
CAPACITIES = "service_capacity"
ADDRESSES = "address"
# Files of the HSDS 1.x data package that HSDS 3 renamed or dropped: a package holding one is HSDS 1.x.
HSDS_1_FILES = frozenset({"services_at_location.csv", "physical_addresses.csv", "postal_addresses.csv",
                          "regular_schedules.csv", "holiday_schedules.csv", "services_taxonomy.csv", "taxonomy.csv",
                          "eligibility.csv", "payments_accepted.csv", "accessibility_for_disabilities.csv"})
HSDS_1_VERSION = re.compile(r"v?1(\.|$)")
SCHEME_OR_DRIVE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")  # https://…, file:…, C:…
SERVICE_ENTITIES = frozenset({"", "service", "services"})
T = TypeVar("T")


class HsdsSource:
    def batches(self, source: SourceConfig, paths: DataPaths, memory: FeedMemory, now: datetime) -> Iterator[Batch]:
        """The whole directory as one batch: all API pages, or all files of the package."""
        yield _api_batch(source) if source.url else _package_batch(source)


def _refuse(where: Path | str, nl: str, en: str) -> StructuralError:
    return StructuralError(f"{where}: {nl}", f"{where}: {en}")


def _needs_hsds_3_1(where: str, nl: str, en: str) -> StructuralError:
    """The refusal of a whole HSDS 1.x directory; `nl` and `en` say what is 1.x and how that shows."""
    return _refuse(where, f"{nl}; capaciteiten staan pas in HSDS 3.1 (service_capacity met units). Lever de gids "
                          "aan als HSDS 3.1; er is niets geladen",
                   f"{en}; capacities need HSDS 3.1 (service_capacity with units). Please deliver the directory "
                   "as HSDS 3.1; nothing was loaded")


# --- the mapping, shared by both forms ---------------------------------------------------------


class _At(NamedTuple):
    """Where a value sits: its record as messages name it ('services.csv, id 5e…, '; '' for the capacity's own
    fields and inside an API answer) and its column or JSON path."""

    record: str
    column: str

    def __str__(self) -> str:
        return f"{self.record}{self.column}"


@dataclass(frozen=True)
class _Problem:
    """Why a capacity cannot become a row: the column and value at fault, in Dutch and English."""

    column: str
    value: str
    nl: str
    en: str


def _missing(at: _At, value: str, looked_in: tuple[str, str]) -> _Problem:
    """A reference to a record that is not where it was looked for."""
    return _Problem(at.column, value, f"{at} '{value}' staat niet in {looked_in[0]}",
                    f"{at} '{value}' is not in {looked_in[1]}")


@dataclass(frozen=True)
class _Attribute:
    """One service attribute: its taxonomy term and value, and where the term's code and the value sit."""

    term: dict
    value: object
    code_at: _At
    value_at: _At


@dataclass(frozen=True)
class _Service:
    """What the mapping needs of one service, whichever form it came in."""

    id: str
    record: str
    values: dict[str, object]
    organization_id: str
    organization: dict | None
    problems: list[_Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    """One capacity, with where it was found; `service` is None (and `problems` say so) when it is unknown."""

    row: int
    where_nl: str
    where_en: str
    service: _Service | None
    capacity: dict
    problems: list[_Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Lookups:
    """Organizations and units by id, and how to name where they were looked for."""

    organizations: dict[str, dict]
    units: dict[str, dict]
    organizations_in: tuple[str, str]
    units_in: tuple[str, str]


def _service(row: dict, *, record: str, organization: dict | None, languages: Iterable[dict],
             phones: Iterable[dict], areas: Iterable[str], cities: Iterable[str],
             attributes: Iterable[_Attribute]) -> _Service:
    """The canonical service-level values of one HSDS service; `record` names it in messages ('' in the API)."""
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
    return _Service(as_text(row.get("id")), record, values, organization_id, organization, problems)


def _attribute_values(attributes: Iterable[_Attribute]) -> tuple[dict[str, str], list[_Problem]]:
    """Fields described by attributes in the capacity taxonomy, and every attribute that cannot be read."""
    found: dict[str, list[str]] = {}
    problems = []
    for attribute in attributes:
        if _taxonomy(attribute.term).lower() != CAPACITY_TAXONOMY:
            continue
        code = as_text(attribute.term.get("code"))
        key, _, word = code.partition(":")
        name = ATTRIBUTE_FIELDS.get(key.strip())
        word = word.strip() or as_text(attribute.value)
        if name is None:
            problems.append(_unknown_key(attribute.code_at, code))
        elif not word:
            problems.append(_Problem(attribute.value_at.column, "",
                                     f"{attribute.value_at} is leeg: kenmerk '{code}' in taxonomie "
                                     f"{CAPACITY_TAXONOMY} heeft een waarde nodig (of schrijf {key}:waarde)",
                                     f"{attribute.value_at} is empty: attribute '{code}' in taxonomy "
                                     f"{CAPACITY_TAXONOMY} needs a value (or write {key}:value)"))
        else:
            found.setdefault(name, []).append(word)
    return {name: _join(words) for name, words in found.items()}, problems


def _unknown_key(at: _At, code: str) -> _Problem:
    known = ", ".join(ATTRIBUTE_FIELDS)
    return _Problem(at.column, code,
                    f"{at} '{code}' is geen kenmerk van taxonomie {CAPACITY_TAXONOMY} "
                    f"(schrijf sleutel:waarde, sleutels: {known})",
                    f"{at} '{code}' is no attribute of taxonomy {CAPACITY_TAXONOMY} "
                    f"(write key:value, keys: {known})")


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


def _record(label: str, record_id: str) -> str:
    """A record named in messages by its file and id: 'services.csv, id 5e…, '."""
    return f"{label}, id {record_id}, " if record_id else f"{label}, "


def _extract(name: str, entries: Iterable[_Entry | RowError], lookups: _Lookups) -> Extract:
    extract = Extract(name, list(HEADER))
    for entry in entries:
        if isinstance(entry, RowError):
            extract.errors.append(entry)
            continue
        result = _capacity_row(entry, lookups)
        if isinstance(result, RawRow):
            extract.rows.append(result)
        else:
            extract.errors.extend(result)
    return extract


def _capacity_row(entry: _Entry, lookups: _Lookups) -> RawRow | list[RowError]:
    """The capacity as a raw row, or one row error for each of its problems."""
    service, capacity = entry.service, entry.capacity
    nested = capacity.get("unit")
    unit_id = as_text(capacity.get("unit_id"))
    unit = nested if isinstance(nested, dict) else lookups.units.get(unit_id)
    problems = list(entry.problems)
    if unit is None:
        problems.append(_missing(_At("", "unit_id"), unit_id, lookups.units_in))
    organization = None
    if service is not None:
        organization = service.organization or lookups.organizations.get(service.organization_id)
        if organization is None:
            problems.append(_missing(_At(service.record, "organization_id"), service.organization_id,
                                     lookups.organizations_in))
        problems.extend(service.problems)
    if problems:
        return [RowError(entry.row, p.column, p.value, f"{entry.where_nl}: {p.nl}", f"{entry.where_en}: {p.en}")
                for p in problems]
    assert service is not None and unit is not None and organization is not None  # each missing one is a problem
    values = {**service.values, "provider_id": organization.get("id"), "provider_name": organization.get("name"),
              "valid_at": capacity.get("updated"), "unit": as_text(unit.get("name")) or unit.get("identifier"),
              "available": capacity.get("available"), "maximum": capacity.get("maximum")}
    return RawRow(entry.row, {k: v for k, v in values.items() if as_text(v) != ""})


# --- the API form ------------------------------------------------------------------------------

IN_ANSWERS = ("de antwoorden van de API", "the API's answers")


def _api_batch(source: SourceConfig) -> Batch:
    base = source.url.rstrip("/")
    per_page = _positive_option(source, "per_page", DEFAULT_PER_PAGE)
    max_pages = _positive_option(source, "max_pages", DEFAULT_MAX_PAGES)
    token = token_of(source)
    deadline = Deadline.after(float(source.options.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS)))  # all pages
    digest, size, pages = hashlib.sha256(), 0, []
    seen: dict[str, int] = {}
    for number in range(1, max_pages + 1):
        url = f"{base}/services?page={number}&per_page={per_page}&full=true"
        answer = fetch(url, token=token, timeout=float(source.options.get("timeout_seconds", DEFAULT_TIMEOUT)),
                       max_bytes=int(source.options.get("max_bytes", DEFAULT_MAX_BYTES)), deadline=deadline,
                       allow_redirects_to=source.options.get("allow_redirects_to", ()))
        body = answer.body or b""
        page = _page(parse_json(body, answer.content_type, url), url)
        _refuse_repeated_page(page, number, seen, url)
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
    """The page, refused unless it is an object with a list `contents` (a bare list is an HSDS 1.x answer)."""
    if isinstance(document, list):
        raise _needs_hsds_3_1(url, "dit antwoord is HSDS 1.x (HSDA): een lijst, zonder de pagina van HSDS 3 "
                                   "('contents', 'total_pages')",
                              "this answer is HSDS 1.x (HSDA): a list, without the HSDS 3 page "
                              "('contents', 'total_pages')")
    if not isinstance(document, dict) or not isinstance(document.get("contents"), list):
        raise StructuralError(f"{url}: deze pagina is geen object met een lijst 'contents'",
                              f"{url}: this page is not an object with a list 'contents'")
    return document


def _refuse_repeated_page(page: dict, number: int, seen: dict[str, int], url: str) -> None:
    """Refuse a page holding the same services as an earlier one (an API that ignores `page`); remember it."""
    if not page["contents"]:
        return
    key = hashlib.sha256(json.dumps(page["contents"], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    if key in seen:
        first = seen[key]
        raise _refuse(url, f"pagina {number} bevat dezelfde diensten als pagina {first}: de API negeert kennelijk "
                           "de parameter 'page'. De gids wordt niet geladen",
                      f"page {number} holds the same services as page {first}: the API apparently ignores the "
                      "parameter 'page'. The directory is not loaded")
    seen[key] = number


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
    lookups = _Lookups(_index(item.get("organization") for item in services),
                       _index(capacity.get("unit") for item in services for capacity in _dicts(item, "capacities")),
                       IN_ANSWERS, IN_ANSWERS)
    return _extract(name, _api_entries(items), lookups)


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
            capacity_id = as_text(capacity.get("id")) if isinstance(capacity, dict) else ""
            where_nl = f"{url}, {_named('dienst', position, service.id)}, {_named('capaciteit', index, capacity_id)}"
            where_en = f"{url}, {_named('service', position, service.id)}, {_named('capacity', index, capacity_id)}"
            if isinstance(capacity, dict):
                yield _Entry(number, where_nl, where_en, service, capacity)
            else:
                yield RowError(number, "capacities", as_text(capacity)[:100], f"{where_nl}: is geen object",
                               f"{where_en}: is not an object")


def _named(kind: str, position: int, record_id: str) -> str:
    """An item of an answer by its position and, when it has one, its id: 'dienst 2 (id 5e…)'."""
    return f"{kind} {position} (id {record_id})" if record_id else f"{kind} {position}"


def _service_from_json(item: dict) -> _Service:
    organization = item.get("organization")
    at_locations = _dicts(item, "service_at_locations")
    locations = [entry["location"] for entry in at_locations if isinstance(entry.get("location"), dict)]
    areas = [*_dicts(item, "service_areas"), *(a for entry in at_locations for a in _dicts(entry, "service_areas"))]
    attributes = [_Attribute(attribute["taxonomy_term"], attribute.get("value"),
                             _At("", f"attributes[{index}].taxonomy_term.code"), _At("", f"attributes[{index}].value"))
                  for index, attribute in enumerate(_dicts(item, "attributes"), start=1)
                  if isinstance(attribute.get("taxonomy_term"), dict)]
    return _service(item, record="", organization=organization if isinstance(organization, dict) else None,
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


# --- the package form: finding its files -------------------------------------------------------


def _package_batch(source: SourceConfig) -> Batch:
    location = source.path
    assert location is not None
    is_zip = location.is_file() and location.suffix.lower() == ".zip"
    descriptor, files = _zip_files(location) if is_zip else _folder_files(location)
    digest = hashlib.sha256(descriptor)
    for name in sorted(files):
        digest.update(f"{name}\n{len(files[name].data)}\n".encode())
        digest.update(files[name].data)
    return Batch(name=str(location), content_hash=digest.hexdigest(),
                 size=len(descriptor) + sum(len(file.data) for file in files.values()),
                 read=lambda: _package_extract(str(location), files))


def _folder_files(folder: Path) -> tuple[bytes, dict[str, _File]]:
    if not folder.is_dir():
        raise _refuse(folder, "dit is geen map en geen .zip-bestand (of het bestaat niet)",
                      "this is not a folder nor a .zip file (or it does not exist)")
    try:
        return _package_files(_Folder(folder))
    except OSError as exc:
        raise _refuse(folder, f"de map kan niet worden gelezen ({exc.strerror})",
                      f"the folder cannot be read ({exc.strerror})") from None


def _zip_files(path: Path) -> tuple[bytes, dict[str, _File]]:
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive, path.name)
            return _package_files(_Zip(str(path), archive))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _refuse(path, f"het .zip-bestand is beschadigd of onleesbaar ({exc})",
                      f"the .zip file is damaged or unreadable ({exc})") from None


@dataclass(frozen=True)
class _File:
    """One resource of a package: its path as published (named in messages) and its bytes."""

    label: str
    data: bytes


class _Package(Protocol):
    """A package folder or zip, its files named by POSIX paths relative to it."""

    where: str

    def names(self) -> list[str]:
        """The files where a package without datapackage.json is looked for."""
        ...

    def descriptor(self) -> str | None:
        """The path of the package's datapackage.json, if it has one."""
        ...

    def size(self, path: str) -> int | None:
        """The size of the file at `path`; None when the package holds no such file."""
        ...

    def read(self, path: str) -> bytes:
        """The bytes of the file at `path`."""
        ...


class _Folder:
    """A package folder, read in place; nothing outside it is read, also not through a link."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.where, self.root = folder, str(folder), folder.resolve()

    def names(self) -> list[str]:
        return [p.name for p in sorted(self.folder.iterdir()) if p.is_file()]

    def descriptor(self) -> str | None:
        return DESCRIPTOR if (self.folder / DESCRIPTOR).is_file() else None

    def size(self, path: str) -> int | None:
        inside = self._inside(path)
        return inside.stat().st_size if inside.is_file() else None

    def read(self, path: str) -> bytes:
        return self._inside(path).read_bytes()

    def _inside(self, path: str) -> Path:
        resolved = (self.folder / path).resolve()
        if not resolved.is_relative_to(self.root):
            raise _outside(self.where, f"'{path}'")
        return resolved


class _Zip:
    """A package zip whose members were checked (no unsafe names, no bombs) before anything is unpacked."""

    def __init__(self, where: str, archive: zipfile.ZipFile) -> None:
        self.where, self.archive = where, archive
        self.members = {info.filename: info for info in archive.infolist() if not info.is_dir()}

    def names(self) -> list[str]:
        return list(self.members)

    def descriptor(self) -> str | None:
        found = [name for name in self.members if posixpath.basename(name) == DESCRIPTOR]
        if len(found) > 1:
            raise _refuse(self.where, f"het pakket bevat meer dan één {DESCRIPTOR} ({', '.join(found)})",
                          f"the package holds more than one {DESCRIPTOR} ({', '.join(found)})")
        return found[0] if found else None

    def size(self, path: str) -> int | None:
        info = self.members.get(path)
        return info.file_size if info else None

    def read(self, path: str) -> bytes:
        return self.archive.read(self.members[path])


def _outside(where: str, what: str) -> StructuralError:
    return _refuse(where, f"{what} ligt buiten het pakket en wordt niet gelezen; het pakket wordt geweigerd",
                   f"{what} lies outside the package and is not read; the package is refused")


def _package_files(package: _Package) -> tuple[bytes, dict[str, _File]]:
    """The package's datapackage.json (b'' without one) and the resources read, by HSDS resource name."""
    descriptor_path = package.descriptor()
    descriptor = b"" if descriptor_path is None else _descriptor_bytes(package, descriptor_path)
    if descriptor_path is None:
        paths = _standard_paths(package.where, package.names())
    else:
        paths = _described_paths(package.where, descriptor_path,
                                 _descriptor(descriptor, f"{package.where}, {descriptor_path}"))
    sizes = {name: _present_size(package, name, label, path) for name, (label, path) in paths.items()}
    if sum(sizes.values()) > MAX_UNPACKED_BYTES:
        total, limit = sum(sizes.values()), MAX_UNPACKED_BYTES
        raise _refuse(package.where, f"de CSV-bestanden zijn samen {total} bytes, meer dan de grens van {limit} bytes",
                      f"the CSV files together are {total} bytes, more than the limit of {limit} bytes")
    return descriptor, {name: _File(label, package.read(path)) for name, (label, path) in paths.items()}


def _descriptor_bytes(package: _Package, path: str) -> bytes:
    size = package.size(path) or 0
    if size > MAX_DESCRIPTOR_BYTES:
        raise _refuse(package.where, f"{path} is {size} bytes, meer dan de grens van {MAX_DESCRIPTOR_BYTES} bytes",
                      f"{path} is {size} bytes, more than the limit of {MAX_DESCRIPTOR_BYTES} bytes")
    return package.read(path)


def _present_size(package: _Package, name: str, label: str, path: str) -> int:
    """The size of a resource's file, refused naming it when the package does not hold it."""
    size = package.size(path)
    if size is None:
        raise _refuse(package.where, f"{DESCRIPTOR} noemt '{label}' voor resource '{name}', maar dat bestand "
                                     "staat niet in het pakket",
                      f"{DESCRIPTOR} names '{label}' for resource '{name}', but that file is not in the package")
    return size


def _standard_paths(where: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """Resource name → (file name, path) of the files named as HSDS 3.1 names them, in a package without
    datapackage.json."""
    found: dict[str, tuple[str, str]] = {}
    for path in names:
        label = posixpath.basename(path)
        name = RESOURCE_OF_FILE.get(label.lower())
        if name is None:
            continue
        if name in found:
            raise _refuse(where, f"{label.lower()} staat meer dan eens in het pakket",
                          f"{label.lower()} occurs more than once in the package")
        found[name] = (label, path)
    _refuse_incomplete(where, list(found), names, version="", described=False)
    return found


def _descriptor(data: bytes, where: str) -> dict:
    """The data package descriptor, refused unless it is an object with a list `resources`."""
    document = parse_json(data, "application/json", where)
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        raise _refuse(where, "dit is geen datapakket (een object met een lijst 'resources')",
                      "this is no data package (an object with a list 'resources')")
    return document


def _described_paths(where: str, descriptor_path: str, descriptor: dict) -> dict[str, tuple[str, str]]:
    """Resource name → (path as published, path in the package) of the resources read, as datapackage.json
    names them; refused when one is named twice or its path leaves the package."""
    resources = {}
    for resource in (r for r in descriptor["resources"] if isinstance(r, dict)):
        name = as_text(resource.get("name")).lower()
        if name in resources and name in RESOURCES:
            raise _refuse(where, f"{DESCRIPTOR} noemt resource '{name}' meer dan eens",
                          f"{DESCRIPTOR} names resource '{name}' more than once")
        resources[name] = resource.get("path")
    published = [path for path in resources.values() if isinstance(path, str)]
    known = [name for name in resources if name in RESOURCES]
    _refuse_incomplete(where, known, published, version=as_text(descriptor.get("version")), described=True)
    root = posixpath.dirname(descriptor_path)
    return {name: _resource_path(where, name, resources[name], root) for name in known}


def _resource_path(where: str, name: str, raw: object, root: str) -> tuple[str, str]:
    """(path as published, path in the package) of a resource, refused unless it is one relative path that
    stays inside the package."""
    if not isinstance(raw, str) or not raw.strip():
        raise _refuse(where, f"resource '{name}' in {DESCRIPTOR} heeft geen pad van één bestand (een lijst van "
                             "delen of gegevens in datapackage.json zelf worden niet gelezen)",
                      f"resource '{name}' in {DESCRIPTOR} has no path of one file (a list of parts or data inside "
                      "datapackage.json itself are not read)")
    path = raw.strip()
    unsafe = (path.startswith("/") or "\\" in path or SCHEME_OR_DRIVE.match(path) or ".." in path.split("/")
              or any(ord(c) < 32 for c in path))
    if unsafe:
        raise _outside(where, f"resource '{name}' ({path!r}) in {DESCRIPTOR}")
    inside = posixpath.normpath(path)
    return path, posixpath.join(root, inside) if root else inside


def _refuse_incomplete(where: str, found: Collection[str], files: Iterable[str], *, version: str,
                       described: bool) -> None:
    """Refuse a package without a required resource; one without service_capacity that is HSDS 1.x says so."""
    if CAPACITIES not in found:
        signs = sorted({posixpath.basename(file).lower() for file in files} & HSDS_1_FILES)
        if HSDS_1_VERSION.match(version):
            signs.insert(0, f"{DESCRIPTOR} version {version}")
        if signs:
            shown = ", ".join(signs)
            raise _needs_hsds_3_1(where, f"dit pakket is HSDS 1.x ({shown}) en heeft geen {RESOURCES[CAPACITIES]}",
                                  f"this package is HSDS 1.x ({shown}) and has no {RESOURCES[CAPACITIES]}")
    for name in REQUIRED_COLUMNS:
        if name not in found:
            raise _lacks(where, name, described)


def _lacks(where: str, name: str, described: bool) -> StructuralError:
    file = RESOURCES[name]
    if described:
        nl = f"{DESCRIPTOR} noemt geen resource '{name}' ({file})"
        en = f"{DESCRIPTOR} names no resource '{name}' ({file})"
    else:
        nl, en = f"het pakket mist {file}", f"the package lacks {file}"
    if name == CAPACITIES:
        nl, en = f"{nl}; capaciteiten staan pas in HSDS 3.1", f"{en}; capacities need HSDS 3.1"
    return _refuse(where, nl, en)


# --- the package form: its rows ----------------------------------------------------------------


def _package_extract(name: str, files: dict[str, _File]) -> Extract:
    tables = {resource: read_csv_bytes(file.data, file.label) for resource, file in files.items()}
    labels = {resource: files[resource].label if resource in files else file for resource, file in RESOURCES.items()}
    for resource, table in sorted(tables.items()):
        refuse_personal(f"{name}, {labels[resource]}", personal_columns(table.header))
    for resource, columns in REQUIRED_COLUMNS.items():
        missing = [column for column in columns if column not in tables[resource].header]
        if missing:
            raise _refuse(name, f"{labels[resource]} mist de kolom(men) {', '.join(missing)}",
                          f"{labels[resource]} lacks the column(s) {', '.join(missing)}")
    rows = {resource: [raw.values for raw in table.rows] for resource, table in tables.items()}
    lookups = _Lookups(_index(rows.get("organization", [])), _index(rows["unit"]),
                       (labels["organization"], labels["organization"]), (labels["unit"], labels["unit"]))
    entries = _package_entries(tables[CAPACITIES], _services_from_tables(rows, labels), labels)
    extract = _extract(name, entries, lookups)
    extract.errors[:0] = [*_misread_rows(tables)]
    return extract


def _misread_rows(tables: dict[str, Extract]) -> Iterator[RowError]:
    """Unreadable lines: in service_capacity at their line, elsewhere without a row (the message names the
    file and line); those of addresses without their cells."""
    for resource, table in sorted(tables.items()):
        for error in table.errors:
            if resource == ADDRESSES:
                error = withheld(error)
            if resource != CAPACITIES:
                error = RowError(None, error.column, error.value, f"{table.file_name}, regel {error.row}: {error.nl}",
                                 f"{table.file_name}, line {error.row}: {error.en}")
            yield error


def _package_entries(capacities: Extract, services: dict[str, _Service], labels: dict[str, str]
                     ) -> Iterator[_Entry]:
    for raw in capacities.rows:
        capacity_id = as_text(raw.values.get("id"))
        named = f", id {capacity_id}" if capacity_id else ""
        where_nl = f"{labels[CAPACITIES]}, regel {raw.row}{named}"
        where_en = f"{labels[CAPACITIES]}, line {raw.row}{named}"
        service_id = as_text(raw.values.get("service_id"))
        service = services.get(service_id)
        problems = [] if service else [_missing(_At("", "service_id"), service_id,
                                                (labels["service"], labels["service"]))]
        yield _Entry(raw.row, where_nl, where_en, service, raw.values, problems)


def _services_from_tables(rows: dict[str, list[dict]], labels: dict[str, str]) -> dict[str, _Service]:
    """Every service in the service table with what the other tables say about it."""
    def by_service(resource: str) -> dict[str, list[dict]]:
        return _group((as_text(r.get("service_id")), r) for r in rows.get(resource, []))

    languages, phones = by_service("language"), by_service("phone")
    at_locations = rows.get("service_at_location", [])
    areas = _areas_by_service(rows.get("service_area", []), at_locations)
    cities = _cities_by_service(at_locations, rows.get("address", []))
    attributes = _attributes_by_service(rows.get("attribute", []), rows.get("taxonomy_term", []),
                                        rows.get("taxonomy", []), labels)
    services = {}
    for row in rows["service"]:
        key = as_text(row.get("id"))
        services[key] = _service(row, record=_record(labels["service"], key), organization=None,
                                 languages=languages.get(key, []), phones=phones.get(key, []),
                                 areas=areas.get(key, []), cities=cities.get(key, []),
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


def _attributes_by_service(attributes: list[dict], terms: list[dict], taxonomies: list[dict],
                           labels: dict[str, str]) -> dict[str, list[_Attribute]]:
    """Each service's attributes, with their taxonomy term (its taxonomy nested) and where code and value sit."""
    taxonomy_by_id = _index(taxonomies)
    term_by_id = {as_text(term.get("id")): _with_taxonomy(term, taxonomy_by_id) for term in terms}
    return _group((as_text(attribute.get("link_id")),
                   _Attribute(term_by_id[term_id], attribute.get("value"),
                              _At(_record(labels["taxonomy_term"], term_id), "code"),
                              _At(_record(labels["attribute"], as_text(attribute.get("id"))), "value")))
                  for attribute in attributes
                  if (term_id := as_text(attribute.get("taxonomy_term_id"))) in term_by_id
                  and as_text(attribute.get("link_entity")).lower() in SERVICE_ENTITIES)


def _with_taxonomy(term: dict, taxonomy_by_id: dict[str, dict]) -> dict:
    """A taxonomy term row with its taxonomy nested, as the API gives it."""
    return {**term, "taxonomy_detail": taxonomy_by_id.get(as_text(term.get("taxonomy_id")))}
