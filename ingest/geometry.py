"""Municipality polygons: reading, province by containment, dissolving into region boundaries."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from queries.errors import ReferenceDataError


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    geometry: BaseGeometry


def read_municipalities(path: Path) -> dict[str, Municipality]:
    """Municipalities from a GeoJSON with properties statcode and statnaam, keyed by GM code."""
    collection = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, Municipality] = {}
    for number, feature in enumerate(collection["features"], start=1):
        props = feature.get("properties") or {}
        code, name = props.get("statcode"), props.get("statnaam")
        if not code or not name or code in found:
            raise ReferenceDataError(
                f"{path.name}: object {number} heeft geen (unieke) statcode/statnaam: {code!r} {name!r}",
                f"{path.name}: feature {number} lacks a (unique) statcode/statnaam: {code!r} {name!r}")
        found[code] = Municipality(code, name, shapely.make_valid(shape(feature["geometry"])))
    return found


def provinces_by_containment(municipalities: dict[str, Municipality], provinces_path: Path
                             ) -> tuple[dict[str, str], dict[str, str]]:
    """Each municipality's province: the one province polygon holding its representative point.

    Returns (gemeente_code -> province code, province code -> name).
    """
    collection = json.loads(provinces_path.read_text(encoding="utf-8"))
    provinces = [(f["properties"]["statcode"], f["properties"]["name"], shapely.make_valid(shape(f["geometry"])))
                 for f in collection["features"]]
    membership: dict[str, str] = {}
    problems: list[str] = []
    for code, municipality in sorted(municipalities.items()):
        point = municipality.geometry.representative_point()
        hits = [pcode for pcode, _, polygon in provinces if polygon.contains(point)]
        if len(hits) != 1:
            problems.append(f"{code} {municipality.name}: {hits or 'geen/none'}")
        else:
            membership[code] = hits[0]
    if problems:
        raise ReferenceDataError(
            "Niet elke gemeente ligt in precies één provincie: " + "; ".join(problems),
            "Not every municipality lies in exactly one province: " + "; ".join(problems))
    return membership, {pcode: name for pcode, name, _ in provinces}


def dissolve(membership: dict[str, str], municipalities: dict[str, Municipality]) -> dict[str, str]:
    """Region boundaries as GeoJSON geometry strings: the union of each region's municipalities."""
    parts: dict[str, list[BaseGeometry]] = {}
    for gemeente_code, region_code in membership.items():
        parts.setdefault(region_code, []).append(municipalities[gemeente_code].geometry)
    return {region: shapely.to_geojson(_polygons_only(shapely.union_all(geoms))) for region, geoms in parts.items()}


def municipality_geojson(municipality: Municipality) -> str:
    return shapely.to_geojson(_polygons_only(municipality.geometry))


def _polygons_only(geometry: BaseGeometry) -> BaseGeometry:
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    polygons = [g for g in getattr(geometry, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polygons)
