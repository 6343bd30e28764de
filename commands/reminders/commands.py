"""Personal reminders: the simplest scheduled job, and the pattern that session
reminders and digests reuse (a row in scheduled_jobs + a job handler)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.framework import Cog, DelayOrMoment, Int, Text, argument
from bot.framework.errors import BadArgument
from bot.framework.i18n import N_
from bot.framework.render import md_escape
from storage.models.core import ScheduledJob

cog = Cog("reminders", N_("Reminders"))
REMINDER_JOB = "reminder"
MAX_PENDING_PER_USER = 25


@cog.command("remindme", dutch=("herinner", "herinnerme"))
@argument("when", DelayOrMoment(maximum=timedelta(days=366)),
          help=N_("a delay or a moment: e.g. 10m, 2h, morgen 9:00, tomorrow 9am, dinsdag 14 uur"))
@argument("text", Text(max_length=1000), rest=True, help=N_("what to remind you of"))
async def remindme(ctx, when, text):
    """Remind you of something later, in this room."""
    due = when
    pending = (await ctx.db.scalars(select(ScheduledJob).where(
        ScheduledJob.kind == REMINDER_JOB, ScheduledJob.owner == ctx.sender, ScheduledJob.status == "pending"))).all()
    if len(pending) >= MAX_PENDING_PER_USER:
        raise BadArgument("You already have {count} reminders waiting; cancel one first.", count=len(pending))
    # The job id comes from the command's event id: re-handling a redelivered command can't double it.
    job_id = "reminder-" + ctx.incoming.event_id.strip("$").replace(":", "_")[:80]
    await ctx.schedule(REMINDER_JOB, due, {
        "text": text, "event_id": ctx.incoming.event_id, "thread_root": ctx.incoming.thread_root,
    }, job_id=job_id, group=f"reminders:{ctx.sender}"[:100])
    await ctx.reply(ctx.t("OK, I will remind you on {when}.", when=ctx.t.moment(due)))


@cog.command("reminders", dutch=("herinneringen",))
async def reminders(ctx):
    """List your reminders that are still waiting."""
    rows = (await ctx.db.scalars(select(ScheduledJob).where(
        ScheduledJob.kind == REMINDER_JOB, ScheduledJob.owner == ctx.sender, ScheduledJob.status == "pending"
    ).order_by(ScheduledJob.run_at))).all()
    if not rows:
        await ctx.reply(ctx.t("You have no reminders waiting."))
        return
    items = [f"{n}. {ctx.t.datetime(r.run_at)} — {md_escape(r.payload.get('text', ''))}" for n, r in enumerate(rows, 1)]
    await ctx.reply_pages(ctx.t("Your reminders:"), items,
                          ctx.t("Cancel one with `{prefix}forget <number>`.", prefix=ctx.settings.bot.command_prefix))


@cog.command("forget", dutch=("vergeet",))
@argument("number", Int(minimum=1, maximum=MAX_PENDING_PER_USER), help=N_("the number shown by !reminders"))
async def forget(ctx, number):
    """Cancel one of your waiting reminders."""
    rows = (await ctx.db.scalars(select(ScheduledJob).where(
        ScheduledJob.kind == REMINDER_JOB, ScheduledJob.owner == ctx.sender, ScheduledJob.status == "pending"
    ).order_by(ScheduledJob.run_at))).all()
    if number > len(rows):
        raise BadArgument("You have no reminder number {value}.", value=number)
    row = rows[number - 1]
    await ctx.cancel_jobs(job_ids=[row.id])
    await ctx.reply(ctx.t("Cancelled: {text}", text=md_escape(row.payload.get("text", ""))))


@cog.job(REMINDER_JOB)
async def send_reminder(ctx, job):
    t = await ctx.translator_for(job.owner)
    await ctx.reply("⏰ " + ctx.mention(job.owner) + ": " +
                    t("you asked me to remind you: {text}", text=md_escape(job.payload.get("text", ""))) + "\n\n" +
                    t("Reply \"later\" or react ⏰ and I remind you again in 15 minutes."),
                    mentions=(job.owner,), notice=False)
