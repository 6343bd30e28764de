"""Neutral shapes one capability hands another through manifest contributions, so that
neither imports the other (CONTRIBUTING.md):

- `lookup`: `async (session, text) -> list[Reference]`: the things a name or id may mean
  (an instrument, a lab), best first, an exact id first of all. Brokerage resolves
  `!interest <instrument|lab|topic>` through it.
- `calendar`: `async (session, user_id, followed, t) -> list[CalendarEntry]`: what belongs
  in that person's calendar feed (their sessions and action items; deadlines of the
  `followed` references, a frozenset of (kind, id)). A contribution lists only what that
  user may see."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Reference:
    kind: str                       # "instrument", "lab", "topic"
    id: str
    title: str
    deadline: datetime | None = None    # the next one (UTC), if any
    contact: str | None = None          # a Matrix ID that answers for it (a lab's contact)
    themes: tuple[str, ...] = ()
    url: str | None = None

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
