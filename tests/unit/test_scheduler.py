"""The scheduler: our table is the truth; timers are re-armed at start; a due job runs
once and its message is in the outbox exactly once."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.scheduler import Scheduler
from storage.models.core import OutboxMessage, ScheduledJob


async def _jobs(services):
    async with services.db.session() as s:
        return {j.id: j.status for j in (await s.scalars(select(ScheduledJob))).all()}


async def _outbox(services):
    async with services.db.session() as s:
        return (await s.scalars(select(OutboxMessage))).all()


async def test_reminder_fires_once_and_past_due_jobs_run_at_start(chat, services):
    sched = Scheduler(services, lambda: None)
    services.scheduler = sched
    await sched.start()
    await chat.text("!remindme 1s first")
    # A job that fell due "while the bot was down": written directly, armed at the next start.
    async with services.db.transaction() as s:
        s.add(ScheduledJob(id="reminder-past", kind="reminder", run_at=datetime.now(timezone.utc) - timedelta(hours=1),
                           payload={"text": "overdue"}, status="pending", owner="@alice:test", room_id="!room:test"))
    await asyncio.sleep(1.6)
    await sched.shutdown()
    sched2 = Scheduler(services, lambda: None)
    assert await sched2.start() == 1
    await asyncio.sleep(0.5)
    await sched2.shutdown()
    assert set((await _jobs(services)).values()) == {"done"}
    texts = [r.content["body"] for r in await _outbox(services) if "asked me to remind" in r.content["body"]]
    assert len(texts) == 2 and any("first" in t for t in texts) and any("overdue" in t for t in texts)
    # Running a finished job again does nothing.
    await sched2.run("reminder-past")
    assert len([r for r in await _outbox(services) if "overdue" in r.content["body"]]) == 1


async def test_cancelled_reminder_never_fires(chat, services):
    sched = Scheduler(services, lambda: None)
    services.scheduler = sched
    await sched.start()
    await chat.text("!remindme 1s never")
    assert "never" in await chat.text("!reminders")
    assert "Cancelled" in await chat.text("!forget 1")
    await asyncio.sleep(1.5)
    await sched.shutdown()
    assert not [r for r in await _outbox(services) if "asked me to remind" in r.content["body"]]
