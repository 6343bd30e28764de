"""The outbox: every message the bot sends is first a row here.

enqueue() runs inside the caller's transaction, so a reply exists exactly when the
command is recorded as handled. OutboxSender sends pending rows in order with their
deterministic transaction id: if the process died after the homeserver accepted a send
but before the row was marked sent, the resend carries the same id and the homeserver
returns the original event instead of posting a duplicate."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.messages import Outgoing
from bot.render import message_content, split_markdown
from storage.models.core import OutboxMessage

log = logging.getLogger(__name__)


def txn_id(key: str, index: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"dsih.{digest}.{index}"


def build_content(out: Outgoing) -> dict:
    if out.event_type != "m.room.message":
        # Other event types (polls) carry their own fields plus a plain-text fallback.
        plain = message_content(out.markdown)["body"]
        return {"body": plain, "org.matrix.msc1767.text": plain, **(out.extra_content or {})}
    content = message_content(out.markdown, notice=out.notice)
    relates: dict = {}
    if out.thread_root:
        relates = {"rel_type": "m.thread", "event_id": out.thread_root, "is_falling_back": not out.reply_to}
        if out.reply_to:
            relates["is_falling_back"] = False
            relates["m.in_reply_to"] = {"event_id": out.reply_to}
    elif out.reply_to:
        relates = {"m.in_reply_to": {"event_id": out.reply_to}}
    if relates:
        content["m.relates_to"] = relates
    content["m.mentions"] = {"user_ids": list(out.mentions)} if out.mentions else {}
    if out.extra_content:
        content.update(out.extra_content)
    return content


def file_content(out: Outgoing) -> dict:
    """An m.file (or m.image, …) message without its URL (added after the upload at send time)."""
    att = out.attachment
    content: dict = {"msgtype": att.msgtype, "body": att.filename, "filename": att.filename,
                     "info": {"mimetype": att.mimetype, "size": len(att.data)}}
    if out.reply_to and not out.markdown:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": out.reply_to}}
    if out.thread_root:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": out.thread_root, "is_falling_back": True}
    return content


async def enqueue(session: AsyncSession, outgoing: list[Outgoing], *, origin: str, key: str) -> list[OutboxMessage]:
    """Add rows for `outgoing`; `key` (a command's event id, a job id) makes the
    transaction ids deterministic."""
    rows = []
    index = 0

    def add(content: dict, out: Outgoing, event_type: str, attachment: bytes | None = None) -> None:
        nonlocal index
        row = OutboxMessage(txn_id=txn_id(key, index), room_id=out.room_id, to_user=out.to_user, content=content,
                            status="pending", attempts=0, origin=origin[:255], event_type=event_type,
                            attachment=attachment)
        session.add(row)
        rows.append(row)
        index += 1

    for out in outgoing:
        if out.event_type != "m.room.message":
            add(build_content(out), out, out.event_type)
            continue
        for part in (split_markdown(out.markdown) if out.markdown else []):
            piece = Outgoing(part, room_id=out.room_id, to_user=out.to_user, reply_to=out.reply_to,
                             thread_root=out.thread_root, mentions=out.mentions, notice=out.notice,
                             extra_content=out.extra_content)
            add(build_content(piece), out, "m.room.message")
        if out.attachment is not None:
            add(file_content(out), out, "m.room.message", out.attachment.data)
    return rows


@dataclass
class SendResult:
    event_id: str | None = None
    retry_after: float | None = None  # rate limited: wait this long and retry
    transient: str | None = None      # homeserver away / 5xx: keep and retry later
    permanent: str | None = None      # will never work (forbidden, unknown room)


class Transport(Protocol):
    async def send(self, row: OutboxMessage) -> SendResult: ...


class OutboxSender:
    def __init__(self, db, transport: Transport, *, max_retries: int = 8, backoff_max: float = 60.0):
        self.db = db
        self.transport = transport
        self.max_retries = max_retries
        self.backoff_max = backoff_max
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")
        self.wake()

    async def _run(self) -> None:
        backoff = 1.0
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self._send_pending():
                    pass
                backoff = 1.0
                self._idle.set()
            except _HomeserverAway as away:
                log.warning("homeserver unreachable while sending (%s); retrying in %.0fs", away, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                self._wake.set()
            except Exception:  # noqa: BLE001 - the sender must survive anything
                log.exception("outbox sender error; retrying")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                self._wake.set()

    async def _send_pending(self) -> bool:
        """Send one batch; True if there may be more."""
        async with self.db.session() as session:
            rows = (await session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == "pending").order_by(OutboxMessage.id).limit(20)
            )).all()
        for row in rows:
            await self._send_one(row)
        return len(rows) == 20

    async def _send_one(self, row: OutboxMessage) -> None:
        retries = 0
        while True:
            result = await self.transport.send(row)
            if result.event_id:
                await self._mark(row, status="sent", event_id=result.event_id, sent_at=datetime.now(timezone.utc),
                                 attempts=row.attempts + retries + 1)
                return
            if result.transient:
                raise _HomeserverAway(result.transient)
            if result.retry_after is not None and retries < self.max_retries:
                retries += 1
                log.info("rate limited sending to %s; waiting %.1fs (retry %d/%d)", row.room_id or row.to_user,
                         result.retry_after, retries, self.max_retries)
                await asyncio.sleep(min(result.retry_after, 300))
                continue
            error = result.permanent or f"still rate limited after {retries} retries"
            log.error("could not deliver message %s to %s (from %s): %s", row.txn_id, row.room_id or row.to_user,
                      row.origin, error)
            await self._mark(row, status="failed", last_error=error[:1000], attempts=row.attempts + retries + 1)
            return

    async def _mark(self, row: OutboxMessage, **values) -> None:
        async with self.db.transaction() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is pending (used at shutdown). True if drained."""
        if self._task is None or self._task.done():
            return False
        self.wake()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass


class _HomeserverAway(Exception):
    pass
