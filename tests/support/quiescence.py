"""`quiescent(bot, users)`: the short form of support.quiesce for tests that only need "the
bot is idle and these users have everything it sent" before they count:

    await quiescent(bot, [alice, bob], handled=[event_id])
    assert count(...) == 1

Idle is judged by support.quiesce.wait_quiescent (commands handled, no outbox row pending,
no job or digest due, on two reads in a row); delivery by wait_delivered (every event the
outbox recorded as sent into the user's rooms or to the user directly)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Callable, Iterable

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from storage.models.core import ScheduledJob
from support.quiesce import wait_delivered, wait_quiescent


class BotDatabase:
    """Blocking reads of the bot's SQLite file, for a test's own `until` conditions."""

    def __init__(self, bot):
        self.engine = create_engine(f"sqlite:///{bot.workdir / 'data' / 'dsih-bot.sqlite3'}",
                                    connect_args={"timeout": 15})

    def last_run(self, kind: str) -> datetime | None:
        with Session(self.engine) as s:
            value = s.scalar(select(func.max(ScheduledJob.done_at)).where(ScheduledJob.kind == kind))
        self.engine.dispose()
        if value is None:
            return None
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not quiescent after {timeout}s: {what}")
        await asyncio.sleep(0.05)


async def quiescent(bot, users=(), *, handled: Iterable[str] = (), timeout: float = 60) -> None:
    """Wait until the bot is idle (nothing pending or due, `handled` handled) and every user
    has received, by event id, what the bot sent where they can see it."""
    state = await wait_quiescent(bot, handled=list(handled), timeout=timeout)
    for user in users:
        await wait_delivered(user, state, room_ids=list(user.client.rooms), timeout=timeout)
