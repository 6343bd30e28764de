"""Brokerage tables: a person's organisation (asked once), their interests in an
instrument, lab or topic, introductions between two people, and calendar feed tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow

KINDS = ("municipality", "province", "water_board", "knowledge_institution", "company", "other")


class BrokerProfile(Base):
    """Who someone works for, as they told it (`!organisation`): shown to people
    interested in the same thing."""
    __tablename__ = "broker_profiles"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30), default="other")
    region: Mapped[str] = mapped_column(String(100), default="")
    named: Mapped[bool] = mapped_column(Boolean, default=False)   # may be named in digests
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Interest(Base):
    """One person working towards one thing; the id is the number people see."""
    __tablename__ = "broker_interests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255))
    ref_kind: Mapped[str] = mapped_column(String(20))     # instrument | lab | topic
    ref_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(500))
    intent: Mapped[str] = mapped_column(Text, default="")
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)   # topics of the thing (digests' "Who else")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "ref_kind", "ref_id", name="uq_broker_interests_once"),
                      Index("ix_broker_interests_ref", "ref_kind", "ref_id"))


class Introduction(Base):
    """A request to be introduced; nobody is introduced without `target` saying yes."""
    __tablename__ = "broker_introductions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    requester: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(255))
    ref_kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="pending")   # pending | accepted | declined
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("requester", "target", "ref_kind", "ref_id", name="uq_broker_introductions_once"),
                      Index("ix_broker_introductions_target", "target"))


class CalendarToken(Base):
    """A person's calendar feed: only the SHA-256 of the secret in the URL is kept."""
    __tablename__ = "broker_calendar_tokens"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
