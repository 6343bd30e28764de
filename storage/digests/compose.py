"""What goes into digests, batched: `gather` loads everything a run needs for all due
subscriptions in a fixed number of queries (knowledge items since the oldest watermark,
upcoming events, funding, sessions, labs); `select_for` then picks one subscriber's
digest in memory. Nothing here knows about messages or languages: see
commands/digests/render.py for that."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.funding.records import next_deadline
from storage.funding.models import FundingInstrument
from storage.knowledge.models import KnowledgeItem
from storage.labs.models import Lab
from storage.sessions.models import ReviewSession

EVENT_KINDS = ("event", "training")
# A share committed a moment after the run read the table must not slip under the
# watermark: the cut-off lags the clock by this much (the item goes in the next digest).
SETTLE = timedelta(seconds=10)
# Titles this similar (rapidfuzz token_sort_ratio) in one digest are one item.
SIMILAR_TITLE = 92
_NUMBERS = re.compile(r"\d+")


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

    @property
    def empty(self) -> bool:
        return not (self.new or self.events or self.deadlines or self.instruments or self.sessions or self.labs)


@dataclass
class Digest:
    parts: list[TopicPart]
    fresh: int  # things new since the watermark; 0 = nothing to send

    @property
    def count(self) -> int:
        return sum(len(p.new) + len(p.events) + len(p.deadlines) + len(p.instruments) + len(p.sessions) + len(p.labs)
                   for p in self.parts)


def title_key(title: str) -> str:
    return re.sub(r"[\W_]+", " ", title.lower()).strip()


def _distinct(rows):
    """Items in order, one per title: the same resource through two feeds or a feed and a
    share (url_key is unique in the table; a copy under another URL with the same title goes)."""
    seen: set[str] = set()
    for row in rows:
        item = _item(row)
        key = title_key(item.title)
        if key not in seen:
            seen.add(key)
            yield item


async def gather(session: AsyncSession, since: datetime, topics: set[str], now: datetime,
                 horizon: timedelta) -> Candidates:
    """Five queries, whatever the number of subscribers: knowledge items shared since
    `since` (the oldest watermark of the run), events and trainings ahead, funding
    instruments, planned sessions ahead, labs changed since `since`."""
    cutoff = now - SETTLE
    cand = Candidates(now=now, cutoff=cutoff)
    cols = (KnowledgeItem.id, KnowledgeItem.title, KnowledgeItem.url, KnowledgeItem.kind, KnowledgeItem.topics,
            KnowledgeItem.organisation, KnowledgeItem.event_date, KnowledgeItem.shared_at)
    rows = (await session.execute(select(*cols).where(
        KnowledgeItem.status == "published", KnowledgeItem.shared_at > since, KnowledgeItem.shared_at <= cutoff,
    ).order_by(KnowledgeItem.shared_at, KnowledgeItem.id))).all()
    for item in _distinct(rows):
        if item.kind in EVENT_KINDS and item.event_date is not None and item.event_date <= now + horizon:
            continue  # shown under events (until it has passed), not twice
        for t in item.topics:
            if t in topics:
                cand.new_by_topic.setdefault(t, []).append(item)
    for t, items in cand.new_by_topic.items():
        cand.new_keys[t] = [i.shared_at for i in items]

    events = (await session.execute(select(*cols).where(
        KnowledgeItem.status == "published", KnowledgeItem.kind.in_(EVENT_KINDS),
        KnowledgeItem.event_date > now, KnowledgeItem.event_date <= now + horizon,
        KnowledgeItem.shared_at <= cutoff,
    ).order_by(KnowledgeItem.event_date, KnowledgeItem.id))).all()
    for item in _distinct(events):
        for t in item.topics:
            if t in topics:
                cand.events_by_topic.setdefault(t, []).append(item)
                if item.shared_at > cand.events_latest.get(t, item.shared_at - SETTLE):
                    cand.events_latest[t] = item.shared_at

    funding = (await session.execute(select(
        FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.themes,
        FundingInstrument.deadlines, FundingInstrument.updated_at))).all()
    for fid, title, title_nl, themes, deadlines, updated_at in funding:
        themes = tuple(t for t in (themes or []) if t in topics)
        if not themes:
            continue
        probe = FundingInstrument(id=fid, deadlines=deadlines)
        nxt = next_deadline(probe, now)
        if nxt is not None and nxt[0] <= now + horizon:
            cand.deadlines.append(Deadline(fid, title, title_nl, nxt[0], themes))
        if updated_at is not None and since < updated_at <= cutoff:
            cand.instruments.append(Instrument(fid, title, title_nl, themes, updated_at))
    cand.deadlines.sort(key=lambda d: (d.at, d.id))
    cand.instruments.sort(key=lambda i: (i.updated_at, i.id), reverse=True)

    sessions = (await session.execute(select(
        ReviewSession.id, ReviewSession.title, ReviewSession.topic, ReviewSession.starts_at, ReviewSession.created_at,
    ).where(ReviewSession.status == "planned", ReviewSession.starts_at > now,
            ReviewSession.starts_at <= now + horizon, ReviewSession.topic.is_not(None),
            ).order_by(ReviewSession.starts_at, ReviewSession.id))).all()
    cand.sessions = [Session(*row) for row in sessions if row.topic in topics]

    labs = (await session.execute(select(Lab.id, Lab.name, Lab.municipality, Lab.themes, Lab.updated_at).where(
        Lab.updated_at > since, Lab.updated_at <= cutoff).order_by(Lab.updated_at.desc(), Lab.id))).all()
    cand.labs = [LabEntry(r.id, r.name, r.municipality, tuple(r.themes or ()), r.updated_at) for r in labs
                 if topics.intersection(r.themes or ())]
    return cand


def _item(row) -> Item:
    return Item(row.id, row.title, row.url, row.kind, tuple(row.topics or ()), row.organisation, row.event_date,
                row.shared_at)


def select_for(cand: Candidates, topics: list[str], watermark: datetime, max_items: int) -> Digest:
    """One subscriber's digest, grouped by topic in the subscriber's order; anything on
    several of their topics appears once, under the first. In memory only."""
    shown_items: set[int] = set()
    shown_titles: list[tuple[str, list[str]]] = []  # (title key, its numbers)
    shown_other: set[tuple[str, object]] = set()
    parts: list[TopicPart] = []
    fresh = 0

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
        new_instr = [i for i in cand.instruments if topic in i.themes and i.updated_at > watermark]
        part.instruments, _ = take(new_instr, max_items, "funding")
        fresh += len(new_instr)
        part.sessions, _ = take((s for s in cand.sessions if s.topic == topic), max_items, "session")
        fresh += sum(1 for s in part.sessions if watermark < s.created_at <= cand.cutoff)
        part.labs, more = take((lab for lab in cand.labs if topic in lab.themes and lab.updated_at > watermark),
                               max_items, "lab")
        fresh += len(part.labs) + more
        if not part.empty or part.new_more:
            parts.append(part)
    return Digest(parts, fresh)


def topics_of(subscriptions) -> set[str]:
    out: set[str] = set()
    for sub in subscriptions:
        out.update(sub.topics or ())
    return out

