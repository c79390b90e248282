"""The web worker's one reader of published copies, and map shapes computed once per published copy."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator, TypeVar

import duckdb
import shapely
from dash.development.base_component import Component
from shapely.geometry import mapping, shape
from shapely.geometry.polygon import orient

from dashboard.access import current_role
from queries.connection import PublishedReader
from queries.moments import as_of
from queries.paths import DataPaths
from queries.publish import Publication
from queries.reference import region_boundaries
from queries.shortfall import CopyFacts
from queries.shortfall import copy_facts as read_copy_facts

MAP_SIMPLIFY_DEGREES = 0.002
MAP_CACHE_SIZE = 12
RESULT_CACHE_SIZE = 512
_reader: PublishedReader | None = None
_maps: dict[tuple[int, str], dict] = {}
_results: OrderedDict[tuple, object] = OrderedDict()
_results_lock = threading.Lock()
_computing: dict[tuple, threading.Event] = {}
T = TypeVar("T")


def configure(paths: DataPaths, poll_seconds: float) -> PublishedReader:
    global _reader
    _reader = PublishedReader(paths, poll_seconds)
    return _reader


def reader() -> PublishedReader:
    if _reader is None:
        raise RuntimeError("dashboard.data.configure() was not called")
    return _reader


@contextmanager
def snapshot() -> Iterator[tuple[Publication, duckdb.DuckDBPyConnection]]:
    """The current publication and a cursor on exactly that copy."""
    with reader().snapshot() as pair:
        yield pair


def page_moment(at: str | None) -> datetime:
    """The moment a page shows: `?at=` as given, else now rounded down to the minute (so that the figures
    of one published copy and minute can be shared between requests)."""
    if at:
        return as_of(at)
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def remembered(publication: Publication, key: tuple, compute: Callable[[], T]) -> T:
    """A query result for this published copy: copies never change, so equal keys give equal results. While
    one thread computes a key, the others asking for it wait for its result instead of computing it too (as
    every request does right after a new copy appears)."""
    full_key = (publication.sequence, *key)
    while True:
        with _results_lock:
            if full_key in _results:
                _results.move_to_end(full_key)
                return _results[full_key]  # type: ignore[return-value]
            underway = _computing.get(full_key)
            if underway is None:
                underway = _computing[full_key] = threading.Event()
                break
        underway.wait()   # then look again: computed, or failed (and this thread tries)
    try:
        value = compute()
        _keep(full_key, value)
        return value
    finally:
        with _results_lock:
            del _computing[full_key]
        underway.set()


def _keep(full_key: tuple, value: object) -> None:
    with _results_lock:
        _results[full_key] = value
        while len(_results) > RESULT_CACHE_SIZE:
            _results.popitem(last=False)


def page_body(publication: Publication, page: str, moment: datetime, query: dict[str, str],
              build: Callable[[], list]) -> list:
    """A page's content for this copy, moment, role and URL query, built once. From its second use on it is
    kept as Dash sends it (`wire`): a view asked for again is neither rebuilt nor encoded component by
    component again, and a view asked for once costs no conversion."""
    key = ("page", page, moment, current_role(), tuple(sorted(query.items())))
    built_here: list[bool] = []

    def first_use() -> tuple[bool, list]:
        built_here.append(True)
        return False, build()

    wired, body = remembered(publication, key, first_use)
    if not (wired or built_here):
        body = wire(body)
        _keep((publication.sequence, *key), (True, body))
    return body


def wire(node: object) -> object:
    """Components as Dash's JSON has them (type, namespace, props), all the way down, in plain dicts; elements
    (dashboard.components.element) are that already, but may hold components."""
    if isinstance(node, Component):
        node = node.to_plotly_json()
    elif isinstance(node, (list, tuple)):
        return [wire(item) for item in node]
    elif not (isinstance(node, dict) and node.keys() == {"type", "namespace", "props"}):
        return node
    return {**node, "props": {name: wire(value) for name, value in node["props"].items()}}


def copy_facts(publication: Publication, cur: duckdb.DuckDBPyConnection) -> CopyFacts:
    """How the copy's shortfall is read (queries.shortfall.CopyFacts), read once per copy."""
    return remembered(publication, ("copy_facts",), lambda: read_copy_facts(cur))


def boundaries(cur: duckdb.DuckDBPyConnection, publication: Publication, level: str) -> dict:
    """The level's regions as a GeoJSON FeatureCollection for plotly, built once per published copy."""
    key = (publication.sequence, level)
    if key not in _maps:
        if len(_maps) >= MAP_CACHE_SIZE:
            _maps.pop(next(iter(_maps)))
        _maps[key] = feature_collection(region_boundaries(cur, level))
    return _maps[key]


def feature_collection(regions: list[tuple[str, str, str]]) -> dict:
    """Simplified features with clockwise outer rings (what plotly's d3 projection expects)."""
    features = []
    for code, name, geojson in regions:
        geometry = shapely.simplify(shape(json.loads(geojson)), MAP_SIMPLIFY_DEGREES, preserve_topology=True)
        polygons = [orient(p, sign=-1.0) for p in getattr(geometry, "geoms", [geometry]) if p.geom_type == "Polygon"]
        features.append({"type": "Feature", "id": code, "properties": {"code": code, "name": name},
                         "geometry": mapping(shapely.MultiPolygon(polygons))})
    return {"type": "FeatureCollection", "features": features}
