"""The scheduler: our table is the truth; timers are re-armed at start; a due job runs
once and its message is in the outbox exactly once."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.scheduler import Scheduler
from storage.models.core import OutboxMessage, ScheduledJob
from support.chat import Clock

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


async def _jobs(services):
    async with services.db.session() as s:
        return {j.id: j.status for j in (await s.scalars(select(ScheduledJob))).all()}


async def _outbox(services):
    async with services.db.session() as s:
        return (await s.scalars(select(OutboxMessage))).all()


async def _until_none_pending(services, timeout: float = 10) -> None:
    """Quiescence: wait for a state, not for a fixed time (fails after `timeout` seconds)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while "pending" in (await _jobs(services)).values():
        assert asyncio.get_running_loop().time() < deadline, await _jobs(services)
        await asyncio.sleep(0.02)


async def test_reminder_fires_once_and_past_due_jobs_run_at_start(chat, services):
    clock = services.clock = Clock(NOW)
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    await sched.start()
    await chat.text("!remindme 1h first")
    # A job that fell due "while the bot was down": written directly, armed at the next start.
    async with services.db.transaction() as s:
        s.add(ScheduledJob(id="reminder-past", kind="reminder", run_at=NOW - timedelta(hours=1),
                           payload={"text": "overdue"}, status="pending", owner="@alice:test", room_id="!room:test"))
    await sched.shutdown()
    assert (await _jobs(services))["reminder-past"] == "pending"
    clock.now = NOW + timedelta(hours=2)  # the bot comes back after "first" fell due too
    sched2 = Scheduler(services, lambda: None)
    services.timers = sched2
    assert await sched2.start() == 2
    await _until_none_pending(services)
    await sched2.shutdown()
    assert set((await _jobs(services)).values()) == {"done"}
    texts = sorted(r.content["body"] for r in await _outbox(services) if "asked me to remind" in r.content["body"])
    assert len(texts) == 2 and "first" in texts[0] + texts[1] and "overdue" in texts[0] + texts[1]
    # Running a finished job again does nothing.
    await sched2.run("reminder-past")
    assert len([r for r in await _outbox(services) if "overdue" in r.content["body"]]) == 1


async def test_a_due_timer_fires_by_itself(chat, services):
    """The one path that needs real time: APScheduler's timer calling run() (1 s, bounded wait)."""
    clock = services.clock = Clock(NOW)
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    await sched.start()
    await chat.text("!remindme 1s tick")
    clock.now = NOW + timedelta(seconds=2)
    await _until_none_pending(services)
    await sched.shutdown()
    assert len([r for r in await _outbox(services) if "asked me to remind" in r.content["body"]]) == 1


async def test_cancelled_reminder_never_fires(chat, services):
    clock = services.clock = Clock(NOW)
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    await sched.start()
    await chat.text("!remindme 1h never")
    [job_id] = list(await _jobs(services))
    assert sched.aps.get_job(job_id) is not None
    assert "never" in await chat.text("!reminders")
    assert "Cancelled" in await chat.text("!forget 1")
    assert sched.aps.get_job(job_id) is None  # its timer is gone
    clock.now = NOW + timedelta(hours=2)
    assert await sched.arm_horizon() == 0     # nothing to re-arm
    await sched.run(job_id)                   # and a stray timer would do nothing
    await sched.shutdown()
    assert (await _jobs(services))[job_id] == "cancelled"
    assert not [r for r in await _outbox(services) if "asked me to remind" in r.content["body"]]


# --- groups, recurrence, retries, skips ---------------------------------------------------
from zoneinfo import ZoneInfo  # noqa: E402

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

from bot.framework.command import Cog, Registry  # noqa: E402
from bot.framework.context import Context  # noqa: E402
from bot.framework.messages import Incoming  # noqa: E402
from bot.framework.errors import JobSkipped  # noqa: E402
from bot.framework.jobs import next_occurrence  # noqa: E402
from bot.scheduler import MAX_ATTEMPTS  # noqa: E402

AMS = ZoneInfo("Europe/Amsterdam")


def test_weekly_keeps_wall_time_across_dst():
    start = datetime(2027, 3, 22, 9, 0, tzinfo=AMS).astimezone(timezone.utc)  # Monday before the change
    nxt = next_occurrence(start, {"freq": "weekly", "interval": 1, "tz": "Europe/Amsterdam"})
    assert nxt.astimezone(AMS) == datetime(2027, 3, 29, 9, 0, tzinfo=AMS)
    assert nxt - start == timedelta(days=7) - timedelta(hours=1)


