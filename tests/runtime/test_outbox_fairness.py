"""The outbox is fair for broadcasts: per destination in order, a rate-limited room
waits on its own, a failing recipient never stops the others, a direct room that syncs
slowly is retried (bounded), and every row is still sent exactly once."""
from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from bot.framework.messages import Outgoing
from bot.framework.effects import enqueue, txn_id
from bot.outbox import OutboxSender, SendResult
from storage.models.core import OutboxMessage


class FakeTransport:
    """`!slow` answers 429 (retry after 0.3 s) its first `limited` times; `!gone` is forbidden;
    `@new:test`'s direct room is 'not synced' for its first `unsynced` tries."""

    def __init__(self, limited=6, unsynced=2):
        self.limited, self.unsynced = limited, unsynced
        self.sent: list[tuple[str, str, float]] = []
        self.t0 = time.monotonic()

    async def send(self, row):
        await asyncio.sleep(0.001)
        dest = row.room_id or row.to_user
        if dest == "!slow" and self.limited:
            self.limited -= 1
            return SendResult(retry_after=0.3)
        if dest == "!gone":
            return SendResult(permanent="M_FORBIDDEN")
        if dest == "@new:test" and self.unsynced:
            self.unsynced -= 1
            return SendResult(retry_after=0.05, reason="direct room not synced yet")
        self.sent.append((dest, row.txn_id, time.monotonic() - self.t0))
        return SendResult(event_id=f"$ev-{row.txn_id}")


async def _statuses(db):
    async with db.session() as s:
        return {r.txn_id: r.status for r in (await s.scalars(select(OutboxMessage))).all()}


async def test_a_rate_limited_room_does_not_stall_the_others(db):
    rooms = ["!slow", "!gone"] + [f"!r{i}" for i in range(20)]
    async with db.transaction() as s:
        for n in range(3):  # three broadcasts, in order
            await enqueue(s, [Outgoing(f"b{n} to {r}", room_id=r) for r in rooms], origin="test", key=f"b{n}")
        await enqueue(s, [Outgoing("hello", to_user="@new:test")], origin="test", key="dm")
    transport = FakeTransport()
    sender = OutboxSender(db, transport, max_retries=8, max_lanes=4)
    sender.start()
    assert await sender.drain(timeout=30)
    await sender.stop()

    by_dest: dict[str, list[str]] = {}
    for dest, txn, _ in transport.sent:
        by_dest.setdefault(dest, []).append(txn)
    # Every reachable destination got each broadcast exactly once, in order.
    for r in rooms[2:] + ["!slow"]:
        index = rooms.index(r)
        assert by_dest[r] == [txn_id(f"b{n}", index) for n in range(3)], r
    assert by_dest["@new:test"] == [txn_id("dm", 0)]
    assert len(transport.sent) == len(set(t for _, t, _ in transport.sent))
    # The rate-limited room needed ~1.8 s of waiting; the others were all done long before it.
    slow_done = max(at for d, _, at in transport.sent if d == "!slow")
    others_done = max(at for d, _, at in transport.sent if d != "!slow")
    assert slow_done >= 1.5 and others_done < slow_done - 1.0
    statuses = await _statuses(db)
    assert [statuses[txn_id(f"b{n}", 1)] for n in range(3)] == ["failed"] * 3
    assert sum(v == "sent" for v in statuses.values()) == 3 * 21 + 1


async def test_a_direct_room_that_never_syncs_fails_after_bounded_retries(db, caplog):
    async with db.transaction() as s:
        await enqueue(s, [Outgoing("hello", to_user="@new:test")], origin="test", key="dm")
    sender = OutboxSender(db, FakeTransport(unsynced=100), max_retries=3)
    sender.start()
    assert await sender.drain(timeout=10)
    await sender.stop()
    assert (await _statuses(db))[txn_id("dm", 0)] == "failed"
    assert "direct room not synced yet" in caplog.text


class QueryCounter:
    def __init__(self, db):
        self.count = 0
        from sqlalchemy import event
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._on)

    def _on(self, conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "outbox" in statement:
            self.count += 1


async def test_rows_handed_over_at_commit_are_sent_without_a_query_and_in_order(db):
    transport = FakeTransport(limited=0)
    sender = OutboxSender(db, transport, max_lanes=4)
    sender.start()
    assert await sender.drain(timeout=5)          # idle: nothing pending
    queries = QueryCounter(db)
    async with db.transaction() as s:
        rows = await enqueue(s, [Outgoing("one", room_id="!a"), Outgoing("two", room_id="!a")], origin="t", key="c1")
    seen_queries = []
    send = transport.send

    async def counting_send(row):
        seen_queries.append(queries.count)
        return await send(row)

    transport.send = counting_send
    sender.submit(rows)
    assert await sender.drain(timeout=5)
    # The rows went out before any query had looked for pending rows (the fast path).
    assert seen_queries[0] == 0
    transport.send = send
    assert [t for d, t, _ in transport.sent] == [txn_id("c1", 0), txn_id("c1", 1)]

    # Busy sender: many commands committed back to back for one room, some handed over while
    # a lane for that room is still sending: every row once, in commit order.
    for n in range(30):
        async with db.transaction() as s:
            rows = await enqueue(s, [Outgoing(f"m{n}", room_id="!a"), Outgoing(f"x{n}", room_id=f"!r{n % 3}")],
                                 origin="t", key=f"k{n}")
        sender.submit(rows)
        if n % 7 == 0:
            await asyncio.sleep(0)
    assert await sender.drain(timeout=10)
    await sender.stop()
    to_a = [t for d, t, _ in transport.sent if d == "!a"][2:]
    assert to_a == [txn_id(f"k{n}", 0) for n in range(30)]
    assert len(transport.sent) == len({t for _, t, _ in transport.sent}) == 2 + 60
    statuses = await _statuses(db)
    assert set(statuses.values()) == {"sent"}
