"""Scheduled work, the runtime's half (planning is the kernel's: bot.framework.jobs).
The `scheduled_jobs` table is the source of truth; APScheduler only
holds an in-process timer per pending row due within the next hours (HORIZON), with the
row id as its stable job id; a sweep arms the next ones as time goes on.

- At start-up pending rows are re-armed; rows that fell due while the bot was down
  run once, right away (the handler decides whether a late run still makes sense and
  raises JobSkipped with a reason if not).
- A job's writes, its outgoing messages and its new status are committed together, and
  the outbox transaction ids derive from the job id (and occurrence), so a crash at any
  point neither loses nor doubles a message.
- Jobs carry a group key (`session:12`) so a whole plan can be cancelled or re-planned.
- A recurring job (`recurrence`) stays one row whose run_at moves to the next occurrence,
  computed in local wall time so 09:00 stays 09:00 across a DST change.
- A job that raises is retried with exponential backoff, then marked failed."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.framework import effects
from bot.framework.context import Services
from bot.framework.errors import JobSkipped
from bot.framework.jobs import job_context, next_occurrence
from storage.db import describe_transient
from storage.models.core import ScheduledJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Only jobs due within the horizon hold an in-process timer; a sweep every SWEEP arms the
# next ones. Start-up cost and memory then follow what is due soon, not everything ever
# planned (10,000 sessions with reminders months ahead arm a handful of timers).
HORIZON = timedelta(hours=6)
SWEEP = timedelta(minutes=30)
SWEEP_JOB_ID = "dsih:arm-horizon"
# Jobs that fall due together (a burst after downtime) run a few at a time: each is one
# write transaction, and SQLite serialises writers anyway.
CONCURRENT_JOBS = 4
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
DB_RETRY = timedelta(seconds=2)


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
        self._slots = asyncio.Semaphore(CONCURRENT_JOBS)
        self._running: set[asyncio.Task] = set()

    @staticmethod
    def _on_aps_event(event) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("timer for job %s missed; it stays pending and is re-armed at next start", event.job_id)
        else:
            log.error("job %s raised: %s", event.job_id, event.exception)

    async def start(self) -> int:
        # Arm before the scheduler runs: one wake-up for all timers instead of one per job.
        armed = await self.arm_horizon()
        self.aps.add_job(self.arm_horizon, "interval", seconds=SWEEP.total_seconds(), id=SWEEP_JOB_ID,
                         replace_existing=True)
        self.aps.start()
        log.info("scheduler started; %d pending job(s) due within %s re-armed", armed, HORIZON)
        return armed

    async def arm_horizon(self) -> int:
        """Arm every pending row due before now + HORIZON that has no timer yet."""
        async with self.services.db.session() as session:
            rows = (await session.execute(select(ScheduledJob.id, ScheduledJob.run_at).where(
                ScheduledJob.status == "pending", ScheduledJob.run_at <= self.now() + HORIZON))).all()
        count = 0
        for job_id, run_at in rows:
            if self.aps.get_job(job_id) is None:
                self.arm(job_id, run_at)
                count += 1
        return count

    def now(self) -> datetime:
        return self.services.clock()

    def arm_if_soon(self, job_id: str, run_at: datetime) -> None:
        """Arm now if due within the horizon (else the sweep will); replace a stale timer."""
        if _aware(run_at) <= self.now() + HORIZON:
            self.arm(job_id, run_at)
        else:
            self.disarm(job_id)

    def arm(self, job_id: str, run_at: datetime) -> None:
        # Due times follow the services' clock (a test or demo may shift it); the timer
        # itself runs on the real clock, so arm it after the same delay.
        delay = max(timedelta(0), _aware(run_at) - self.now())
        # A bound method is fine: the memory job store never pickles.
        self.aps.add_job(self.run, "date", run_date=datetime.now(timezone.utc) + delay, args=[job_id], id=job_id,
                         replace_existing=True)

    def disarm(self, job_id: str) -> None:
        if self.aps.get_job(job_id):
            self.aps.remove_job(job_id)

    # -- running ----------------------------------------------------------------------------
    async def run(self, job_id: str) -> None:
        # Tracked so that shutdown() can let a running job end (or cancel it) before the
        # database is closed under it (see shutdown).
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            async with self._slots:
                await self._run(job_id)
        except asyncio.CancelledError:
            # Stopped mid-run (shutdown): its transaction was rolled back and the row is still
            # pending, so the next start runs it; not an error worth a traceback.
            log.info("job %s interrupted by the stop; it runs again at the next start", job_id)
        finally:
            if task is not None:
                self._running.discard(task)

    async def _run(self, job_id: str) -> None:
        services = self.services
        rearm: datetime | None = None
        try:
            async with services.db.transaction() as session:
                row = await session.get(ScheduledJob, job_id)
                if row is None or row.status != "pending":
                    return
                now = self.now()
                if _aware(row.run_at) > now + timedelta(seconds=1):
                    rearm = row.run_at  # re-planned since this timer was set
                    return
                handler = services.registry.jobs.get(row.kind)
                if handler is None:
                    raise LookupError(f"no handler for job kind {row.kind!r}")
                ctx = job_context(services, session, row)
                occurrence = _aware(row.run_at)
                try:
                    await handler(ctx, row)
                except JobSkipped as skip:
                    log.info("job %s skipped: %s", row.id, skip.reason)
                    row.note = skip.reason[:255]
                    ctx.outgoing.clear()
                    status = "skipped"
                    services.metrics.jobs.labels(row.kind, "skipped").inc()
                else:
                    status = "done"
                    key = f"job:{row.id}" if not row.recurrence else f"job:{row.id}:{occurrence.isoformat()}"
                    await effects.enqueue(session, ctx.outgoing, origin=f"job {row.kind} {row.id}", key=key)
                    services.metrics.jobs.labels(row.kind, "done").inc()
                    services.metrics.job_lateness.labels(row.kind).observe(max(0.0, (self.now() - occurrence).total_seconds()))
                row.done_at = self.now()
                nxt = next_occurrence(occurrence, row.recurrence) if row.recurrence else None
                if nxt is not None and row.recurrence.get("skip_missed"):
                    # A tick that only looks at what is due now: after downtime, run once, not once per missed tick.
                    while nxt is not None and nxt <= now:
                        nxt = next_occurrence(nxt, row.recurrence)
                if nxt is not None:
                    row.run_at, row.status, row.attempts = nxt, "pending", 0
                    rearm = nxt
                else:
                    row.status = status
            for callback in ctx.after_commit:
                await callback()
            self.wake_outbox()
        except Exception as exc:  # noqa: BLE001 - a failing job is retried, never lost silently
            rearm = await self._retry_or_fail(job_id, exc)
        finally:
            if rearm is not None:
                self.arm_if_soon(job_id, rearm)

    async def _retry_or_fail(self, job_id: str, exc: Exception) -> datetime | None:
        """A locked or restarting database is not the job's fault: try again shortly without
        counting an attempt (recording one needs the database too). Otherwise count it."""
        db = self.services.db
        if not await db.unavailable(exc):
            try:
                return await self._failed(job_id, exc)
            except Exception as again:  # noqa: BLE001 - the database went away meanwhile
                if not await db.unavailable(again):
                    raise
                exc = again
        log.warning("job %s: database unavailable (%s); retrying in %ss", job_id, describe_transient(exc),
                    int(DB_RETRY.total_seconds()))
        return self.now() + DB_RETRY

    async def _failed(self, job_id: str, exc: Exception) -> datetime | None:
        async with self.services.db.transaction() as session:
            row = await session.get(ScheduledJob, job_id)
            if row is None or row.status != "pending":
                return None
            row.attempts = (row.attempts or 0) + 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            self.services.metrics.jobs.labels(row.kind, "failed" if row.attempts >= MAX_ATTEMPTS else "retry").inc()
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                log.error("job %s (%s) failed %d times; giving up", job_id, row.kind, row.attempts, exc_info=exc)
                return None
            delay = min(RETRY_BASE * 2 ** (row.attempts - 1), RETRY_MAX)
            row.run_at = self.now() + delay
            # A retry is routine (e.g. the database was busy): one line; the traceback comes with the last attempt.
            log.warning("job %s (%s) failed (attempt %d/%d), retrying in %ss: %s: %s", job_id, row.kind,
                        row.attempts, MAX_ATTEMPTS, int(delay.total_seconds()), type(exc).__name__, exc)
            return row.run_at

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the timers, then wait (up to `timeout`) for jobs already running, cancelling
        what is left. APScheduler's shutdown(wait=False) leaves a running job's task behind;
        the console then closed the database under it, and asyncio.run's final cancellation
        of that task waited on a database connection that no longer answered: the console
        hung after its answer (issue 19, about 1 run in 150: a job that fell due at start)."""
        if self.aps.running:
            self.aps.shutdown(wait=False)
        running = [t for t in self._running if not t.done() and t is not asyncio.current_task()]
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
