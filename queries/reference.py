"""Read queries over the reference data: region levels and a summary."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from .db import rows, sql_file


@dataclass(frozen=True)
class RegionLevel:
    level: str
    label_nl: str
    label_en: str
    origin: str
    is_default: bool
    regions: int

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_nl


@dataclass(frozen=True)
class ReferenceSummary:
    municipalities: int
    inhabitants: int
    population_date: date | None


def region_levels(cur: duckdb.DuckDBPyConnection) -> list[RegionLevel]:
    return [RegionLevel(*row) for row in rows(cur, sql_file("region_levels"))]


def reference_summary(cur: duckdb.DuckDBPyConnection) -> ReferenceSummary:
    return ReferenceSummary(*rows(cur, sql_file("reference_summary"))[0])


def region_boundaries(cur: duckdb.DuckDBPyConnection, level: str) -> list[tuple[str, str, str]]:
    """(region code, name, GeoJSON geometry) for every region of `level`."""
    return rows(cur, sql_file("region_boundaries"), {"level": level})


def region_levels_of(cur: duckdb.DuckDBPyConnection, region_code: str) -> list[tuple[str, str]]:
    """(level, region name) for a region code, the default level first."""
    return rows(cur, sql_file("region_lookup"), {"region": region_code})


def care_labels(cur: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, code) -> (Dutch, English) for care types and target groups."""
    return {(kind, code): (nl, en) for kind, code, nl, en, _ in rows(cur, sql_file("labels"))}


def reported_combinations(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Care type x target group combinations that are reported, in reporting order."""
    return rows(cur, """SELECT c.care_type, c.target_group FROM care_type_target_group AS c
                        JOIN care_type AS ct USING (care_type) JOIN target_group AS tg USING (target_group)
                        ORDER BY ct.sort_order, tg.sort_order""")


def municipalities(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(GM code, name) of every municipality, by name."""
    return rows(cur, "SELECT gemeente_code, name FROM municipality ORDER BY name")


def service_languages(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Languages some service offers."""
    return [code for (code,) in rows(cur, "SELECT DISTINCT unnest(languages) AS code FROM service ORDER BY code")]
