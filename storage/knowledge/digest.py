"""Knowledge's part in the digest: items shared since the run's oldest watermark, and
events and trainings ahead within the horizon, one per title (the same resource through
two feeds or a feed and a share). Two queries, whatever the number of subscribers."""
from __future__ import annotations

from sqlalchemy import select

from bot.framework.digest_parts import Contribution, Item, Parts, Window, title_key
from storage.knowledge.models import KnowledgeItem
from storage.knowledge.records import KIND_LABELS

EVENT_KINDS = ("event", "training")
_COLUMNS = (KnowledgeItem.id, KnowledgeItem.title, KnowledgeItem.url, KnowledgeItem.kind, KnowledgeItem.topics,
            KnowledgeItem.organisation, KnowledgeItem.event_date, KnowledgeItem.shared_at)


def _item(row) -> Item:
    return Item(row.id, row.title, row.url, row.kind, tuple(row.topics or ()), row.organisation, row.event_date,
                row.shared_at, KIND_LABELS.get(row.kind, row.kind))


def _distinct(rows):
    """Items in order, one per title (url_key is unique in the table; a copy under another
    URL with the same title goes)."""
    seen: set[str] = set()
    for row in rows:
        item = _item(row)
        key = title_key(item.title)
        if key not in seen:
            seen.add(key)
            yield item


async def parts(session, w: Window) -> Parts:
    out = Parts()
    rows = (await session.execute(select(*_COLUMNS).where(
        KnowledgeItem.status == "published", KnowledgeItem.shared_at > w.since, KnowledgeItem.shared_at <= w.cutoff,
    ).order_by(KnowledgeItem.shared_at, KnowledgeItem.id))).all()
    for item in _distinct(rows):
        if item.kind in EVENT_KINDS and item.event_date is not None and item.event_date <= w.horizon_end:
            continue  # shown under events (until it has passed), not twice
        if w.topics.intersection(item.topics):
            out.new.append(item)
    events = (await session.execute(select(*_COLUMNS).where(
        KnowledgeItem.status == "published", KnowledgeItem.kind.in_(EVENT_KINDS),
        KnowledgeItem.event_date > w.now, KnowledgeItem.event_date <= w.horizon_end,
        KnowledgeItem.shared_at <= w.cutoff,
    ).order_by(KnowledgeItem.event_date, KnowledgeItem.id))).all()
    out.events = [item for item in _distinct(events) if w.topics.intersection(item.topics)]
    return out


CONTRIBUTION = Contribution(parts)
