"""Effects: what a handler or a job says should happen, as outbox rows written in its own
transaction, so a reply, a direct message or a broadcast exists exactly when the command
or job is recorded as handled. The runtime's sender (bot.outbox) carries each row out
once: the transaction id derives from a key (a command's event id, a job id, a digest's
subscription and period), so a resend after a crash is recognised by the homeserver.

Scheduling is an effect too (bot.framework.jobs): rows in the same transaction, timers
armed after commit."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.messages import Outgoing
from bot.framework.render import message_content, split_markdown
from storage.models.core import OutboxMessage


# An outbox row of this event type asks the runtime to open a new private room, invite
# `invite` and post the message in it: carried out once (the runtime remembers the room
# it made for the row's transaction id), e.g. an introduction between two people.
OPEN_ROOM = "dsih.open_room"


def open_room_outgoing(markdown: str, *, invite: tuple[str, ...], name: str, topic: str = "") -> Outgoing:
    """The Outgoing for OPEN_ROOM (the handler appends it with ctx.open_room)."""
    return Outgoing(markdown, to_user=invite[0], notice=False, event_type=OPEN_ROOM,
                    extra_content={OPEN_ROOM: {"invite": list(invite), "name": name[:200], "topic": topic[:500]}})


def txn_id(key: str, index: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"dsih.{digest}.{index}"


def build_content(out: Outgoing) -> dict:
    if out.event_type == "m.reaction":
        return dict(out.extra_content or {})  # an annotation has no text of its own
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


def build_rows(outgoing: list[Outgoing], *, origin: str, key: str) -> list[dict]:
    """The outbox rows (as column values) for `outgoing`; `key` (a command's event id, a
    job id, a digest's subscription and period) makes the transaction ids deterministic."""
    rows: list[dict] = []

    def add(content: dict, out: Outgoing, event_type: str, attachment: bytes | None = None) -> None:
        rows.append(dict(txn_id=txn_id(key, len(rows)), room_id=out.room_id, to_user=out.to_user, content=content,
                         status="pending", attempts=0, origin=origin[:255], event_type=event_type,
                         attachment=attachment))

    for out in outgoing:
        first = len(rows)
        if out.event_type == OPEN_ROOM:
            add({**message_content(out.markdown, notice=out.notice), **(out.extra_content or {})}, out, OPEN_ROOM)
            out.queued(rows[first]["txn_id"])
            continue
        if out.event_type != "m.room.message":
            add(build_content(out), out, out.event_type)
            out.queued(rows[first]["txn_id"])
            continue
        for part in (split_markdown(out.markdown) if out.markdown else []):
            piece = Outgoing(part, room_id=out.room_id, to_user=out.to_user, reply_to=out.reply_to,
                             thread_root=out.thread_root, mentions=out.mentions, notice=out.notice,
                             extra_content=out.extra_content)
            add(build_content(piece), out, "m.room.message")
        if out.attachment is not None:
            add(file_content(out), out, "m.room.message", out.attachment.data)
        if len(rows) > first:
            out.queued(rows[first]["txn_id"])
    return rows


async def enqueue(session: AsyncSession, outgoing: list[Outgoing], *, origin: str, key: str) -> list[OutboxMessage]:
    """Add rows for `outgoing` in the caller's transaction (see build_rows)."""
    rows = [OutboxMessage(**values) for values in build_rows(outgoing, origin=origin, key=key)]
    session.add_all(rows)
    return rows


async def enqueue_many(session: AsyncSession, values: list[dict]) -> None:
    """A broadcast: rows from build_rows for many messages at once (each with its own key,
    e.g. a digest per subscriber and period; render them before the write transaction), as
    one executemany: ORM inserts that need their ids back go one by one on SQLite."""
    if values:
        now = datetime.now(timezone.utc)
        await session.execute(insert(OutboxMessage), [{**v, "created_at": now} for v in values])
