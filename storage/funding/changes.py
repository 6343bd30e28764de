"""Change alerts (issue 17, section 4): what changed in a record that its followers should
hear about, recorded in `funding_changes` in the same transaction as the change.

A change is one of: the next deadline, the status (as storage.funding.records.status_of
derives it), the budget or the conditions (who may apply, consortium rule, co-financing
rate). Writers take a `snapshot` of the record before and call `record` after (a refresh
wraps the whole run in `tracking`); a new record that is forthcoming on its first
appearance is news too (a new open one is already in the digest's "New or updated funding"). storage/funding/digest.py hands the changes to the digests.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage.funding.models import FundingChange, FundingInstrument
from storage.funding.records import ACCEPTING, next_deadline_info, status_of

FIELDS = ("deadline", "status", "budget", "conditions")


@dataclass(frozen=True)
class Snapshot:
    deadline: str | None       # next deadline ahead, ISO (aware)
    status: str
    budget: str | None         # whole euros
    conditions: str | None     # one line of text


def snapshot(row: FundingInstrument, now: datetime) -> Snapshot:
    nd = next_deadline_info(row, now)
    budget = row.budget_total_eur
    conditions = []
    if row.eligible_applicants:
        conditions.append(", ".join(row.eligible_applicants))
    if row.cofinancing_rate is not None:
        conditions.append(f"{round(row.cofinancing_rate * 100, 1):g} %")
    if row.consortium_rule:
        conditions.append(row.consortium_rule.strip())
    return Snapshot(nd.at.isoformat() if nd else None, status_of(row, now),
                    None if budget is None else str(int(budget)), " · ".join(conditions) or None)


def diff(before: Snapshot | None, after: Snapshot) -> list[tuple[str, str, str | None, str | None]]:
    """(field, kind, old, new) for each change worth telling; `before` None = a new record."""
    if before is None:
        if after.status == "forthcoming":
            return [("status", "forthcoming", None, after.status)]
        return []
    out = []
    if before.deadline != after.deadline and after.deadline is not None:
        earlier = before.deadline is not None and after.deadline < before.deadline
        out.append(("deadline", "earlier" if earlier else "changed", before.deadline, after.deadline))
    if before.status != after.status:
        if after.status in ACCEPTING and before.status not in ACCEPTING:
            kind = "reopened"
        elif after.status == "forthcoming":
            kind = "forthcoming"
        else:
            kind = "changed"
        out.append(("status", kind, before.status, after.status))
    if before.budget != after.budget:
        out.append(("budget", "changed", before.budget, after.budget))
    if before.conditions != after.conditions:
        out.append(("conditions", "changed", before.conditions, after.conditions))
    return out


def record(session, row: FundingInstrument, before: Snapshot | None, now: datetime, *, source: str,
           by: str | None) -> list[FundingChange]:
    """Add a FundingChange per change of `row` since `before` (in the caller's transaction)."""
    out = []
    for field, kind, old, new in diff(before, snapshot(row, now)):
        change = FundingChange(instrument_id=row.id, title=row.title, title_nl=row.title_nl,
                               themes=list(row.themes or []), field=field, kind=kind, old=old, new=new,
                               source=source, changed_by=by, at=now)
        session.add(change)
        out.append(change)
    return out


@asynccontextmanager
async def tracking(session, now: datetime, *, source: str, by: str | None, where=None):
    """Record every change the block makes to the records it may touch (`where`, a filter
    on FundingInstrument; default all): snapshots before, compared after the block (new
    records: forthcoming ones are news)."""
    query = select(FundingInstrument) if where is None else select(FundingInstrument).where(where)
    before: dict[str, Snapshot] = {r.id: snapshot(r, now) for r in (await session.scalars(query)).all()}
    yield
    await session.flush()
    for row in (await session.scalars(query)).all():
        record(session, row, before.get(row.id), now, source=source, by=by)
