"""What every part of the sessions capability shares: the cog, the `!session` command
group, lookups, who may manage a session, how participants are told, and the planners
that (re-)plan a session's scheduled jobs when it is created or moved."""
from __future__ import annotations

from datetime import datetime
from typing import Awaitable, Callable

from sqlalchemy import func, select

from bot.framework import Cog, Int, argument
from bot.framework.errors import BadArgument, CheckFailure
from bot.framework.roles import Role
from bot.framework.i18n import N_, Translator
from bot.framework.topics import TopicArg
from bot.framework.render import md_escape
from storage import topics
from storage.sessions.models import Participant, ReviewSession

cog = Cog("sessions", N_("Peer-review sessions"))

ROLE_LABELS = {"presenter": N_("presenter"), "reviewer": N_("reviewer"), "note_taker": N_("note taker"),
               "observer": N_("observer")}
ROLE_SYNONYMS = {"presentator": "presenter", "inbrenger": "presenter", "beoordelaar": "reviewer",
                 "reviewer": "reviewer", "notulist": "note_taker", "verslaglegger": "note_taker",
                 "notetaker": "note_taker", "note-taker": "note_taker", "waarnemer": "observer",
                 "observator": "observer", "toehoorder": "observer"}


class SessionId(Int):
    metavar = N_("session number")

    def __init__(self):
        super().__init__(minimum=1, maximum=10**9)


def session_details(fn):
    """The options that describe a session, declared once for `session new` and
    `session poll` (whose session is created when the poll closes)."""
    from datetime import timedelta

    from bot.framework import Duration, Text, option
    details = [
        option("duration", Duration(minimum=timedelta(minutes=10), maximum=timedelta(hours=12)), aliases=("duur",),
               help=N_("how long, e.g. 90m or 2h (default from the config)")),
        option("project", Text(max_length=1000), help=N_("the project under review: name and short description")),
        option("question", Text(max_length=1000), aliases=("vraag",), help=N_("what the presenter wants reviewed")),
        option("topic", TopicArg(), aliases=("thema",), help=N_("one of the twelve topics, e.g. climate adaptation")),
        option("capacity", Int(minimum=1, maximum=500), aliases=("plaatsen", "capaciteit"), help=N_("number of places")),
        option("where", Text(max_length=500), aliases=("waar", "locatie", "location"),
               help=N_("a room, an address or a video link")),
    ]
    for declare in reversed(details):  # as if written as decorators, top to bottom
        fn = declare(fn)
    return fn


# `!session <id>` shows one session; subcommands (new, join, …) hang off this command.
@cog.command("session", dutch=("sessie",))
@argument("number", SessionId(), help=N_("the session number, e.g. 12"))
async def session(ctx, number):
    """Show a peer-review session: when, where, the project and question, who is coming.

    Subcommands: new, join, leave, assign, move, cancel, ics, poll, format, report, action."""
    from commands.sessions.planning import show_session
    await show_session(ctx, await get_session(ctx, number))


# ----------------------------------------------------------------------------- lookups
async def get_session(ctx, number: int) -> ReviewSession:
    found = await ctx.db.get(ReviewSession, number)
    if found is None:
        raise BadArgument("There is no session {number}.", number=number)
    return found


async def participants(db, session_id: int, state: str | None = "going") -> list[Participant]:
    query = select(Participant).where(Participant.session_id == session_id)
    if state:
        query = query.where(Participant.state == state)
    return list((await db.scalars(query.order_by(Participant.position, Participant.joined_at))).all())


async def going_count(db, session_id: int) -> int:
    return (await db.scalar(select(func.count()).select_from(Participant).where(
        Participant.session_id == session_id, Participant.state == "going"))) or 0


# ----------------------------------------------------------------------------- rights
def can_manage(ctx, s: ReviewSession) -> bool:
    """A session is managed by its facilitator, or by a configured facilitator or admin.
    A room moderator who is not the session's facilitator may not (the room's power
    levels give rights in that room only, and only over what they started there)."""
    return s.facilitator == ctx.sender or ctx.is_global(Role.FACILITATOR)


def require_manage(ctx, s: ReviewSession) -> None:
    if not can_manage(ctx, s):
        raise CheckFailure("Only the facilitator of session {number} (or a hub facilitator) may do that.",
                           number=s.id)


def require_planned(s: ReviewSession) -> None:
    if s.status != "planned":
        raise BadArgument("Session {number} is {status}.", number=s.id, status=s.status)


# ----------------------------------------------------------------------------- telling people
def title_of(s: ReviewSession) -> str:
    return f"#{s.id} {md_escape(s.title)}"


def when_of(t: Translator, s: ReviewSession) -> str:
    """`dinsdag 1 december 2026 14:00–15:30 CET`: weekday, date, times and zone."""
    return f"{t.datetime(s.starts_at)}–{t.time(s.ends_at)} {s.starts_at.astimezone(t.tz).tzname()}"


def topic_label(t: Translator, topic_id: str | None) -> str | None:
    found = topics.get(topic_id) if topic_id else None
    return found.label(t.lang) if found else None


async def tell(ctx, user_ids, render: Callable[[Translator], str], *, exclude: tuple[str, ...] = ()) -> int:
    """A direct message to each user, in their own language and zone."""
    told = 0
    for user_id in dict.fromkeys(user_ids):
        if user_id in exclude or user_id == ctx.services.bot_user_id:
            continue
        t = await ctx.translator_for(user_id)
        ctx.send_to_user(user_id, render(t))
        told += 1
    return told


async def tell_participants(ctx, s: ReviewSession, render: Callable[[Translator], str], *,
                            exclude: tuple[str, ...] = (), include_waiting: bool = False) -> int:
    people = await participants(ctx.db, s.id, state=None if include_waiting else "going")
    return await tell(ctx, [p.user_id for p in people], render, exclude=exclude)


def room_translator(ctx, s: ReviewSession) -> Translator:
    return Translator(s.language, s.timezone)


# ----------------------------------------------------------------------------- planners
# Each planner (re-)plans one kind of scheduled job for a session (reminders, report,
# format rounds); all use the group key `session:<id>`, so cancelling the group removes
# them all and a move re-runs every planner.
Planner = Callable[..., Awaitable[None]]
PLANNERS: list[Planner] = []


def planner(fn: Planner) -> Planner:
    PLANNERS.append(fn)
    return fn


def group_of(s: ReviewSession) -> str:
    return f"session:{s.id}"


async def replan(ctx, s: ReviewSession, *, note: str) -> None:
    """Cancel the session's pending jobs and plan them again for its current time."""
    await ctx.cancel_jobs(group=group_of(s), note=note)
    if s.status == "planned":
        for plan in PLANNERS:
            await plan(ctx, s)


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())
