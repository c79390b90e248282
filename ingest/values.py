"""Parsers for single values as providers write them: whole numbers, decimals, Dutch and ISO dates in
Dutch time, yes/no, coded words. Each returns the value or raises ValueProblem.

Whole numbers (one rule for every count, wait and age; only the ASCII digits 0-9 are digits):
- `1200`; thousands grouped by points as Dutch providers write them, `1.200`, `1.000`, `1.000.000`, or by
  spaces, `1 000` (also non-breaking); a zero fraction after a comma or point, `12,0`, `12.00`, `1.000,0`;
- refused: a fraction that is not zero (`1,5`), a comma followed by exactly three digits (`1,000` is one
  in Dutch and a thousand in English, so it is ambiguous), a comma as thousands separator (`1,000,000`),
  a point not followed by a group of three digits or zeros (`1.0000.0`), a sign, and anything above
  MAX_WHOLE ("too large"; a number of thousands of digits is one row error, never a crash).
Moments: a clock time without offset is Dutch time; one the clock skipped or showed twice (the daylight
saving changes) is refused with a message asking for the offset (queries/moments.py).
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timezone

from queries.moments import UnclearLocalTime, dutch_local_time

from .fields import FALSE_WORDS, TRUE_WORDS

MAX_TEXT = 500
MAX_WHOLE = 1_000_000
_GROUP_SPACES = " \u00a0\u202f"
_WHOLE = re.compile(r"[0-9]+")
_POINT_THOUSANDS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")
_SPACE_THOUSANDS = re.compile(rf"[0-9]{{1,3}}(?:[{_GROUP_SPACES}][0-9]{{3}})+")
_ZERO_FRACTION = re.compile(r"([0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+),0+|([0-9]+)\.(0{1,2}|0{4,})")
_COMMA_THREE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_DECIMAL = re.compile(r"-?[0-9]+(?:[,.][0-9]+)?")
_DUTCH_DATE = re.compile(r"([0-9]{1,2})[-/]([0-9]{1,2})[-/]([0-9]{4})(?:[ T]+([0-9]{1,2})[:.]([0-9]{2})(?::([0-9]{2}))?)?")
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_NUMBER_TEXT = 40


class ValueProblem(Exception):
    """A value that cannot be used, with the reason in Dutch and English."""

    def __init__(self, nl: str, en: str) -> None:
        super().__init__(en)
        self.nl, self.en = nl, en


def as_text(raw: object) -> str:
    """The raw cell as trimmed text ('' for empty), as the provider wrote it: JSON's true and false."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def parse_text(raw: object) -> str | None:
    text = as_text(raw)
    if len(text) > MAX_TEXT:
        raise ValueProblem(f"tekst is langer dan {MAX_TEXT} tekens", f"text is longer than {MAX_TEXT} characters")
    return text or None


def parse_whole(raw: object) -> int | None:
    """A whole number from 0 to MAX_WHOLE, by the rule in the module docstring, or a spreadsheet number."""
    if isinstance(raw, bool):
        raise _not_whole(as_text(raw))
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise _not_whole(as_text(raw))
        if raw < 0:
            raise ValueProblem(f"{as_text(raw)} is negatief", f"{as_text(raw)} is negative")
        if not float(raw).is_integer():
            raise _not_whole(as_text(raw))
        return _capped(int(raw), as_text(raw))
    text = as_text(raw)
    if text == "":
        return None
    if len(text) > MAX_NUMBER_TEXT:
        raise _too_large(text)
    return _capped(_whole_from_text(text), text)


def _whole_from_text(text: str) -> int:
    if _WHOLE.fullmatch(text):
        return int(text)
    if _POINT_THOUSANDS.fullmatch(text) or _SPACE_THOUSANDS.fullmatch(text):
        return int(re.sub(f"[.{_GROUP_SPACES}]", "", text))
    if _COMMA_THREE.fullmatch(text):
        raise ValueProblem(
            f"'{text}' is niet eenduidig (een komma met drie cijfers erna kan een decimaal of duizendtal zijn); "
            "schrijf hele getallen zonder scheidingsteken (1000) of met punten (1.000)",
            f"'{text}' is ambiguous (a comma followed by three digits can be a decimal or a thousands "
            "separator); write whole numbers without separator (1000) or with points (1.000)")
    zero_fraction = _ZERO_FRACTION.fullmatch(text)
    if zero_fraction:
        return int((zero_fraction.group(1) or zero_fraction.group(2)).replace(".", ""))
    if text.startswith("-") and _DECIMAL.fullmatch(text):
        raise ValueProblem(f"'{text}' is negatief", f"'{text}' is negative")
    raise _not_whole(text)


