"""Knowledge digests: who follows which topics and how often, what went out for which
period (with the outbox key, so a resend reuses it), and which deadline alerts were sent
(one per subscriber, instrument and deadline, ever)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow

FREQUENCIES = ("daily", "weekly", "monthly")
LAST_DAY = -1  # day_of_month for "the last day of the month"


class DigestSubscription(Base):
    """One per subscriber (a user, or a room subscribed by its facilitator): the topics,
    the schedule in local wall time, and the watermark (items up to it were included)."""
    __tablename__ = "digest_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber: Mapped[str] = mapped_column(String(255), unique=True)  # @user:server or !room:server
    is_room: Mapped[bool] = mapped_column(default=False)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    frequency: Mapped[str] = mapped_column(String(10), default="weekly")
    at_time: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM local
    weekday: Mapped[int | None] = mapped_column(Integer, default=0)  # 0 = Monday (weekly)
    day_of_month: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-28 or LAST_DAY (monthly)
    # Rooms keep the language and zone of whoever subscribed them; users' come from UserPrefs.
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    watermark: Mapped[datetime] = mapped_column()
    next_due_at: Mapped[datetime] = mapped_column()
    last_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_until: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_digest_subscriptions_due", "next_due_at"),)


class DigestRecord(Base):
    """One per subscription and period (the due occurrence), written in the same
    transaction as the new watermark and the digest's outbox rows; empty periods are
    recorded too (items = 0, no outbox key) so it is visible what was skipped."""
    __tablename__ = "digest_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("digest_subscriptions.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(40))
    composed_at: Mapped[datetime] = mapped_column()
    items: Mapped[int] = mapped_column(Integer, default=0)
    outbox_key: Mapped[str | None] = mapped_column(String(120), default=None)

    __table_args__ = (UniqueConstraint("subscription_id", "period_key", name="uq_digest_records_period"),)


class DeadlineAlert(Base):
    __tablename__ = "digest_deadline_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber: Mapped[str] = mapped_column(String(255))
    instrument_id: Mapped[str] = mapped_column(String(120))
    deadline_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("subscriber", "instrument_id", "deadline_at", name="uq_digest_deadline_alerts_once"),
        Index("ix_digest_deadline_alerts_instrument", "instrument_id", "deadline_at"),
    )


class ChangeAlert(Base):
    """A change of a followed record told to a subscriber on its own, before the digest
    (a deadline moved earlier, issue 17 section 4): one row per subscriber and change,
    written in the transaction of the alert's outbox rows (`via` "alert"), or of the digest
    that told it first (`via` "digest"); the unique constraint makes it once."""
    __tablename__ = "digest_change_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber: Mapped[str] = mapped_column(String(255))
    change_key: Mapped[str] = mapped_column(String(160))   # bot.framework.digest_parts.change_key
    via: Mapped[str] = mapped_column(String(10), default="alert")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("subscriber", "change_key", name="uq_digest_change_alerts_once"),)
