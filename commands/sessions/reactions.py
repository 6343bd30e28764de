"""One click instead of a command: a session's announcement carries the bot's 👍; whoever
adds 👍 joins (capacity and waiting list as `!session join`), redacting it leaves.

The announcement's event id is only known once the outbox has sent it: `!session new`
keeps the announcement's transaction id (Outgoing.on_queued) on a job, and that job looks
up the outbox row's event id, records it on the session and sends the bot's reaction (an
m.reaction annotation, its transaction id from the job id, so a restart never sends it
twice). Until the announcement is sent the job tries again a little later.

Reactions and redactions reach us as room events, each exactly once (handled event ids);
the person is told by direct message, in their language. The bot's own reaction is never
counted (the runtime does not pass on the bot's own events, and the handler checks too)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.framework.errors import JobSkipped
from bot.framework.i18n import N_
from commands.sessions.base import ROLE_LABELS, cog, group_of, participants, tell, title_of, when_of
from storage.models.core import OutboxMessage
from storage.sessions.models import Participant, ReviewSession

REACT_JOB = "session-announce-react"
THUMBS_UP = "👍"
ANNOTATION = "m.annotation"
# Tries to find the announcement's event id: 1 s, 2 s, 4 s … then every minute, for about a day.
MAX_TRIES = 1500


def is_thumbs_up(key) -> bool:
    """👍 as clients send it: with or without the emoji variation selector, any skin tone."""
    if not isinstance(key, str):
        return False
    base = key.replace("\ufe0f", "").replace("\ufe0e", "")
    for tone in ("\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"):
        base = base.replace(tone, "")
    return base == THUMBS_UP or base.strip() in (":+1:", ":thumbsup:")


def annotation_of(content: dict) -> tuple[str, str] | None:
    """(the event reacted to, the key) of an m.reaction's content, or None."""
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relates, dict) or relates.get("rel_type") != ANNOTATION:
        return None
    target, key = relates.get("event_id"), relates.get("key")
    if not isinstance(target, str) or not isinstance(key, str):
        return None
    return target, key


async def plan_announcement_reaction(ctx, s: ReviewSession, announcement) -> None:
    """Called by `!session new` with the announcement's Outgoing (a reply in s.room_id).
    The job is the bot's own (owner: the bot), so it names nobody a privacy erasure must find."""
    job = await ctx.schedule(REACT_JOB, ctx.now + timedelta(seconds=1), {"session": s.id, "tries": 0},
                             job_id=f"session:{s.id}:react:0", group=group_of(s), owner=ctx.services.bot_user_id,
                             room_id=s.room_id)

    def keep(txn_id: str) -> None:
        job.payload = {**job.payload, "txn": txn_id}

    announcement.on_queued.append(keep)


@cog.job(REACT_JOB)
async def add_bot_reaction(ctx, job) -> None:
    s = await ctx.db.get(ReviewSession, job.payload["session"])
    if s is None or s.status != "planned":
        raise JobSkipped(N_("the session is no longer planned"))
    txn = job.payload.get("txn")
    if not txn:
        raise JobSkipped(N_("the announcement was not sent"))
    row = await ctx.db.scalar(select(OutboxMessage).where(OutboxMessage.txn_id == txn))
    if row is None or row.status == "failed":
        raise JobSkipped(N_("the announcement was not sent"))
    if not row.event_id:
        tries = int(job.payload.get("tries", 0)) + 1
        if tries >= MAX_TRIES:
            raise JobSkipped(N_("the announcement was not sent"))
        delay = timedelta(seconds=min(2 ** min(tries, 6), 60))
        await ctx.schedule(REACT_JOB, ctx.now + delay, {**job.payload, "tries": tries},
                           job_id=f"session:{s.id}:react:{tries}", group=group_of(s), owner=ctx.services.bot_user_id,
                           room_id=s.room_id)
        return
    s.announce_event = row.event_id
    ctx.send_to_room(s.room_id, "", event_type="m.reaction",
                     extra_content={"m.relates_to": {"rel_type": ANNOTATION, "event_id": row.event_id,
                                                     "key": THUMBS_UP}})


@cog.event("m.reaction")
async def on_reaction(ctx, event) -> None:
    """👍 on a session's announcement: join it (or the waiting list when it is full)."""
    found = annotation_of(event.content)
    if found is None or not is_thumbs_up(found[1]) or event.sender == ctx.services.bot_user_id:
        return
    s = await ctx.db.scalar(select(ReviewSession).where(ReviewSession.announce_event == found[0],
                                                        ReviewSession.room_id == event.room_id))
    if s is None:
        return
    user = event.sender
    existing = await ctx.db.get(Participant, (s.id, user))
    if s.status != "planned" or s.starts_at <= ctx.now:
        await tell(ctx, [user], lambda t: t("Session {number} can no longer be joined: it is {state}.", number=s.id,
                                            state=t(N_("cancelled") if s.status == "cancelled" else N_("over"))))
        return
    if existing is not None:
        existing.reaction_event = event.event_id
        await tell(ctx, [user], lambda t: t("You are already in session {number} ({state}).", number=s.id,
                                            state=_state_label(t, existing.state, existing.role)))
        return
    from commands.sessions.planning import add_participant  # planning imports this module
    state = await add_participant(ctx, s, user, "reviewer")
    row = await ctx.db.get(Participant, (s.id, user))
    row.reaction_event = event.event_id
    p = ctx.settings.bot.command_prefix
    if state == "going":
        await tell(ctx, [user], lambda t: t("✅ Your 👍 signed you up: you take part in {title} as {role}: {when}.",
                                            title=title_of(s), role=t(ROLE_LABELS["reviewer"]), when=when_of(t, s))
                   + " " + t("Remove your 👍 to sign off again. Calendar file: `{prefix}session ics {number}`.",
                             prefix=p, number=s.id))
    else:
        waiting = [w.user_id for w in await participants(ctx.db, s.id, "waiting")]
        position = waiting.index(user) + 1 if user in waiting else len(waiting)
        await tell(ctx, [user], lambda t: t("Your 👍 put you on the waiting list of session {number}: it is full, "
                                            "you are number {position}. I will tell you when a place comes free.",
                                            number=s.id, position=position))


@cog.event("m.room.redaction")
async def on_redaction(ctx, event) -> None:
    """A 👍 that signed someone up is taken back: they leave (the waiting list moves up)."""
    redacts = event.content.get("redacts")
    if not isinstance(redacts, str):
        return
    row = await ctx.db.scalar(select(Participant).where(Participant.reaction_event == redacts))
    if row is None or row.user_id != event.sender:
        return  # not a sign-up reaction, or a moderator removing someone else's (they stay)
    s = await ctx.db.get(ReviewSession, row.session_id)
    if s is None or s.status != "planned":
        row.reaction_event = None
        return
    was_going = row.state == "going"
    await ctx.db.delete(row)
    await ctx.db.flush()
    await tell(ctx, [event.sender], lambda t: t("You removed your 👍: you no longer take part in {title}.",
                                                title=title_of(s)))
    if was_going:
        from commands.sessions.planning import _move_up
        await _move_up(ctx, s)


def _state_label(t, state: str, role: str) -> str:
    if state == "waiting":
        return t("on the waiting list")
    return t(ROLE_LABELS.get(role, role))
