"""`capacity init` and friends: load municipalities, region levels, population and the care domain.

Each part is keyed by the content hash of its inputs, so running init twice
changes nothing. A part with any problem loads nothing.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import shapely

from queries.db import rows, run, scalar
from queries.derived import has_current_derived_tables
from queries.errors import ReferenceDataError
from queries.settings import REFERENCE_DIR
from queries.warehouse import Warehouse

from .geometry import Municipality, dissolve, municipality_geojson, provinces_by_containment, read_municipalities
from .reference_files import RegionMapping, read_population, read_region_mapping

MUNICIPALITIES_FILE = "regions/gemeente_2025.geojson"
PROVINCES_FILE = "regions/provincie_2023.geojson"
LEVELS_FILE = "levels.toml"
CARE_DOMAIN_FILE = "care_domain.toml"
POPULATION_GLOB = "population/*.csv"
NATIONAL_CODE, NATIONAL_NAME = "NL", "Nederland"

SELECT_LOADED_PARTS = "SELECT part, content_hash FROM reference_load"
RECORD_PART = """
INSERT INTO reference_load (part, content_hash, loaded_at) VALUES (?, ?, ?)
ON CONFLICT (part) DO UPDATE SET content_hash = excluded.content_hash, loaded_at = excluded.loaded_at"""
SELECT_MUNICIPALITIES = "SELECT gemeente_code, name, boundary_geojson FROM municipality"
INSERT_MUNICIPALITY = "INSERT INTO municipality (gemeente_code, name, boundary_geojson) VALUES (?, ?, ?)"
UPDATE_MUNICIPALITY = "UPDATE municipality SET name = ?, boundary_geojson = ? WHERE gemeente_code = ?"
SELECT_LEVEL = "SELECT origin, content_hash FROM region_level WHERE level = ?"
INSERT_LEVEL = """
INSERT INTO region_level (level, label_nl, label_en, origin, is_default, sort_order, source_file, content_hash, loaded_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""
UPDATE_LEVEL = """
UPDATE region_level SET label_nl = ?, label_en = ?, origin = ?, is_default = ?, sort_order = ?,
       source_file = ?, content_hash = ?, loaded_at = ?
WHERE level = ?"""
NEXT_LEVEL_SORT_ORDER = "SELECT coalesce(max(sort_order), 0) + 1 FROM region_level"
DELETE_MEMBERSHIPS = "DELETE FROM region_membership WHERE level = ?"
DELETE_REGIONS = "DELETE FROM region WHERE level = ?"
INSERT_REGION = "INSERT INTO region (level, region_code, region_name, boundary_geojson) VALUES (?, ?, ?, ?)"
INSERT_MEMBERSHIP = "INSERT INTO region_membership (level, gemeente_code, region_code) VALUES (?, ?, ?)"
DELETE_POPULATION_DATE = "DELETE FROM population WHERE reference_date = ?"
INSERT_POPULATION = """
INSERT INTO population (gemeente_code, reference_date, inhabitants, age_0_14, age_15_24, age_25_44,
                        age_45_64, age_65_plus, source_file)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""
UPSERT_CARE_TYPE_EXISTS = "SELECT count(*) FROM care_type WHERE care_type = ?"
INSERT_CARE_TYPE = """
INSERT INTO care_type (care_type, label_nl, label_en, sort_order, freshness_days, norm_places_per_10k,
                       wait_norm_intake_days, wait_norm_treatment_days)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
UPDATE_CARE_TYPE = """
UPDATE care_type SET label_nl = ?, label_en = ?, sort_order = ?, freshness_days = ?, norm_places_per_10k = ?,
       wait_norm_intake_days = ?, wait_norm_treatment_days = ?
WHERE care_type = ?"""
TARGET_GROUP_EXISTS = "SELECT count(*) FROM target_group WHERE target_group = ?"
INSERT_TARGET_GROUP = """
INSERT INTO target_group (target_group, label_nl, label_en, population_basis, sort_order) VALUES (?, ?, ?, ?, ?)"""
UPDATE_TARGET_GROUP = """
UPDATE target_group SET label_nl = ?, label_en = ?, population_basis = ?, sort_order = ? WHERE target_group = ?"""
DELETE_COMBINATIONS = "DELETE FROM care_type_target_group"
INSERT_COMBINATION = "INSERT INTO care_type_target_group (care_type, target_group) VALUES (?, ?)"


@dataclass(frozen=True)
class LevelSpec:
    """A shipped region level, from levels.toml."""

    code: str
    label_nl: str
    label_en: str
    sort_order: int
    default: bool = False
    mapping: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    derive: str | None = None


@dataclass
class InitReport:
    migrations: list[int]
    changed: list[str]


def read_level_specs(reference_dir: Path = REFERENCE_DIR) -> list[LevelSpec]:
    spec = tomllib.loads((reference_dir / LEVELS_FILE).read_text(encoding="utf-8"))
    return [LevelSpec(code=item["code"], label_nl=item["label_nl"], label_en=item["label_en"], sort_order=number,
                      default=item.get("default", False), mapping=item.get("mapping"),
                      columns=item.get("columns", {}), derive=item.get("derive"))
            for number, item in enumerate(spec["level"], start=1)]


def shipped_level_codes(reference_dir: Path = REFERENCE_DIR) -> set[str]:
    return {spec.code for spec in read_level_specs(reference_dir)}


def initialise(warehouse: Warehouse, reference_dir: Path = REFERENCE_DIR) -> InitReport:
    """Bring the warehouse's reference data up to date; publish when anything changed or nothing was published."""
    municipalities = read_municipalities(reference_dir / MUNICIPALITIES_FILE)
    known = {code: m.name for code, m in municipalities.items()}
    loaded = dict(rows(warehouse.con, SELECT_LOADED_PARTS))
    changed: list[str] = []
    now = datetime.now(timezone.utc)

    def due(part: str, digest: str) -> bool:
        if loaded.get(part) == digest:
            return False
        changed.append(part)
        return True

    with warehouse.transaction() as con:
        muni_hash = _digest(reference_dir / MUNICIPALITIES_FILE)
        if due("municipalities", muni_hash):
            _store_municipalities(con, municipalities)
            run(con, RECORD_PART, ["municipalities", muni_hash, now])
        domain_hash = _digest(reference_dir / CARE_DOMAIN_FILE)
        if due("care_domain", domain_hash):
            store_care_domain(con, tomllib.loads((reference_dir / CARE_DOMAIN_FILE).read_text(encoding="utf-8")))
            run(con, RECORD_PART, ["care_domain", domain_hash, now])
        for spec in read_level_specs(reference_dir):
            inputs = [reference_dir / MUNICIPALITIES_FILE]
            if spec.mapping:
                inputs.append(reference_dir / spec.mapping)
            if spec.derive == "province_containment":
                inputs.append(reference_dir / PROVINCES_FILE)
            digest = _digest(*inputs, extra=json.dumps(spec.__dict__, sort_keys=True))
            if due(f"level:{spec.code}", digest):
                mapping = _level_mapping(spec, reference_dir, municipalities, known)
                store_level(con, spec.code, spec.label_nl, spec.label_en, "shipped", spec.default,
                            spec.sort_order, spec.mapping or spec.derive or "", digest, mapping,
                            _boundaries(spec, mapping, municipalities))
                run(con, RECORD_PART, [f"level:{spec.code}", digest, now])
        for path in sorted(reference_dir.glob(POPULATION_GLOB)):
            digest = _digest(path)
            if due(f"population:{path.name}", digest):
                store_population(con, path, known)
                run(con, RECORD_PART, [f"population:{path.name}", digest, now])
    current = warehouse.latest_publication()
    if (changed or warehouse.applied_migrations or current is None
            or not has_current_derived_tables(current.path(warehouse.paths))):
        warehouse.publish()   # readers get new reference data, a new schema and new derived tables at once
    return InitReport(warehouse.applied_migrations, changed)


def load_region_level(warehouse: Warehouse, level: str, path: Path, label: str | None = None,
                      reference_dir: Path = REFERENCE_DIR) -> bool:
    """Add or replace a region level from a gemeente_code,region_code,region_name file. True when it changed."""
    if level in shipped_level_codes(reference_dir):
        raise ReferenceDataError(
            f"Niveau '{level}' wordt met het programma meegeleverd en kan niet worden vervangen; kies een andere naam.",
            f"Level '{level}' ships with the program and cannot be replaced; choose another name.")
    if not level.replace("_", "").isalnum() or not level[:1].isalpha() or level != level.lower():
        raise ReferenceDataError(
            f"Niveaunaam '{level}' is ongeldig: gebruik kleine letters, cijfers en _ (bijv. centrumgemeente_vo).",
            f"Level name '{level}' is invalid: use lower-case letters, digits and _ (e.g. centrumgemeente_vo).")
    known = dict((code, name) for code, name, _ in rows(warehouse.con, SELECT_MUNICIPALITIES))
    if not known:
        raise ReferenceDataError("De warehouse heeft nog geen gemeenten; voer eerst `capacity init` uit.",
                                 "The warehouse has no municipalities yet; run `capacity init` first.")
    mapping = read_region_mapping(path, known)
    digest = _digest(path, extra=label or "")
    existing = rows(warehouse.con, SELECT_LEVEL, [level])
    if existing and existing[0][1] == digest:
        return False
    municipalities = _municipalities_from_warehouse(warehouse.con)
    with warehouse.transaction() as con:
        sort_order = scalar(con, NEXT_LEVEL_SORT_ORDER) if not existing else None
        store_level(con, level, label or level, label or level, "loaded", False, sort_order, path.name, digest,
                    mapping, dissolve(mapping.members, municipalities))
    warehouse.publish()
    return True


def load_population_file(warehouse: Warehouse, path: Path) -> None:
    """Load a (newer) population file for every municipality and publish."""
    known = dict((code, name) for code, name, _ in rows(warehouse.con, SELECT_MUNICIPALITIES))
    with warehouse.transaction() as con:
        store_population(con, path, known)
        run(con, RECORD_PART, [f"population:{path.name}", _digest(path), datetime.now(timezone.utc)])
    warehouse.publish()


def store_level(con: duckdb.DuckDBPyConnection, level: str, label_nl: str, label_en: str, origin: str,
                is_default: bool, sort_order: int | None, source_file: str, digest: str,
                mapping: RegionMapping, boundaries: dict[str, str]) -> None:
    """Replace one level's regions and memberships inside the caller's transaction."""
    now = datetime.now(timezone.utc)
    if rows(con, SELECT_LEVEL, [level]):
        current_order = scalar(con, "SELECT sort_order FROM region_level WHERE level = ?", [level])
        run(con, UPDATE_LEVEL, [label_nl, label_en, origin, is_default, sort_order or current_order,
                                source_file, digest, now, level])
    else:
        run(con, INSERT_LEVEL, [level, label_nl, label_en, origin, is_default, sort_order, source_file, digest, now])
    run(con, DELETE_MEMBERSHIPS, [level])
    run(con, DELETE_REGIONS, [level])
    con.executemany(INSERT_REGION, [[level, code, name, boundaries[code]] for code, name in mapping.names.items()])
    con.executemany(INSERT_MEMBERSHIP, [[level, gm, region] for gm, region in mapping.members.items()])


def store_population(con: duckdb.DuckDBPyConnection, path: Path, known: dict[str, str]) -> None:
    population = read_population(path, known)
    for reference_date in sorted({row.reference_date for row in population}):
        run(con, DELETE_POPULATION_DATE, [reference_date])
    con.executemany(INSERT_POPULATION, [
        [r.gemeente_code, r.reference_date, r.inhabitants, r.age_0_14, r.age_15_24, r.age_25_44, r.age_45_64,
         r.age_65_plus, path.name] for r in population])


def _store_municipalities(con: duckdb.DuckDBPyConnection, municipalities: dict[str, Municipality]) -> None:
    existing = {code: (name, geo) for code, name, geo in rows(con, SELECT_MUNICIPALITIES)}
    vanished = sorted(set(existing) - set(municipalities))
    if vanished:
        raise ReferenceDataError(
            f"Gemeenten verdwenen uit de referentiegegevens ({', '.join(vanished)}): een nieuwe gemeentelijke "
            "indeling vraagt om een nieuwe warehouse (--data-dir).",
            f"Municipalities vanished from the reference data ({', '.join(vanished)}): a new municipal "
            "division needs a new warehouse (--data-dir).")
    for code, municipality in sorted(municipalities.items()):
        geojson = municipality_geojson(municipality)
        if code not in existing:
            run(con, INSERT_MUNICIPALITY, [code, municipality.name, geojson])
        elif existing[code] != (municipality.name, geojson):
            run(con, UPDATE_MUNICIPALITY, [municipality.name, geojson, code])


def store_care_domain(con: duckdb.DuckDBPyConnection, domain: dict) -> None:
    for order, group in enumerate(domain["target_group"], start=1):
        values = [group["label_nl"], group["label_en"], group["population_basis"], order]
        if scalar(con, TARGET_GROUP_EXISTS, [group["code"]]):
            run(con, UPDATE_TARGET_GROUP, values + [group["code"]])
        else:
            run(con, INSERT_TARGET_GROUP, [group["code"]] + values)
    run(con, DELETE_COMBINATIONS)
    for order, care in enumerate(domain["care_type"], start=1):
        values = [care["label_nl"], care["label_en"], order, care["freshness_days"], care.get("norm_places_per_10k"),
                  care.get("wait_norm_intake_days"), care.get("wait_norm_treatment_days")]
        if scalar(con, UPSERT_CARE_TYPE_EXISTS, [care["code"]]):
            run(con, UPDATE_CARE_TYPE, values + [care["code"]])
        else:
            run(con, INSERT_CARE_TYPE, [care["code"]] + values)
        for group in care["target_groups"]:
            run(con, INSERT_COMBINATION, [care["code"], group])


def _level_mapping(spec: LevelSpec, reference_dir: Path, municipalities: dict[str, Municipality],
                   known: dict[str, str]) -> RegionMapping:
    if spec.mapping:
        return read_region_mapping(reference_dir / spec.mapping, known, spec.columns)
    if spec.derive == "province_containment":
        members, names = provinces_by_containment(municipalities, reference_dir / PROVINCES_FILE)
        return RegionMapping(members, names)
    if spec.derive == "each_municipality":
        return RegionMapping({code: code for code in known}, dict(known))
    if spec.derive == "whole_country":
        return RegionMapping({code: NATIONAL_CODE for code in known}, {NATIONAL_CODE: NATIONAL_NAME})
    raise ReferenceDataError(f"{LEVELS_FILE}: niveau {spec.code} heeft geen mapping of bekende afleiding",
                             f"{LEVELS_FILE}: level {spec.code} has no mapping or known derivation")


def _boundaries(spec: LevelSpec, mapping: RegionMapping, municipalities: dict[str, Municipality]) -> dict[str, str]:
    if spec.derive == "each_municipality":
        return {code: municipality_geojson(m) for code, m in municipalities.items()}
    return dissolve(mapping.members, municipalities)


def _municipalities_from_warehouse(con: duckdb.DuckDBPyConnection) -> dict[str, Municipality]:
    return {code: Municipality(code, name, shapely.from_geojson(geo)) for code, name, geo in
            rows(con, SELECT_MUNICIPALITIES)}


def _digest(*paths: Path, extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode("utf-8"))
    for path in paths:
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()
