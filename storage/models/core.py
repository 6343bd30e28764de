"""Runtime tables: sync state, handled commands, the outbox, scheduled jobs, user
preferences, pages for `!more`, direct-message rooms and the audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class KeyValue(Base):
    """Small runtime state, e.g. the sync `next_batch` token."""
    __tablename__ = "kv"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class HandledEvent(Base):
    """A command event that has been answered (or deliberately ignored): never again."""
    __tablename__ = "handled_events"
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoomState(Base):
    """When the bot joined a room: nothing older is ever treated as a command."""
    __tablename__ = "rooms"
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    joined_at_ms: Mapped[int] = mapped_column(BigInteger)
    is_direct_with: Mapped[str | None] = mapped_column(String(255), default=None)


class OutboxMessage(Base):
    """Every message the bot sends. Written (with a deterministic transaction id) in the
    same database transaction as the work that caused it, then sent, then marked sent."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(255), unique=True)
    room_id: Mapped[str | None] = mapped_column(String(255), default=None)
    to_user: Mapped[str | None] = mapped_column(String(255), default=None)  # DM target, room resolved at send time
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    origin: Mapped[str] = mapped_column(String(255), default="")  # command/job that caused it (for logs)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    event_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    event_type: Mapped[str] = mapped_column(String(100), default="m.room.message")
    # A file to upload at send time; its mxc URL goes into content["url"].
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)

    __table_args__ = (Index("ix_outbox_status_id", "status", "id"),)


class ScheduledJob(Base):
    """Source of truth for anything scheduled; APScheduler only holds timers for these rows."""
    __tablename__ = "scheduled_jobs"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    run_at: Mapped[datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending | done | skipped | cancelled | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    owner: Mapped[str | None] = mapped_column(String(255), default=None)
    room_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    group_key: Mapped[str | None] = mapped_column(String(100), default=None)  # e.g. "session:12"
    recurrence: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    note: Mapped[str | None] = mapped_column(String(255), default=None)  # why skipped/cancelled

    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"), Index("ix_jobs_group", "group_key"))


class UserPrefs(Base):
    __tablename__ = "user_prefs"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)


class Pager(Base):
    """Remaining pages of a long answer, per user and room, for `!more`."""
    __tablename__ = "pages"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    pages: Mapped[list[str]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirectRoom(Base):
    """The room the bot uses to message a user directly."""
    __tablename__ = "direct_rooms"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
