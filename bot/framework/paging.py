"""Long answers in pages: the first one now, the rest for `!more`.

A page holds at most `page_size` items and MAX_CONTENT_BYTES; the first page carries the
header, every page but the last a `!more` hint saying how many items are still to come
(people read the number as results, not as pages), the last one the footer."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.framework.render import MAX_CONTENT_BYTES, content_size, content_size_bound, message_content
from storage.models.core import Pager

log = logging.getLogger(__name__)

# Retries of pages the database could not take (restarting, locked): one per person and
# room, so a newer answer's pages are never overwritten by an older answer's late retry.
_retrying: dict[tuple[str, str], asyncio.Task] = {}
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class LazyItems(Sequence[str]):
    """`render(number, row)` for each of `rows`, done when an item is first read: a reply
    renders its first page only, and the rest after it is sent."""

    def __init__(self, rows: Sequence[Any], render: Callable[[int, Any], str]):
        self._rows = rows
        self._render = render
        self._done: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if i not in self._done:
            self._done[i] = self._render(i + 1, self._rows[i])
        return self._done[i]


def _size(markdown: str) -> int:
    return content_size(message_content(markdown)) if markdown else 0


def _hint_of(more_hint: str | Callable[[int], str]) -> Callable[[int], str]:
    return more_hint if callable(more_hint) else (lambda count: more_hint.replace("{remaining}", str(count)))


def chunks(header: str, items: Sequence[str], footer: str, page_size: int,
           more_hint: str | Callable[[int], str], total: int | None = None) -> list[list[str]]:
    """`items` split into pages' worth. `total`: how many items the whole answer has (more
    may follow these), for the widest `!more` hint.

    A page's size is taken as the sum of its parts' (each counted with its own message
    envelope, so the sum over-estimates and a page never exceeds the limit). A part is
    first counted by a cheap upper bound (render.content_size_bound); only a page that the
    bounds would overflow is measured by rendering its parts. Rendering every item (or
    every candidate page) made a 20-result answer cost more than the rest of the reply."""
    hint = _hint_of(more_hint)
    total = len(items) if total is None else total
    # The widest hint: plural forms and the largest count.
    fixed = _size(header) + _size(footer) + max(_size(hint(1)), _size(hint(max(1, total))))
    out: list[list[str]] = []
    current: list[str] = []
    current_size = 0
    exact = False  # current_size rendered rather than bounded
    for item in items:
        item_size = _size(item) if exact else content_size_bound(item)
        if current and len(current) + 1 <= page_size and fixed + current_size + item_size > MAX_CONTENT_BYTES \
                and not exact:
            current_size, exact = sum(_size(x) for x in current), True
            item_size = _size(item)
        if current and (len(current) + 1 > page_size or fixed + current_size + item_size > MAX_CONTENT_BYTES):
            out.append(current)
            current, current_size, exact = [], 0, False
            item_size = content_size_bound(item)
        current.append(item)
        current_size += item_size
    out.append(current)
    return out


def page(header: str, chunk: list[str], footer: str, more_hint: str | Callable[[int], str], remaining: int) -> str:
    parts = [header] if header else []
    parts += chunk
    if remaining:
        parts.append("_" + _hint_of(more_hint)(remaining) + "_")
    elif footer:
        parts.append(footer)
    return "\n\n".join(p for p in parts if p)


def paginate(header: str, items: Sequence[str], footer: str, page_size: int,
             more_hint: str | Callable[[int], str]) -> list[str]:
    """Every page of an answer at once (see `chunks` for how they are cut)."""
    parts = chunks(header, items, footer, page_size, more_hint)
    return [page(header if i == 0 else "", chunk, footer, more_hint, sum(len(c) for c in parts[i + 1:]))
            for i, chunk in enumerate(parts)]


async def store(session, user_id: str, room_id: str, pages: list[str], now: datetime) -> None:
    """Keep `pages` for `!more` (none: forget earlier ones): one statement, no read first."""
    if not pages:
        await session.execute(delete(Pager).where(Pager.user_id == user_id, Pager.room_id == room_id)
                              .execution_options(synchronize_session=False))
        return
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Pager).values(user_id=user_id, room_id=room_id, pages=pages, total=len(pages), created_at=now)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["user_id", "room_id"],
        set_={"pages": stmt.excluded.pages, "total": stmt.excluded.total, "created_at": stmt.excluded.created_at}))


async def forget_all(db) -> None:
    """At start: pages an earlier process was still storing when it stopped may be those
    of an older answer; `!more` then says there is nothing more rather than show them."""
    async with db.transaction() as session:
        await session.execute(delete(Pager))


def stop_retries() -> None:
    """At stop, before the database closes: a retry left running would outlive it."""
    for key in list(_retrying):
        supersede(*key)


def supersede(user_id: str, room_id: str) -> None:
    """A newer answer for this person and room: an older answer's pending retry stops."""
    task = _retrying.pop((user_id, room_id), None)
    if task is not None:
        task.cancel()


async def keep(db, user_id: str, room_id: str, pages: list[str], now: datetime) -> None:
    """Store `pages` after the reply is committed. The database being away for a moment
    (a restart, a lock) is retried in the background, as the outbox retries its sends, so
    `!more` still works once it is back; any other failure is logged and the pages dropped,
    so `!more` then says there is nothing more."""
    try:
        await _store_now(db, user_id, room_id, pages, now)
    except Exception as exc:  # noqa: BLE001 - the answer is sent either way
        if not await db.unavailable(exc):
            log.warning("could not keep the next pages of an answer for !more", exc_info=True)
            with contextlib.suppress(Exception):
                await _store_now(db, user_id, room_id, [], now)
            return
        log.warning("database unavailable (%s); keeping the next pages of an answer for !more later",
                    type(exc).__name__)
        key = (user_id, room_id)
        supersede(*key)
        _retrying[key] = asyncio.get_running_loop().create_task(_retry(db, key, pages, now))


async def _store_now(db, user_id: str, room_id: str, pages: list[str], now: datetime) -> None:
    async with db.transaction() as session:
        await store(session, user_id, room_id, pages, now)


async def _retry(db, key: tuple[str, str], pages: list[str], now: datetime) -> None:
    try:
        for delay in RETRY_DELAYS:
            await asyncio.sleep(delay)
            try:
                await _store_now(db, *key, pages, now)
            except Exception as exc:  # noqa: BLE001 - retried while the database is away
                if await db.unavailable(exc):
                    continue
                log.warning("could not keep the next pages of an answer for !more: %s", type(exc).__name__)
                return
            log.info("kept the next pages of an answer for !more after the database came back")
            return
        log.warning("gave up keeping the next pages of an answer for !more: the database stayed away")
    finally:
        if _retrying.get(key) is asyncio.current_task():
            del _retrying[key]
