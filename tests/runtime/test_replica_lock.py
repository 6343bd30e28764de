"""The replica lock on a real PostgreSQL: one of two contenders wins, the other takes over
within seconds when the winner's connection closes, and a holder whose connection is killed
notices. SQLite: a second process on the same data_dir is refused."""
from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.matrix import leader
from bot.matrix.leader import FileLock, PostgresLock, lock_key

_n = itertools.count()
BOT = "@dsih:example.org"


@pytest.fixture
def pg_url(postgres_server):
    return postgres_server.create_database(f"replica_lock_{next(_n)}")


def never_lost():
    raise AssertionError("the lock was reported lost")


async def rounds(check, what: str, timeout: float = 10) -> None:
    """Until `check()` holds: counted rounds of the lock, not a guess in seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never saw {what}"
        await asyncio.sleep(0.02)


async def started(lock: PostgresLock, stopping: asyncio.Event) -> asyncio.Task:
    task = asyncio.create_task(lock.wait_until_active(stopping))
    await asyncio.sleep(0)
    return task


async def test_one_of_two_wins_and_the_other_takes_over_when_its_connection_closes(pg_url, monkeypatch):
    monkeypatch.setattr(leader, "WATCH_SECONDS", 0.2)
    stopping = asyncio.Event()
    first, second = PostgresLock(pg_url, BOT, on_lost=never_lost), PostgresLock(pg_url, BOT, on_lost=never_lost)
    try:
        assert await asyncio.wait_for(first.wait_until_active(stopping), 5) is True
        waiting = await started(second, stopping)
        # Several of the standby's polls and of the holder's watchdog rounds.
        await rounds(lambda: second.attempts >= 3 and first.checks >= 3, "three polls and three watchdog rounds")
        assert not waiting.done() and not second.active and first.active
        # The holder dies: its connection closes without an unlock (as with kill -9).
        first._watch.cancel()
        t0 = time.monotonic()
        await first._conn.invalidate()
        assert await asyncio.wait_for(waiting, 5) is True
        took = time.monotonic() - t0
        assert second.active and took < 2, took  # the standby's next poll after the session ends
    finally:
        await first.release()
        await second.release()


async def test_a_clean_release_hands_over_and_a_stopped_standby_gives_up(pg_url):
    stopping = asyncio.Event()
    first, second = PostgresLock(pg_url, BOT, on_lost=never_lost), PostgresLock(pg_url, BOT, on_lost=never_lost)
    other_bot = PostgresLock(pg_url, "@another:example.org", on_lost=never_lost)
    try:
        assert await first.wait_until_active(stopping)
        assert await asyncio.wait_for(other_bot.wait_until_active(stopping), 5)  # another account: its own lock
        waiting = await started(second, stopping)
        await rounds(lambda: second.attempts >= 2, "two polls of the standby")
        assert not waiting.done()
        await first.release()
        assert await asyncio.wait_for(waiting, 5) is True
        # A standby asked to stop returns False and holds nothing.
        third_stop = asyncio.Event()
        third = PostgresLock(pg_url, BOT, on_lost=never_lost)
        standby = await started(third, third_stop)
        await rounds(lambda: third.attempts >= 1, "the third's first poll")
        third_stop.set()
        assert await asyncio.wait_for(standby, 5) is False and not third.active
    finally:
        for lock in (first, second, other_bot):
            await lock.release()


async def test_the_holder_notices_when_its_lock_connection_is_killed(pg_url, monkeypatch):
    monkeypatch.setattr(leader, "WATCH_SECONDS", 0.2)
    lost = asyncio.Event()
    holder = PostgresLock(pg_url, BOT, on_lost=lost.set)
    standby = PostgresLock(pg_url, BOT, on_lost=never_lost)
    stopping = asyncio.Event()
    admin = create_async_engine(pg_url)
    try:
        assert await holder.wait_until_active(stopping)
        waiting = await started(standby, stopping)
        async with admin.connect() as conn:
            # As when the database restarts or an operator ends the session.
            killed = (await conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'dsih-bot replica lock' AND pid IN "
                "(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"))).scalar()
        assert killed == 1
        await asyncio.wait_for(lost.wait(), 5)
        assert not holder.active
        assert await asyncio.wait_for(waiting, 5) is True
    finally:
        await holder.release()
        await standby.release()
        await admin.dispose()


def test_lock_key_is_stable_per_account_and_fits_a_bigint():
    assert lock_key(BOT) == lock_key(BOT) != lock_key("@other:example.org")
    assert -2**63 <= lock_key(BOT) < 2**63


async def test_sqlite_refuses_a_second_process_on_the_same_data_dir(tmp_path, caplog):
    stopping = asyncio.Event()
    first, second = FileLock(tmp_path), FileLock(tmp_path)
    assert await first.wait_until_active(stopping)
    assert await second.wait_until_active(stopping) is False
    assert "already running with data_dir" in caplog.text
    await first.release()
    assert await second.wait_until_active(stopping)
    await second.release()


async def test_a_replica_on_another_device_is_warned_about_separate_data_dirs(db, caplog):
    lock = PostgresLock("postgresql+asyncpg://unused/db", BOT)
    await lock.note_device(db, "DEVICEA")
    await lock.note_device(db, "DEVICEA")  # the same device again (a restart, a takeover): silent
    assert "must share storage.data_dir" not in caplog.text
    await lock.note_device(db, "DEVICEB")
    assert "this replica is Matrix device DEVICEB, the previous active one was DEVICEA" in caplog.text
