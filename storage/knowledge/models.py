"""Knowledge transfer: items members share or partners' feeds bring in (lessons, cases,
tools, publications, events, trainings, datasets)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow

KINDS = ("lesson", "case", "tool", "publication", "event", "training", "dataset")
STATUSES = ("published", "pending", "hidden")


class KnowledgeItem(Base):
    __tablename__ = "knowledge_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str] = mapped_column(String(2000))
    url_key: Mapped[str] = mapped_column(String(500), unique=True)  # normalised URL: one item per resource
    kind: Mapped[str] = mapped_column(String(20), default="lesson")
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    organisation: Mapped[str | None] = mapped_column(String(300), default=None)  # ecosystem or organisation
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    event_date: Mapped[datetime | None] = mapped_column(default=None)  # events and trainings
    shared_by: Mapped[str | None] = mapped_column(String(255), default=None)  # a member's MXID
    feed: Mapped[str | None] = mapped_column(String(2000), default=None)  # or the feed it came from
    entry_id: Mapped[str | None] = mapped_column(String(1000), default=None)  # the feed entry's id
    source: Mapped[str | None] = mapped_column(Text, default=None)  # bundled items: where the facts come from
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)  # when it became known to the hub
    status: Mapped[str] = mapped_column(String(16), default="published")

    __table_args__ = (Index("ix_knowledge_status_shared", "status", "shared_at"),
                      Index("ix_knowledge_feed_entry", "feed", "entry_id"))


class KnowledgeFeed(Base):
    """Polling state of one configured feed (config knowledge.feeds): what the conditional
    request sends next time, and the backoff of a feed that fails."""
    __tablename__ = "knowledge_feeds"
    url: Mapped[str] = mapped_column(String(1000), primary_key=True)
    title: Mapped[str | None] = mapped_column(String(500), default=None)
    etag: Mapped[str | None] = mapped_column(String(500), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(100), default=None)
    last_poll: Mapped[datetime | None] = mapped_column(default=None)
    last_ok: Mapped[datetime | None] = mapped_column(default=None)
    next_attempt: Mapped[datetime | None] = mapped_column(default=None)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    items: Mapped[int] = mapped_column(Integer, default=0)  # knowledge items this feed brought in
