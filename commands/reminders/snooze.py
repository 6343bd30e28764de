"""Snoozing a reminder: reply "later" / "straks" to the reminder message, or react ⏰ on
it; the reminder comes again in 15 minutes and the bot acknowledges with a ✅ reaction.

The reminder message is found from the event the reply or reaction points at: its outbox
row names the job that sent it (origin `job reminder <job id>`). Only the person the
reminder is for may snooze it. A reply or reaction is handled exactly once (handled event
ids); the snoozed reminder is a job with an id derived from the reminder's, so the same
snooze twice plans one reminder, not two."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from commands.reminders.commands import REMINDER_JOB, cog
from storage.models.core import OutboxMessage, ScheduledJob

SNOOZE = timedelta(minutes=15)
ALARM_CLOCK = "⏰"
CHECK = "✅"
ORIGIN = f"job {REMINDER_JOB} "
# "later", "straks", "snooze", "later please", "straks!", "Later." …
_LATER = re.compile(r"^\s*(later|straks|snooze|sluimer|over een kwartier|in 15 min(uten|utes)?)"
                    r"(\s+(please|graag|aub|alsjeblieft))?\s*[.!]*\s*$", re.IGNORECASE)


def is_later(text: str) -> bool:
    return bool(_LATER.match(text or ""))


def _is_alarm(key) -> bool:
    return isinstance(key, str) and key.replace("\ufe0f", "").strip() == ALARM_CLOCK


async def reminder_of(ctx, room_id: str, event_id: str) -> ScheduledJob | None:
    """The reminder job whose message is `event_id` in `room_id`, if any."""
    origin = await ctx.db.scalar(select(OutboxMessage.origin).where(
        OutboxMessage.event_id == event_id, OutboxMessage.room_id == room_id).limit(1))
    if not origin or not origin.startswith(ORIGIN):
        return None
    return await ctx.db.get(ScheduledJob, origin[len(ORIGIN):])


async def snooze(ctx, job: ScheduledJob, sender: str, room_id: str, acknowledge: str) -> bool:
    if job.kind != REMINDER_JOB or job.owner != sender:
        return False
    count = int(job.payload.get("snoozed", 0)) + 1
    base = job.payload.get("snoozed_from") or job.id
    await ctx.schedule(REMINDER_JOB, ctx.now + SNOOZE, {**job.payload, "snoozed": count, "snoozed_from": base},
                       job_id=f"{base}-snooze{count}"[:120], group=job.group_key, owner=job.owner, room_id=room_id)
    ctx.send_to_room(room_id, "", event_type="m.reaction", extra_content={"m.relates_to": {
        "rel_type": "m.annotation", "event_id": acknowledge, "key": CHECK}})
    return True


@cog.question(first=True)
async def later_reply(ctx, text: str) -> bool:
    """"later" / "straks" as a reply to a reminder: snooze it."""
    target = ctx.incoming.reply_to
    if not target or not is_later(text):
        return False
    job = await reminder_of(ctx, ctx.incoming.room_id, target)
    if job is None:
        return False
    return await snooze(ctx, job, ctx.sender, ctx.incoming.room_id, acknowledge=ctx.incoming.event_id)


@cog.event("m.reaction")
async def alarm_reaction(ctx, event) -> None:
    """⏰ on a reminder: snooze it."""
    relates = event.content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation" or not _is_alarm(relates.get("key")):
        return
    target = relates.get("event_id")
    if not isinstance(target, str) or event.sender == ctx.services.bot_user_id:
        return
    job = await reminder_of(ctx, event.room_id, target)
    if job is not None:
        await snooze(ctx, job, event.sender, event.room_id, acknowledge=target)
