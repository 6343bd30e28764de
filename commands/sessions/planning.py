"""Planning sessions: new (also a series), list, show, join/leave with a waiting list,
assign roles, move, cancel, and the reminders that follow every change.

Reminders: one scheduled job per (session, offset, start time), group `session:<id>`.
It sends each participant a direct message and the session's room one notice, in one
transaction with its `done` mark; outbox transaction ids derive from the job id, so a
crash between send and mark never sends twice. A reminder that fell due while the bot
was down is sent at start-up if the session has not started yet, else skipped with the
reason kept on the job (shown to the facilitator by `!session <id>`)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from bot.framework import UserId, Choice, Duration, Int, Text, When, argument, option
from bot.framework.errors import BadArgument
from bot.framework.roles import Role
from bot.framework.i18n import N_, Translator
from bot.framework.topics import TopicArg
from bot.framework.render import md_escape
from bot.framework.errors import JobSkipped
from bot.framework.timeparse import human_duration
from commands.sessions.base import (
    ROLE_LABELS, ROLE_SYNONYMS, cog, session_details, get_session, going_count, group_of, participants,
    planner, replan, require_manage, require_planned, room_translator, session, stamp, tell,
    tell_participants, title_of, topic_label, when_of,
)
from commands.sessions.calendar import send_calendar_update
from commands.sessions.reactions import plan_announcement_reaction
from storage.models.core import ScheduledJob
from storage.sessions.models import ROLES, Participant, ReviewSession

STATUS_LABELS = {"planned": N_("planned"), "cancelled": N_("cancelled"), "done": N_("done")}
# Why a planned job was withdrawn (kept on the job row, translated when shown).
CALENDAR_NOTE = N_("Open the attached file to update your calendar.")
NOTE_MOVED, NOTE_CANCELLED = N_("the session was moved"), N_("the session was cancelled")


# ----------------------------------------------------------------------------- creating
async def create_session(ctx, *, title: str, starts_at: datetime, duration: timedelta | None = None,
                         project: str | None = None, question: str | None = None, topic: str | None = None,
                         capacity: int | None = None, location: str | None = None, room_id: str | None = None,
                         facilitator: str | None = None, series_id: int | None = None) -> ReviewSession:
    """Add a planned session (flushed, so it has its number) and plan its jobs."""
    conf = ctx.settings.sessions
    s = ReviewSession(title=title, project=project, question=question, topic=topic,
                      facilitator=facilitator or ctx.sender, starts_at=starts_at,
                      ends_at=starts_at + (duration or conf.default_duration), location=location,
                      capacity=capacity or conf.default_capacity, room_id=room_id or ctx.incoming.room_id,
                      status="planned", series_id=series_id, timezone=str(ctx.t.tz.key), language=ctx.lang,
                      created_at=ctx.now)
    ctx.db.add(s)
    await ctx.db.flush()
    await replan(ctx, s, note=NOTE_MOVED)
    return s


async def add_participant(ctx, s: ReviewSession, user_id: str, role: str = "reviewer", *,
                          force: bool = False) -> str:
    """Add or update a participant; `force` (a facilitator's assignment) ignores capacity.
    Returns the state: going or waiting."""
    existing = await ctx.db.get(Participant, (s.id, user_id))
    if existing is not None:
        existing.role = role
        if force and existing.state != "going":
            existing.state = "going"
        return existing.state
    state = "going" if force or await going_count(ctx.db, s.id) < s.capacity else "waiting"
    last = await ctx.db.scalar(select(func.max(Participant.position)).where(Participant.session_id == s.id))
    ctx.db.add(Participant(session_id=s.id, user_id=user_id, role=role, state=state, joined_at=ctx.now,
                           position=(last or 0) + 1))
    await ctx.db.flush()
    return state


def spoken_interval(t: Translator, every: timedelta) -> str:
    """`4 weeks` / `4 weken`, as a sentence says it (not the `4w` typed in the option)."""
    days = every.days
    if days % 7 == 0:
        return t.n("{count} week", "{count} weeks", days // 7)
    return t.n("{count} day", "{count} days", days)


def _local_series(start: datetime, every: timedelta, until: datetime, zone: ZoneInfo, limit: int) -> list[datetime]:
    """Occurrences at the same local wall time (14:00 stays 14:00 across DST)."""
    local = start.astimezone(zone)
    out = []
    for k in range(limit):
        day = local.date() + timedelta(days=every.days * k)
        moment = datetime(day.year, day.month, day.day, local.hour, local.minute, tzinfo=zone)
        if moment > until:
            break
        out.append(moment.astimezone(start.tzinfo))
    return out


@session.subcommand("new", dutch=("nieuw",), role=Role.ROOM_FACILITATOR)
@argument("title", Text(max_length=200), help=N_("the title, in quotes if it has spaces"))
@argument("when", When(working_hours=True), rest=True, help=N_("when it starts, e.g. dinsdag 14:00, 3 december 14:00, next tuesday 2pm"))
@session_details
@option("every", Duration(minimum=timedelta(days=1), maximum=timedelta(weeks=26)), aliases=("elke", "iedere"),
        help=N_("repeat, e.g. 4w (a series); needs --until"))
@option("until", When(), aliases=("tot",), help=N_("last date of a series, e.g. 2027-06-30"))
async def session_new(ctx, title, when, duration, project, question, topic, capacity, where, every, until):
    """Plan a peer-review session in this room.

    Facilitators of this room, hub facilitators and admins. Participants get reminders before it starts."""
    if bool(every) != bool(until):
        raise BadArgument("A series needs both --every and --until.")
    if every and every.total_seconds() % 86400:
        raise BadArgument("--every takes whole days or weeks, e.g. 1w or 14d.")
    starts = [when]
    if every:
        starts = _local_series(when, every, until, ctx.t.tz, ctx.settings.sessions.max_series)
    first: ReviewSession | None = None
    created = []
    for start in starts:
        s = await create_session(ctx, title=title, starts_at=start, duration=duration, project=project,
                                 question=question, topic=topic, capacity=capacity, location=where,
                                 series_id=first.id if first else None)
        if first is None:
            first = s
            s.series_id = s.id if len(starts) > 1 else None
        created.append(s)
    t, p = ctx.t, ctx.settings.bot.command_prefix
    lines = [t("📅 Planned session {number}: **{title}**", number=first.id, title=md_escape(title)),
             t("When: {when}", when=when_of(t, first))]
    if where:
        lines.append(t("Where: {where}", where=md_escape(where)))
    if len(created) > 1:
        lines.append(t("A series of {count} sessions: {numbers} (every {every}, the last on {last}).",
                       count=len(created), numbers=", ".join(f"#{s.id}" for s in created),
                       every=spoken_interval(t, every), last=t.date(created[-1].starts_at)))
    lines.append(t("Join with `{prefix}session join {number}`; calendar file: `{prefix}session ics {number}`.",
                   prefix=p, number=first.id))
    lines.append(t("Or click 👍 under this message to join; take it away to sign off."))
    await ctx.reply("\n\n".join(lines))
    # The reply is the session's announcement in its room: the bot adds its 👍 once it is sent.
    await plan_announcement_reaction(ctx, first, ctx.outgoing[-1])


# ----------------------------------------------------------------------------- listing and showing
@cog.command("sessions", dutch=("sessies",))
@option("topic", TopicArg(), aliases=("thema",), help=N_("only sessions on this topic"))
@option("mine", aliases=("mijn",), help=N_("only sessions you take part in or facilitate"))
@option("all", aliases=("alle",), help=N_("also past and cancelled sessions"))
async def sessions_list(ctx, topic, mine, all):
    """Upcoming peer-review sessions, with free places."""
    query = select(ReviewSession)
    if not all:
        query = query.where(ReviewSession.status == "planned", ReviewSession.ends_at > ctx.now)
    if topic:
        query = query.where(ReviewSession.topic == topic)
    if mine:
        mine_ids = select(Participant.session_id).where(Participant.user_id == ctx.sender)
        query = query.where(or_(ReviewSession.facilitator == ctx.sender, ReviewSession.id.in_(mine_ids)))
    rows = list((await ctx.db.scalars(query.order_by(ReviewSession.starts_at).limit(500))).all())
    t, p = ctx.t, ctx.settings.bot.command_prefix
    if not rows:
        await ctx.reply(t("No upcoming sessions. Facilitators plan one with `{prefix}session new \"title\" <when>`.",
                          prefix=p))
        return
    items = []
    for s in rows:
        going = await going_count(ctx.db, s.id)
        bits = [f"**{title_of(s)}** — {when_of(t, s)}"]
        label = topic_label(t, s.topic)
        if label:
            bits.append(md_escape(label))
        if s.status != "planned":
            bits.append(t(STATUS_LABELS.get(s.status, s.status)))
        else:
            bits.append(t.n("{count} place free", "{count} places free", max(0, s.capacity - going)))
        items.append(" · ".join(bits))
    await ctx.reply_pages(t("Peer-review sessions ({count}):", count=len(rows)), items,
                          t("Details: `{prefix}session <number>`.", prefix=p))


async def show_session(ctx, s: ReviewSession) -> None:
    t, p = ctx.t, ctx.settings.bot.command_prefix
    lines = [f"**{title_of(s)}**" + ("" if s.status == "planned" else f" ({t(STATUS_LABELS.get(s.status, s.status))})"),
             "🗓 " + when_of(t, s)]
    if s.location:
        lines.append("📍 " + md_escape(s.location))
    lines.append(t("Facilitator: {user}", user=ctx.mention(s.facilitator)))
    if s.project:
        lines.append(t("Project: {text}", text=md_escape(s.project)))
    if s.question:
        lines.append(t("Question for the reviewers: {text}", text=md_escape(s.question)))
    label = topic_label(t, s.topic)
    if label:
        lines.append(t("Topic: {topic}", topic=md_escape(label)))
    if s.format:
        lines.append(t("Format: {format}", format=md_escape(s.format)))
    if s.status == "cancelled" and s.cancel_reason:
        lines.append(t("Reason: {text}", text=md_escape(s.cancel_reason)))
    going = await participants(ctx.db, s.id, "going")
    waiting = await participants(ctx.db, s.id, "waiting")
    who = ", ".join(f"{ctx.mention(x.user_id)} ({t(ROLE_LABELS.get(x.role, x.role))})" for x in going)
    lines.append(t("Coming ({going}/{capacity}): {people}", going=len(going), capacity=s.capacity,
                   people=who or "—"))
    if waiting:
        lines.append(t.n("{count} person on the waiting list", "{count} people on the waiting list", len(waiting)))
    if s.status == "planned":
        lines.append(t("Join: `{prefix}session join {number}` · calendar: `{prefix}session ics {number}`",
                       prefix=p, number=s.id))
    from commands.sessions.base import can_manage
    if can_manage(ctx, s):
        lines.append(await _delivery(ctx, s))
    await ctx.reply("\n\n".join(lines))


async def _delivery(ctx, s: ReviewSession) -> str:
    """For the facilitator: which reminders went out when, which were skipped and why."""
    t = ctx.t
    rows = (await ctx.db.scalars(select(ScheduledJob).where(
        ScheduledJob.group_key == group_of(s), ScheduledJob.kind == REMINDER_JOB
    ).order_by(ScheduledJob.created_at, ScheduledJob.run_at))).all()
    if not rows:
        return t("Reminders: none planned (the session is too close or not planned).")
    lines = [t("Reminders:")]
    for r in rows:
        before = human_duration(timedelta(seconds=r.payload.get("offset", 0)), ctx.lang)
        if r.status == "done":
            what = t.n("sent {when} to {count} participant", "sent {when} to {count} participants",
                       r.payload.get("sent_to", 0), when=t.moment(r.done_at) if r.done_at else "?")
        elif r.status == "pending":
            what = t("planned for {when}", when=t.moment(r.run_at))
        elif r.status == "skipped":
            what = t("skipped: {reason}", reason=t(r.note) if r.note else "—")
        elif r.status == "cancelled":
            what = t("withdrawn: {reason}", reason=t(r.note) if r.note else "—")
        else:
            what = t("failed: {reason}", reason=md_escape((r.last_error or "?")[:100]))
        lines.append("- " + t("{before} before: {what}", before=before, what=what))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- taking part
@session.subcommand("join", dutch=("aanmelden", "meedoen"))
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
@option("as", Choice(["reviewer", "observer"], {"beoordelaar": "reviewer", "observator": "observer",
                                                "waarnemer": "observer", "toehoorder": "observer"}),
        aliases=("als",), default="reviewer", help=N_("reviewer (default) or observer"))
async def session_join(ctx, number, **kw):
    """Take part in a session; when it is full you go on the waiting list."""
    role = kw["as"]
    s = await get_session(ctx, number)
    require_planned(s)
    if s.starts_at <= ctx.now:
        raise BadArgument("Session {number} has already started.", number=s.id)
    existing = await ctx.db.get(Participant, (s.id, ctx.sender))
    t = ctx.t
    if existing is not None and existing.role in ("presenter", "note_taker"):
        await ctx.reply(t("You are already in session {number} as {role}.", number=s.id,
                          role=t(ROLE_LABELS[existing.role])))
        return
    state = await add_participant(ctx, s, ctx.sender, role)
    if state == "going":
        await ctx.reply(t("✅ You take part in {title} as {role}: {when}.", title=title_of(s),
                          role=t(ROLE_LABELS[role]), when=when_of(t, s)) + " " +
                        t("You will get a reminder before it starts.") + " " +
                        t("Calendar file: `{prefix}session ics {number}`.", prefix=ctx.settings.bot.command_prefix,
                          number=s.id))
    else:
        waiting = [w.user_id for w in await participants(ctx.db, s.id, "waiting")]
        position = waiting.index(ctx.sender) + 1 if ctx.sender in waiting else len(waiting)
        await ctx.reply(t("Session {number} is full; you are number {position} on the waiting list. "
                          "I will tell you when a place comes free.", number=s.id, position=position))


@session.subcommand("leave", dutch=("afmelden",))
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
async def session_leave(ctx, number):
    """Stop taking part in a session (the waiting list moves up by itself)."""
    s = await get_session(ctx, number)
    existing = await ctx.db.get(Participant, (s.id, ctx.sender))
    t = ctx.t
    if existing is None:
        await ctx.reply(t("You are not in session {number}.", number=s.id))
        return
    was_going = existing.state == "going"
    await ctx.db.delete(existing)
    await ctx.db.flush()
    await ctx.reply(t("You no longer take part in {title}.", title=title_of(s)))
    if was_going and s.status == "planned":
        await _move_up(ctx, s)


async def _move_up(ctx, s: ReviewSession) -> None:
    """Fill free places from the waiting list, in order; tell whoever moved up."""
    free = s.capacity - await going_count(ctx.db, s.id)
    for person in (await participants(ctx.db, s.id, "waiting"))[:max(0, free)]:
        person.state = "going"
        await tell(ctx, [person.user_id], lambda t: t(
            "🎉 A place came free: you now take part in {title} as {role}, {when}.", title=title_of(s),
            role=t(ROLE_LABELS.get(person.role, person.role)), when=when_of(t, s)))


@session.subcommand("assign", dutch=("toewijzen", "rol"), role=Role.ROOM_FACILITATOR)
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
@argument("user", UserId(), help=N_("the person: a mention or @name:server"))
@argument("role", Choice(list(ROLES), ROLE_SYNONYMS), help=N_("presenter, reviewer, note_taker or observer"))
async def session_assign(ctx, number, user, role):
    """Give someone a role in a session (they are added if needed, also when it is full)."""
    s = await get_session(ctx, number)
    require_manage(ctx, s)
    require_planned(s)
    t = ctx.t
    existing = await ctx.db.get(Participant, (s.id, user))
    if existing is not None and existing.role == role and existing.state == "going":
        # Nothing changes: say so, and do not send the person the same message again.
        await ctx.reply(t("{user} already takes part in {title} as {role}.", user=ctx.mention(user),
                          title=title_of(s), role=t(ROLE_LABELS[role])))
        return
    await add_participant(ctx, s, user, role, force=True)
    await ctx.reply(t("{user} takes part in {title} as {role}.", user=ctx.mention(user), title=title_of(s),
                      role=t(ROLE_LABELS[role])))
    await tell(ctx, [user], lambda t: t(
        "{facilitator} added you to {title} as {role}: {when}.", facilitator=ctx.mention(ctx.sender),
        title=title_of(s), role=t(ROLE_LABELS[role]), when=when_of(t, s)) + " " + t(
        "Details: `{prefix}session {number}`.", prefix=ctx.settings.bot.command_prefix, number=s.id),
        exclude=(ctx.sender,))


@session.subcommand("move", dutch=("verplaats", "verzet"), role=Role.ROOM_FACILITATOR)
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
@argument("when", When(working_hours=True), rest=True, help=N_("the new start, e.g. donderdag 10:00"))
async def session_move(ctx, number, when):
    """Move a session to another time; participants are told and reminders follow."""
    s = await get_session(ctx, number)
    require_manage(ctx, s)
    require_planned(s)
    length = s.ends_at - s.starts_at
    s.starts_at, s.ends_at = when, when + length
    await replan(ctx, s, note=NOTE_MOVED)
    t = ctx.t
    await ctx.reply(t("🔁 Session {number} moved to {when}.", number=s.id, when=when_of(t, s)))
    # Every participant (the facilitator too, if taking part) gets the updated calendar file.
    await send_calendar_update(ctx, s, lambda t: t("🔁 {title} has moved to {when}.", title=title_of(s),
                                                   when=when_of(t, s)) + " " + t(CALENDAR_NOTE))


@session.subcommand("cancel", dutch=("annuleer", "afgelast"), role=Role.ROOM_FACILITATOR)
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
@argument("reason", Text(max_length=500), rest=True, required=False, help=N_("why (told to the participants)"))
async def session_cancel(ctx, number, reason):
    """Cancel a session; every participant is told and its reminders are withdrawn."""
    s = await get_session(ctx, number)
    require_manage(ctx, s)
    require_planned(s)
    s.status, s.cancel_reason = "cancelled", reason
    await ctx.cancel_jobs(group=group_of(s), note=NOTE_CANCELLED)
    t = ctx.t
    await ctx.reply(t("❌ Session {number} is cancelled.", number=s.id))

    def render(t: Translator) -> str:
        text = t("❌ {title} ({when}) is cancelled.", title=title_of(s), when=when_of(t, s))
        return (text + (" " + t("Reason: {text}", text=md_escape(reason)) if reason else "") + " " +
                t("Open the attached file to remove it from your calendar."))

    await send_calendar_update(ctx, s, render)


# ----------------------------------------------------------------------------- reminders
REMINDER_JOB = "session-reminder"


@planner
async def plan_reminders(ctx, s: ReviewSession) -> None:
    for offset in ctx.settings.sessions.reminders:
        run_at = s.starts_at - offset
        if run_at <= ctx.now:
            continue  # too close to start for this one
        seconds = int(offset.total_seconds())
        await ctx.schedule(REMINDER_JOB, run_at, {"session": s.id, "offset": seconds},
                           job_id=f"session:{s.id}:remind:{seconds}:{stamp(s.starts_at)}",
                           group=group_of(s), owner=s.facilitator, room_id=s.room_id)


@cog.job(REMINDER_JOB)
async def send_reminder(ctx, job) -> None:
    s = await ctx.db.get(ReviewSession, job.payload["session"])
    if s is None or s.status != "planned":
        raise JobSkipped(N_("the session is no longer planned"))
    if ctx.now >= s.starts_at:
        raise JobSkipped(N_("the session had already started when the bot came back"))
    offset = timedelta(seconds=job.payload["offset"])

    def render(t: Translator) -> str:
        return (t("⏰ Reminder: {title} starts in {delay}: {when}.", title=title_of(s),
                  delay=human_duration(offset, t.lang), when=when_of(t, s)) +
                (" " + t("Where: {where}", where=md_escape(s.location)) if s.location else "") + " " +
                t("Details: `{prefix}session {number}`.", prefix=ctx.settings.bot.command_prefix, number=s.id))

    sent = await tell_participants(ctx, s, render)
    rt = room_translator(ctx, s)
    ctx.send_to_room(s.room_id, render(rt))
    job.payload = {**job.payload, "sent_to": sent}
