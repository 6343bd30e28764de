"""`dsih-bot refresh funding --source eu-ft`: bring the funding table up to date with the EU
Funding & Tenders portal.

- One listing of every open and forthcoming call (storage.funding.eu_portal); rows are kept when
  their programme is one local and regional government applies to or partners in, and
  their own text is about one of the hub's topics.
- Portal calls become records with origin `eu-ft` (id `euft-<topic id>`, cascade calls
  `euft-cascade-<number>`), created or updated in place; a second run with the same portal
  answer changes nothing. A call that is new to us but already closed by its dates is not
  added.
- A curated record (bundled, imported or corrected in chat) with the same identifier is
  never overwritten: only its status at the source, `last_seen_at` and that the refresh saw
  it there (`last_checked`, `checked_by`: "checked in the EU portal on …") are noted.
- A record the portal has not listed for `funding.unseen_after` (14 days) is marked
  `stale`: its status becomes "no longer in the source: check" (storage.funding.records
  .status_of) and it stays findable; it is never deleted. Not when its dates say it is
  closed, or a two-stage call is past stage 1 (the portal flags those closed, so a query
  for open calls no longer returns them), or the listing was incomplete. It becomes fresh
  again when the portal lists it again.
- A failing portal, or one answering outside the filter, changes nothing."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Awaitable, Callable

from sqlalchemy import or_, select

from storage.funding import changes
from storage.funding.eu_portal import CHECKED_BY, Listing, PortalClient, fetch_live, map_rows
from storage.funding.records import FUNDING_INDEX, InstrumentRecord, search_fields, status_by_dates
from storage.models.core import AuditLog
from storage.funding.models import FundingInstrument

ORIGIN = "eu-ft"
# Fields that only say when we looked: changing them is not a change of the record.
_SEEN_FIELDS = ("last_checked", "last_seen_at", "stale")
# Dates that explain why the portal no longer lists a call: not "gone".
_EXPLAINED = ("closed", "invitation_only")


@dataclass
class RefreshReport:
    listed: int = 0                  # rows the portal returned (repeats and archived copies included)
    fetched: int = 0                 # of those, calls in scope mapped to records
    skipped: int = 0                 # rows dropped (sum of `dropped`)
    dropped: Counter = field(default_factory=Counter)        # reason -> rows
    created: list[str] = field(default_factory=list)         # added
    updated: list[str] = field(default_factory=list)         # changed
    unchanged: int = 0
    closed_not_added: list[str] = field(default_factory=list)
    curated_seen: list[str] = field(default_factory=list)   # curated records found in the portal
    marked_stale: list[str] = field(default_factory=list)   # gone: "no longer in the source: check"
    revived: list[str] = field(default_factory=list)        # stale records listed again
    removed: list[str] = field(default_factory=list)        # portal copies of a curated record
    complete: bool = True

    def line(self) -> str:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items()))
        out = (f"eu-ft: {self.listed} rows listed, {self.fetched} calls in scope"
               f"{f' ({self.skipped} dropped: {why})' if self.skipped else ''}: "
               f"{len(self.created)} new (added), {len(self.updated)} changed, {self.unchanged} unchanged, "
               f"{len(self.marked_stale)} marked stale (gone: no longer in the source), "
               f"{len(self.revived)} listed again, {len(self.closed_not_added)} closed calls not added, "
               f"{len(self.curated_seen)} curated records seen (not overwritten), "
               f"{len(self.removed)} duplicates of curated records removed")
        if not self.complete:
            out += "; the listing was longer than eu_ft_max_pages allows, so nothing was marked gone"
        return out


Fetcher = Callable[[], Awaitable[Listing]]


def client_from(settings) -> PortalClient:
    f = settings.funding
    return PortalClient(url=str(f.eu_ft_url), api_key=f.eu_ft_api_key, page_size=f.eu_ft_page_size,
                        max_pages=f.eu_ft_max_pages, timeout=f.eu_ft_timeout.total_seconds())


async def refresh_eu_ft(db, settings, *, now: datetime | None = None, fetch: Fetcher | None = None,
                        actor: str = "cli", progress=None) -> RefreshReport:
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    # PortalError: nothing changed
    listing = await (fetch or (lambda: fetch_live(client_from(settings), progress)))()
    mapped = map_rows(listing.rows, now)
    report = RefreshReport(listed=len(listing.rows) + sum(listing.dropped.values()), fetched=len(mapped.records),
                           complete=listing.complete)
    report.dropped = listing.dropped + mapped.dropped
    report.skipped = sum(report.dropped.values())
    async with db.transaction() as session:
        # Followers hear of changed deadlines, statuses, budgets and conditions (storage/funding/changes.py).
        # Only records a refresh can touch: its own, and curated ones it can match or saw before.
        async with changes.tracking(session, now, source=ORIGIN, by=f"refresh {ORIGIN}", where=or_(
                FundingInstrument.origin == ORIGIN, FundingInstrument.last_seen_at.is_not(None),
                FundingInstrument.identifier.is_not(None), FundingInstrument.external_id.is_not(None))):
            await _apply(session, mapped.records, now, settings.funding.unseen_after, report)
        session.add(AuditLog(actor=actor, action="funding.refresh", target=ORIGIN,
                             detail={"listed": report.listed, "fetched": report.fetched,
                                     "created": len(report.created), "updated": len(report.updated),
                                     "unchanged": report.unchanged, "stale": len(report.marked_stale),
                                     "complete": report.complete}, at=now))
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
    seen_curated: set[str] = set()
    for rec in records.values():
        cur = curated.get(rec.external_id)
        if cur is not None:
            if cur.stale:
                report.revived.append(cur.id)
            if (cur.external_status, cur.last_seen_at, cur.stale) != (rec.external_status, now, False):
                cur.external_status, cur.last_seen_at, cur.stale = rec.external_status, now, False
            # Seen in its source: "checked in the EU portal on …" (storage.funding.curation).
            cur.last_checked, cur.checked_by = now.date(), CHECKED_BY
            report.curated_seen.append(cur.id)
            seen_curated.add(cur.id)
            dup = ours.pop(rec.id, None)
            if dup is not None:   # fetched before the curated record existed: the curated one wins
                await FUNDING_INDEX.delete(session, dup.id)
                await session.delete(dup)
                report.removed.append(dup.id)
            continue
        values = rec.to_row()
        row = ours.get(rec.id)
        if row is None:
            if status_by_dates(FundingInstrument(**values), now) == "closed":
                report.closed_not_added.append(rec.id)      # out of scope: only open and forthcoming calls
                continue
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
    if report.complete:
        # Ours not listed, and curated records a refresh saw before and no longer sees.
        missing = [r for r in ours.values() if r.id not in records]
        missing += (await session.scalars(select(FundingInstrument).where(
            FundingInstrument.origin != ORIGIN, FundingInstrument.last_seen_at.is_not(None),
            FundingInstrument.stale.is_(False)))).all()
        for row in missing:
            if row.stale or row.id in seen_curated:
                continue
            seen = row.last_seen_at or row.updated_at
            if seen is None or now - _aware(seen) <= unseen_after or status_by_dates(row, now) in _EXPLAINED:
                continue
            row.stale = True
            report.marked_stale.append(row.id)
    await session.flush()
    for row in touched:
        await FUNDING_INDEX.upsert(session, row.id, search_fields(row))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
