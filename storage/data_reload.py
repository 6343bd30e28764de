"""`!admin data reload`: read a data set's bundled file again and bring the table in line
with it, counting what that changed. Records are matched the way `dsih-bot import` matches
them (storage.<name>_io.FILE: by id, knowledge items by normalised URL); rows someone
edited here (funding: `updated_by` is not the bundled file) are kept, as at start-up."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.datafile import differs

# Columns a refresh from the source maintains; a newer bundled file does not reset them.
_KEEP = {"funding": ("external_status", "last_seen_at", "stale")}
_BUNDLED_BY = {"funding": "bundled data"}   # storage.funding_data.BUNDLED_BY


@dataclass
class ReloadCount:
    name: str
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    kept: int = 0  # edited here, so not overwritten


async def reload_bundled(session: AsyncSession, name: str) -> ReloadCount:
    data = importlib.import_module(f"storage.{name}_data")
    file = importlib.import_module(f"storage.{name}_io").FILE
    records = data.load_bundled()
    count = ReloadCount(name)
    column = getattr(file.table, file.match_column)
    existing = {getattr(r, file.match_column): r
                for r in (await session.scalars(select(file.table).where(column.in_([r.id for r in records])))).all()}
    bundled_by = _BUNDLED_BY.get(name)
    now = datetime.now(timezone.utc)
    for rec in records:
        values = {k: v for k, v in rec.to_row().items() if k not in _KEEP.get(name, ())}
        row = existing.get(rec.id)
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
    await session.flush()
    if (count.added or count.changed) and file.reindex:
        await file.reindex(session)
    return count

