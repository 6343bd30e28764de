"""Dates, times and durations as people type them, in Dutch and English.

One place for every time input: command arguments (`!session new … dinsdag 14 uur`,
`!remindme morgen 9:00 …`, `--closing-within 3mnd`) and the config (`max_command_age: 15m`).
Pure functions; durations live in config/durations.py, which the config reads too. Errors carry an
English msgid and parameters; the framework turns them into BadArgument."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
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
              "tonight": 0, "morgen": 1, "tomorrow": 1, "overmorgen": 2, "vannacht": 0}
_PART_OF_DAY = {"vanavond": 20, "tonight": 20, "vanmiddag": 14, "vanochtend": 9, "vanmorgen": 9, "vannacht": 2}
_MONTHS = {"januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7, "augustus": 8,
           "september": 9, "oktober": 10, "november": 11, "december": 12,
           "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8, "october": 10}
# "eind volgende week", "end of next week", "begin januari", "early January", "eind maart"
_WEEK_END = re.compile(r"^(?:eind|einde|end|end of|aan het eind van|at end of)\s+(?:de\s+)?(volgende|next|deze|this)\s+week$")
_MONTH_EDGE = re.compile(r"^(begin|start of|early|eind|einde|end of|late)\s+([a-z]+)(?:\s+(\d{4}))?$")
_RELATIVE = re.compile(r"^(?:in|over|binnen)\s+(\d{1,4}|een|an|a|één)\s*([a-z]+)$")
_HAS_TIME = re.compile(r"\d{1,2}[:.h]\d{2}|\d\s*(?:am|pm|a\.m\.|p\.m\.)\b|\bnoon\b|\bmidnight\b|\bmiddernacht\b"
                       r"|\d\s*(?:uur|u)\b")
_NUMBER_ONLY = re.compile(r"^[\d\s.,:/-]*$")
DEFAULT_HOUR = 9  # a day without a time means the start of the working day


@dataclass(frozen=True)
class Resolved:
    when: datetime        # aware, UTC
    had_time: bool        # the phrase named a time of day (else DEFAULT_HOUR was used)


# ----------------------------------------------------------------------------- clock words
# "half drie", "kwart over vier", "tien over half drie", "half past two", "quarter to nine",
# "'s middags", "vanavond om acht uur": read as a clock time `H:MM`, with the half of the day
# from the words around it. Without such words a clock read from words (or `om 3`, `3 uur`)
# is meant in the daytime sense: 1-6 o'clock is the afternoon (half drie = 14:30); 02:30 only
# where the phrase says night (vannacht, 's nachts, at night).
_HOUR_WORDS = {
    "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8,
    "negen": 9, "tien": 10, "elf": 11, "twaalf": 12,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}
_MINUTE_WORDS = {"een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8,
                 "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14, "kwart": 15,
                 "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "twenty": 20,
                 "quarter": 15, "a quarter": 15, "twenty-five": 25, "twenty five": 25}
_H = r"(\d{1,2}|" + "|".join(sorted(_HOUR_WORDS, key=len, reverse=True)) + r")"
_M = r"(\d{1,2}|" + "|".join(sorted((re.escape(w) for w in _MINUTE_WORDS), key=len, reverse=True)) + r")"
# Parts of the day: the word, and which half of the clock it means.
_PARTS = [
    (r"'s\s+middags|vanmiddag|in\s+the\s+afternoon|this\s+afternoon", "pm"),
    (r"'s\s+avonds|vanavond|tonight|in\s+the\s+evening|this\s+evening", "evening"),
    (r"'s\s+ochtends|'s\s+morgens|vanochtend|vanmorgen|in\s+the\s+morning|this\s+morning", "am"),
    (r"'s\s+nachts|vannacht|at\s+night", "night"),
]
_COMPOUND_DAYS = {"morgenochtend": "morgen 's ochtends", "morgenvroeg": "morgen 's ochtends",
                  "morgenmiddag": "morgen 's middags", "morgenavond": "morgen 's avonds",
                  "morgennacht": "morgen 's nachts"}


def _hour(word: str) -> int | None:
    value = _HOUR_WORDS.get(word) if not word.isdigit() else int(word)
    return value if value is not None and 0 <= value <= 24 else None


def _in_half(hour: int, minute: int, part: str | None) -> tuple[int, int]:
    """A 12-hour clock reading (or a bare hour) on the 24-hour clock, by the part of the day."""
    if hour > 12 or hour == 0:
        return hour % 24, minute
    if part in ("pm", "evening"):
        return (hour % 12) + 12, minute
    if part == "night":
        return hour % 12, minute
    if part is None and 1 <= hour <= 6:
        return hour + 12, minute   # the daytime sense: half drie = 14:30
    return hour, minute


def _clock_words(t: str) -> str:
    for word, phrase in _COMPOUND_DAYS.items():
        t = re.sub(rf"\b{word}\b", phrase, t)
    part = next((name for pattern, name in _PARTS if re.search(pattern, t)), None)
    # "aan het eind van de middag", "end of the afternoon": late afternoon
    t = re.sub(r"\b(?:aan\s+)?(?:het\s+)?(?:eind|einde)\s+van\s+de\s+middag\b|\b(?:at\s+)?(?:the\s+)?end\s+of\s+the\s+afternoon\b",
               " 17:00 ", t)

    def put(hour: int, minute: int, digits: bool = False) -> str:
        h, m = _in_half(hour, minute, part)
        return f" {h}:{m:02d} "

    def minutes(word: str) -> int | None:
        if word.isdigit():
            return int(word) if 0 < int(word) < 30 else None
        return _MINUTE_WORDS.get(word)

    def sub(pattern: str, fn) -> None:
        nonlocal t
        t = re.sub(pattern, fn, t)

    # Dutch, longest first: "tien over half drie" = 2:40, "vijf voor half vier" = 3:25
    def around_half(m):
        n, h = minutes(m.group(1)), _hour(m.group(3))
        if n is None or h is None or not 1 <= h <= 12:
            return m.group(0)
        base = (h - 1) * 60 + 30 + (n if m.group(2) == "over" else -n)
        return put(base // 60 or 12, base % 60)
    sub(rf"\b{_M}\s+(over|voor)\s+half\s+{_H}\b", around_half)

    def half(m):
        h = _hour(m.group(1))
        return m.group(0) if h is None or not 1 <= h <= 12 else put(h - 1 or 12, 30)
    sub(rf"\bhalf\s+{_H}\b(?!\s*(?:uur|jaar|dag|week|maand|u\b))", half)

    def past_to(m):
        n, h = minutes(m.group(1)), _hour(m.group(3))
        if n is None or h is None or not 1 <= h <= 12:
            return m.group(0)
        if m.group(2) in ("over", "past", "after"):
            return put(h, n)
        base = h * 60 - n
        return put(base // 60 or 12, base % 60)
    sub(rf"\b(?:a\s+)?{_M}\s+(over|voor|past|to|after|before)\s+{_H}\b(?!\s*(?:uur|u\b|hours?|minut|dag|days?|week|weken|weeks?))", past_to)

    def half_past(m):
        h = _hour(m.group(1))
        return m.group(0) if h is None or not 1 <= h <= 12 else put(h, 30)
    sub(rf"\bhalf\s+past\s+{_H}\b", half_past)

    # "drie uur", "3 uur", "eight o'clock": whole hours
    def whole(m):
        h = _hour(m.group(1))
        return m.group(0) if h is None or h > 24 else put(h, 0, digits=m.group(1).isdigit())
    sub(rf"(?<!over )(?<!in )(?<!binnen )\b{_H}\s*(?:uur|u|o'clock)\b(?![:.]?\d)", whole)
    # "om 9", "at 10", "at 8" (a bare hour after om/at, before nothing that makes it a date)
    sub(r"\b(om|at)\s+(\d{1,2})\b(?![:.,/-]?\d|\s*(?:am|pm|a\.m|p\.m|jan|feb|maa|mar|apr|mei|may|jun|jul|aug|sep|okt|oct|nov|dec|uur|u\b|h\b))",
        lambda m: put(int(m.group(2)), 0, digits=True) if 1 <= int(m.group(2)) <= 24 else m.group(0))
    # A digital clock with a part of the day: "3:00 's middags" -> 15:00
    if part is not None:
        def shifted(m):
            h, mi = int(m.group(1)), int(m.group(2))
            return put(h, mi, digits=True) if 1 <= h <= 12 else m.group(0)
        # only clocks not produced above (those are already on the 24-hour clock and >12 or fixed)
        t = re.sub(r"(?<![\d:])(\d{1,2})[:.](\d{2})(?!\d)(?=\s*(?:'s\s+\w+|vanavond|vanmiddag|tonight|afternoon|evening))",
                   shifted, t)
    # A part of the day without a clock: its usual hour ("morgenmiddag" = tomorrow 14:00).
    if part is not None and not re.search(r"\d{1,2}:\d{2}|\d\s*(?:am|pm)\b|\bnoon\b", t):
        t = re.sub(r"'s\s+(?:middags|avonds|ochtends|morgens|nachts)|in\s+the\s+(?:afternoon|evening|morning)",
                   {"pm": " 14:00 ", "evening": " 20:00 ", "am": " 9:00 ", "night": " 2:00 "}[part], t, count=1)
    # The day-part words are read; keep the day they name.
    t = re.sub(r"'s\s+(?:middags|avonds|ochtends|morgens|nachts)|in\s+the\s+(?:afternoon|evening|morning)|at\s+night"
               r"|this\s+(?:afternoon|evening|morning)", " ", t)
    return " ".join(t.split())


def _normalise(text: str) -> str:
    t = " ".join(text.lower().replace("\u00a0", " ").replace("’", "'").split())
    t = re.sub(r"^(?:in|over|binnen)\s+(?:een\s+)?half\s+uur$", "over 30 min", t)   # "over een half uur"
    t = re.sub(r"^(?:in|over|binnen)\s+anderhalf\s+uur$", "over 90 min", t)
    t = re.sub(r"^in\s+(?:an|one)\s+hour\s+and\s+a\s+half$", "in 90 min", t)
    t = re.sub(r"^in\s+half\s+an\s+hour$", "in 30 min", t)
    t = re.sub(r"^(in|over|binnen)\s+([a-zé]+)\s+(?=[a-z]+$)",
               lambda m: f"{m.group(1)} {_HOUR_WORDS[m.group(2)]} " if m.group(2) in _HOUR_WORDS and m.group(2) not in
               ("een", "één", "one") else m.group(0), t)
    if _RELATIVE.match(t):
        return t  # "over 2 uur" is a duration, not two o'clock
    t = _clock_words(t)
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
        candidate = _local(now, tz, _DAY_WORDS[rest[0]], hm2)
        if rest[0] == "vannacht" and candidate <= local_now:   # tonight's small hours are tomorrow's date
            candidate = _local(now, tz, 1, hm2)
        return Resolved(candidate.astimezone(timezone.utc), hm is not None or rest[0] in _PART_OF_DAY)
    # "eind volgende week": the Friday of that week
    m = _WEEK_END.match(" ".join(rest))
    if m:
        monday = local_now.date() - timedelta(days=local_now.weekday())
        if m.group(1) in ("volgende", "next"):
            monday += timedelta(days=7)
        friday = monday + timedelta(days=4)
        hm2 = hm or (DEFAULT_HOUR, 0)
        return Resolved(datetime(friday.year, friday.month, friday.day, *hm2, tzinfo=tz).astimezone(timezone.utc),
                        hm is not None)
    # "begin januari": the first working day of the month; "eind maart": the last
    m = _MONTH_EDGE.match(" ".join(rest))
    if m and m.group(2) in _MONTHS:
        month = _MONTHS[m.group(2)]
        year = int(m.group(3)) if m.group(3) else local_now.year + (month < local_now.month)
        hm2 = hm or (DEFAULT_HOUR, 0)
        if m.group(1) in ("begin", "start of", "early"):
            day = date(year, month, 2 if month == 1 else 1)   # not New Year's Day
            while day.weekday() >= 5:
                day += timedelta(days=1)
        else:
            day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
            while day.weekday() >= 5:
                day -= timedelta(days=1)
        return Resolved(datetime(day.year, day.month, day.day, *hm2, tzinfo=tz).astimezone(timezone.utc),
                        hm is not None)
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


WORKING_HOURS = (9, 17)   # a meeting slot read from "over 2 weken" is put between these hours


def _relative_days(text: str) -> bool:
    """`over 2 weken`, `in 3 days`: a relative phrase counted in days or more (its clock time is
    the clock time of now, which says nothing about when to meet)."""
    m = _RELATIVE.match(text)
    if not m:
        return False
    try:
        return parse_duration(f"1{m.group(2)}") >= timedelta(days=1)
    except TimeParseError:
        return False


def in_working_hours(when: datetime, tz: ZoneInfo) -> datetime:
    """The same day at now's clock time rounded up to the quarter hour, kept inside working
    hours: a relative slot computed at 00:40 becomes 09:00 that day, not 00:40."""
    local = when.astimezone(tz)
    minutes = local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)
    minutes = -(-minutes // 15) * 15
    minutes = min(max(minutes, WORKING_HOURS[0] * 60), WORKING_HOURS[1] * 60)
    return datetime(local.year, local.month, local.day, minutes // 60, minutes % 60, tzinfo=tz).astimezone(timezone.utc)


def parse_when(raw: str, *, lang: str, tz: str, now: datetime, working_hours: bool = False) -> Resolved:
    """A point in time after `now`, from what people type: `2026-12-03 14:00`,
    `3 december 14:00`, `next tuesday 14:00`, `dinsdag 14 uur`, `morgen 9:00`,
    `tomorrow 9am`, `in 4 minutes`, `over 2 uur`. A day without a time means 09:00.
    `working_hours` (meeting slots): "over 2 weken" keeps now's clock time only inside
    WORKING_HOURS, rounded to the quarter hour; at night it is the start of the working day.
    Raises TimeParseError for nonsense and for times in the past."""
    zone = ZoneInfo(tz)
    text = _normalise(raw)
    if not text or _NUMBER_ONLY.match(text) and not _time_of(text) and not re.search(r"\d[/-]\d", text):
        raise TimeParseError("I could not read {value} as a date and time. Example: {example}.",
                             value=raw.strip()[:60], example=example(lang))
    resolved = _rule_based(text, now, zone) or _with_dateparser(text, lang, zone, now)
    if resolved is not None and working_hours and _relative_days(text):
        resolved = Resolved(in_working_hours(resolved.when, zone), True)
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


# Words that join a time to what follows it; a time phrase never ends in one.
_CONNECTORS = frozenset("about to the a an aan de het om at on op over for voor in met with and en "
                        "that dat of van".split())


def split_when(raw: str, *, lang: str, tz: str, now: datetime, max_words: int = 7) -> tuple[Resolved, str]:
    """`morgen 9:00 bel Rotterdam` -> (tomorrow 09:00, "bel Rotterdam"): the longest
    leading phrase that reads as a time, and the rest. Raises like parse_when."""
    words = raw.split()
    first_error: TimeParseError | None = None
    for n in range(min(max_words, len(words) - 1), 0, -1):
        if words[n - 1].lower().strip(",:;") in _CONNECTORS:
            continue   # "friday at 3pm about the deadline": "about" belongs to the text
        try:
            return parse_when(" ".join(words[:n]), lang=lang, tz=tz, now=now), " ".join(words[n:])
        except TimeParseError as exc:
            if "past" in exc.message and first_error is None:
                first_error = exc
    raise first_error or TimeParseError("I could not read {value} as a date and time. Example: {example}.",
                                        value=" ".join(words[:3])[:60], example=example(lang))
