"""What goes into digests, batched: `gather` asks every capability's digest contribution
(bot.framework.digest_parts) once for all due subscriptions (knowledge items since the
oldest watermark, upcoming events, funding, sessions, labs); `select_for` then picks one
subscriber's digest in memory. Nothing here knows about messages or languages: see
commands/digests/render.py for that."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.digest_parts import (
    Change, Deadline, Instrument, Item, LabEntry, Note, Parts, Session, Window, change_key, title_key,
)

# A share committed a moment after the run read the table must not slip under the
# watermark: the cut-off lags the clock by this much (the item goes in the next digest).
SETTLE = timedelta(seconds=10)
# Titles this similar (rapidfuzz token_sort_ratio) in one digest are one item.
SIMILAR_TITLE = 92
_NUMBERS = re.compile(r"\d+")


@dataclass
class Candidates:
    """Everything one run may put in any digest, indexed by topic."""
    now: datetime
    cutoff: datetime
    new_by_topic: dict[str, list[Item]] = field(default_factory=dict)  # oldest first (bisect on shared_at)
    new_keys: dict[str, list[datetime]] = field(default_factory=dict)
    events_by_topic: dict[str, list[Item]] = field(default_factory=dict)  # soonest first
    events_latest: dict[str, datetime] = field(default_factory=dict)  # newest shared_at per topic
    deadlines: list[Deadline] = field(default_factory=list)  # soonest first
    instruments: list[Instrument] = field(default_factory=list)  # newest first
    sessions: list[Session] = field(default_factory=list)  # soonest first
    labs: list[LabEntry] = field(default_factory=list)  # newest first
    notes: list[Note] = field(default_factory=list)  # newest first
    changes: list[Change] = field(default_factory=list)  # oldest first


@dataclass
class TopicPart:
    topic: str
    new: list[Item] = field(default_factory=list)
    new_more: int = 0
    events: list[Item] = field(default_factory=list)
    events_more: int = 0
    deadlines: list[Deadline] = field(default_factory=list)
    instruments: list[Instrument] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    labs: list[LabEntry] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)   # "Changed": old -> new

    @property
    def empty(self) -> bool:
        return not (self.new or self.events or self.deadlines or self.instruments or self.sessions or self.labs
                    or self.notes or self.changes)


@dataclass
class Digest:
    parts: list[TopicPart]
    fresh: int  # things new since the watermark; 0 = nothing to send
    alerts: list[Change] = field(default_factory=list)  # deadlines moved earlier: shown apart, first

    @property
    def count(self) -> int:
        return len(self.alerts) + sum(len(p.new) + len(p.events) + len(p.deadlines) + len(p.instruments)
                                      + len(p.sessions) + len(p.labs) + len(p.notes) + len(p.changes)
                                      for p in self.parts)


async def gather(session: AsyncSession, since: datetime, topics: set[str], now: datetime,
                 horizon: timedelta, sources, *, settle: timedelta = SETTLE) -> Candidates:
    """Everything a run may put in any digest, from each capability's contribution
    (`sources`: the registry's "digest" contributions), in a fixed number of queries
    whatever the number of subscribers (knowledge: 2, funding, sessions, labs: 1 each).
    `settle` protects a run's watermark; a preview moves no watermark and passes 0, so
    what was shared a moment ago shows."""
    cutoff = now - settle
    cand = Candidates(now=now, cutoff=cutoff)
    window = Window(since=since, cutoff=cutoff, now=now, horizon_end=now + horizon, topics=frozenset(topics))
    found = Parts()
    for source in sources:
        part = await source.parts(session, window)
        for name in ("new", "events", "deadlines", "instruments", "sessions", "labs", "notes", "changes"):
            getattr(found, name).extend(getattr(part, name))
    for item in found.new:
        for t in item.topics:
            if t in topics:
                cand.new_by_topic.setdefault(t, []).append(item)
    for t, items in cand.new_by_topic.items():
        cand.new_keys[t] = [i.shared_at for i in items]
    for item in found.events:
        for t in item.topics:
            if t in topics:
                cand.events_by_topic.setdefault(t, []).append(item)
                if item.shared_at > cand.events_latest.get(t, item.shared_at - SETTLE):
                    cand.events_latest[t] = item.shared_at
    cand.deadlines, cand.instruments = found.deadlines, found.instruments
    cand.sessions, cand.labs, cand.notes = found.sessions, found.labs, found.notes
    cand.changes = sorted(found.changes, key=lambda c: (c.at, c.id))
    return cand


def select_for(cand: Candidates, topics: list[str], watermark: datetime, max_items: int,
               alerted: dict[str, datetime] | None = None) -> Digest:
    """One subscriber's digest, grouped by topic in the subscriber's order; anything on
    several of their topics appears once, under the first. In memory only. `alerted`: the
    changes (change_key) already told to this subscriber by a change alert, and when: they
    stay under "Changed", marked, but are no news (they never make a digest worth sending)."""
    alerted = alerted or {}
    shown_items: set[int] = set()
    shown_titles: list[tuple[str, list[str]]] = []  # (title key, its numbers)
    shown_other: set[tuple[str, object]] = set()
    parts: list[TopicPart] = []
    alerts: list[Change] = []
    fresh = 0
    # A record whose changes this digest tells is not listed again under "New or updated".
    told = {c.record_id for c in cand.changes if c.at > watermark and set(c.themes).intersection(topics)}

    def similar(title: str) -> bool:
        # Numbers must agree: "Webinar 1" and "Webinar 2" are two items, however alike.
        key = title_key(title)
        digits = _NUMBERS.findall(key)
        return any(other_digits == digits and fuzz.token_sort_ratio(key, other) >= SIMILAR_TITLE
                   for other, other_digits in shown_titles)

    def shown(title: str) -> None:
        key = title_key(title)
        shown_titles.append((key, _NUMBERS.findall(key)))

    def take(pool, limit, kind):
        picked, more = [], 0
        for entry in pool:
            key = (kind, entry.id)
            if key in shown_other:
                continue
            if len(picked) < limit:
                picked.append(entry)
                shown_other.add(key)
            else:
                more += 1
        return picked, more

    seen_notes: set[str] = set()   # a note on several followed topics appears once
    for topic in dict.fromkeys(topics):
        part = TopicPart(topic)
        items = cand.new_by_topic.get(topic, [])
        start = bisect.bisect_right(cand.new_keys.get(topic, []), watermark)
        window = len(items) - start
        for index in range(len(items) - 1, start - 1, -1):  # newest first, no copy of the window
            item = items[index]
            if len(part.new) >= max_items:
                break
            if item.id in shown_items or similar(item.title):
                window -= 1
                continue
            part.new.append(item)
            shown_items.add(item.id)
            shown(item.title)
        part.new_more = max(0, window - len(part.new))
        fresh += len(part.new) + part.new_more

        events = cand.events_by_topic.get(topic, [])
        for index, item in enumerate(events):
            if len(part.events) >= max_items:
                part.events_more = len(events) - index
                break
            if item.id in shown_items or similar(item.title):
                continue
            part.events.append(item)
            shown_items.add(item.id)
            shown(item.title)
        # An event shared since the watermark makes the digest worth sending, shown or counted.
        fresh += cand.events_latest.get(topic, watermark) > watermark

        part.deadlines, _ = take((d for d in cand.deadlines if topic in d.themes), max_items, "funding")
        new_instr = [i for i in cand.instruments if topic in i.themes and i.updated_at > watermark and i.id not in told]
        part.instruments, _ = take(new_instr, max_items, "funding")
        fresh += len(new_instr)
        part.sessions, _ = take((s for s in cand.sessions if s.topic == topic), max_items, "session")
        fresh += sum(1 for s in part.sessions if watermark < s.created_at <= cand.cutoff)
        part.labs, more = take((lab for lab in cand.labs if topic in lab.themes and lab.updated_at > watermark),
                               max_items, "lab")
        fresh += len(part.labs) + more
        for note in cand.notes:
            if topic in note.themes and note.at > watermark and note.key not in seen_notes and len(part.notes) < max_items:
                part.notes.append(note)
                seen_notes.add(note.key)
        fresh += len(part.notes)
        # Changes recorded after the watermark: the watermark moves with the digest's outbox
        # rows (commands/digests/delivery.py), so each change reaches a subscriber once. Every
        # change is shown (no cap): a change left out would never be told.
        for change in cand.changes:
            if topic in change.themes and change.at > watermark and ("change", change.id) not in shown_other:
                shown_other.add(("change", change.id))
                told_at = alerted.get(change_key(change))
                if told_at is not None:
                    part.changes.append(replace(change, alerted=told_at))
                    continue
                (alerts if change.alert else part.changes).append(change)
                fresh += 1
        if not part.empty or part.new_more:
            parts.append(part)
    return Digest(parts, fresh, alerts)


def topics_of(subscriptions) -> set[str]:
    out: set[str] = set()
    for sub in subscriptions:
        out.update(sub.topics or ())
    return out

