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
