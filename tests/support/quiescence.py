"""Exactly-once judged when the system is quiescent, not after a fixed sleep: read the bot's
own database (SQLite, read while it runs) until it has nothing in flight — no outbox row
waiting, no job of the given kinds due and still pending, the commands given handled —
and then until every user has received, by event id, every message the bot sent where
they can see it. Counting after that is exact: a double would already be there, and a
missing one will not come later.

    await quiescent(bot, [alice, bob], handled=[event_id], job_kinds=["reminder"])
    assert count(...) == 1
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Callable, Iterable

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from storage.models.core import HandledEvent, OutboxMessage, ScheduledJob


class BotDatabase:
    def __init__(self, bot):
        self.engine = create_engine(f"sqlite:///{bot.workdir / 'data' / 'dsih-bot.sqlite3'}",
                                    connect_args={"timeout": 15})

    def pending_outbox(self) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))

    def sent(self) -> list[tuple[str, str | None, str | None]]:
        """(event id, room id, DM recipient) of every message the homeserver accepted."""
        with Session(self.engine) as s:
            return list(s.execute(select(OutboxMessage.event_id, OutboxMessage.room_id, OutboxMessage.to_user)
                                  .where(OutboxMessage.status == "sent")).all())

    def unhandled(self, event_ids: Iterable[str]) -> set[str]:
        wanted = set(event_ids)
        if not wanted:
            return set()
        with Session(self.engine) as s:
            done = set(s.scalars(select(HandledEvent.event_id).where(HandledEvent.event_id.in_(wanted))).all())
        return wanted - done

    def due_jobs(self, kinds: Iterable[str] | None, now: datetime | None = None) -> list[str]:
        """Pending jobs of these kinds whose time has come (the bot's clock is the real one)."""
        now = (now or datetime.now(timezone.utc)).replace(tzinfo=None)
        query = select(ScheduledJob.id, ScheduledJob.run_at).where(ScheduledJob.status == "pending")
        if kinds is not None:
            query = query.where(ScheduledJob.kind.in_(list(kinds)))
        with Session(self.engine) as s:
            return [job_id for job_id, run_at in s.execute(query).all() if _naive_utc(run_at) <= now]

    def last_run(self, kind: str) -> datetime | None:
        with Session(self.engine) as s:
            value = s.scalar(select(func.max(ScheduledJob.done_at)).where(ScheduledJob.kind == kind))
        return _naive_utc(value) if value else None

    def close(self) -> None:
        self.engine.dispose()


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not quiescent after {timeout}s: {what}")
        await asyncio.sleep(0.05)


async def quiescent(bot, users=(), *, handled: Iterable[str] = (), job_kinds: Iterable[str] | None = (),
                    timeout: float = 60) -> None:
    """Wait until the bot is idle about what the test did and the users have it all.
    `job_kinds=None` waits for every kind of due job; `()` for none."""
    db = BotDatabase(bot)
    try:
        handled = list(handled)
        kinds = None if job_kinds is None else list(job_kinds)
        await until(lambda: not db.unhandled(handled), timeout, f"commands not handled: {db.unhandled(handled)}")
        await until(lambda: not db.pending_outbox() and (kinds == [] or not db.due_jobs(kinds)), timeout,
                    f"{db.pending_outbox()} outbox row(s) pending, due jobs {db.due_jobs(kinds) if kinds != [] else []}")
        sent = db.sent()
        for user in users:
            rooms = set(user.client.rooms)
            expected = {event_id for event_id, room_id, to_user in sent
                        if event_id and (room_id in rooms or to_user == user.user_id)}

            def missing(user=user, expected=expected) -> set[str]:
                return expected - {getattr(ev, "event_id", None) for ev in user.events}

            await until(lambda: not missing(), timeout, f"{user.user_id} has not received {missing()}")
    finally:
        db.close()
