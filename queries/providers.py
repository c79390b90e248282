"""Provider search for professionals: who can take this client now, or soonest."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from .db import scalar, sql_file


VIOLENCE_PROFILES = ("intimate_terror", "family_in_stress", "long_term_care_needs",
                     "child_behaviour_parenting_stress", "complex_conflict_divorce")
PROVIDER_COLUMNS = ("rank_group", "service_id", "service_name", "provider_name", "care_type", "target_groups",
                    "framework", "age_min", "age_max", "whole_family", "languages", "violence_profiles",
                    "fresh", "valid_at", "age_days", "unit", "maximum", "available", "reported_status",
                    "waiting_count", "wait_days_intake", "wait_days_treatment", "phone", "email", "website",
                    "referral_route")


@dataclass(frozen=True)
class SearchFilters:
    gemeente: str | None = None
    care_type: str | None = None
    target_group: str | None = None
    age: int | None = None
    framework: str | None = None
    language: str | None = None
    violence_profile: str | None = None
    whole_family: bool = False
    available_only: bool = False
    level: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ProviderMatch:
    """One service found, with its latest figures; never an address (none is stored)."""

    service_id: str
    service_name: str
    provider_name: str | None
    care_type: str
    target_groups: list[str]
    framework: str | None
    age_min: int | None
    age_max: int | None
    whole_family: bool
    languages: list[str]
    violence_profiles: list[str]
    phone: str | None
    email: str | None
    website: str | None
    referral_route: str | None
    valid_at: datetime | None
    unit: str | None
    maximum: int | None
    available: int | None
    reported_status: str | None
    waiting_count: int | None
    wait_days_intake: int | None
    wait_days_treatment: int | None
    age_days: float | None
    fresh: bool
    rank_group: int

    @property
    def has_room(self) -> bool:
        """Room now: only a fresh figure with free places counts (a stale one never does)."""
        return self.fresh and (self.available or 0) > 0


def search_providers(cur: duckdb.DuckDBPyConnection, filters: SearchFilters, at: datetime,
                     precomputed: bool = True) -> list[ProviderMatch]:
    """Ranked matches; at or after the copy's last observation the latest figures come from derived.latest
    (`precomputed=False` scans anyway: the tests compare both)."""
    last_figure = scalar(cur, "SELECT valid_at FROM derived.observed_until")
    after_all = precomputed and last_figure is not None and at >= last_figure
    result = cur.execute(sql_file("providers"), {**filters.__dict__, "at": at, "after_all_figures": after_all})
    names = [d[0] for d in result.description]
    return [ProviderMatch(**dict(zip(names, row))) for row in result.fetchall()]
