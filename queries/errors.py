"""Errors that reach a person: every message in Dutch and English."""
from __future__ import annotations

from . import settings


class CapacityError(Exception):
    """An error with a plain-language message in Dutch (nl) and English (en)."""

    def __init__(self, nl: str, en: str) -> None:
        super().__init__(en)
        self.nl = nl
        self.en = en

    def message(self, lang: str | None = None) -> str:
        """The message in the requested language (default: the lang setting)."""
        return self.en if (lang or settings.get("lang")) == "en" else self.nl

    def __str__(self) -> str:
        return self.message()


class WarehouseError(CapacityError):
    """The warehouse cannot be opened or migrated safely."""


class ReferenceDataError(CapacityError):
    """Reference data (regions, population) is inconsistent; nothing was loaded."""


class NoPublishedData(CapacityError):
    """Readers found no published copy yet."""
