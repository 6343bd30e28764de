"""Funding's contributions to other capabilities, as neutral shapes (bot.framework.references):
`lookup` (an instrument named or numbered in chat) and `calendar` (the deadlines of the
instruments someone follows), so brokerage never imports funding."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from rapidfuzz import fuzz
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.framework.references import CalendarEntry, CalendarSource, Reference, fingerprint
from storage.funding.models import FundingInstrument
from storage.funding.records import deadline_infos, next_deadline_info

MIN_SCORE = 80


def reference_of(row: FundingInstrument, now: datetime) -> Reference:
    nd = next_deadline_info(row, now)
    return Reference(kind="instrument", id=row.id, title=row.title, deadline=nd.at.astimezone(timezone.utc) if nd else None,
                     themes=tuple(row.themes or ()), url=row.url, title_nl=row.title_nl)


async def lookup(session: AsyncSession, text: str, now: datetime | None = None, *,
                 exact: bool = False) -> list[Reference]:
    """Instruments `text` names: the exact id or identifier, else titles that match well
    (`exact`: the id only, one primary-key read)."""
    now = now or datetime.now(timezone.utc)
    wanted = " ".join(text.split()).strip().lower()
    if not wanted:
        return []
    found = await session.get(FundingInstrument, wanted)
    if found is not None or exact:
        return [reference_of(found, now)] if found is not None else []
    rows = (await session.scalars(select(FundingInstrument))).all()
    for row in rows:
        if (row.identifier or "").lower() == wanted:
            return [reference_of(row, now)]
    scored = []
    for row in rows:
        names = [row.title, row.title_nl or "", row.identifier or ""]
        score = max(fuzz.WRatio(wanted, n.lower()) for n in names if n)
        if wanted in row.title.lower() or (row.title_nl and wanted in row.title_nl.lower()):
            score = max(score, 95)
        if score >= MIN_SCORE and len(wanted) >= 3:
            scored.append((score, row))
    scored.sort(key=lambda p: (-p[0], p[1].id))
    return [reference_of(row, now) for _, row in scored[:5]]


async def calendar(session: AsyncSession, user_id: str, followed: frozenset, t) -> list[CalendarEntry]:
    """Every deadline of the instruments in `followed` ((kind, id) pairs), as an all-day
    moment in the deadline's own zone; past ones stay (a calendar keeps its history)."""
    ids = [i for kind, i in followed if kind == "instrument"]
    if not ids:
        return []
    rows = (await session.scalars(select(FundingInstrument).where(FundingInstrument.id.in_(ids)))).all()
    out = []
    for row in rows:
        title = (row.title_nl if t.lang == "nl" and row.title_nl else row.title)
        for d in deadline_infos(row):
            zone = getattr(d.at.tzinfo, "key", "Europe/Brussels")
            label = t("Deadline: {title}", title=title)
            if d.indicative:
                label += " " + t("(indicative)")
            out.append(CalendarEntry(uid=f"funding-{row.id}-{d.at.astimezone(timezone.utc):%Y%m%dT%H%M}",
                                     summary=label, start=d.at, end=d.at + timedelta(minutes=30), tz=zone,
                                     status="TENTATIVE" if d.indicative else "CONFIRMED",
                                     description=row.url or "", url=row.url, categories=("funding",)))
    return out


# Built once (building a statement costs more than running it); the ids expand at run time.
_CALENDAR_VERSION = fingerprint(
    FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.url,
    FundingInstrument.dates_indicative, FundingInstrument.deadlines,
    where=(FundingInstrument.id.in_(bindparam("ids", expanding=True)),), order_by=(FundingInstrument.id,))


async def calendar_version(session: AsyncSession, user_id: str, followed: frozenset) -> str:
    """The columns `calendar` reads of the followed instruments, as one string built in the
    database (bot.framework.references.fingerprint): any moved, added or removed deadline,
    title or link changes it; no entry is built."""
    ids = sorted(i for kind, i in followed if kind == "instrument")
    if not ids:
        return "-"
    found = (await session.execute(_CALENDAR_VERSION, {"ids": ids})).one()
    return hashlib.sha256(repr(tuple(found)).encode()).hexdigest()


CALENDAR = CalendarSource(calendar, calendar_version)
