"""Neutral shapes one capability hands another through manifest contributions, so that
neither imports the other (CONTRIBUTING.md):

- `lookup`: `async (session, text, now, *, exact=False) -> list[Reference]`: the things a
  name or id may mean (an instrument, a lab), best first, an exact id first of all; with
  `exact`, only the record whose id is `text` (a primary-key read, no fuzzy scan). Brokerage
  resolves `!interest <instrument|lab|topic>` through it, and a stored interest by its id.
- `calendar`: `async (session, user_id, followed, t) -> list[CalendarEntry]`: what belongs
  in that person's calendar feed (their sessions and action items; deadlines of the
  `followed` references, a frozenset of (kind, id)). A contribution lists only what that
  user may see. It may be a `CalendarSource` instead: the same function as `entries`, and
  `version`, `async (session, user_id, followed) -> str`: a cheap fingerprint of every row
  its entries are built from (narrow columns, no entries built), so the feed's ETag, and a
  conditional GET's 304, costs one small query per contribution instead of the whole feed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable

from sqlalchemy import String, cast, func, literal, select


@dataclass(frozen=True)
class Reference:
    kind: str                       # "instrument", "lab", "topic"
    id: str
    title: str
    deadline: datetime | None = None    # the next one (UTC), if any
    contact: str | None = None          # a Matrix ID that answers for it (a lab's contact)
    themes: tuple[str, ...] = ()
    url: str | None = None
    title_nl: str | None = None         # the Dutch title, where the record has one

    def label(self, lang: str) -> str:
        """The title in `lang` where the record has it, else as stored."""
        return self.title_nl if lang == "nl" and self.title_nl else self.title

    def named(self, low: str) -> bool:
        """Is `low` (lower case, single-spaced) this thing's id or full title, in either language?"""
        return low in (self.id, self.title.lower(), (self.title_nl or "").lower())

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.id)


@dataclass(frozen=True)
class CalendarEntry:
    uid: str                        # stable across versions: a calendar replaces what it holds
    summary: str
    start: datetime                 # aware
    end: datetime | None = None     # None: a moment (a deadline), shown as a short event
    tz: str = "Europe/Amsterdam"    # the zone it is shown in (VTIMEZONE)
    status: str = "CONFIRMED"       # CONFIRMED | TENTATIVE | CANCELLED
    sequence: int = 0
    description: str = ""
    location: str = ""
    url: str | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalendarSource:
    """A `calendar` contribution with a cheap version: `version` must change whenever what
    `entries` returns for that user could (a moved, cancelled or new thing, a changed title,
    role or text); the language and zone of the reader are added by the feed."""
    entries: Callable[..., Awaitable[list[CalendarEntry]]]
    version: Callable[[Any, str, frozenset], Awaitable[str]]


_FIELD, _ROW = "\x1f", "\x1e"   # ASCII unit and record separators


def fingerprint(*columns, where=(), order_by=(), join=None):
    """A select of ONE string: every row's `columns` (NULLs as empty) joined in the
    database (group_concat / string_agg), in `order_by` order, plus the row count; a
    `CalendarSource.version` hashes it. One row back instead of one per entry: no
    per-row decoding, which is what made a version as dear as the entries themselves."""
    parts = []
    for n, col in enumerate(columns):
        if n:
            parts.append(literal(_FIELD))
        parts.append(func.coalesce(cast(col, String), ""))
    line = parts[0]
    for p in parts[1:]:
        line = line + p
    inner = select(line.label("line"))
    if join is not None:
        inner = inner.select_from(join)
    inner = inner.where(*where).order_by(*order_by).subquery()
    return select(func.count(), func.aggregate_strings(inner.c.line, _ROW)).select_from(inner)
