"""A simple, explained projection: a straight line through recent points (least squares)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_POINTS = 3


@dataclass(frozen=True)
class Projection:
    slope_per_day: float
    points: list[tuple[datetime, float]]   # the projected moments and values (never below 0)


def project_linear(history: list[tuple[datetime, float | None]], horizon_days: list[int]) -> Projection | None:
    """Fit value = a + b * day over the known points; None with fewer than three known points."""
    known = [(moment, value) for moment, value in history if value is not None]
    if len(known) < MIN_POINTS:
        return None
    origin = known[0][0]
    xs = [(moment - origin).total_seconds() / 86400 for moment, _ in known]
    ys = [value for _, value in known]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = 0.0 if spread == 0 else sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread
    intercept = mean_y - slope * mean_x
    last = known[-1][0]
    points = []
    for days in horizon_days:
        moment = last + timedelta(days=days)
        x = (moment - origin).total_seconds() / 86400
        points.append((moment, max(0.0, intercept + slope * x)))
    return Projection(slope, points)