def test_monthly_on_the_31st_uses_the_last_day_and_returns():
    rule = {"freq": "monthly", "interval": 1, "tz": "Europe/Amsterdam", "day_of_month": 31}
    t = datetime(2027, 1, 31, 9, 0, tzinfo=AMS).astimezone(timezone.utc)
    seen = []
    for _ in range(3):
        t = next_occurrence(t, rule)
        seen.append(t.astimezone(AMS).date().isoformat())
    assert seen == ["2027-02-28", "2027-03-31", "2027-04-30"]


def test_until_ends_a_series():
    rule = {"freq": "daily", "interval": 1, "tz": "UTC", "until": "2027-01-02T09:00:00+00:00"}
    t = datetime(2027, 1, 1, 9, tzinfo=timezone.utc)
    assert next_occurrence(t, rule) == datetime(2027, 1, 2, 9, tzinfo=timezone.utc)
    assert next_occurrence(datetime(2027, 1, 2, 9, tzinfo=timezone.utc), rule) is None


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
       st.sampled_from(["daily", "weekly", "monthly"]), st.integers(1, 4))
@hsettings(max_examples=200, deadline=None)
def test_next_occurrence_is_later_and_at_the_same_local_time(naive, freq, interval):
    local = naive.replace(second=0, microsecond=0, tzinfo=AMS)
    start = local.astimezone(timezone.utc)
    if start.astimezone(AMS).hour != local.hour:
        return  # a wall time that does not exist (spring forward)
    nxt = next_occurrence(start, {"freq": freq, "interval": interval, "tz": "Europe/Amsterdam"})
    assert nxt > start
    assert (nxt.astimezone(AMS).hour, nxt.astimezone(AMS).minute) in {(local.hour, local.minute), (local.hour + 1, local.minute)}


def _services_with(services, cog):
    services.registry = Registry([*services.registry.cogs, cog])
    return services


def _ctx(services, session):
    return Context(Incoming(sender="@facil:test", room_id="!r:test", event_id="$cmd", body=""), services, session)


async def test_group_cancel_recurrence_retry_and_skip(services):
    cog = Cog("t", "Test")
    calls = {"tick": 0, "flaky": 0}

    @cog.job("tick")
    async def tick(ctx, job):
        calls["tick"] += 1
        await ctx.reply(f"tick {calls['tick']}")

    @cog.job("flaky")
    async def flaky(ctx, job):
        calls["flaky"] += 1
        raise RuntimeError("homeserver hiccup")

    @cog.job("late")
    async def late(ctx, job):
        raise JobSkipped("too late")

    _services_with(services, cog)
    clock = services.clock = Clock(NOW)
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    past = NOW - timedelta(minutes=1)
    async with services.db.transaction() as s:
        ctx = _ctx(services, s)
        await ctx.schedule("tick", past, {}, job_id="g:1", group="session:1",
                             recurrence={"freq": "daily", "interval": 1, "tz": "Europe/Amsterdam"})
        await ctx.schedule("tick", past + timedelta(days=3), {}, job_id="g:2", group="session:1")
        await ctx.schedule("tick", past + timedelta(days=3), {}, job_id="other", group="session:2")
        await ctx.schedule("flaky", past, {}, job_id="f")
        await ctx.schedule("late", past, {}, job_id="l")
    # A recurring job runs and moves to its next occurrence (still pending, one message).
    await sched.run("g:1")
    async with services.db.session() as s:
        row = await s.get(ScheduledJob, "g:1")
        assert row.status == "pending" and row.run_at == past + timedelta(days=1)
    await sched.run("g:1")  # not due yet: nothing happens
    assert calls["tick"] == 1
    # Cancelling the group withdraws its pending jobs and nothing else.
    async with services.db.transaction() as s:
        assert await _ctx(services, s).cancel_jobs(group="session:1", note="moved") == 2
    assert (await _jobs(services))["other"] == "pending"
    assert {(await _jobs(services))[k] for k in ("g:1", "g:2")} == {"cancelled"}
    # A failing job is retried with backoff, then marked failed.
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with services.db.transaction() as s:
            clock.now = max(clock.now, (await s.get(ScheduledJob, "f")).run_at)  # the retry falls due
        await sched.run("f")
        async with services.db.session() as s:
            row = await s.get(ScheduledJob, "f")
        assert row.attempts == attempt and "hiccup" in row.last_error
        assert row.status == ("failed" if attempt == MAX_ATTEMPTS else "pending")
    assert calls["flaky"] == MAX_ATTEMPTS
    # A skipped job keeps its reason and sends nothing.
    await sched.run("l")
    async with services.db.session() as s:
        row = await s.get(ScheduledJob, "l")
    assert (row.status, row.note) == ("skipped", "too late")
    texts = [r.content["body"] for r in await _outbox(services)]
    assert texts == ["tick 1"]
    await sched.shutdown()
