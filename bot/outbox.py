"""The outbox sender: every message the bot sends is first a row in the outbox table,
written by a handler's effects in its own transaction (bot.framework.effects), so a reply
exists exactly when the command is recorded as handled. OutboxSender sends pending rows in order with their
deterministic transaction id: if the process died after the homeserver accepted a send
but before the row was marked sent, the resend carries the same id and the homeserver
returns the original event instead of posting a duplicate."""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import OperationalError

from storage.db import is_transient
from storage.models.core import OutboxMessage

log = logging.getLogger(__name__)


@dataclass
class SendResult:
    event_id: str | None = None
    retry_after: float | None = None  # rate limited (or not ready yet): wait this long and retry
    transient: str | None = None      # homeserver away / 5xx: keep and retry later
    permanent: str | None = None      # will never work (forbidden, unknown room)
    reason: str | None = None         # why retry_after was asked for, when it is not a 429


class Transport(Protocol):
    async def send(self, row: OutboxMessage) -> SendResult: ...


def destination(row: OutboxMessage) -> tuple[str, str]:
    return ("room", row.room_id) if row.room_id else ("user", row.to_user or "")


class OutboxSender:
    """Sends pending rows fairly: one lane per destination (a room, or a user whose direct
    room is found at send time), a few lanes at once. Within a lane rows go out in order;
    a lane that is rate limited (429), waiting for a new direct room, or cut off from the
    homeserver waits on its own while the other lanes go on; a row that fails for good is
    marked failed and its lane moves on. Transaction ids stay deterministic, so exactly-once
    holds whatever the interleaving."""

    BATCH = 200
    # Rows sent are marked in batches this long after the send (one transaction for many
    # rows, and none competing with the homeserver for the CPU while it delivers the reply).
    # A crash before the mark resends with the same transaction id: the homeserver dedups.
    MARK_DELAY = 0.05

    def __init__(self, db, transport: Transport, *, max_retries: int = 8, backoff_max: float = 60.0,
                 max_lanes: int = 8):
        self.db = db
        self.transport = transport
        self.max_retries = max_retries
        self.backoff_max = backoff_max
        self.max_lanes = max_lanes
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._lanes: dict[tuple[str, str], asyncio.Task] = {}
        self._unmarked: dict[int, dict] = {}   # row id -> values, sent but not yet marked
        # Ids marked lately: a query that started before their mark committed may still
        # return them as pending; they must not be sent again.
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._mark_timer: asyncio.TimerHandle | None = None
        self._mark_task: asyncio.Task | None = None
        # bot.ratelimit.RateWatch (set by the runtime): sends and 429s, for the backlog estimate.
        self.watch = None

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def submit(self, rows: list[OutboxMessage]) -> None:
        """Rows a command has just committed: send them now, without the query that would
        find them. Only when the sender is idle (nothing else pending, no lane busy), so a
        destination's order is kept; otherwise the ordinary path picks them up."""
        if self._task is None or self._stopping or not self._idle.is_set():
            self.wake()
            return
        self._idle.clear()
        groups: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in rows:
            groups.setdefault(destination(row), []).append(row)
        for dest, lane_rows in groups.items():
            if dest in self._lanes or len(self._lanes) >= self.max_lanes:
                self.wake()
                continue
            self._lanes[dest] = asyncio.create_task(self._lane(dest, lane_rows), name=f"outbox {dest[1]}")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")
        self.wake()

    async def _run(self) -> None:
        backoff = 1.0
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                started = await self._dispatch()
                backoff = 1.0
                if not started and not self._lanes and not self._wake.is_set():
                    self._idle.set()  # (a wake during the query means there may be more)
            except Exception as exc:  # noqa: BLE001 - the sender must survive anything
                _log_trouble("outbox sender error; retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                self._wake.set()

    async def _dispatch(self) -> int:
        """Start a lane for every destination with pending rows and no lane yet (up to
        max_lanes). Returns how many lanes were started."""
        started = 0
        while len(self._lanes) < self.max_lanes:
            busy_rooms = [d for kind, d in self._lanes if kind == "room"]
            busy_users = [d for kind, d in self._lanes if kind == "user"]
            query = select(OutboxMessage).where(OutboxMessage.status == "pending")
            if busy_rooms:
                query = query.where(or_(OutboxMessage.room_id.is_(None), OutboxMessage.room_id.not_in(busy_rooms)))
            if busy_users:
                query = query.where(or_(OutboxMessage.to_user.is_(None), OutboxMessage.to_user.not_in(busy_users)))
            async with self.db.session() as session:
                rows = (await session.scalars(query.order_by(OutboxMessage.id).limit(self.BATCH))).all()
            groups: dict[tuple[str, str], list[OutboxMessage]] = {}
            for row in rows:
                if row.id not in self._unmarked and row.id not in self._recent:   # sent already
                    groups.setdefault(destination(row), []).append(row)
            for dest, lane_rows in groups.items():
                if len(self._lanes) >= self.max_lanes:
                    break
                if dest in self._lanes:
                    continue  # started by submit() while this query ran; picked up when it ends
                self._lanes[dest] = asyncio.create_task(self._lane(dest, lane_rows), name=f"outbox {dest[1]}")
                started += 1
            if len(rows) < self.BATCH or not groups:
                break
        return started

    async def _lane(self, dest: tuple[str, str], rows: list[OutboxMessage]) -> None:
        try:
            for row in rows:
                if self._stopping:
                    return
                await self._send_one(row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one lane's trouble is logged, the others go on
            _log_trouble(f"outbox lane {dest[1]} stopped; its rows stay pending", exc)
            await asyncio.sleep(1)
        finally:
            self._lanes.pop(dest, None)
            if not self._stopping:
                self.wake()  # more rows for this destination, or nothing left (idle)

    async def _send_one(self, row: OutboxMessage) -> None:
        retries = 0
        backoff = 1.0
        while not self._stopping:
            result = await self.transport.send(row)
            if result.event_id:
                if self.watch is not None:
                    self.watch.note_sent()
                self._queue_mark(row, status="sent", event_id=result.event_id, sent_at=datetime.now(timezone.utc),
                                 attempts=row.attempts + retries + 1)
                return
            if result.transient:
                # The homeserver is away: this lane waits (and keeps the row), the others try on their own.
                log.warning("homeserver unreachable while sending to %s (%s); retrying in %.0fs",
                            row.room_id or row.to_user, result.transient, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            if result.retry_after is not None and result.reason is None and self.watch is not None:
                await self._note_limited(result.retry_after)
            if result.retry_after is not None and retries < self.max_retries:
                retries += 1
                log.info("%s sending to %s; waiting %.1fs (retry %d/%d)", result.reason or "rate limited",
                         row.room_id or row.to_user, result.retry_after, retries, self.max_retries)
                await asyncio.sleep(min(result.retry_after, 300))
                continue
            error = result.permanent or f"still {result.reason or 'rate limited'} after {retries} retries"
            log.error("could not deliver message %s to %s (from %s): %s", row.txn_id, row.room_id or row.to_user,
                      row.origin, error)
            await self._mark(row, status="failed", last_error=error[:1000], attempts=row.attempts + retries + 1)
            return

    async def _note_limited(self, retry_after: float) -> None:
        """A 429: remember it; at most once a minute, log how long the backlog will take."""
        self.watch.note_limited(retry_after)
        if self.watch.should_log():
            try:
                self.watch.log_backlog(await self.pending_count())
            except Exception as exc:  # noqa: BLE001 - the estimate is advice, never in the way
                _log_trouble("could not estimate the backlog", exc)

    async def pending_count(self) -> int:
        async with self.db.session() as session:
            return (await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "pending"))) or 0

    def _queue_mark(self, row: OutboxMessage, **values) -> None:
        self._unmarked[row.id] = values
        if self._mark_timer is None and self._mark_task is None:
            self._mark_timer = asyncio.get_running_loop().call_later(self.MARK_DELAY, self._start_flush)

    def _start_flush(self) -> None:
        self._mark_timer = None
        self._mark_task = asyncio.create_task(self._flush_marks(), name="outbox marks")

    async def _flush_marks(self) -> None:
        """Mark every row sent so far, in one transaction; on a database error keep them
        and try again shortly (until then they are not re-sent: see _dispatch)."""
        try:
            while self._unmarked:
                batch = dict(self._unmarked)
                try:
                    async with self.db.transaction() as session:
                        await session.execute(update(OutboxMessage), [{"id": i, **v} for i, v in batch.items()])
                except Exception as exc:  # noqa: BLE001 - a busy database is retried, never fatal
                    _log_trouble("could not mark sent messages; retrying", exc)
                    await asyncio.sleep(1)
                    continue
                for i in batch:
                    self._recent[i] = None
                    if self._unmarked.get(i) is batch[i]:
                        del self._unmarked[i]
                while len(self._recent) > 50_000:
                    self._recent.popitem(last=False)
        finally:
            self._mark_task = None

    async def _mark(self, row: OutboxMessage, **values) -> None:
        async with self.db.transaction() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is pending and every sent row is marked (used at shutdown).
        True if drained."""
        if self._task is None or self._task.done():
            return False
        self.wake()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            await asyncio.wait_for(self.flush(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def flush(self) -> None:
        """Mark now what has been sent (not waiting for MARK_DELAY)."""
        if self._mark_timer is not None:
            self._mark_timer.cancel()
            self._mark_timer = None
        if self._mark_task is not None:
            await asyncio.shield(self._mark_task)
        if self._unmarked:
            self._mark_task = asyncio.create_task(self._flush_marks(), name="outbox marks")
            await asyncio.shield(self._mark_task)

    async def stop(self) -> None:
        self._stopping = True
        if self._unmarked:
            try:
                await asyncio.wait_for(self.flush(), 5)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - unmarked rows are resent (deduplicated)
                pass
        if self._mark_timer is not None:
            self._mark_timer.cancel()
        # The marks task too: left running, it would outlive the database it writes to.
        tasks = [t for t in [self._task, *self._lanes.values(), self._mark_task] if t]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass


def _log_trouble(message: str, exc: Exception) -> None:
    """A busy or briefly unreachable database is routine (one line, retried); anything
    else is a bug and gets its traceback."""
    if isinstance(exc, (OperationalError, OSError, asyncio.TimeoutError)) or is_transient(exc):
        log.warning("%s: %s: %s", message, type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "")
    else:
        log.error(message, exc_info=exc)
