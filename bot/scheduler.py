"""Scheduled work. The `scheduled_jobs` table is the source of truth; APScheduler only
holds an in-process timer per pending row, with the row id as its stable job id.

At start-up every pending row is re-armed; rows that fell due while the bot was down run
once, right away. A job's outgoing messages and its `done` mark are committed together,
so a job never sends twice (and a crash after the commit is covered by the outbox)."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone
from typing import Any, Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.framework.context import Context, Services
from bot.framework.messages import Incoming
from storage.models.core import ScheduledJob

log = logging.getLogger(__name__)

_active: "Scheduler | None" = None


async def run_scheduled_job(job_id: str) -> None:
    """Module-level entry point APScheduler calls (no bound method, nothing pickled)."""
    if _active is None:
        log.error("scheduled job %s fired without an active scheduler", job_id)
        return
    await _active.run(job_id)


class Scheduler:
    def __init__(self, services: Services, wake_outbox: Callable[[], None]):
        self.services = services
        self.wake_outbox = wake_outbox
        self.aps = AsyncIOScheduler(
            timezone=timezone.utc,
            # Run late jobs however late (our table decides what is due); never twice at once.
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        self.aps.add_listener(self._on_aps_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)

    @staticmethod
    def _on_aps_event(event) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("timer for job %s missed; it stays pending and is re-armed at next start", event.job_id)
        else:
            log.error("job %s raised: %s", event.job_id, event.exception)

    async def start(self) -> int:
        global _active
        _active = self
        self.aps.start()
        async with self.services.db.session() as session:
            rows = (await session.scalars(select(ScheduledJob).where(ScheduledJob.status == "pending"))).all()
        for row in rows:
            self.arm(row.id, row.run_at)
        log.info("scheduler started; %d pending job(s) re-armed", len(rows))
        return len(rows)

    def arm(self, job_id: str, run_at: datetime) -> None:
        now = datetime.now(timezone.utc)
        self.aps.add_job(run_scheduled_job, "date", run_date=max(run_at, now), args=[job_id], id=job_id,
                         replace_existing=True)

    def disarm(self, job_id: str) -> None:
        if self.aps.get_job(job_id):
            self.aps.remove_job(job_id)

    async def schedule(self, ctx: Context, kind: str, run_at: datetime, payload: dict[str, Any],
                       *, job_id: str | None = None) -> ScheduledJob:
        """Write the job row in the command's transaction; arm the timer after commit."""
        if kind not in self.services.registry.jobs:
            raise ValueError(f"no handler for job kind {kind!r}")
        row = ScheduledJob(id=job_id or f"{kind}-{secrets.token_hex(6)}", kind=kind, run_at=run_at,
                           payload=payload, status="pending", owner=ctx.sender, room_id=ctx.incoming.room_id)
        ctx.db.add(row)

        async def arm_after_commit() -> None:
            self.arm(row.id, row.run_at)

        ctx.after_commit.append(arm_after_commit)
        return row

    async def run(self, job_id: str) -> None:
        services = self.services
        try:
            async with services.db.transaction() as session:
                row = await session.get(ScheduledJob, job_id)
                if row is None or row.status != "pending":
                    return
                handler = services.registry.jobs.get(row.kind)
                if handler is None:
                    raise LookupError(f"no handler for job kind {row.kind!r}")
                ctx = job_context(services, session, row)
                await handler(ctx, row)
                row.status = "done"
                row.done_at = datetime.now(timezone.utc)
                await outbox.enqueue(session, ctx.outgoing, origin=f"job {row.kind} {row.id}", key=f"job:{row.id}")
            for callback in ctx.after_commit:
                await callback()
            self.wake_outbox()
        except Exception:  # noqa: BLE001
            log.exception("job %s failed; marked failed", job_id)
            async with services.db.transaction() as session:
                row = await session.get(ScheduledJob, job_id)
                if row is not None and row.status == "pending":
                    row.status = "failed"

    async def shutdown(self) -> None:
        global _active
        if self.aps.running:
            self.aps.shutdown(wait=False)
        _active = None


def job_context(services: Services, session: AsyncSession, row: ScheduledJob) -> Context:
    """A command-like context for a job, acting for the user who scheduled it."""
    incoming = Incoming(sender=row.owner or services.bot_user_id, room_id=row.room_id or "",
                        event_id=row.payload.get("event_id", f"job:{row.id}"), body="",
                        thread_root=row.payload.get("thread_root"))
    return Context(incoming, services, session)
