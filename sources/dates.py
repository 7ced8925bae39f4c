"""Dates as sites write them (ISO 8601, RFC 2822, epoch seconds, forum formats) -> aware UTC datetimes.

Attacker-written input: a date that cannot be read is None, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache

_EPOCH = re.compile(r"^\d{9,13}(?:\.\d+)?$")
_FORMATS = (
    "%m-%d-%Y, %I:%M %p", "%m-%d-%Y %I:%M %p", "%m-%d-%Y, %H:%M", "%m-%d-%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y, %H:%M", "%d/%m/%Y",
    "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%a %b %d, %Y %I:%M %p", "%b %d, %Y %I:%M %p", "%b %d, %Y at %I:%M %p", "%b %d, %Y",
    "%d %b %Y %H:%M", "%d %b %Y", "%d %B %Y", "%B %d, %Y",
)
_TIME_OF_DAY = re.compile(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?\b")


def parse_date(text: str | None) -> datetime | None:
    """A date from what sites write, as an aware UTC datetime; None when it cannot be read.

    Understands ISO 8601 (``2024-11-20T22:15:00+01:00``, ``2021-09-09 23:46:53.997398``,
    ``...Z``), RFC 2822 (``Wed, 20 Nov 2024 22:15:00 +0000``), MyBB's ``11-20-2024, 10:15 PM``,
    ``20/11/2024`` (day first), a few month-name forms and unix epochs (seconds or milliseconds).
    A date without a zone is taken as UTC. Relative text ("2 hours ago") gives None.
    """
    if text is None:
        return None
    raw = text if isinstance(text, str) else str(text)
    # A listing repeats its dates (every row of a day, every poll of an unchanged row): each
    # distinct text is read once. Long texts are not kept (a date is short).
    return _read_cached(raw) if len(raw) <= 128 else _read(raw)


def _read(raw: str) -> datetime | None:
    value = " ".join(raw.split())
    if not value or len(value) > 80:
        return None
    try:
        return _parse_date(value)
    except (ValueError, OverflowError, OSError, TypeError, IndexError):
        return None


_read_cached = lru_cache(maxsize=4096)(_read)


# MyBB's own format ("11-20-2024, 10:15 PM", in every listing row's title attribute), read
# without strptime; anything else, or a value it rejects, takes the general path below. The
# steps before the format list cannot read such a value, so the result is the same.
_MYBB_DATE = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4}), ([0-9]{2}):([0-9]{2}) ([AP])M")


def _mybb_date(value: str) -> datetime | None:
    match = _MYBB_DATE.fullmatch(value)
    if match is None:
        return None
    month, day, year, hour, minute = (int(g) for g in match.groups()[:5])
    if not (1 <= hour <= 12 and minute <= 59 and month >= 1):
        return None
    hour = hour % 12 + (12 if match.group(6) == "P" else 0)
    try:
        return datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:
        return None


def _parse_date(value: str) -> datetime | None:
    return _mybb_date(value) or _general_date(value)


def _general_date(value: str) -> datetime | None:
    if _EPOCH.match(value):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, tz=UTC)
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        return _utc(datetime.fromisoformat(iso))
    except ValueError:
        pass
    if "," in value or re.search(r"[+-]\d{4}$|\bGMT$|\bUTC$", value):
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            return _utc(parsed)
    for fmt in _FORMATS:
        try:
            return _utc(datetime.strptime(value, fmt))
        except ValueError:
            continue
    return None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def add_time_of_day(day: datetime, text: str) -> datetime:
    """``day`` (midnight) with the clock time found in ``text`` ("..., 09:12 PM"), if any.

    MyBB writes "Yesterday, 09:12 PM" with only the day in its title attribute.
    """
    match = _TIME_OF_DAY.search(text)
    if not match or (day.hour, day.minute, day.second) != (0, 0, 0):
        return day
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    meridiem = (match.group(4) or "").lower()
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return day
    return day + timedelta(hours=hour, minutes=minute, seconds=second)
