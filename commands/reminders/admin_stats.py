"""Reminders' line in `!admin stats`: how many personal reminders are waiting."""
from __future__ import annotations

from sqlalchemy import func, select

from commands.reminders.commands import REMINDER_JOB
from storage.models.core import ScheduledJob


async def admin_stats(ctx) -> list[tuple[str, str]]:
    waiting = (await ctx.db.scalar(select(func.count()).select_from(ScheduledJob).where(
        ScheduledJob.status == "pending", ScheduledJob.kind == REMINDER_JOB))) or 0
    return [("scheduled", ctx.t("Personal reminders waiting: {count}.", count=ctx.t.number(waiting)))]
