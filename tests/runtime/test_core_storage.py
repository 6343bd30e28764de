"""The runtime tables on SQLite and PostgreSQL: migrations, outbox exactly-once,
scheduler exactly-once, time zones kept."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.framework.messages import Outgoing
from bot.framework.effects import enqueue, txn_id
from bot.outbox import OutboxSender, SendResult
from storage.models.core import KeyValue, OutboxMessage, ScheduledJob


async def test_migrations_are_idempotent(db):
    await db.upgrade()
    async with db.transaction() as s:
        s.add(KeyValue(key="k", value="v"))
    async with db.session() as s:
        assert (await s.get(KeyValue, "k")).value == "v"


async def test_datetimes_round_trip_as_utc(db):
    when = datetime(2026, 12, 1, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    async with db.transaction() as s:
        s.add(ScheduledJob(id="j1", kind="reminder", run_at=when, payload={"x": [1, "é"]}, status="pending"))
    async with db.session() as s:
        row = await s.get(ScheduledJob, "j1")
        assert row.run_at == when and row.run_at.tzinfo is not None and row.payload == {"x": [1, "é"]}


class FlakyTransport:
    """Records sends; can be told to rate-limit or to be 'away' a few times."""

    def __init__(self, limited=0, away=0, forbidden=()):
        self.limited, self.away, self.forbidden = limited, away, set(forbidden)
        self.sent: list[str] = []

    async def send(self, row):
        if self.away:
            self.away -= 1
            return SendResult(transient="connection refused")
        if row.room_id in self.forbidden:
            return SendResult(permanent="M_FORBIDDEN")
        if self.limited:
            self.limited -= 1
            return SendResult(retry_after=0.01)
        self.sent.append(row.txn_id)
        return SendResult(event_id=f"$ev-{row.txn_id}")


async def _enqueue(db, key, n=1, room="!r"):
    async with db.transaction() as s:
        await enqueue(s, [Outgoing(f"message {i}", room_id=room) for i in range(n)], origin="test", key=key)


async def _statuses(db):
    async with db.session() as s:
        return {r.txn_id: r.status for r in (await s.scalars(select(OutboxMessage))).all()}


async def test_outbox_sends_each_row_once_in_order_and_survives_429_and_outage(db):
    await _enqueue(db, "$cmd1", 3)
    transport = FlakyTransport(limited=2, away=2)
    sender = OutboxSender(db, transport, max_retries=5, backoff_max=0.05)
    sender.start()
    assert await sender.drain(timeout=10)
    await sender.stop()
    assert transport.sent == [txn_id("$cmd1", i) for i in range(3)]
    assert set((await _statuses(db)).values()) == {"sent"}
    # A second sender (a restart) finds nothing to send.
    again = FlakyTransport()
    sender = OutboxSender(db, again)
    sender.start()
    await sender.drain(timeout=5)
    await sender.stop()
    assert again.sent == []


async def test_outbox_gives_up_with_a_log_line_not_silently(db, caplog):
    await _enqueue(db, "$forbidden", room="!nope")
    await _enqueue(db, "$limited", room="!ok")
    sender = OutboxSender(db, FlakyTransport(forbidden={"!nope"}, limited=100), max_retries=2)
    sender.start()
    await sender.drain(timeout=10)
    await sender.stop()
    statuses = await _statuses(db)
    assert statuses[txn_id("$forbidden", 0)] == "failed" and statuses[txn_id("$limited", 0)] == "failed"
    assert "!nope" in caplog.text and "M_FORBIDDEN" in caplog.text and "still rate limited" in caplog.text


async def test_duplicate_transaction_ids_are_refused(db):
    await _enqueue(db, "$dup")
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        await _enqueue(db, "$dup")
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
