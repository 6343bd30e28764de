"""Labs' contribution `lookup` (bot.framework.references): a lab named or numbered in chat,
with its Matrix contact, so brokerage can resolve `!interest <lab>` without importing labs."""
from __future__ import annotations

from datetime import datetime

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.references import Reference
from storage.labs.models import Lab

MIN_SCORE = 85


def reference_of(row: Lab) -> Reference:
    return Reference(kind="lab", id=row.id, title=row.name, contact=row.matrix_contact,
                     themes=tuple(row.themes or ()), url=row.website)


async def lookup(session: AsyncSession, text: str, now: datetime | None = None, *,
                 exact: bool = False) -> list[Reference]:
    wanted = " ".join(text.split()).strip().lower()
    if len(wanted) < 3 and not exact:
        return []
    found = await session.get(Lab, wanted)
    if found is not None or exact:
        return [reference_of(found)] if found is not None else []
    rows = (await session.scalars(select(Lab))).all()
    scored = []
    for row in rows:
        score = fuzz.WRatio(wanted, row.name.lower())
        if wanted == row.name.lower():
            score = 101
        if score >= MIN_SCORE:
            scored.append((score, row))
    scored.sort(key=lambda p: (-p[0], p[1].id))
    return [reference_of(row) for _, row in scored[:5]]
