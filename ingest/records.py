"""What every extractor hands to validation: raw rows with their row numbers, and errors."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from queries.errors import CapacityError


class StructuralError(CapacityError):
    """The whole file or response is unusable (unreadable, required column missing, ...)."""


@dataclass(frozen=True)
class RowError:
    """A problem with one row: where it is and what is wrong, in Dutch and English."""

    row: int | None
    column: str | None
    value: str | None
    nl: str
    en: str


@dataclass(frozen=True)
class RawRow:
    """One record as the provider sent it: `row` as the provider would point at it
    (spreadsheet row, CSV line where the record starts, or item number in a feed)."""

    row: int
    values: dict[str, object]


@dataclass
class Extract:
    """The rows of one file or response, before mapping and validation."""

    file_name: str
    header: list[str]
    rows: list[RawRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def stream_rows(self) -> Iterator[RawRow]:
        """The rows one at a time (a plain CSV file's are read as they are asked for: see ingest/tabular.py)."""
        return iter(self.rows)
