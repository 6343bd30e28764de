"""`dsih-bot refresh funding --source eu-ft`: bring the funding table up to date with the EU
Funding & Tenders portal.

- Portal topics become records with origin `eu-ft` (id `euft-<topic id>`), created or
  updated in place; a second run with the same portal answer changes nothing.
- A curated record (bundled, imported or corrected in chat) with the same identifier is
  never overwritten: only its status at the source and `last_seen_at` are noted.
- A portal record the portal has not listed for `funding.unseen_after` is marked stale
  (answers then say so); it becomes fresh again when the portal lists it again.
- A failing portal changes nothing (and marks nothing stale)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from sqlalchemy import or_, select

from storage.funding.eu_portal import PortalClient, fetch_live, map_result
from storage.funding.records import FUNDING_INDEX, InstrumentRecord, search_fields
from storage.models.core import AuditLog
from storage.funding.models import FundingInstrument

ORIGIN = "eu-ft"
# Fields that only say when we looked: changing them is not a change of the record.
_SEEN_FIELDS = ("last_checked", "last_seen_at", "stale")


@dataclass
class RefreshReport:
    fetched: int = 0                 # distinct live portal topics mapped to records
    skipped: int = 0                 # results without identifier or that did not validate
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    curated_seen: list[str] = field(default_factory=list)   # curated records found in the portal
    marked_stale: list[str] = field(default_factory=list)
    revived: list[str] = field(default_factory=list)        # stale records listed again
    removed: list[str] = field(default_factory=list)        # portal copies of a curated record

    def line(self) -> str:
        return (f"eu-ft: {self.fetched} live topics ({self.skipped} skipped): {len(self.created)} new, "
                f"{len(self.updated)} updated, {self.unchanged} unchanged, {len(self.curated_seen)} curated records "
                f"seen (not overwritten), {len(self.marked_stale)} marked stale, {len(self.revived)} listed again, "
                f"{len(self.removed)} duplicates of curated records removed")


Fetcher = Callable[[], Awaitable[list[tuple[str, dict[str, Any]]]]]


def client_from(settings) -> PortalClient:
    f = settings.funding
    return PortalClient(url=str(f.eu_ft_url), api_key=f.eu_ft_api_key, page_size=f.eu_ft_page_size,
                        max_pages=f.eu_ft_max_pages, timeout=f.eu_ft_timeout.total_seconds())


async def refresh_eu_ft(db, settings, *, now: datetime | None = None, fetch: Fetcher | None = None,
                        actor: str = "cli", progress=None) -> RefreshReport:
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    # PortalError: nothing changed
    raw = await (fetch or (lambda: fetch_live(client_from(settings), progress)))()
    report = RefreshReport()
    records: dict[str, InstrumentRecord] = {}
    for topic_id, res in raw:
        rec = map_result(res, topic_id, now)
        if rec is None:
            report.skipped += 1
            continue
        if rec.id in records:   # found again under another hub topic: merge the themes
            prev = records[rec.id]
            prev.themes = list(dict.fromkeys(prev.themes + rec.themes))
            continue
        records[rec.id] = rec
    report.fetched = len(records)
    async with db.transaction() as session:
        await _apply(session, records, now, settings.funding.unseen_after, report)
        session.add(AuditLog(actor=actor, action="funding.refresh", target=ORIGIN,
                             detail={"fetched": report.fetched, "created": len(report.created),
                                     "updated": len(report.updated), "stale": len(report.marked_stale)}, at=now))
    return report


async def _apply(session, records: dict[str, InstrumentRecord], now: datetime, unseen_after, report) -> None:
    idents = {r.external_id for r in records.values()}
    curated = {}
    if idents:
        for row in (await session.scalars(select(FundingInstrument).where(
                FundingInstrument.origin != ORIGIN,
                or_(FundingInstrument.identifier.in_(idents), FundingInstrument.external_id.in_(idents))))).all():
            curated[row.external_id or row.identifier] = row
    ours = {r.id: r for r in (await session.scalars(
        select(FundingInstrument).where(FundingInstrument.origin == ORIGIN))).all()}
    touched: list[FundingInstrument] = []
    for rec in records.values():
        cur = curated.get(rec.external_id)
        if cur is not None:
            if (cur.external_status, cur.last_seen_at) != (rec.external_status, now):
                cur.external_status, cur.last_seen_at = rec.external_status, now
            report.curated_seen.append(cur.id)
            dup = ours.pop(rec.id, None)
            if dup is not None:   # fetched before the curated record existed: the curated one wins
                await FUNDING_INDEX.delete(session, dup.id)
                await session.delete(dup)
                report.removed.append(dup.id)
            continue
        values = rec.to_row()
        row = ours.get(rec.id)
        if row is None:
            if await session.get(FundingInstrument, rec.id) is not None:
                report.skipped += 1     # the id is taken by a record of another origin
                continue
            row = FundingInstrument(**values, updated_at=now, updated_by=f"refresh {ORIGIN}")
            session.add(row)
            report.created.append(rec.id)
            touched.append(row)
            continue
        if row.stale:
            report.revived.append(row.id)
        changed = {k: v for k, v in values.items() if k not in _SEEN_FIELDS and getattr(row, k) != v}
        for k, v in values.items():
            if getattr(row, k) != v:
                setattr(row, k, v)
        if changed:
            row.updated_at, row.updated_by = now, f"refresh {ORIGIN}"
            report.updated.append(row.id)
            touched.append(row)
        else:
            report.unchanged += 1
    for row in ours.values():
        if row.id in records or row.stale:
            continue
        seen = row.last_seen_at or row.updated_at
        if seen is not None and now - seen > unseen_after:
            row.stale = True
            report.marked_stale.append(row.id)
    await session.flush()
    for row in touched:
        await FUNDING_INDEX.upsert(session, row.id, search_fields(row))
