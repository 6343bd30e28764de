"""Dates, times and durations as people type them, in Dutch and English.

One place for every time input: command arguments (`!session new … dinsdag 14 uur`,
`!remindme morgen 9:00 …`, `--closing-within 3mnd`) and the config (`max_command_age: 15m`).
Pure functions; durations live in config/durations.py, which the config reads too. Errors carry an
English msgid and parameters; the framework turns them into BadArgument."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from config.durations import DAY, TimeParseError, parse_duration  # noqa: F401 (parse_duration, TimeParseError: part of this module's API)

def human_duration(delta: timedelta, lang: str = "en") -> str:
    """Compact and unambiguous both ways: `90min`, `2h`, `3d`, `2w`."""
    s = int(delta.total_seconds())
    units = (("w", 7 * DAY), ("d", DAY), ("h", 3600), ("min", 60)) if lang == "en" else \
            (("w", 7 * DAY), ("d", DAY), ("u", 3600), ("min", 60))
    for unit, size in units:
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


# ----------------------------------------------------------------------------- points in time
_WEEKDAYS = {
    "maandag": 0, "dinsdag": 1, "woensdag": 2, "donderdag": 3, "vrijdag": 4, "zaterdag": 5, "zondag": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "ma": 0, "di": 1, "wo": 2, "do": 3, "vr": 4, "za": 5, "zo": 6,
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6,
}
_DAY_WORDS = {"vandaag": 0, "today": 0, "vanavond": 0, "vanmiddag": 0, "vanochtend": 0, "vanmorgen": 0,
              "tonight": 0, "morgen": 1, "tomorrow": 1, "overmorgen": 2}
_PART_OF_DAY = {"vanavond": 20, "tonight": 20, "vanmiddag": 14, "vanochtend": 9, "vanmorgen": 9}
_RELATIVE = re.compile(r"^(?:in|over|binnen)\s+(\d{1,4}|een|an|a|één)\s*([a-z]+)$")
_HAS_TIME = re.compile(r"\d{1,2}[:.h]\d{2}|\d\s*(?:am|pm|a\.m\.|p\.m\.)\b|\bnoon\b|\bmidnight\b|\bmiddernacht\b"
                       r"|\d\s*(?:uur|u)\b")
_NUMBER_ONLY = re.compile(r"^[\d\s.,:/-]*$")
DEFAULT_HOUR = 9  # a day without a time means the start of the working day


@dataclass(frozen=True)
class Resolved:
    when: datetime        # aware, UTC
    had_time: bool        # the phrase named a time of day (else DEFAULT_HOUR was used)


def _normalise(text: str) -> str:
    t = " ".join(text.lower().replace("\u00a0", " ").split())
    if _RELATIVE.match(t):
        return t  # "over 2 uur" is a duration, not two o'clock
    t = re.sub(r"\b(\d{1,2})\s*u\s*(\d{2})\b", r"\1:\2", t)              # 9u30 -> 9:30
    t = re.sub(r"\b(\d{1,2})(?:[.:](\d{2}))?\s*(?:uur|u)\b",              # 14 uur, 14u, 9.30 uur
               lambda m: f"{m.group(1)}:{m.group(2) or '00'}", t)
    t = re.sub(r"\b(\d{1,2})h(\d{2})\b", r"\1:\2", t)                      # 14h30
    t = re.sub(r"\b(om|at|op|on|de|the|'s)\b", " ", t)                     # "morgen om 9:00", "on monday"
    return " ".join(t.split())


def _time_of(text: str) -> tuple[int, int] | None:
    m = re.search(r"\b(\d{1,2})[:.](\d{2})\b", text)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return int(m.group(1)), int(m.group(2))
    m = re.search(r"\b(\d{1,2})\s*(am|pm)\b", text)
    if m and 1 <= int(m.group(1)) <= 12:
        hour = int(m.group(1)) % 12 + (12 if m.group(2) == "pm" else 0)
        return hour, 0
    if re.search(r"\bnoon\b", text):
        return 12, 0
    return None


def _local(now: datetime, tz: ZoneInfo, days: int, hm: tuple[int, int]) -> datetime:
    day = (now.astimezone(tz) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=tz)


def _rule_based(text: str, now: datetime, tz: ZoneInfo) -> Resolved | None:
    """Phrases dateparser gets wrong or does not know (checked against a corpus)."""
    words = text.split()
    hm = _time_of(text)
    rest = [w for w in words if not re.fullmatch(r"\d{1,2}[:.]\d{2}|\d{1,2}(am|pm)|am|pm|noon", w)]
    local_now = now.astimezone(tz)
    # "volgende week dinsdag", "next week tuesday", "dinsdag volgende week"
    if len(rest) == 3 and ({"volgende", "week"} <= set(rest) or {"next", "week"} <= set(rest)):
        day = [w for w in rest if w in _WEEKDAYS]
        if day:
            monday_next = local_now.date() - timedelta(days=local_now.weekday()) + timedelta(days=7)
            target = monday_next + timedelta(days=_WEEKDAYS[day[0]])
            hm2 = hm or (DEFAULT_HOUR, 0)
            return Resolved(datetime(target.year, target.month, target.day, *hm2, tzinfo=tz).astimezone(timezone.utc),
                            hm is not None)
    # "volgende dinsdag", "aanstaande vrijdag", "next friday", "dinsdag", "tue"
    if rest and rest[-1] in _WEEKDAYS and (len(rest) == 1 or (len(rest) == 2 and rest[0] in (
            "volgende", "aanstaande", "komende", "next", "this", "deze"))):
        ahead = (_WEEKDAYS[rest[-1]] - local_now.weekday()) % 7
        hm2 = hm or (DEFAULT_HOUR, 0)
        candidate = _local(now, tz, ahead, hm2)
        if candidate <= local_now:
            candidate = _local(now, tz, ahead + 7, hm2)
        return Resolved(candidate.astimezone(timezone.utc), hm is not None)
    # "vanavond", "morgen", "overmorgen", with or without a time
    if len(rest) == 1 and rest[0] in _DAY_WORDS:
        hm2 = hm or ((_PART_OF_DAY[rest[0]], 0) if rest[0] in _PART_OF_DAY else (DEFAULT_HOUR, 0))
        return Resolved(_local(now, tz, _DAY_WORDS[rest[0]], hm2).astimezone(timezone.utc),
                        hm is not None or rest[0] in _PART_OF_DAY)
    # A bare time: the next time the clock shows it
    if not rest and hm:
        candidate = _local(now, tz, 0, hm)
        if candidate <= local_now:
            candidate = _local(now, tz, 1, hm)
        return Resolved(candidate.astimezone(timezone.utc), True)
    # "in 4 minutes", "over 2 uur", "over een week"
    m = _RELATIVE.match(text)
    if m:
        amount = 1 if m.group(1) in ("een", "an", "a", "één") else int(m.group(1))
        try:
            delta = parse_duration(f"{amount}{m.group(2)}")
        except TimeParseError:
            return None
        return Resolved((now + delta).astimezone(timezone.utc), True)
    return None


def parse_when(raw: str, *, lang: str, tz: str, now: datetime) -> Resolved:
    """A point in time after `now`, from what people type: `2026-12-03 14:00`,
    `3 december 14:00`, `next tuesday 14:00`, `dinsdag 14 uur`, `morgen 9:00`,
    `tomorrow 9am`, `in 4 minutes`, `over 2 uur`. A day without a time means 09:00.
    Raises TimeParseError for nonsense and for times in the past."""
    zone = ZoneInfo(tz)
    text = _normalise(raw)
    if not text or _NUMBER_ONLY.match(text) and not _time_of(text) and not re.search(r"\d[/-]\d", text):
        raise TimeParseError("I could not read {value} as a date and time. Example: {example}.",
                             value=raw.strip()[:60], example=example(lang))
    resolved = _rule_based(text, now, zone) or _with_dateparser(text, lang, zone, now)
    if resolved is None:
        raise TimeParseError("I could not read {value} as a date and time. Example: {example}.",
                             value=raw.strip()[:60], example=example(lang))
    if resolved.when <= now:
        raise TimeParseError("{value} is in the past. Example: {example}.", value=raw.strip()[:60],
                             example=example(lang))
    return resolved


def example(lang: str) -> str:
    return "dinsdag 14:00, morgen 9:00, 3 december 14:00" if lang == "nl" else \
        "tuesday 14:00, tomorrow 9am, 3 December 14:00"


_dateparser = None


def _with_dateparser(text: str, lang: str, zone: ZoneInfo, now: datetime) -> Resolved | None:
    global _dateparser
    if _dateparser is None:  # imported on first use: it takes ~0.5 s and most commands never need it
        import dateparser
        _dateparser = dateparser
    base = now.astimezone(zone).replace(tzinfo=None)
    settings = {"PREFER_DATES_FROM": "future", "TIMEZONE": str(zone.key), "RETURN_AS_TIMEZONE_AWARE": True,
                "RELATIVE_BASE": base, "DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first",
                "STRICT_PARSING": False}
    order = [lang, "en" if lang == "nl" else "nl"]
    for language in order:
        try:
            value = _dateparser.parse(text, languages=[language], settings=settings)
        except Exception:  # noqa: BLE001 - dateparser raises odd errors on odd input; that is "not a date"
            value = None
        if value is not None:
            break
    else:
        return None
    had_time = bool(_HAS_TIME.search(text))
    local = value.astimezone(zone)
    if not had_time and not re.search(r"\b(in|over|binnen|ago|geleden|next|volgende)\b", text):
        local = datetime(local.year, local.month, local.day, DEFAULT_HOUR, 0, tzinfo=zone)
    if local.year > now.year + 5 and str(local.year) not in text:  # misreadings land decades away
        return None
    return Resolved(local.astimezone(timezone.utc), had_time)


def split_when(raw: str, *, lang: str, tz: str, now: datetime, max_words: int = 7) -> tuple[Resolved, str]:
    """`morgen 9:00 bel Rotterdam` -> (tomorrow 09:00, "bel Rotterdam"): the longest
    leading phrase that reads as a time, and the rest. Raises like parse_when."""
    words = raw.split()
    first_error: TimeParseError | None = None
    for n in range(min(max_words, len(words) - 1), 0, -1):
        try:
            return parse_when(" ".join(words[:n]), lang=lang, tz=tz, now=now), " ".join(words[n:])
        except TimeParseError as exc:
            if "past" in exc.message and first_error is None:
                first_error = exc
    raise first_error or TimeParseError("I could not read {value} as a date and time. Example: {example}.",
                                        value=" ".join(words[:3])[:60], example=example(lang))
