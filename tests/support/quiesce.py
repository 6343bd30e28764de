"""Proof instead of sleep: wait until the bot under test has provably nothing left to do,
read from its own database, then assert on event ids and counts.

Quiescent means, on two reads in a row:
- every command event id the test names is in `handled_events` (it was answered, or
  deliberately ignored, in the same transaction that queued its replies);
- no outbox row is pending (every reply was sent, with its Matrix event id recorded);
- no scheduled job is due (pending with run_at <= now) and no digest is due.
Then `wait_delivered` waits until the test user's own sync has shown every event the
outbox says was sent to that user's rooms, so counting the user's buffer afterwards is
exact: a missing reply or a doubled one is a failure, not a race.

    state = await bot.quiescent(handled=[cmd_id])
    await wait_delivered(alice, state, room_id)
    assert len(replies_to(alice, room_id, bot.user_id, cmd_id)) == state.rows_for(cmd_id)
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from support.e2e_helpers import relates_of

DB_ENV = "DSIH_BOT__STORAGE__DATABASE_URL"


def database_url(bot) -> str:
    """The bot's database (PostgreSQL when its environment names one, else its SQLite file)."""
    url = (bot.env or {}).get(DB_ENV)
    if url:
        return url
    data_dir = getattr(bot, "data_dir", None) or bot.workdir / "data"
    return f"sqlite+aiosqlite:///{(data_dir / 'dsih-bot.sqlite3').resolve()}"


