"""How the demo's figures move, and when its providers report.

Each service's load (1.0 = every place taken) follows its trend, a yearly cycle (busiest in January) and
smooth noise. Figures are a pure function of (seed, service, moment): a report for a moment already
loaded is always the same, so it is recognised as unchanged whichever way it arrives again.
Shelters report every morning, the others every Monday; "now" reports fall on ticks of the refresh
interval.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .world import Service

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
YEAR_SECONDS = 365.25 * 86400
HISTORY_YEARS = 2
DAILY_REPORT = time(8, 0)
WEEKLY_REPORT = time(9, 0)   # on Mondays
FIRST_MONDAY = date(2024, 1, 1)
SLOW_NOISE_DAYS, SLOW_NOISE = 16, 0.07
FAST_NOISE_HOURS, FAST_NOISE = 8, 0.025
WAITING_FROM_LOAD = 0.9


@dataclass(frozen=True)
class Figures:
    valid_at: datetime
    maximum: int
    available: int
    status: str
    waiting: int
    wait_days_intake: int | None
    wait_days_treatment: int | None
    occupancy_percent: float


def figures(seed: int, service: Service, moment: datetime) -> Figures:
    """The figures of `service` true at `moment`."""
    profile = service.profile
    current = load(seed, service, moment)
    maximum = service.maximum
    available = round(maximum * (1.0 - min(1.0, current)))
    waiting = round(maximum * max(0.0, current - WAITING_FROM_LOAD) * profile.waiting_factor)
    strain = 1.0 + 1.2 * (current - profile.pressure)
    if service.care_type == "shelter":
        intake: int | None = 0 if available else 1 + waiting // 3
    else:
        intake = None if profile.intake_days is None else max(1, round(profile.intake_days * strain))
    treatment = None if profile.treatment_days is None else max(1, round(profile.treatment_days * strain))
    status = "open" if available else "waitlist" if waiting else "full"
    return Figures(moment, maximum, available, status, waiting, intake, treatment,
                   round(100 * min(1.0, current), 1))


def load(seed: int, service: Service, moment: datetime) -> float:
    profile = service.profile
    seconds = (moment - EPOCH).total_seconds()
    day = moment.astimezone(AMSTERDAM).timetuple().tm_yday
    value = (profile.pressure + profile.trend * seconds / YEAR_SECONDS
             + profile.season * math.cos(2 * math.pi * (day - 15) / 365.25)
             + SLOW_NOISE * _smooth(seed, f"{service.key}/slow", seconds / (SLOW_NOISE_DAYS * 86400))
             + FAST_NOISE * _smooth(seed, f"{service.key}/fast", seconds / (FAST_NOISE_HOURS * 3600)))
    return min(1.6, max(0.2, value))


def _smooth(seed: int, key: str, position: float) -> float:
    """Value noise in [-1, 1], eased between random values at whole positions."""
    index = math.floor(position)
    fraction = position - index
    ease = fraction * fraction * (3 - 2 * fraction)
    start, end = _random(seed, key, index), _random(seed, key, index + 1)
    return 2 * (start + (end - start) * ease) - 1


def _random(seed: int, key: str, index: int) -> float:
    digest = hashlib.blake2b(f"{seed}/{key}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# --- when reports are made -----------------------------------------------------------------------


def tick(now: datetime, seconds: int) -> datetime:
    """`now` rounded down to a whole multiple of `seconds` (UTC): the moment of a "now" report."""
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, timezone.utc)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 Dutch time of the week holding `moment`."""
    local = moment.astimezone(AMSTERDAM).date()
    return _local(local - timedelta(days=local.weekday()), time())


def history_start(moment: datetime) -> datetime:
    """The first day of the quarter two years before `moment` (Dutch time): where the history begins."""
    local = moment.astimezone(AMSTERDAM)
    return _local(date(local.year - HISTORY_YEARS, _quarter_month(local.month), 1), time())


def report_moments(service: Service, start: datetime, end: datetime, every_weeks: int = 1) -> list[datetime]:
    """The service's regular reports in [start, end): every morning for shelters, else every Monday
    (or every `every_weeks`-th Monday, counted from the first Monday of 2024)."""
    first, last = start.astimezone(AMSTERDAM).date(), end.astimezone(AMSTERDAM).date()
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    chosen = (_local(day, DAILY_REPORT) for day in days) if service.daily else (
        _local(day, WEEKLY_REPORT) for day in days
        if day.weekday() == 0 and (day - FIRST_MONDAY).days // 7 % every_weeks == 0)
    return [moment for moment in chosen if start <= moment < end]


def half_years(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime, bool]]:
    """(label like 2025-H2, from, to, whole) for the half-years in [start, end); the last one may be cut off
    at `end` (then not whole)."""
    found = []
    local = start.astimezone(AMSTERDAM).date()
    current = date(local.year, 1 if local.month < 7 else 7, 1)
    while _local(current, time()) < end:
        following = date(current.year + 1, 1, 1) if current.month == 7 else date(current.year, 7, 1)
        stop = _local(following, time())
        found.append((f"{current.year}-H{1 if current.month == 1 else 2}", max(start, _local(current, time())),
                      min(end, stop), stop <= end))
        current = following
    return found


def _quarter_month(month: int) -> int:
    return 3 * ((month - 1) // 3) + 1


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=AMSTERDAM).astimezone(timezone.utc)
