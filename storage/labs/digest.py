"""Labs' part in the digest: labs on a followed topic changed since the oldest watermark."""
from __future__ import annotations

from sqlalchemy import select

from bot.framework.digest_parts import Contribution, LabEntry, Parts, Window
from storage.labs.models import Lab


async def parts(session, w: Window) -> Parts:
    rows = (await session.execute(select(Lab.id, Lab.name, Lab.municipality, Lab.themes, Lab.updated_at).where(
        Lab.updated_at > w.since, Lab.updated_at <= w.cutoff).order_by(Lab.updated_at.desc(), Lab.id))).all()
    return Parts(labs=[LabEntry(r.id, r.name, r.municipality, tuple(r.themes or ()), r.updated_at) for r in rows
                       if w.topics.intersection(r.themes or ())])


CONTRIBUTION = Contribution(parts)
