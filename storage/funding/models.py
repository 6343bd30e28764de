"""Funding instruments (the Funding Lane). Status is never stored: see storage.funding.records.status_of."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, Integer, JSON, String, Text, UniqueConstraint, delete, event, insert, inspect
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class FundingInstrument(Base):
    __tablename__ = "funding_instruments"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    title_nl: Mapped[str | None] = mapped_column(String(500), default=None)
    programme: Mapped[str | None] = mapped_column(String(300), default=None)
    identifier: Mapped[str | None] = mapped_column(String(200), default=None)
    kind: Mapped[str] = mapped_column(String(20), default="grant")   # storage.funding.records.KINDS
    level: Mapped[str] = mapped_column(String(20))
    managing_body: Mapped[str | None] = mapped_column(String(300), default=None)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligible_applicants: Mapped[list[str]] = mapped_column(JSON, default=list)
    consortium_rule: Mapped[str | None] = mapped_column(Text, default=None)
    cofinancing_rate: Mapped[float | None] = mapped_column(Float, default=None)
    budget_total_eur: Mapped[int | None] = mapped_column(BigInteger, default=None)
    grant_min_eur: Mapped[int | None] = mapped_column(BigInteger, default=None)
    grant_max_eur: Mapped[int | None] = mapped_column(BigInteger, default=None)
    opens_on: Mapped[date | None] = mapped_column(Date, default=None)
    deadline_model: Mapped[str] = mapped_column(String(20), default="single")
    # [{"at": "2026-10-08T17:00:00", "tz": "Europe/Brussels", "label": "deadline"}, ...] local wall time + zone
    deadlines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    dates_indicative: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline_note: Mapped[str | None] = mapped_column(String(500), default=None)
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    summary_nl: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str | None] = mapped_column(String(1000), default=None)
    source: Mapped[str | None] = mapped_column(Text, default=None)
    last_checked: Mapped[date | None] = mapped_column(Date, default=None)
    checked_by: Mapped[str | None] = mapped_column(String(255), default=None)
    # Where the record comes from (bundled, eu-ft, import, chat) and the source's own id/status.
    origin: Mapped[str] = mapped_column(String(20), default="bundled")
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    external_status: Mapped[str | None] = mapped_column(String(20), default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)    # last refresh that saw it
    stale: Mapped[bool] = mapped_column(Boolean, default=False)            # no longer listed at its source
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(255), default=None)

    __table_args__ = (Index("ix_funding_instruments_level", "level"),
                      Index("ix_funding_instruments_origin_external_id", "origin", "external_id"))


class FundingCandidate(Base):
    """A publication that may be a new funding instrument (a Dutch subsidy regulation found by
    `dsih-bot refresh funding --source officiele-bekendmakingen`), waiting for a facilitator:
    accepted as a record (with corrections) or dismissed. Its id is the number people use."""
    __tablename__ = "funding_candidates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str | None] = mapped_column(String(300), default=None)
    level: Mapped[str] = mapped_column(String(20))
    published_on: Mapped[date | None] = mapped_column(Date, default=None)
    url: Mapped[str | None] = mapped_column(String(1000), default=None)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    opens_on: Mapped[date | None] = mapped_column(Date, default=None)
    closes_on: Mapped[date | None] = mapped_column(Date, default=None)
    amount_eur: Mapped[int | None] = mapped_column(BigInteger, default=None)
    excerpt: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(16), default="new")      # new | accepted | dismissed
    decided_by: Mapped[str | None] = mapped_column(String(255), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    record_id: Mapped[str | None] = mapped_column(String(120), default=None)   # the record it became
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(default=None)   # in the facilitators' daily summary

    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_funding_candidates_source_external_id"),
                      Index("ix_funding_candidates_status", "status"))


class FundingDeadline(Base):
    """Every deadline of every instrument in UTC, kept on every ORM write of an instrument
    (the listeners below): "which instruments have a deadline between now and then" is an
    index range over `at`, exact whatever the clock, instead of a read of every record
    (`!deadlines`, digests, deadline alerts). A derived copy of `deadlines`:
    storage.funding.records.resync_deadlines rebuilds it (migration 0013, bulk loads)."""
    __tablename__ = "funding_deadlines"
    instrument_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)

    __table_args__ = (Index("ix_funding_deadlines_at", "at"),)


def deadline_moments(deadlines) -> list[datetime]:
    """The readable deadlines of a stored `deadlines` list as aware UTC datetimes, unique, in
    order (unreadable entries are skipped, as storage.funding.records.deadline_infos does)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    ats = set()
    for d in deadlines or []:
        try:
            at = datetime.fromisoformat(str(d["at"]))
            if at.tzinfo is None:
                at = at.replace(tzinfo=ZoneInfo(d.get("tz") or "Europe/Amsterdam"))
        except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
            continue
        ats.add(at.astimezone(timezone.utc))
    return sorted(ats)


def deadline_rows(instrument_id: str, deadlines) -> list[dict]:
    return [{"instrument_id": instrument_id, "at": at} for at in deadline_moments(deadlines)]


def _write_deadlines(connection, target: FundingInstrument) -> None:
    connection.execute(delete(FundingDeadline).where(FundingDeadline.instrument_id == target.id))
    rows = deadline_rows(target.id, target.deadlines)
    if rows:
        connection.execute(insert(FundingDeadline), rows)


@event.listens_for(FundingInstrument, "after_insert")
def _deadlines_of_new(mapper, connection, target: FundingInstrument) -> None:
    _write_deadlines(connection, target)


@event.listens_for(FundingInstrument, "after_update")
def _deadlines_changed(mapper, connection, target: FundingInstrument) -> None:
    if inspect(target).attrs.deadlines.history.has_changes():
        _write_deadlines(connection, target)


@event.listens_for(FundingInstrument, "after_delete")
def _drop_deadlines(mapper, connection, target: FundingInstrument) -> None:
    connection.execute(delete(FundingDeadline).where(FundingDeadline.instrument_id == target.id))


class FundingChange(Base):
    """One change of a record that its followers hear about in their next digest (issue 17,
    "Change alerts"): a deadline, status, budget or conditions changed by a refresh or by a
    facilitator, as old -> new with its source. Written in the same transaction as the change;
    a digest takes the changes recorded after its subscriber's watermark, and the watermark
    moves in the transaction that queues the digest, so nobody gets one twice.

    kind: "changed", "earlier" (a deadline moved earlier), "reopened" (accepting again) or
    "forthcoming" (newly announced). Values are stored as text: a deadline as an ISO
    datetime, a status as its id, money as whole euros, conditions as text."""
    __tablename__ = "funding_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instrument_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(500))
    title_nl: Mapped[str | None] = mapped_column(String(500), default=None)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    field: Mapped[str] = mapped_column(String(20))          # deadline, status, budget, conditions
    kind: Mapped[str] = mapped_column(String(20), default="changed")
    old: Mapped[str | None] = mapped_column(Text, default=None)
    new: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str] = mapped_column(String(20))         # eu-ft, chat, import, bundled
    changed_by: Mapped[str | None] = mapped_column(String(255), default=None)   # a person (chat) or "refresh eu-ft"
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_funding_changes_at", "at"),
                      Index("ix_funding_changes_instrument", "instrument_id"))
