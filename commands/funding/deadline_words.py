"""Time windows in plain deadline questions, Dutch and English: "binnenkort", "deze maand",
"dit jaar", "voor de zomer", "before March", "in the next two months", "binnen 3 weken".

    window("welke subsidies sluiten voor de zomer?", now)  -> Window(end, span) or None

Only phrases about *when something closes* are read; the words they use are returned so the
caller can leave them out of the search words. Dates are taken in the user's zone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

MONTHS = {
    "januari": 1, "january": 1, "jan": 1, "februari": 2, "february": 2, "feb": 2, "maart": 3, "march": 3, "mrt": 3,
    "mar": 3, "april": 4, "apr": 4, "mei": 5, "may": 5, "juni": 6, "june": 6, "jun": 6, "juli": 7, "july": 7,
    "jul": 7, "augustus": 8, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10,
    "october": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
NUMBERS = {"een": 1, "één": 1, "one": 1, "a": 1, "twee": 2, "two": 2, "drie": 3, "three": 3, "vier": 4, "four": 4,
           "vijf": 5, "five": 5, "zes": 6, "six": 6, "zeven": 7, "seven": 7, "acht": 8, "eight": 8, "negen": 9,
           "nine": 9, "tien": 10, "ten": 10, "twaalf": 12, "twelve": 12}
UNIT_DAYS = {"dag": 1, "dagen": 1, "day": 1, "days": 1, "week": 7, "weken": 7, "weeks": 7,
             "maand": 30, "maanden": 30, "month": 30, "months": 30, "jaar": 365, "year": 365, "years": 365}
SEASONS = {"zomer": (6, 21), "summer": (6, 21), "herfst": (9, 23), "autumn": (9, 23), "fall": (9, 23),
           "winter": (12, 21), "lente": (3, 20), "voorjaar": (3, 20), "spring": (3, 20)}
SOON_DAYS = 60

# Words that make a question about deadlines (not about the topic "closing").
DEADLINE_WORDS = frozenset("""
sluiten sluit sluitende sluitend gesloten sluitingsdatum sluitingsdata deadline deadlines verloopt verlopen
aflopen afloopt close closes closing closed due expire expires expiring
""".split())
SOON_WORDS = frozenset("binnenkort spoedig soon upcoming".split())
_NUM = r"(\d{1,3}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + ")"
_UNIT = r"(dagen|dag|days|day|weken|week|weeks|maanden|maand|months|month|jaar|years|year)"
_MONTH = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
PATTERNS = [
    ("within", re.compile(rf"\b(?:binnen|within|in|over|komende|next|de komende|the next|in de komende|in the next"
                          rf"|voor de komende|for the next)\s+{_NUM}\s+{_UNIT}\b")),
    ("next_unit", re.compile(r"\b(?:komende|volgende|next|coming)\s+(week|maand|month|jaar|year)\b")),
    ("this", re.compile(r"\b(?:deze|dit|this)\s+(week|maand|month|jaar|year)\b")),
    ("end_of_year", re.compile(r"\b(?:voor|before|by)\s+(?:het\s+)?(?:eind|einde|end)\s+(?:van\s+)?(?:het|the|of the|of)?"
                               r"\s*(?:jaar|year)\b")),
    ("season", re.compile(r"\b(?:voor|before|by)\s+(?:de\s+|het\s+|the\s+)?"
                          r"(zomer|summer|herfst|autumn|fall|winter|lente|voorjaar|spring)\b")),
    ("before_month", re.compile(rf"\b(?:voor|vóór|before|by|until|tot)\s+(?:(\d{{1,2}})\s+)?{_MONTH}\b")),
    ("coming_up", re.compile(r"\b(?:coming up|komen eraan|eraan komen|op korte termijn|binnenkort|soon|upcoming)\b")),
]


@dataclass
class Window:
    end: datetime           # deadlines up to this moment
    span: timedelta         # end - now, at least one day
    words: set[str]         # words of the phrase, to leave out of the search


def _num(raw: str) -> int:
    return int(raw) if raw.isdigit() else NUMBERS[raw]


def _end_of_day(d: date, tz) -> datetime:
    return datetime.combine(d, time(23, 59), tz)


def _next_date(month: int, day: int, today: date) -> date:
    d = date(today.year, month, day)
    return d if d > today else date(today.year + 1, month, day)


def window(text: str, now: datetime) -> Window | None:
    """The time window a question asks about, or None."""
    low = " ".join(re.findall(r"[a-zà-ÿ0-9]+", (text or "")[:2000].lower()))
    tz = now.tzinfo
    today = now.date()
    for kind, pattern in PATTERNS:
        m = pattern.search(low)
        if not m:
            continue
        if kind == "within":
            end = now + timedelta(days=min(1100, max(1, _num(m.group(1)) * UNIT_DAYS[m.group(2)])))
        elif kind == "next_unit":
            unit = m.group(1)
            if unit == "week":
                end = _end_of_day(today + timedelta(days=13 - today.weekday()), tz)
            elif unit in ("maand", "month"):
                first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                end = _end_of_day((first + timedelta(days=32)).replace(day=1) - timedelta(days=1), tz)
            else:
                end = _end_of_day(date(today.year + 1, 12, 31), tz)
        elif kind == "this":
            unit = m.group(1)
            if unit == "week":
                end = _end_of_day(today + timedelta(days=6 - today.weekday()), tz)
            elif unit in ("maand", "month"):
                end = _end_of_day((today.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1), tz)
            else:
                end = _end_of_day(date(today.year, 12, 31), tz)
        elif kind == "end_of_year":
            end = _end_of_day(date(today.year, 12, 31), tz)
        elif kind == "season":
            month, day = SEASONS[m.group(1)]
            end = datetime.combine(_next_date(month, day, today), time(0, 0), tz)
        elif kind == "before_month":
            day = int(m.group(1)) if m.group(1) else 1
            try:
                end = datetime.combine(_next_date(MONTHS[m.group(2)], min(max(day, 1), 31), today), time(0, 0), tz)
            except ValueError:   # 31 februari
                continue
        else:
            end = now + timedelta(days=SOON_DAYS)
        span = max(end - now, timedelta(days=1))
        return Window(now + span, span, set(m.group(0).split()))
    return None


def is_deadline_question(words: list[str]) -> bool:
    return any(w in DEADLINE_WORDS or w in SOON_WORDS for w in words)
