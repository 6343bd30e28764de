"""Planning scheduled work, as a handler's effect: the `scheduled_jobs` row is written in
the handler's transaction (our table is the source of truth), and the in-process timer is
armed or disarmed only after that transaction commits, by whatever keeps the timers (the
runtime's bot.scheduler; none in a unit test, whose rows then simply wait).

    await ctx.schedule("reminder", due, {"text": text}, job_id=..., group=...)
    await ctx.cancel_jobs(group=f"session:{s.id}", note=N_("the session was cancelled"))

Jobs carry a group key (`session:12`) so a whole plan can be cancelled or re-planned; a
recurring job (`recurrence`) stays one row whose run_at moves to the next occurrence,
computed in local wall time so 09:00 stays 09:00 across a DST change."""
from __future__ import annotations

import calendar
import secrets
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.framework.messages import Incoming
from storage.models.core import ScheduledJob

if TYPE_CHECKING:
    from bot.framework.context import Context, Services


class Timers(Protocol):
    """What keeps in-process timers for due rows (the runtime's scheduler)."""

    def arm_if_soon(self, job_id: str, run_at: datetime) -> None: ...

    def disarm(self, job_id: str) -> None: ...


async def schedule(ctx: "Context", kind: str, run_at: datetime, payload: dict[str, Any], *,
                   job_id: str | None = None, group: str | None = None, owner: str | None = None,
                   room_id: str | None = None, recurrence: dict[str, Any] | None = None) -> ScheduledJob:
    """Write (or re-plan) the job row in the caller's transaction; arm after commit.
    Re-using a job id re-plans that job."""
    if kind not in ctx.services.registry.jobs:
        raise ValueError(f"no handler for job kind {kind!r}")
    job_id = job_id or f"{kind}-{secrets.token_hex(6)}"
    row = await ctx.db.get(ScheduledJob, job_id)
    values = dict(kind=kind, run_at=run_at, payload=payload, status="pending", group_key=group,
                  owner=owner or ctx.sender, room_id=room_id if room_id is not None else ctx.incoming.room_id,
                  recurrence=recurrence, attempts=0, last_error=None, note=None, done_at=None)
    if row is None:
        row = ScheduledJob(id=job_id, **values)
        ctx.db.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    _after_commit(ctx, lambda timers: timers.arm_if_soon(job_id, run_at))
    return row


async def cancel(ctx: "Context", *, group: str | None = None, job_ids: list[str] | None = None,
                 note: str = "cancelled") -> int:
    """Cancel pending jobs of a group (`session:12`) and/or by id; disarm after commit."""
    query = select(ScheduledJob.id).where(ScheduledJob.status == "pending")
    if group is not None:
        query = query.where(ScheduledJob.group_key == group)
    if job_ids is not None:
        query = query.where(ScheduledJob.id.in_(job_ids))
    ids = list((await ctx.db.scalars(query)).all())
    if not ids:
        return 0
    await ctx.db.execute(update(ScheduledJob).where(ScheduledJob.id.in_(ids))
                         .values(status="cancelled", note=note[:255]))
    drop_timers(ctx, ids)
    return len(ids)


def arm_after_commit(ctx: "Context", job_id: str, run_at: datetime) -> None:
    _after_commit(ctx, lambda timers: timers.arm_if_soon(job_id, run_at))


def drop_timers(ctx: "Context", job_ids: list[str]) -> None:
    """After commit, forget the timers of rows this handler removed or cancelled itself."""
    ids = list(job_ids)
    if ids:
        _after_commit(ctx, lambda timers: [timers.disarm(job_id) for job_id in ids])


def _after_commit(ctx: "Context", action) -> None:
    timers = ctx.services.timers

    async def run() -> None:
        if timers is not None:
            action(timers)

    ctx.after_commit.append(run)


def next_occurrence(previous: datetime, rule: dict[str, Any]) -> datetime | None:
    """The occurrence after `previous` for {"freq": "daily"|"weekly"|"monthly",
    "interval": n, "tz": zone, "until": iso or None} (or {"freq": "seconds", "interval":
    n}, a plain fixed-rate tick): same local wall time, so DST
    changes do not move it; a monthly job on the 31st runs on the month's last day."""
    n = int(rule.get("interval") or 1)
    freq = rule.get("freq")
    if freq == "seconds":
        # A fixed-rate tick (e.g. the batched digest run): no wall time to keep.
        return previous + timedelta(seconds=n)
    zone = ZoneInfo(rule.get("tz") or "UTC")
    local = previous.astimezone(zone)
    if freq == "daily":
        day = local.date() + timedelta(days=n)
    elif freq == "weekly":
        day = local.date() + timedelta(weeks=n)
    elif freq == "monthly":
        anchor = int(rule.get("day_of_month") or local.day)
        month_index = local.year * 12 + local.month - 1 + n
        year, month = divmod(month_index, 12)
        month += 1
        day = local.date().replace(year=year, month=month, day=min(anchor, calendar.monthrange(year, month)[1]))
    else:
        raise ValueError(f"unknown recurrence {freq!r}")
    nxt = datetime(day.year, day.month, day.day, local.hour, local.minute, tzinfo=zone).astimezone(timezone.utc)
    until = rule.get("until")
    if until and nxt > datetime.fromisoformat(until):
        return None
    return nxt


def job_context(services: "Services", session, row: ScheduledJob) -> "Context":
    """A command-like context for a job, acting for the user who scheduled it; replies
    go to the job's room, as a reply to the command that planned it when known."""
    from bot.framework.context import Context

    incoming = Incoming(sender=row.owner or services.bot_user_id, room_id=row.room_id or "",
                        event_id=row.payload.get("event_id", f"job:{row.id}"), body="",
                        thread_root=row.payload.get("thread_root"))
    ctx = Context(incoming, services, session)
    ctx.reply_to_event = row.payload.get("event_id")
    return ctx
