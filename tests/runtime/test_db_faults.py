"""A database that says "not now" (SQLite locked by another process, PostgreSQL restarting)
is waited out, never turned into a lost command, an internal-error reply or a crash; an
error that only looks like one (a handler's own connection trouble) is still an error."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.framework.command import Cog, Registry
from bot.framework.context import Services
from bot.framework.dispatcher import Dispatcher
from bot.framework.messages import Incoming
from bot.scheduler import DB_RETRY, Scheduler
from storage.db import DatabaseUnavailable, is_transient
from storage.models.core import HandledEvent, OutboxMessage, ScheduledJob, UserPrefs


def test_is_transient_tells_not_now_from_never():
    locked = OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))
    assert is_transient(locked)
    assert is_transient(ConnectionRefusedError(111, "Connect call failed"))
    assert not is_transient(IntegrityError("INSERT …", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not is_transient(OperationalError("SELECT …", {}, sqlite3.OperationalError("no such table: x")))
    assert not is_transient(ValueError("database is locked"))  # words alone are not a database error


@pytest.fixture
async def short_busy(services):
    """The bot's database with a 100 ms busy timeout (the real one waits 5 s), and a
    second connection, like another process, to hold the write lock."""
    await services.db.engine.dispose()

    def fast(dbapi_conn, _record):
        dbapi_conn.cursor().execute("PRAGMA busy_timeout=100")

    event.listen(services.db.engine.sync_engine, "connect", fast)
    path = services.db.url.split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None)
    yield other
    other.close()


def _services_with(services, cog):
    return Services(settings=services.settings, db=services.db, registry=Registry([cog]),
                    access=services.access, bot_user_id="@bot:test", started_at=services.started_at)


async def test_locked_database_hands_the_command_back_then_answers_it_once(services, short_busy):
    cog = Cog("t", "Test")

    @cog.command("note")
    async def note(ctx):
        """Write something."""
        ctx.db.add(UserPrefs(user_id=ctx.sender, language="nl"))
        await ctx.reply("noted")

    d = Dispatcher(_services_with(services, cog))
    msg = Incoming(sender="@alice:test", room_id="!r", event_id="$note", body="!note")
    short_busy.execute("BEGIN EXCLUSIVE")
    with pytest.raises(DatabaseUnavailable):
        await d.handle(msg)
    short_busy.execute("COMMIT")
    async with services.db.session() as s:
        assert await s.get(HandledEvent, "$note") is None  # nothing committed: no error reply either
        assert (await s.scalars(select(OutboxMessage))).all() == []
    out = await d.handle(msg)  # handed in again (the runtime re-handles the sync batch)
    assert [o.markdown for o in out] == ["noted"]
    assert await d.handle(msg) == []  # and never twice
    async with services.db.session() as s:
        assert len((await s.scalars(select(OutboxMessage))).all()) == 1


async def test_a_handlers_own_connection_error_is_an_ordinary_error(services):
    cog = Cog("t", "Test")

    @cog.command("fetch")
    async def fetch(ctx):
        """Talk to some server."""
        raise ConnectionRefusedError(111, "Connect call failed")

    d = Dispatcher(_services_with(services, cog))
    out = await d.handle(Incoming(sender="@alice:test", room_id="!r", event_id="$fetch", body="!fetch"))
    assert "reference" in out[0].markdown  # answered (not retried forever): the database itself is fine


async def test_job_on_a_locked_database_is_retried_soon_without_using_an_attempt(chat, services, short_busy):
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    due = datetime.now(timezone.utc) - timedelta(seconds=1)
    async with services.db.transaction() as s:
        s.add(ScheduledJob(id="reminder-locked", kind="reminder", run_at=due, payload={"text": "tea"},
                           status="pending", owner="@alice:test", room_id="!room:test"))
    short_busy.execute("BEGIN EXCLUSIVE")
    try:
        await sched._run("reminder-locked")
        job = sched.aps.get_job("reminder-locked")
        assert job is not None  # re-armed, not left for the half-hourly sweep
        delay = job.trigger.run_date - datetime.now(timezone.utc)
        assert timedelta(0) < delay <= DB_RETRY + timedelta(seconds=1)
    finally:
        short_busy.execute("COMMIT")
    await sched._run("reminder-locked")
    async with services.db.session() as s:
        row = await s.get(ScheduledJob, "reminder-locked")
        assert (row.status, row.attempts) == ("done", 0)
        bodies = [r.content["body"] for r in (await s.scalars(select(OutboxMessage))).all()]
    assert sum("tea" in b for b in bodies) == 1
