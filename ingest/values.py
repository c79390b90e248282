"""Parsers for single values as providers write them: whole numbers (decimal comma), Dutch and ISO
dates in Dutch time, yes/no, coded words. Each returns the value or raises ValueProblem."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from .fields import FALSE_WORDS, TRUE_WORDS

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MAX_TEXT = 500
_WHOLE = re.compile(r"\d+")
_WHOLE_WITH_ZERO_DECIMALS = re.compile(r"(\d+)[,.]0+")
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
_DECIMAL = re.compile(r"-?\d+(?:[,.]\d+)?")
_DUTCH_DATE = re.compile(r"(\d{1,2})[-/](\d{1,2})[-/](\d{4})(?:[ T]+(\d{1,2})[:.](\d{2})(?::(\d{2}))?)?")
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)


class ValueProblem(Exception):
    """A value that cannot be used, with the reason in Dutch and English."""

    def __init__(self, nl: str, en: str) -> None:
        super().__init__(en)
        self.nl, self.en = nl, en


def as_text(raw: object) -> str:
    """The raw cell as trimmed text ('' for empty)."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def parse_text(raw: object) -> str | None:
    text = as_text(raw)
    if len(text) > MAX_TEXT:
        raise ValueProblem(f"tekst is langer dan {MAX_TEXT} tekens", f"text is longer than {MAX_TEXT} characters")
    return text or None


def parse_whole(raw: object) -> int | None:
    """A whole number ≥ 0: '12', '12,0', '1.200' (thousands) or a spreadsheet number."""
    if isinstance(raw, bool):
        raise ValueProblem(f"'{raw}' is geen geheel getal", f"'{raw}' is not a whole number")
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if raw < 0:
            raise ValueProblem(f"{as_text(raw)} is negatief", f"{as_text(raw)} is negative")
        if float(raw).is_integer():
            return int(raw)
        raise ValueProblem(f"{raw} is geen geheel getal", f"{raw} is not a whole number")
    text = as_text(raw)
    if text == "":
        return None
    if _WHOLE.fullmatch(text):
        return int(text)
    match = _WHOLE_WITH_ZERO_DECIMALS.fullmatch(text)
    if match:
        return int(match.group(1))
    if _THOUSANDS.fullmatch(text):
        return int(text.replace(".", ""))
    if text.startswith("-") and _DECIMAL.fullmatch(text):
        raise ValueProblem(f"'{text}' is negatief", f"'{text}' is negative")
    raise ValueProblem(f"'{text}' is geen geheel getal ≥ 0", f"'{text}' is not a whole number ≥ 0")


def parse_decimal(raw: object) -> float | None:
    """A number with decimal comma or point, ≥ 0 (for unit conversions)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        text = as_text(raw)
        if text == "":
            return None
        if not _DECIMAL.fullmatch(text):
            raise ValueProblem(f"'{text}' is geen getal", f"'{text}' is not a number")
        value = float(text.replace(",", "."))
    if value < 0:
        raise ValueProblem(f"{as_text(raw)} is negatief", f"{as_text(raw)} is negative")
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
        moment = moment.replace(tzinfo=AMSTERDAM)
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
