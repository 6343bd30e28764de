"""Session reminders at scale, on SQLite (default 10,000 planned sessions).

Fills a database with N planned sessions (3 participants each) and their reminder jobs
(`sessions.reminders`, default 24h and 1h before: 2N rows) exactly as the sessions
capability writes them, then measures:

  - start-up re-arm: Scheduler.start() finding the pending rows due within its horizon and
    arming a timer for each, time and memory (tracemalloc peak, and RSS growth);
  - reminder lateness (due -> sent): K extra sessions whose reminders fall due within a
    few seconds while the 2N others wait; for each, the time from its due moment to the
    commit of its messages (done_at) — the whole job path: timer, transaction, handler
    composing a DM per participant and a room notice, outbox rows;
  - baseline, same run: a bare APScheduler date job per due moment that only records
    when it ran (no database, no messages).

    python bench/bench_sessions.py [--n 10000] [--k 200] [--spacing 420]
"""
from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, row  # noqa: E402

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bot.app import build_services  # noqa: E402
from bot.scheduler import HORIZON, Scheduler  # noqa: E402
from commands.sessions.planning import REMINDER_JOB  # noqa: E402
from config.settings import load_settings  # noqa: E402
from storage.models.core import ScheduledJob  # noqa: E402
from storage.sessions.models import Participant, ReviewSession  # noqa: E402


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fill(services, n: int, first_start: datetime, offsets: list[timedelta], spacing: timedelta) -> list[int]:
    sessions, people, jobs = [], [], []
    for i in range(n):
        start = first_start + spacing * i
        sessions.append(dict(id=None, title=f"Sessie {i}", facilitator="@facil:bench", starts_at=start,
                             ends_at=start + timedelta(minutes=90), capacity=8, room_id="!room:bench",
                             status="planned", timezone="Europe/Amsterdam", language="nl", created_at=start))
    async with services.db.transaction() as s:
        ids = []
        for chunk in range(0, n, 2000):
            batch = [{k: v for k, v in row.items() if k != "id"} for row in sessions[chunk:chunk + 2000]]
            result = await s.execute(insert(ReviewSession).returning(ReviewSession.id, ReviewSession.starts_at), batch)
            ids += result.all()
        for sid, start in ids:
            for p in range(3):
                people.append(dict(session_id=sid, user_id=f"@user{sid}x{p}:bench", role="reviewer", state="going",
                                   joined_at=start - timedelta(days=30)))
            for off in offsets:
                seconds = int(off.total_seconds())
                jobs.append(dict(id=f"session:{sid}:remind:{seconds}:{int(start.timestamp())}", kind=REMINDER_JOB,
                                 run_at=start - off, payload={"session": sid, "offset": seconds}, status="pending",
                                 owner="@facil:bench", room_id="!room:bench", group_key=f"session:{sid}",
                                 attempts=0, created_at=start - timedelta(days=30)))
        for chunk in range(0, len(people), 5000):
            await s.execute(insert(Participant), people[chunk:chunk + 5000])
        for chunk in range(0, len(jobs), 5000):
            await s.execute(insert(ScheduledJob), jobs[chunk:chunk + 5000])
    return [sid for sid, _ in ids]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main(n: int, k: int, spacing: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    import os
    os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = str(tmp)
    settings = load_settings()
    settings.storage.load_sample_data = False
    services = await build_services(settings, bot_user_id="@bot:bench", modules=["core", "sessions"])
    offsets = list(settings.sessions.reminders)
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    await fill(services, n, now + timedelta(hours=25), offsets, timedelta(seconds=spacing))
    fill_s = time.perf_counter() - t0

    # Start-up: re-arm every pending row.
    rss0 = rss_mib()
    tracemalloc.start()
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    t0 = time.perf_counter()
    armed = await sched.start()
    async with services.db.session() as s:
        pending = (await s.scalar(select(func.count()).select_from(ScheduledJob).where(ScheduledJob.status == "pending")))
    arm_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = rss_mib()

    # Lateness: K sessions whose (only) reminder falls due 2..6 s from now.
    due0 = datetime.now(timezone.utc) + timedelta(seconds=2)
    extra = await fill(services, k, due0 + timedelta(minutes=1), [timedelta(minutes=1)], timedelta(milliseconds=4000 / k))
    async with services.db.session() as s:
        rows = (await s.execute(select(ScheduledJob.id, ScheduledJob.run_at).where(
            ScheduledJob.group_key.in_([f"session:{sid}" for sid in extra])))).all()
    for job_id, run_at in rows:
        sched.arm(job_id, run_at)
    await asyncio.sleep(4 + 2 + 3)
    async with services.db.session() as s:
        done = (await s.execute(select(ScheduledJob.run_at, ScheduledJob.done_at, ScheduledJob.status).where(
            ScheduledJob.group_key.in_([f"session:{sid}" for sid in extra])))).all()
    late_ms = [(d - r).total_seconds() * 1000 for r, d, st in done if st == "done"]
    not_done = sum(1 for *_, st in done if st != "done")
    await sched.shutdown()

    # Baseline: a bare APScheduler job per due moment, same spacing, no database.
    bare = AsyncIOScheduler(timezone=timezone.utc, job_defaults={"misfire_grace_time": None})
    bare_late: list[float] = []
    base0 = datetime.now(timezone.utc) + timedelta(seconds=1)

    def record(due: datetime) -> None:
        bare_late.append((datetime.now(timezone.utc) - due).total_seconds() * 1000)

    bare.start()
    for i in range(k):
        due = base0 + timedelta(milliseconds=i * 4000 / k)
        bare.add_job(record, "date", run_date=due, args=[due])
    await asyncio.sleep(6)
    bare.shutdown(wait=False)
    await services.db.dispose()

    print(f"\nsession reminders, SQLite, {n:,} planned sessions x {len(offsets)} reminders "
          f"({pending:,} pending jobs, one session every {spacing:g} s from 25 h from now; filled in {fill_s:.1f} s)\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| start-up: of {pending:,} pending jobs, arm the {armed:,} due within {HORIZON} | "
          f"{arm_s * 1000:,.0f} ms |")
    print(f"| memory for the armed timers | {peak / 2**20:.1f} MiB traced peak; RSS +{rss1 - rss0:.1f} MiB |")
    print(f"| reminders due during the run | {len(late_ms)} sent, {not_done} not sent |")
    print("\n| lateness, due -> sent | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(f"| dsih-bot reminder (DM x3 + room notice, committed) | {pct(late_ms, .5):.1f} ms | "
          f"{pct(late_ms, .99):.1f} ms | {max(late_ms):.1f} ms |")
    print(f"| bare APScheduler job (no work), same run | {pct(bare_late, .5):.1f} ms | {pct(bare_late, .99):.1f} ms | "
          f"{max(bare_late):.1f} ms |")
    print(f"| ratio p50 | {statistics.median(late_ms) / max(statistics.median(bare_late), 0.01):.1f}x | | |")
    emit("sessions", [
        row(f"start-up: arm the {armed:,} of {pending:,} pending reminders due within {HORIZON}", arm_s * 1000, "ms"),
        row("reminder lateness, due → committed (DM ×3 + room notice)", pct(late_ms, .5), "ms p50",
            "bare APScheduler job", pct(bare_late, .5)),
        row("reminder lateness, due → committed", pct(late_ms, .99), "ms p99", "bare APScheduler job",
            pct(bare_late, .99)),
    ])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--spacing", type=float, default=420, help="seconds between session starts (1 = worst case: "
                    "every reminder due within the arming horizon)")
    a = ap.parse_args()
    asyncio.run(main(a.n, a.k, a.spacing))
