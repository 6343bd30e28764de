"""When a digest is due: the first occurrence strictly after a moment, in the
subscriber's local wall time (so 09:00 stays 09:00 across DST). Pure functions.

- daily: every day at `at`.
- weekly: on `weekday` (0 = Monday) at `at`.
- monthly: on `day_of_month` (1-28, or LAST_DAY) at `at`.
A wall time that does not exist (02:30 on the spring-forward night) is the same instant
one hour later (03:30 summer time); an ambiguous one (autumn) is its first occurrence."""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from storage.digests.models import LAST_DAY

PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1), "monthly": timedelta(days=30)}


def parse_hhmm(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of `day` `at` in `zone`. zoneinfo gives a non-existent wall time
    the offset before the gap, which lands it after the gap once normalised."""
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)


def _month_day(year: int, month: int, day_of_month: int) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day_of_month == LAST_DAY else min(day_of_month, last))


def next_due(after: datetime, frequency: str, at: str, tz: str, *, weekday: int | None = 0,
             day_of_month: int | None = 1) -> datetime:
    """The first due moment strictly after `after` (aware), as an aware UTC datetime."""
    zone = ZoneInfo(tz)
    when = parse_hhmm(at)
    local_day = after.astimezone(zone).date()
    # Start a day early: the local date of `after` may already be past the occurrence.
    if frequency in ("daily", "weekly"):
        day, step = local_day - timedelta(days=1), timedelta(days=1)
        if frequency == "weekly":
            day += timedelta(days=((weekday if weekday is not None else 0) - day.weekday()) % 7)
            step = timedelta(weeks=1)
        while True:
            candidate = local_instant(day, when, zone)
            if candidate > after:
                return candidate
            day += step
    if frequency == "monthly":
        dom = day_of_month if day_of_month is not None else 1
        year, month = local_day.year, local_day.month - 1
        if month == 0:
            year, month = year - 1, 12
        while True:
            candidate = local_instant(_month_day(year, month, dom), when, zone)
            if candidate > after:
                return candidate
            month += 1
            if month == 13:
                year, month = year + 1, 1
    raise ValueError(f"unknown frequency {frequency!r}")
