"""Schedules as written in sources.toml: an interval like `15m` or a five-field cron expression."""
from __future__ import annotations

import re
from datetime import timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

TIMEZONE = "Europe/Amsterdam"
JITTER_SECONDS = 5
_INTERVAL = re.compile(r"(\d+)\s*(s|m|h|d)")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_interval(text: str) -> timedelta | None:
    """`90s`, `15m`, `6h`, `1d` as a timedelta; None when `text` is not an interval."""
    match = _INTERVAL.fullmatch(text.strip())
    if not match:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def build_trigger(text: str) -> BaseTrigger:
    """The APScheduler trigger for a schedule; ValueError with a readable reason when invalid."""
    interval = parse_interval(text)
    if interval is not None:
        if interval.total_seconds() < 1:
            raise ValueError("interval must be at least 1s")
        return IntervalTrigger(seconds=int(interval.total_seconds()), timezone=TIMEZONE,
                               jitter=min(JITTER_SECONDS, int(interval.total_seconds() // 10)) or None)
    trigger = CronTrigger.from_crontab(text.strip(), timezone=TIMEZONE)
    trigger.jitter = JITTER_SECONDS   # spread sources that share a schedule
    return trigger
