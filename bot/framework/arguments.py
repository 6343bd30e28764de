"""Argument declarations and converters. A command declares each argument once;
parsing, validation messages and `!help` usage all come from that declaration."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Sequence
from zoneinfo import available_timezones

from rapidfuzz import process

from bot.framework.errors import BadArgument
from bot.framework.timeparse import TimeParseError, human_duration, parse_duration, parse_when, split_when
from bot.framework.i18n import N_

if TYPE_CHECKING:
    from bot.framework.context import Context


class Converter:
    """Turns one raw string into a typed value or raises BadArgument (English msgid)."""

    metavar = N_("text")

    async def convert(self, raw: str, ctx: "Context") -> Any:
        return raw


class Text(Converter):
    metavar = N_("text")

    def __init__(self, max_length: int = 4000):
        self.max_length = max_length

    async def convert(self, raw, ctx):
        raw = raw.strip()
        if len(raw) > self.max_length:
            raise BadArgument("That text is too long ({length} characters; at most {max}).",
                              length=len(raw), max=self.max_length)
        return raw


class Word(Text):
    metavar = N_("word")


class Int(Converter):
    metavar = N_("number")

    def __init__(self, minimum: int | None = None, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum

    async def convert(self, raw, ctx):
        cleaned = raw.strip().lstrip("#")
        if not re.fullmatch(r"-?\d{1,12}", cleaned):
            raise BadArgument("{value} is not a whole number.", value=raw[:50])
        value = int(cleaned)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise BadArgument("{value} is out of range ({minimum}–{maximum}).", value=value,
                              minimum=self.minimum if self.minimum is not None else "…",
                              maximum=self.maximum if self.maximum is not None else "…")
        return value


class Duration(Converter):
    """`90s`, `10min`, `1h30m`, `3d`, `2w`, `3mnd`, `1y`, `10 minuten` (bot.framework.timeparse).

    `m_means="ask"` for windows measured in days: `6m` is then answered with a question
    (minutes or months?) instead of silently meaning six minutes."""

    metavar = N_("duration")

    def __init__(self, minimum: timedelta = timedelta(seconds=1), maximum: timedelta = timedelta(days=366),
                 m_means: str | None = None):
        self.minimum, self.maximum = minimum, maximum
        self.m_means = m_means or ("ask" if minimum >= timedelta(days=1) else "minutes")

    async def convert(self, raw, ctx):
        try:
            value = parse_duration(raw, m_means=self.m_means)
        except TimeParseError as exc:
            raise BadArgument(exc.message, **exc.params) from None
        if not self.minimum <= value <= self.maximum:
            raise BadArgument("The duration must be between {minimum} and {maximum}.",
                              minimum=human_duration(self.minimum, ctx.lang), maximum=human_duration(self.maximum, ctx.lang))
        return value


class When(Converter):
    """A future point in time as people type it, in the user's language and zone:
    `dinsdag 14 uur`, `morgen 9:00`, `next tuesday 14:00`, `3 december 14:00`, `in 4 minutes`."""

    metavar = N_("date and time")

    def __init__(self, maximum: timedelta = timedelta(days=3 * 366), *, working_hours: bool = False):
        self.maximum = maximum
        self.working_hours = working_hours   # a meeting: "in 2 weeks" never lands in the night

    async def convert(self, raw, ctx):
        try:
            resolved = parse_when(raw, lang=ctx.lang, tz=ctx.tz, now=ctx.now, working_hours=self.working_hours)
        except TimeParseError as exc:
            raise BadArgument(exc.message, **exc.params) from None
        if resolved.when - ctx.now > self.maximum:
            raise BadArgument("{value} is too far ahead.", value=raw.strip()[:60])
        return resolved.when


class DelayOrMoment(Converter):
    """Greedy: a delay (`10m`, `2h`) or the longest leading phrase that reads as a moment
    (`morgen 9:00`, `tomorrow 9am`, `dinsdag 14 uur`); the words after it are left for
    the next argument. Returns an aware UTC datetime."""

    metavar = N_("when")

    def __init__(self, maximum: timedelta = timedelta(days=366)):
        self.maximum = maximum

    async def consume(self, words: list[str], ctx: "Context") -> tuple[Any, int]:
        try:
            delay = parse_duration(words[0])
        except TimeParseError:
            delay = None
        if delay is not None:
            if not timedelta(seconds=1) <= delay <= self.maximum:
                raise BadArgument("The duration must be between {minimum} and {maximum}.",
                                  minimum="1s", maximum=human_duration(self.maximum, ctx.lang))
            return ctx.now + delay, 1
        try:
            resolved, rest = split_when(" ".join(words) + " .", lang=ctx.lang, tz=ctx.tz, now=ctx.now)
        except TimeParseError as exc:
            raise BadArgument(exc.message, **exc.params) from None
        if resolved.when - ctx.now > self.maximum:
            raise BadArgument("{value} is too far ahead.", value=" ".join(words)[:60])
        return resolved.when, len(words) - len(rest.split()) + 1

    async def convert(self, raw, ctx):
        value, _ = await self.consume(raw.split(), ctx)
        return value


class Choice(Converter):
    """One of a fixed set; `synonyms` maps other spellings (e.g. Dutch) to a choice."""

    metavar = N_("choice")

    def __init__(self, choices: Sequence[str], synonyms: dict[str, str] | None = None,
                 dutch: dict[str, str] | None = None):
        self.choices = list(choices)
        self.lookup = {c.lower(): c for c in self.choices}
        self.lookup.update({k.lower(): v for k, v in (synonyms or {}).items()})
        # The word a Dutch error lists for a choice (`nationaal`, not `national`); accepted too.
        self.dutch = dict(dutch or {})
        self.lookup.update({v.lower(): k for k, v in self.dutch.items()})

    async def convert(self, raw, ctx):
        key = raw.strip().lower()
        if key in self.lookup:
            return self.lookup[key]
        dutch = getattr(ctx, "lang", "en") == "nl" and self.dutch
        words = [self.dutch.get(c, c) for c in self.choices] if dutch else self.choices
        # Suggest words of the reader's language only.
        pool = [k for k in self.lookup if not dutch or k in {w.lower() for w in words} or k not in self.choices]
        close = [m[0] for m in process.extract(key, pool, limit=3, score_cutoff=60)]
        raise BadArgument("{value} is not one of: {choices}.", value=raw[:50],
                          choices=", ".join(words), suggestions=close)


_MONEY = re.compile(r"^(?:€|eur|euro)?\s*(\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?)\s*(k|m|mln|mio|miljoen|million|duizend|thousand|ton)?\s*(?:€|eur|euro)?$")
MONEY_UNITS = frozenset("k m mln mio miljoen million duizend thousand ton".split())


class Money(Converter):
    """`100000`, `100k`, `€ 100.000`, `1,5M`, `2 miljoen`, `5 ton` (100.000 each)."""

    metavar = N_("amount")

    @staticmethod
    def joins_next(word: str) -> bool:
        """`--min-budget 1 miljoen`: the unit after the number is part of the value."""
        return word.lower() in MONEY_UNITS

    async def convert(self, raw, ctx):
        m = _MONEY.match(raw.strip().lower())
        if not m:
            raise BadArgument("{value} is not an amount. Examples: 100000, 100k, 1.5M.", value=raw[:50])
        number, unit = m.group(1).replace(" ", ""), m.group(2)
        # 100.000 / 100,000 are thousands separators; 1,5 / 1.5 with a unit is a decimal.
        if re.fullmatch(r"\d{1,3}([.,]\d{3})+", number) and not unit:
            number = re.sub(r"[.,]", "", number)
        else:
            number = number.replace(",", ".")
            if number.count(".") > 1:
                number = number.replace(".", "", number.count(".") - 1)
        value = float(number)
        value *= {None: 1, "k": 1e3, "duizend": 1e3, "thousand": 1e3, "ton": 1e5}.get(unit, 1e6)
        return int(value)


class Language(Choice):
    metavar = N_("language")

    def __init__(self):
        super().__init__(["nl", "en"], {"nederlands": "nl", "dutch": "nl", "engels": "en", "english": "en",
                                        "ned": "nl", "eng": "en"})


class TimeZoneName(Converter):
    metavar = N_("time zone")
    _zones: dict[str, str] | None = None

    async def convert(self, raw, ctx):
        if TimeZoneName._zones is None:
            TimeZoneName._zones = {z.lower(): z for z in available_timezones()}
        key = raw.strip().lower()
        if key in self._zones:
            return self._zones[key]
        close = [self._zones[m[0]] for m in process.extract(key, list(self._zones), limit=3, score_cutoff=70)]
        raise BadArgument("{value} is not a time zone. Example: Europe/Amsterdam.", value=raw[:60], suggestions=close)


@dataclass
class Argument:
    name: str
    converter: Converter
    required: bool = True
    rest: bool = False  # take all remaining words
    help: str = ""
    default: Any = None


@dataclass
class Option:
    name: str
    converter: Converter | None  # None = boolean flag
    aliases: tuple[str, ...] = ()
    help: str = ""
    default: Any = None
    multiple: bool = False

    @property
    def is_flag(self) -> bool:
        return self.converter is None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class UserId(Text):
    """A Matrix user: `@name:server` (pills are turned into IDs before parsing)."""

    metavar = N_("user")

    async def convert(self, raw, ctx):
        value = raw.strip()
        if not value.startswith("@") or ":" not in value or len(value) > 255 or any(c.isspace() for c in value):
            raise BadArgument("{value} is not a Matrix user. Mention the person or write their ID, e.g. {example}.",
                              value=value[:60], example="@name:example.org")
        return value
