"""Peer-review sessions ("test before invest"): sessions, who takes part, reviews with
scores per criterion, actions, and time-slot polls. All times are UTC."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow

ROLES = ("presenter", "reviewer", "note_taker", "observer")
FORMATS = ("intervisie", "peer-review", "custom")


class ReviewSession(Base):
    __tablename__ = "review_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    project: Mapped[str | None] = mapped_column(Text, default=None)    # the project under review
    question: Mapped[str | None] = mapped_column(Text, default=None)   # what the presenter wants reviewed
    topic: Mapped[str | None] = mapped_column(String(50), default=None)  # key in the shared topic list
    facilitator: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    location: Mapped[str | None] = mapped_column(String(500), default=None)
    capacity: Mapped[int] = mapped_column(Integer, default=8)
    room_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned | cancelled | done
    cancel_reason: Mapped[str | None] = mapped_column(Text, default=None)
    series_id: Mapped[int | None] = mapped_column(Integer, default=None)  # first session of its series
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")  # the facilitator's, for series
    format: Mapped[str | None] = mapped_column(String(20), default=None)
    language: Mapped[str] = mapped_column(String(8), default="nl")  # of room notices
    report_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # iCalendar SEQUENCE: bumped whenever time, place, title or status change (see
    # _bump_sequence), so a calendar replaces the event it already has for this UID.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # The announcement's event id in its room, once sent (learnt from its outbox row by the
    # job that adds the bot's 👍): a 👍 on that event joins the session.
    announce_event: Mapped[str | None] = mapped_column(String(255), default=None, index=True)

    __table_args__ = (Index("ix_review_sessions_starts", "status", "starts_at"),)


# What an invitation shows: a change to any of these makes earlier .ics files outdated.
_CALENDAR_FIELDS = ("starts_at", "ends_at", "location", "title", "status")


@event.listens_for(ReviewSession, "before_update")
def _bump_sequence(_mapper, _connection, target: ReviewSession) -> None:
    state = inspect(target)
    for name in _CALENDAR_FIELDS:
        history = state.attrs[name].history
        if history.added and list(history.added) != list(history.deleted or ()):
            target.sequence = (target.sequence or 0) + 1
            return


class Participant(Base):
    __tablename__ = "session_participants"
    session_id: Mapped[int] = mapped_column(ForeignKey("review_sessions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="reviewer")
    state: Mapped[str] = mapped_column(String(16), default="going")  # going | waiting
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order of joining: the waiting list's order
    # The 👍 reaction that signed them up (or that they added later): redacting it leaves.
    reaction_event: Mapped[str | None] = mapped_column(String(255), default=None, index=True)


class Review(Base):
    """One reviewer's feedback on one session; a draft until submitted, editable until
    the report is out."""
    __tablename__ = "session_reviews"
    session_id: Mapped[int] = mapped_column(ForeignKey("review_sessions.id", ondelete="CASCADE"), primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(255), primary_key=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # criterion -> {"score": 1-5, "comment": str}
    strengths: Mapped[str | None] = mapped_column(Text, default=None)
    concerns: Mapped[str | None] = mapped_column(Text, default=None)
    recommendations: Mapped[str | None] = mapped_column(Text, default=None)
    named: Mapped[bool] = mapped_column(Boolean, default=False)  # reviewer chose to be named in the report
    step: Mapped[int | None] = mapped_column(Integer, default=None)  # guided dialogue: next question, None = idle
    language: Mapped[str | None] = mapped_column(String(8), default=None)  # of the guided dialogue, kept per answer
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionAction(Base):
    __tablename__ = "session_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("review_sessions.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(255))
    due: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionPoll(Base):
    """A time-slot poll; its Matrix event id is found through the outbox row (txn_id)
    once sent, which is how votes (m.reference to that event) find their poll."""
    __tablename__ = "session_polls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    room_id: Mapped[str] = mapped_column(String(255))
    facilitator: Mapped[str] = mapped_column(String(255))
    slots: Mapped[list[str]] = mapped_column(JSON)  # ISO UTC start times
    txn_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    session_id: Mapped[int | None] = mapped_column(Integer, default=None)  # created at close
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # duration, project, topic, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollVote(Base):
    __tablename__ = "session_poll_votes"
    poll_id: Mapped[int] = mapped_column(ForeignKey("session_polls.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    slots: Mapped[list[int]] = mapped_column(JSON)  # 0-based slot indexes
    at_ms: Mapped[int] = mapped_column(BigInteger, default=0)  # a later response replaces an earlier one
