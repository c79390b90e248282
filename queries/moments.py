"""Moments as users give them: a bare date means the end of that day in Dutch time."""
from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .errors import CapacityError

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SHOWN_LENGTH = 40


class BadMoment(CapacityError, ValueError):
    """A moment (`at`) that is no date or timestamp; the message names the value."""


class UnclearLocalTime(ValueError):
    """A Dutch clock time that does not exist (spring forward) or exists twice (autumn); nl/en say which."""

    def __init__(self, nl: str, en: str) -> None:
        super().__init__(en)
        self.nl, self.en = nl, en


def dutch_local_time(naive: datetime) -> datetime:
    """A clock time in the Netherlands as an aware moment; UnclearLocalTime when the clock skipped it
    (last Sunday of March, 02:00-03:00) or showed it twice (last Sunday of October, 02:00-03:00): then
    only a time with its offset (+01:00 or +02:00) says which moment is meant."""
    first, second = naive.replace(tzinfo=AMSTERDAM, fold=0), naive.replace(tzinfo=AMSTERDAM, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    clock = f"{naive:%Y-%m-%d %H:%M}"
    if first.astimezone(timezone.utc).astimezone(AMSTERDAM).replace(tzinfo=None) != naive:
        raise UnclearLocalTime(
            f"{clock} bestaat niet in Nederlandse tijd (de klok sprong van 02:00 naar 03:00); schrijf de tijd "
            "met de verschuiving erbij, bijvoorbeeld 03:30+02:00",
            f"{clock} does not exist in Dutch time (the clock jumped from 02:00 to 03:00); write the time "
            "with its offset, for example 03:30+02:00")
    raise UnclearLocalTime(
        f"{clock} komt twee keer voor in Nederlandse tijd (de klok ging van 03:00 terug naar 02:00); schrijf de "
        "tijd met de verschuiving erbij: +02:00 voor de eerste keer, +01:00 voor de tweede",
        f"{clock} occurs twice in Dutch time (the clock went back from 03:00 to 02:00); write the time with "
        "its offset: +02:00 for the first time, +01:00 for the second")


def as_of(text: str | None, now: datetime | None = None) -> datetime:
    """'2026-06-30' -> the last microsecond of 30 June in Amsterdam, as UTC; a full timestamp as given
    (Dutch time when it has no offset); None -> now. BadMoment for anything else."""
    if not text:
        return (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            if not text.isascii():
                raise ValueError("only ASCII digits")
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=AMSTERDAM) - timedelta(microseconds=1)
            return end.astimezone(timezone.utc)
        moment = datetime.fromisoformat(text.strip())
        if not text.isascii():
            raise ValueError("only ASCII digits")
        if moment.tzinfo is None:
            moment = dutch_local_time(moment)
        return moment.astimezone(timezone.utc)
    except UnclearLocalTime as unclear:
        raise BadMoment(unclear.nl, unclear.en) from None
    except (ValueError, OverflowError):
        raise _bad_moment(text) from None


def _bad_moment(text: str) -> BadMoment:
    shown = text[:SHOWN_LENGTH].encode("unicode_escape").decode("ascii")
    hint_nl = hint_en = ""
    if " " in text.strip():
        hint_nl = " (een + in een adres schrijf je als %2B)"
        hint_en = " (write a + in an address as %2B)"
    return BadMoment(f"'{shown}' is geen datum (2026-06-30) of tijdstip (2026-06-30T14:00){hint_nl}",
                     f"'{shown}' is not a date (2026-06-30) or moment (2026-06-30T14:00){hint_en}")


def elapsed_days_before(moment: datetime, days: int) -> datetime:
    """`days` × 24 hours before `moment`, in elapsed time (never a wall clock across a daylight-saving change)."""
    return moment.astimezone(timezone.utc) - timedelta(days=days)


def week_ends(end: datetime, weeks: int) -> list[datetime]:
    """`weeks` moments: the ends (Sunday 23:59:59.999999 Dutch time) of the weeks before `end`, then `end`."""
    return list(_week_ends(end, weeks))


@functools.lru_cache(maxsize=64)
def _week_ends(end: datetime, weeks: int) -> tuple[datetime, ...]:
    """week_ends, remembered: every trend a page shows at one moment has the same weeks."""
    local = end.astimezone(AMSTERDAM)
    sunday = local.date() - timedelta(days=(local.weekday() + 1) % 7)
    ends = [datetime.combine(sunday - timedelta(weeks=k) + timedelta(days=1), time(), tzinfo=AMSTERDAM)
            - timedelta(microseconds=1) for k in range(weeks - 1, -1, -1)]
    past = [e.astimezone(timezone.utc) for e in ends if e < local]
    return tuple(past[-(weeks - 1):] + [end.astimezone(timezone.utc)] if weeks > 1 else [end.astimezone(timezone.utc)])


def month_ends(end: datetime, months: int) -> list[datetime]:
    """`months` moments: the ends (last microsecond, Dutch time) of the months before `end`, then `end`."""
    local = end.astimezone(AMSTERDAM)
    first_of_month = date(local.year, local.month, 1)
    ends = []
    for back in range(months - 1, 0, -1):
        year, month = divmod(first_of_month.year * 12 + first_of_month.month - 1 - (back - 1), 12)
        start_of_next = datetime.combine(date(year, month + 1, 1), time(), tzinfo=AMSTERDAM)
        ends.append((start_of_next - timedelta(microseconds=1)).astimezone(timezone.utc))
    return ends + [end.astimezone(timezone.utc)]