def _capped(value: int, shown: str) -> int:
    if value > MAX_WHOLE:
        raise _too_large(shown)
    return value


def _not_whole(text: str) -> ValueProblem:
    return ValueProblem(f"'{text}' is geen geheel getal ≥ 0", f"'{text}' is not a whole number ≥ 0")


def _too_large(text: str) -> ValueProblem:
    shown = text if len(text) <= MAX_NUMBER_TEXT else f"{text[:12]}… ({len(text)} tekens)"
    shown_en = text if len(text) <= MAX_NUMBER_TEXT else f"{text[:12]}… ({len(text)} characters)"
    return ValueProblem(f"'{shown}' is te groot (meer dan {MAX_WHOLE:,})".replace(",", "."),
                        f"'{shown_en}' is too large (more than {MAX_WHOLE:,})")


def parse_decimal(raw: object) -> float | None:
    """A number with decimal comma or point, from 0 to MAX_WHOLE (for unit conversions)."""
    if isinstance(raw, bool):
        raise ValueProblem(f"'{as_text(raw)}' is geen getal", f"'{as_text(raw)}' is not a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = as_text(raw)
        if text == "":
            return None
        if len(text) > MAX_NUMBER_TEXT or not _DECIMAL.fullmatch(text):
            raise ValueProblem(f"'{text[:MAX_NUMBER_TEXT]}' is geen getal", f"'{text[:MAX_NUMBER_TEXT]}' is not a number")
        value = float(text.replace(",", "."))
    if not math.isfinite(value):
        raise ValueProblem(f"'{as_text(raw)}' is geen getal", f"'{as_text(raw)}' is not a number")
    if value < 0:
        raise ValueProblem(f"{as_text(raw)} is negatief", f"{as_text(raw)} is negative")
    if value > MAX_WHOLE:
        raise _too_large(as_text(raw))
    return value


def parse_moment(raw: object, now: datetime) -> datetime | None:
    """A moment in UTC from an ISO or Dutch date/time; times without offset are Dutch time; a date alone is
    the start of that day."""
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime.combine(raw, time())
    else:
        text = as_text(raw)
        if text == "":
            return None
        moment = _parse_moment_text(text)
    if moment.tzinfo is None:
        try:
            moment = dutch_local_time(moment)
        except UnclearLocalTime as unclear:
            raise ValueProblem(unclear.nl, unclear.en) from None
    moment = moment.astimezone(timezone.utc)
    if moment < EARLIEST:
        raise ValueProblem(f"'{as_text(raw)}' ligt vóór 2000", f"'{as_text(raw)}' is before 2000")
    if (moment - now).total_seconds() > 86400:
        raise ValueProblem(f"'{as_text(raw)}' ligt meer dan een dag in de toekomst",
                           f"'{as_text(raw)}' is more than a day in the future")
    return moment


def _parse_moment_text(text: str) -> datetime:
    match = _DUTCH_DATE.fullmatch(text)
    try:
        if not text.isascii():
            raise ValueError("only the ASCII digits 0-9 are digits")
        if match:
            day, month, year, hour, minute, second = match.groups()
            return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        return datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        raise ValueProblem(f"'{text}' is geen datum (gebruik 31-12-2025 14:30 of 2025-12-31T14:30)",
                           f"'{text}' is not a date (use 31-12-2025 14:30 or 2025-12-31T14:30)") from None


def parse_bool(raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = as_text(raw).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return None if text == "" else False
    raise ValueProblem(f"'{as_text(raw)}' is geen ja of nee", f"'{as_text(raw)}' is not yes or no")
