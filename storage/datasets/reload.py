"""`!admin data reload`: read a data set's bundled file again and bring the table in line
with it, counting what that changed. Records are matched the way `dsih-bot import` matches
them (the data set's file format: by id, knowledge items by normalised URL); rows someone
edited here (funding: `updated_by` is not the bundled file) are kept, as at start-up."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.datasets.file import differs


@dataclass
class ReloadCount:
    name: str
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    kept: int = 0  # edited here, so not overwritten


def newer_check(row, values: dict) -> bool:
    """The row was checked on or after the file's date (by a refresh that saw it in its source,
    or by hand): a file of that day or older does not undo that check."""
    mine, theirs = getattr(row, "last_checked", None), values.get("last_checked")
    checked = getattr(row, "checked_by", None) is not None   # a date nobody vouches for is no check
    return mine is not None and checked and (theirs is None or mine >= theirs)


async def reload_bundled(session: AsyncSession, dataset, *, by: str | None = None,
                         now: datetime | None = None) -> ReloadCount:
    """`dataset`: a storage.datasets.DataSet with its file format and bundled records. What
    the reload changes in records that existed is recorded when the data set tracks changes
    (`track_changes`, source "bundled", `by` who asked); new records are not changes."""
    file, name = dataset.file, dataset.name
    records = dataset.load_bundled()
    count = ReloadCount(name)
    column = getattr(file.table, file.match_column)
    existing = {getattr(r, file.match_column): r
                for r in (await session.scalars(select(file.table).where(column.in_([r.id for r in records])))).all()}
    now = now or datetime.now(timezone.utc)
    track = dataset.track_changes
    tracked = (track(session, now, list(existing), "bundled", by) if track is not None and existing
               else nullcontext())
    async with tracked:
        _apply(session, dataset, records, existing, count, now)
    await session.flush()
    if (count.added or count.changed) and file.reindex:
        await file.reindex(session)
    return count


def _apply(session, dataset, records, existing, count: ReloadCount, now: datetime) -> None:
    file, bundled_by = dataset.file, dataset.bundled_by
    for rec in records:
        values = {k: v for k, v in rec.to_row().items() if k not in dataset.keep}
        row = existing.get(rec.id)
        if row is not None and newer_check(row, values):
            values.pop("last_checked", None)
            values.pop("checked_by", None)
        if row is None:
            extra = {**file.on_create(), **({"updated_by": bundled_by} if bundled_by else {})}
            session.add(file.table(**{**extra, **rec.to_row()}))
            count.added += 1
        elif not any(differs(getattr(row, k), v) for k, v in values.items()):
            count.unchanged += 1
        elif bundled_by and row.updated_by != bundled_by:
            count.kept += 1
        else:
            for k, v in values.items():
                setattr(row, k, v)
            if "updated_at" in file.table.__table__.columns:
                row.updated_at = now
            count.changed += 1

