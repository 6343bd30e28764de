"""Funding's part in the digest: the next deadline of each instrument on a followed topic
within the horizon, and instruments changed since the run's oldest watermark; and the
instruments closing soon, for deadline alerts. One query each."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.framework.digest_parts import Contribution, Deadline, Instrument, Parts, Window
from storage.funding.models import FundingInstrument
from storage.funding.records import next_deadline


async def parts(session, w: Window) -> Parts:
    out = Parts()
    rows = (await session.execute(select(
        FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.themes,
        FundingInstrument.deadlines, FundingInstrument.updated_at))).all()
    for fid, title, title_nl, themes, deadlines, updated_at in rows:
        themes = tuple(t for t in (themes or []) if t in w.topics)
        if not themes:
            continue
        nxt = next_deadline(FundingInstrument(id=fid, deadlines=deadlines), w.now)
        if nxt is not None and nxt[0] <= w.horizon_end:
            out.deadlines.append(Deadline(fid, title, title_nl, nxt[0], themes))
        if updated_at is not None and w.since < updated_at <= w.cutoff:
            out.instruments.append(Instrument(fid, title, title_nl, themes, updated_at))
    out.deadlines.sort(key=lambda d: (d.at, d.id))
    out.instruments.sort(key=lambda i: (i.updated_at, i.id), reverse=True)
    return out


async def closing(session, now: datetime, within: timedelta) -> list[Deadline]:
    """Instruments on any topic whose next deadline is within `within` of `now`."""
    rows = (await session.execute(select(
        FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.themes,
        FundingInstrument.deadlines))).all()
    out = []
    for fid, title, title_nl, themes, deadlines in rows:
        nxt = next_deadline(FundingInstrument(id=fid, deadlines=deadlines), now)
        if nxt is not None and nxt[0] <= now + within and themes:
            out.append(Deadline(fid, title, title_nl, nxt[0], tuple(themes)))
    return out


CONTRIBUTION = Contribution(parts, closing)
