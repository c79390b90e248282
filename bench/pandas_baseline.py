"""What a typical Dash app does: load the tables into pandas once, compute the overview's figures per request.

Only places, available, waiting, services and services_fresh per region (the heart of the overview
callback), with the same definitions as queries/sql/shortfall.sql, so the timing compares like with like.
"""
from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd


class PandasShortfall:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.observations = con.execute(
            "SELECT service_id, valid_at, source_id, maximum, available, waiting_count FROM capacity_observation"
        ).df()
        self.services = con.execute("SELECT s.service_id, s.care_type, g.target_group, c.freshness_days "
                                    "FROM service s JOIN service_target_group g USING (service_id) "
                                    "JOIN care_type c USING (care_type)").df()
        areas = con.execute("""SELECT a.service_id, coalesce(m.gemeente_code, a.area_code) AS gemeente_code
                               FROM service_area a LEFT JOIN region_membership m
                                 ON a.area_level <> 'gemeente' AND m.level = a.area_level
                                AND m.region_code = a.area_code""").df().drop_duplicates()
        population = con.execute("SELECT gemeente_code, arg_max(inhabitants, reference_date) AS inhabitants "
                                 "FROM population GROUP BY 1").df()
        self.areas = areas.merge(population, on="gemeente_code")
        self.membership = con.execute("SELECT level, gemeente_code, region_code FROM region_membership").df()

    def shortfall(self, level: str, at: datetime, care_type: str, target_group: str) -> pd.DataFrame:
        services = self.services[(self.services.care_type == care_type) & (self.services.target_group == target_group)]
        observed = self.observations[self.observations.service_id.isin(services.service_id)
                                     & (self.observations.valid_at <= pd.Timestamp(at))]
        latest = observed.sort_values("valid_at").groupby("service_id").tail(1).merge(services, on="service_id")
        latest["fresh"] = (pd.Timestamp(at) - latest.valid_at) <= pd.to_timedelta(latest.freshness_days, unit="D")
        members = self.membership[self.membership.level == level]
        areas = self.areas[self.areas.service_id.isin(latest.service_id)].merge(members, on="gemeente_code")
        totals = areas.groupby("service_id").inhabitants.sum().rename("total")
        weights = areas.groupby(["service_id", "region_code"]).inhabitants.sum().reset_index().merge(
            totals, on="service_id")
        weights["weight"] = weights.inhabitants / weights.total
        cells = latest.merge(weights[["service_id", "region_code", "weight"]], on="service_id")
        fresh = cells[cells.fresh]
        sums = fresh.assign(places=fresh.weight * fresh.maximum, free=fresh.weight * fresh.available,
                            waiting=fresh.weight * fresh.waiting_count
                            ).groupby("region_code")[["places", "free", "waiting"]].sum(min_count=1)
        counts = cells.groupby("region_code").agg(services=("service_id", "nunique"),
                                                  services_fresh=("fresh", "sum"))
        return counts.join(sums)
