"""Hold-limit deadlines: elapsed hours, or hours counted only on local business days.

8 CFR 287.7(d) and the 2011 Form I-247 exclude "Saturdays, Sundays, and holidays": the 48 hours
run only during local calendar days (in the jail's time zone) that are none of those. Counting
real elapsed time per local day keeps DST days right: a 23-hour or 25-hour weekday contributes
what it really lasts. Holidays come from the ``holidays`` package with observed dates (a Saturday
holiday is observed on the Friday before, a Sunday one on the Monday after).

The deadline is the first instant after which the counted period exceeds the limit: hours that
run out exactly as an excluded day begins move it to the start of the next business day, since
the excluded days in between add nothing (``business_deadline``).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from streams.contract.timestamps import HOUR, from_datetime, to_datetime
from streams.policy.model import HoldLimit


@functools.cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@functools.cache
def holiday_calendar(country: str, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision or None, observed=True)


def is_business_day(day: date, calendar: holidays.HolidayBase) -> bool:
    return day.weekday() < 5 and day not in calendar


#: (id of a calendar, day) -> (that calendar, whether the day is a business day). The calendar is
#: kept in the value so that its id cannot be reused while the entry exists (a HolidayBase is a
#: dict, so it cannot be a key). A deadline walks a few days, and the cases of one place share
#: them; ``holidays``' own lookup is a few Python calls per day (issue 15).
_business: dict[tuple[int, date], tuple[holidays.HolidayBase, bool]] = {}
_BUSINESS_MAX = 65536


def _is_business_day(day: date, calendar: holidays.HolidayBase) -> bool:
    """``is_business_day``, remembered."""
    key = (id(calendar), day)
    known = _business.get(key)
    if known is not None:
        return known[1]
    answer = is_business_day(day, calendar)
    if len(_business) >= _BUSINESS_MAX:
        _business.clear()
    _business[key] = (calendar, answer)
    return answer


@functools.lru_cache(maxsize=8192)
def local_midnight(day: date, where: ZoneInfo) -> int:
    """Start of a local calendar day. Where midnight does not exist (a DST jump at 00:00),
    zoneinfo's fold=0 reading is used: the instant the clock reads 00:00 before the jump.

    Cached: every business-day deadline walks its days through here, and cases of one
    jurisdiction share their days (3% of a replay, issue 15); the walk moves forward in time,
    so a bounded cache keeps what is used."""
    return from_datetime(datetime(day.year, day.month, day.day, tzinfo=where))


def business_deadline(
    start: int, hours: int, where: ZoneInfo, calendar: holidays.HolidayBase
) -> int:
    """The first instant after which more than ``hours`` of business-day time have passed since
    ``start``: the limit is exceeded only *after* it.

    Time on an excluded day adds nothing to the period, so when the counted hours run out exactly
    at the end of a business day (eligible Thursday 00:00: 48 hours at Saturday 00:00), custody
    through the following weekend or holidays is still within the limit; the period exceeds it
    only once the next business day begins (Monday 00:00, Tuesday 00:00 after a Monday holiday).
    """
    remaining = hours * HOUR
    day = to_datetime(start, where).date()
    cursor = start
    while True:
        next_day = day + timedelta(days=1)
        day_end = local_midnight(next_day, where)
        if _is_business_day(day, calendar):
            available = day_end - cursor
            if remaining < available:
                return cursor + remaining
            if remaining == available:
                return _next_business_start(next_day, where, calendar)
            remaining -= available
        cursor, day = day_end, next_day


def _next_business_start(day: date, where: ZoneInfo, calendar: holidays.HolidayBase) -> int:
    """Local midnight of ``day`` or, when it is excluded, of the first business day after it."""
    while not _is_business_day(day, calendar):
        day += timedelta(days=1)
    return local_midnight(day, where)


@functools.lru_cache(maxsize=65536)
def deadline(start: int, limit: HoldLimit, zone_name: str, country: str, subdivision: str) -> int:
    """Deadline of a hold that starts at ``start`` (the moment the person became release-eligible)."""
    if limit.counting == "elapsed":
        return start + limit.hours * HOUR
    return business_deadline(
        start, limit.hours, zone(zone_name), holiday_calendar(country, subdivision)
    )
