"""Funding's part in the digest: the next deadline of each instrument on a followed topic
within the horizon, instruments changed since the run's oldest watermark, and the changes
of followed records (storage/funding/changes.py) recorded since then; and the instruments
closing soon, for deadline alerts. One query each; the deadline queries read only the
records with a deadline in the window (funding_deadlines, indexed by time), not every record."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.framework.digest_parts import Change, Contribution, Deadline, Instrument, Parts, Window
from bot.framework.i18n import N_
from storage.funding.models import FundingChange, FundingDeadline, FundingInstrument
from storage.funding.records import next_deadline

STATUS_LABELS = {"open": N_("open"), "forthcoming": N_("forthcoming"), "closed": N_("closed"),
                 "continuous": N_("continuous (apply any time)"),
                 "invitation_only": N_("closed to new applicants (stage 2 by invitation)"),
                 "unknown": N_("status unknown (no dates known): check the source"),
                 "gone": N_("no longer in the source: check")}
SOURCES = {"eu-ft": N_("the EU portal"), "chat": N_("a facilitator"), "import": N_("an import"),
           "bundled": N_("the bundled data")}


def _deadlines_within(query, start: datetime, end: datetime):
    """Only records with a deadline in [start, end] (an index range over funding_deadlines)."""
    return query.where(FundingInstrument.id.in_(select(FundingDeadline.instrument_id).where(
        FundingDeadline.at >= start, FundingDeadline.at <= end)))


async def parts(session, w: Window) -> Parts:
    out = Parts()
    rows = (await session.execute(_deadlines_within(select(
        FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.themes,
        FundingInstrument.deadlines), w.now, w.horizon_end))).all()
    for fid, title, title_nl, themes, deadlines in rows:
        themes = tuple(t for t in (themes or []) if t in w.topics)
        if not themes:
            continue
        nxt = next_deadline(FundingInstrument(id=fid, deadlines=deadlines), w.now)
        if nxt is not None and nxt[0] <= w.horizon_end:
            out.deadlines.append(Deadline(fid, title, title_nl, nxt[0], themes))
    rows = (await session.execute(select(
        FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.themes,
        FundingInstrument.updated_at).where(FundingInstrument.updated_at > w.since,
                                            FundingInstrument.updated_at <= w.cutoff))).all()
    for fid, title, title_nl, themes, updated_at in rows:
        themes = tuple(t for t in (themes or []) if t in w.topics)
        if themes:
            out.instruments.append(Instrument(fid, title, title_nl, themes, updated_at))
    out.changes = await changes_since(session, w)
    out.deadlines.sort(key=lambda d: (d.at, d.id))
    out.instruments.sort(key=lambda i: (i.updated_at, i.id), reverse=True)
    return out


def _value(field: str, raw: str | None):
    if raw is None:
        return None
    if field == "deadline":
        return datetime.fromisoformat(raw)
    if field == "status":
        return STATUS_LABELS.get(raw, raw)
    if field == "budget":
        return int(raw)
    return raw


def _change(c: FundingChange, themes: tuple[str, ...]) -> Change:
    kind = {"deadline": "moment", "status": "label", "budget": "money"}.get(c.field, "text")
    return Change(c.id, c.instrument_id, c.title, c.title_nl, themes, c.field, kind,
                  _value(c.field, c.old), _value(c.field, c.new), SOURCES.get(c.source, c.source), c.at,
                  alert=c.kind == "earlier", news=c.kind if c.kind in ("reopened", "forthcoming") else None)


async def changes_since(session, w: Window) -> list[Change]:
    """Changes recorded after `since` and up to `cutoff` on the run's topics, oldest first."""
    rows = (await session.scalars(select(FundingChange).where(
        FundingChange.at > w.since, FundingChange.at <= w.cutoff).order_by(FundingChange.at, FundingChange.id))).all()
    out = []
    for c in rows:
        themes = tuple(t for t in (c.themes or []) if t in w.topics)
        if themes:
            out.append(_change(c, themes))
    return out


async def deadline_changes(session, since: datetime, now: datetime) -> list[Change]:
    """Every deadline change recorded after `since` (any topic), oldest first: the digests
    capability alerts the latest of a record when it moved the deadline earlier
    (commands/digests/delivery.py run_change_alerts). One indexed range on `at`."""
    rows = (await session.scalars(select(FundingChange).where(
        FundingChange.at > since, FundingChange.field == "deadline").order_by(FundingChange.at, FundingChange.id))).all()
    return [_change(c, tuple(c.themes or ())) for c in rows if c.themes]


async def closing(session, now: datetime, within: timedelta) -> list[Deadline]:
    """Instruments on any topic whose next deadline is within `within` of `now`."""
    rows = (await session.execute(_deadlines_within(select(
        FundingInstrument.id, FundingInstrument.title, FundingInstrument.title_nl, FundingInstrument.themes,
        FundingInstrument.deadlines), now, now + within))).all()
    out = []
    for fid, title, title_nl, themes, deadlines in rows:
        nxt = next_deadline(FundingInstrument(id=fid, deadlines=deadlines), now)
        if nxt is not None and nxt[0] <= now + within and themes:
            out.append(Deadline(fid, title, title_nl, nxt[0], tuple(themes)))
    return out


CONTRIBUTION = Contribution(parts, closing, deadline_changes)
