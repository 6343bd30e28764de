"""The parts a digest is made of, as the capabilities that hold them contribute them
(their manifest's `digest`): new and upcoming knowledge, funding deadlines and changed
instruments, changes of followed records, planned sessions, changed labs. The digests capability asks each
contribution once per run and composes every subscriber's digest from what they return
(storage/digests/compose.py); no capability imports another to take part.

A contribution is `async (session, window) -> Parts` (and may also declare
`closing(session, now, within) -> list[Deadline]` for deadline alerts and
`alerts(session, since, now) -> list[Change]` for change alerts)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable


@dataclass(frozen=True)
class Window:
    """What one run asks for: things shared or changed after `since` and up to `cutoff`
    (the clock minus a settle time), things happening before `now + horizon`, on `topics`."""
    since: datetime
    cutoff: datetime
    now: datetime
    horizon_end: datetime
    topics: frozenset[str]


@dataclass(frozen=True)
class Item:
    id: int
    title: str
    url: str
    kind: str
    topics: tuple[str, ...]
    organisation: str | None
    event_date: datetime | None
    shared_at: datetime
    kind_label: str = ""        # English msgid of the kind, translated where shown


@dataclass(frozen=True)
class Deadline:
    id: str
    title: str
    title_nl: str | None
    at: datetime
    themes: tuple[str, ...]


@dataclass(frozen=True)
class Instrument:
    id: str
    title: str
    title_nl: str | None
    themes: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class Change:
    """A followed record changed: `field` ("deadline", "status", "budget", "conditions") went
    from `old` to `new` (None: none before/after), shown as `kind` says: "moment" (aware
    datetimes), "label" (English msgids, translated where shown), "money" (whole euros) or
    "text". `alert` marks a deadline moved earlier (shown apart, first); `news` a call
    reopened or newly forthcoming. `id` is the change's own number (one line per change)."""
    id: int
    record_id: str
    title: str
    title_nl: str | None
    themes: tuple[str, ...]
    field: str
    kind: str
    old: Any
    new: Any
    source: str                 # English msgid: where the change comes from ("the EU portal", "a facilitator")
    at: datetime
    alert: bool = False
    news: str | None = None     # "reopened" or "forthcoming"
    alerted: datetime | None = None  # told to this reader by an alert of its own at this moment


def change_key(change: Change) -> str:
    """A change's identity across runs (what `digest_change_alerts` stores per subscriber)."""
    return f"{change.record_id}#{change.id}"[:160]


@dataclass(frozen=True)
class Session:
    id: int
    title: str
    topic: str
    starts_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class LabEntry:
    id: str
    name: str
    municipality: str
    themes: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class Note:
    """A line a capability words itself under a heading of its own (brokerage's "Who
    else"), for readers who follow one of `themes`: `text(t, names)` renders it in the
    reader's language (`names("partners x")`: a command as the reader types it). It makes
    a digest worth sending when `at` is after the reader's last one."""
    key: str                    # one note per key per digest
    heading: str                # English msgid
    text: Callable[[Any, Callable[[str], str]], str]
    themes: tuple[str, ...]
    at: datetime


@dataclass
class Parts:
    """What one contribution found for a run; every list in the order the digest shows it."""
    new: list[Item] = field(default_factory=list)           # shared since `since`, oldest first
    events: list[Item] = field(default_factory=list)        # happening within the horizon, soonest first
    deadlines: list[Deadline] = field(default_factory=list)
    instruments: list[Instrument] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    labs: list[LabEntry] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)         # newest first
    changes: list[Change] = field(default_factory=list)     # recorded since `since`, oldest first


@dataclass(frozen=True)
class Contribution:
    """A capability's part in the digest (its manifest's `digest`)."""
    parts: Callable[[Any, Window], Awaitable[Parts]]
    # Instruments whose next deadline falls within `within` of `now` (deadline alerts).
    closing: Callable[..., Awaitable[list[Deadline]]] | None = None
    # `(session, since, now) -> list[Change]`: the deadline changes recorded after `since`,
    # oldest first (those with `alert` are told on their own, soon: change alerts).
    alerts: Callable[..., Awaitable[list[Change]]] | None = None


def title_key(title: str) -> str:
    """Titles compared for sameness: lower case, punctuation and spacing folded."""
    return re.sub(r"[\W_]+", " ", title.lower()).strip()
