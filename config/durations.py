"""Durations as people type them (`15m`, `24h`, `3d`, `2w`, `3mnd`, `PT15M`), in Dutch and
English: read by the config and, through bot.framework.timeparse, by every command that
takes a duration. Errors carry an English msgid and parameters (translated where shown)."""
from __future__ import annotations

import re
from datetime import timedelta

DAY = 86400
MONTH_DAYS = 30    # a "month" in a duration is 30 days, a "year" 365: windows, not calendars
YEAR_DAYS = 365


class TimeParseError(ValueError):
    """`message` is an English msgid with {placeholders} filled from `params`."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


# ----------------------------------------------------------------------------- durations
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "seconde": 1, "seconden": 1,
    "min": 60, "mins": 60, "minute": 60, "minutes": 60, "minuut": 60, "minuten": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "u": 3600, "uur": 3600, "uren": 3600,
    "d": DAY, "day": DAY, "days": DAY, "dag": DAY, "dagen": DAY,
    "w": 7 * DAY, "wk": 7 * DAY, "week": 7 * DAY, "weeks": 7 * DAY, "weken": 7 * DAY,
    "mo": MONTH_DAYS * DAY, "mon": MONTH_DAYS * DAY, "month": MONTH_DAYS * DAY, "months": MONTH_DAYS * DAY,
    "mnd": MONTH_DAYS * DAY, "mnden": MONTH_DAYS * DAY, "maand": MONTH_DAYS * DAY, "maanden": MONTH_DAYS * DAY,
    "y": YEAR_DAYS * DAY, "yr": YEAR_DAYS * DAY, "yrs": YEAR_DAYS * DAY, "year": YEAR_DAYS * DAY,
    "years": YEAR_DAYS * DAY, "j": YEAR_DAYS * DAY, "jr": YEAR_DAYS * DAY, "jaar": YEAR_DAYS * DAY,
    "jaren": YEAR_DAYS * DAY,
}
_PART = re.compile(r"(\d{1,6}(?:[.,]\d+)?)\s*([a-z]+)")
_ISO = re.compile(r"^P(?!$)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.I)


def parse_duration(raw: str, *, m_means: str = "minutes") -> timedelta:
    """`90s`, `10m`, `1h30m`, `3d`, `2w`, `3mnd`, `6 months`, `1y`, `1j`, `10 minuten`, `PT15M`.

    The bare unit `m` is minutes or months depending on the caller: `m_means="minutes"`
    for short delays (reminders, config), `"ask"` for windows measured in days (deadlines),
    where `6m` is refused with a question instead of silently meaning six minutes."""
    text = raw.strip().lower()
    iso = _ISO.match(text.upper()) if text.startswith("p") else None
    if iso:
        d, h, m, s = (float(g) if g else 0.0 for g in iso.groups())
        return timedelta(days=d, hours=h, minutes=m, seconds=s)
    compact = text.replace(" ", "")
    pos, seconds = 0, 0.0
    for match in _PART.finditer(compact):
        number, unit = match.group(1), match.group(2)
        if match.start() != pos:
            break
        if unit == "m":
            if m_means == "ask":
                raise TimeParseError("Is {value} minutes or months? Write {minutes} or {months}.",
                                     value=raw.strip()[:20], minutes=f"{number}min", months=f"{number}mnd")
            unit = "min"
        if unit not in _UNITS:
            break
        seconds += float(number.replace(",", ".")) * _UNITS[unit]
        pos = match.end()
    if pos == 0 or pos != len(compact):
        raise TimeParseError("{value} is not a duration. Examples: 10min, 2h, 3d, 1w, 3mnd, 1y.", value=raw.strip()[:50])
    return timedelta(seconds=seconds)
