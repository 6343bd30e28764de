"""Session formats with timed rounds: `intervisie` (the incident method) and
`peer-review`; `custom` has no rounds. During the session the bot posts each round in
the session's room as it starts (one scheduled job per round, group `session:<id>`,
re-planned when the session moves)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bot.framework import Choice, argument
from bot.framework.errors import MissingRole
from bot.framework.roles import Role
from bot.framework.i18n import N_, Translator
from bot.framework.errors import JobSkipped
from commands.sessions.base import (
    SessionId, cog, get_session, group_of, planner, require_manage, require_planned, room_translator, session,
    stamp, title_of,
)
from storage.models.core import ScheduledJob
from storage.sessions.models import ReviewSession

ROUND_JOB = "session-round"


@dataclass(frozen=True)
class Round:
    name: str      # English msgid
    minutes: int
    what: str      # English msgid; may use {prefix} and {number}


FORMAT_LABELS = {"intervisie": N_("intervision (incident method)"), "peer-review": N_("peer review"),
                 "custom": N_("custom (no timed rounds)")}
ROUNDS: dict[str, tuple[Round, ...]] = {
    # Intervisie, incident method (about an hour); the note-taker keeps the advice in writing.
    "intervisie": (
        Round(N_("Case"), 10, N_("The presenter briefly describes a recent, concrete incident from their own work.")),
        Round(N_("Choose"), 5, N_("The group chooses the case to work on; the presenter states their question.")),
        Round(N_("Questions"), 15, N_("Everyone asks the presenter two open, clarifying questions; no advice yet.")),
        Round(N_("Analysis"), 10, N_("The participants analyse the case among themselves; the presenter listens.")),
        Round(N_("Advice"), 10, N_("Each participant gives one piece of advice; the presenter listens and notes what is useful.")),
        Round(N_("Evaluation"), 10, N_("The presenter says what helped; the group looks back on the method and the note-taker records the agreements.")),
    ),
    "peer-review": (
        Round(N_("Presentation"), 20, N_("The presenter introduces the project and the question for the reviewers.")),
        Round(N_("Questions"), 15, N_("The reviewers ask clarifying questions; no judgements yet.")),
        Round(N_("Scoring"), 15, N_("Reviewers score each criterion: `{prefix}review {number}` asks one question at a time "
                                    "in a direct message, or `{prefix}review {number} impact 4 \"comment\"`.")),
        Round(N_("Recommendations"), 15, N_("The reviewers share strengths, concerns and recommendations; "
                                            "the facilitator records actions with `{prefix}session action {number}`.")),
        Round(N_("Wrap-up"), 10, N_("The presenter responds; the facilitator sums up and agrees actions, owners and due dates.")),
    ),
    "custom": (),
}
FORMAT_SYNONYMS = {"intervision": "intervisie", "incident": "intervisie", "incidentmethode": "intervisie",
                   "incident-method": "intervisie", "peerreview": "peer-review", "peer_review": "peer-review",
                   "peer": "peer-review", "review": "peer-review", "eigen": "custom", "vrij": "custom",
                   "geen": "custom", "none": "custom", "free": "custom"}


def round_offsets(fmt: str | None) -> list[tuple[int, Round, timedelta]]:
    """(index, round, offset from the start) for each round of the format."""
    out, offset = [], timedelta()
    for i, r in enumerate(ROUNDS.get(fmt or "", ())):
        out.append((i, r, offset))
        offset += timedelta(minutes=r.minutes)
    return out


def minutes(t: Translator, count: int) -> str:
    return t("{minutes} min", minutes=count)


def render_round(t: Translator, s: ReviewSession, index: int, prefix: str) -> str:
    rounds = ROUNDS[s.format]
    r = rounds[index]
    heading = t("Round {n} of {total}: {name}", n=index + 1, total=len(rounds), name=t(r.name))
    text = (f"⏱ **{heading}** ({minutes(t, r.minutes)}) — {title_of(s)}\n\n" +
            t(r.what, prefix=prefix, number=s.id))
    if index + 1 < len(rounds):
        nxt = rounds[index + 1]
        start = s.starts_at + round_offsets(s.format)[index + 1][2]
        text += "\n\n_" + t("Next: {name} at {time}.", name=t(nxt.name), time=t.time(start)) + "_"
    return text


def render_format(t: Translator, s: ReviewSession, prefix: str) -> str:
    fmt = s.format or "custom"
    lines = [t("Format of {title}: {format}", title=title_of(s), format=t(FORMAT_LABELS[fmt]))]
    total = timedelta()
    for i, r, offset in round_offsets(fmt):
        lines.append(f"{i + 1}. {t.time(s.starts_at + offset)} **{t(r.name)}** "
                     f"({minutes(t, r.minutes)}) — {t(r.what, prefix=prefix, number=s.id)}")
        total = offset + timedelta(minutes=r.minutes)
    if total:
        length = s.ends_at - s.starts_at
        if total > length:
            lines.append("⚠️ " + t("The rounds take {rounds} minutes; the session is {length} minutes.",
                                   rounds=int(total.total_seconds() // 60), length=int(length.total_seconds() // 60)))
    return "\n".join(lines)


@session.subcommand("format", dutch=("werkvorm",))
@argument("number", SessionId(), help=N_("the session number"))
@argument("value", Choice(list(ROUNDS), FORMAT_SYNONYMS), required=False,
          help=N_("intervisie, peer-review or custom; without it: show the rounds"))
async def session_format(ctx, number, value):
    """Show a session's format and rounds, or (facilitator) set it: intervisie, peer-review or custom.

    During the session the bot posts each round in the session's room as it starts."""
    s = await get_session(ctx, number)
    if value is None:
        await ctx.reply(render_format(ctx.t, s, ctx.settings.bot.command_prefix))
        return
    if not ctx.has_role(Role.ROOM_FACILITATOR):
        raise MissingRole(Role.ROOM_FACILITATOR)
    require_manage(ctx, s)
    require_planned(s)
    s.format = value
    await cancel_rounds(ctx, s)
    await plan_rounds(ctx, s)
    await ctx.reply("✅ " + render_format(ctx.t, s, ctx.settings.bot.command_prefix))