@dataclass
class BotState:
    pending: int = 0
    due_jobs: int = 0
    due_digests: int = 0
    handled: set[str] = field(default_factory=set)
    # sent outbox rows: (room_id, event_id, origin, to_user); room_id is None for direct
    # messages whose room was found at send time
    sent: list[tuple[str | None, str | None, str, str | None]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (origin, last_error)

    def rows_for(self, event_id: str) -> int:
        """Outbox rows a command produced (a long answer may be split into parts)."""
        return sum(1 for _room, _ev, origin, _to in self.sent if f"({event_id})" in origin)

    def sent_in(self, room_id: str) -> set[str]:
        return {ev for room, ev, _origin, _to in self.sent if room == room_id and ev}

    def sent_to(self, user_id: str) -> set[str]:
        """Direct messages to `user_id` (digests, reminders by DM, notifications)."""
        return {ev for _room, ev, _origin, to in self.sent if to == user_id and ev}


async def read_state(url: str, handled=()) -> BotState:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            state = BotState()
            state.pending = (await conn.execute(text(
                "SELECT count(*) FROM outbox WHERE status = 'pending'"))).scalar_one()
            # Recurring fixed-rate ticks (the digest run) are always "due" at some point;
            # what they would do is what the digest check below looks at.
            rows = (await conn.execute(text(
                "SELECT run_at, recurrence FROM scheduled_jobs WHERE status = 'pending'"))).all()
            state.due_jobs = sum(1 for run_at, rec in rows if _naive(run_at) <= now and not _tick(rec))
            # Compared here, not in SQL: SQLite stores these as text, PostgreSQL as timestamptz.
            subs = (await conn.execute(text("SELECT next_due_at, paused_until FROM digest_subscriptions"))).all()
            state.due_digests = sum(1 for due, paused in subs
                                    if _naive(due) <= now and (paused is None or _naive(paused) <= now))
            ids = list(handled)
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                params = {f"e{n}": e for n, e in enumerate(chunk)}
                marks = ", ".join(f":e{n}" for n in range(len(chunk)))
                state.handled |= set((await conn.execute(text(
                    f"SELECT event_id FROM handled_events WHERE event_id IN ({marks})"), params)).scalars())
            state.sent = [tuple(r) for r in (await conn.execute(text(
                "SELECT room_id, event_id, origin, to_user FROM outbox WHERE status = 'sent'"))).all()]
            state.failed = [tuple(r) for r in (await conn.execute(text(
                "SELECT origin, last_error FROM outbox WHERE status = 'failed'"))).all()]
            return state
    finally:
        await engine.dispose()


def _naive(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is None else value.astimezone(timezone.utc).replace(tzinfo=None)


def _tick(recurrence) -> bool:
    if isinstance(recurrence, str):
        import json
        recurrence = json.loads(recurrence) if recurrence not in ("null", "") else None
    return bool(recurrence) and recurrence.get("freq") == "seconds"


async def wait_quiescent(bot, *, handled=(), lookup=(), timeout: float = 60, settle: float = 0.3,
                         url: str | None = None) -> BotState:
    """Until the bot has handled `handled` (command event ids) and nothing is pending or
    due, on two consecutive reads `settle` seconds apart. Database errors while it is
    restarting count as "not yet". `lookup`: more event ids to report in state.handled
    (if handled) without waiting for them. Raises AssertionError with the last state on timeout."""
    url = url or database_url(bot)
    wanted = set(handled)
    asked = wanted | set(lookup)
    deadline = time.monotonic() + timeout
    quiet_once = False
    last: BotState | str = "no read yet"
    while True:
        if bot.proc is not None and bot.proc.poll() is not None:
            raise AssertionError(f"bot exited with {bot.proc.returncode}:\n{bot.log()[-3000:]}")
        try:
            state = await read_state(url, asked)
        except Exception as exc:  # noqa: BLE001 - e.g. PostgreSQL restarting: not quiet yet
            state, quiet = None, False
            last = f"{type(exc).__name__}: {exc}"
        else:
            last = state
            quiet = (not state.pending and not state.due_jobs and not state.due_digests
                     and wanted <= state.handled)
        if quiet and quiet_once:
            return state
        quiet_once = quiet
        if time.monotonic() > deadline:
            missing = sorted(wanted - state.handled) if state else "?"
            raise AssertionError(f"bot not quiescent after {timeout}s: {_describe(last)}; "
                                 f"unhandled: {missing}\n{bot.log()[-2000:]}")
        await asyncio.sleep(settle)


def _describe(state) -> str:
    if isinstance(state, str):
        return state
    return (f"pending={state.pending} due_jobs={state.due_jobs} due_digests={state.due_digests} "
            f"handled={len(state.handled)} failed={state.failed[:3]}")


async def wait_delivered(user, state: BotState, room_ids=(), timeout: float = 60) -> None:
    """Until `user`'s own sync has delivered every event the bot recorded as sent into
    `room_ids` (one id or several) and every direct message it sent to the user."""
    rooms = [room_ids] if isinstance(room_ids, str) else list(room_ids)
    expected = set().union(state.sent_to(user.user_id), *(state.sent_in(r) for r in rooms))

    def seen() -> set[str]:
        return {getattr(e, "event_id", None) for e in user.events}

    deadline = time.monotonic() + timeout
    while not expected <= seen():
        if time.monotonic() > deadline:
            raise AssertionError(f"{user.user_id} never saw {len(expected - seen())} sent event(s): "
                                 f"{sorted(expected - seen())[:5]}")
        await asyncio.sleep(0.1)


def replies_by_command(user, bot_id: str, room_ids=None, since: int = 0) -> dict[str, list]:
    """The bot's messages in the user's buffer, grouped by the event they reply to."""
    out: dict[str, list] = defaultdict(list)
    for ev in user.events[since:]:
        if getattr(ev, "sender", None) != bot_id:
            continue
        if room_ids is not None and getattr(ev, "room_id", None) not in room_ids:
            continue
        target = (relates_of(ev).get("m.in_reply_to") or {}).get("event_id")
        if target:
            out[target].append(ev)
    return out


def replies_to(user, room_id: str, bot_id: str, command_id: str, since: int = 0) -> list:
    return replies_by_command(user, bot_id, {room_id}, since).get(command_id, [])


def duplicates(events) -> list[str]:
    """Event ids that appear more than once in a buffer (a client-side double count)."""
    return [ev for ev, n in Counter(getattr(e, "event_id", None) for e in events).items() if n > 1]