async def cancel_rounds(ctx, s: ReviewSession) -> None:
    ids = list((await ctx.db.scalars(select(ScheduledJob.id).where(
        ScheduledJob.group_key == group_of(s), ScheduledJob.kind == ROUND_JOB,
        ScheduledJob.status == "pending"))).all())
    if ids:
        await ctx.cancel_jobs(job_ids=ids, note=N_("the format was changed"))


@planner
async def plan_rounds(ctx, s: ReviewSession) -> None:
    for i, _round, offset in round_offsets(s.format):
        run_at = s.starts_at + offset
        if run_at <= ctx.now:
            continue
        await ctx.schedule(ROUND_JOB, run_at, {"session": s.id, "round": i, "start": stamp(s.starts_at),
                                               "format": s.format},
                           job_id=f"session:{s.id}:round:{i}:{stamp(s.starts_at)}", group=group_of(s),
                           owner=s.facilitator, room_id=s.room_id)


@cog.job(ROUND_JOB)
async def post_round(ctx, job) -> None:
    s = await ctx.db.get(ReviewSession, job.payload["session"])
    if s is None or s.status != "planned":
        raise JobSkipped(N_("the session is no longer planned"))
    if s.format != job.payload.get("format") or stamp(s.starts_at) != job.payload.get("start"):
        raise JobSkipped(N_("the format or time of the session changed"))
    index = job.payload["round"]
    _, r, offset = round_offsets(s.format)[index]
    if ctx.now >= s.starts_at + offset + timedelta(minutes=r.minutes):
        raise JobSkipped(N_("the round was over when the bot came back"))
    ctx.send_to_room(s.room_id, render_round(room_translator(ctx, s), s, index, ctx.settings.bot.command_prefix),
                     notice=False)
