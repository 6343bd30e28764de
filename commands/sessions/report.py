"""The presenter's report and the session's actions.

The report (per criterion: mean, standard deviation, lowest–highest and number of scores;
strengths, concerns, recommendations; the actions) goes to each presenter by direct
message in their language, as a message, a Markdown file and a PNG chart, and a copy to
the facilitator. It goes out once: `report_sent_at` is set in the same transaction as the
outgoing messages, and from then on reviews are frozen. It is sent by `!session report`,
when the last reviewer submits, or by a job `report_after` the end of the session.

Reviewers are anonymous in the report unless they submitted with `--named`."""
from __future__ import annotations

import asyncio
import re
import statistics
import textwrap
import warnings
from dataclasses import dataclass, field
from io import BytesIO
from types import SimpleNamespace

from babel.numbers import format_decimal
from sqlalchemy import select

from bot.framework import Int, Text, When, argument
from bot.framework.errors import BadArgument
from bot.framework.messages import Attachment
from bot.framework.roles import Role
from bot.framework.i18n import N_, Translator
from bot.framework.render import md_escape
from bot.framework.errors import JobSkipped
from commands.sessions.base import (
    cog, get_session, group_of, participants, planner, require_manage, session, title_of, when_of,
)
from commands.sessions.criteria import TEXT_FIELDS, criterion_label, text_label
from bot.framework.arguments import UserId
from storage.privacy import is_former
from storage.sessions.models import Review, ReviewSession, SessionAction

REPORT_JOB = "session-report"
ACTION_REMINDER_JOB = "session-action-reminder"


# ----------------------------------------------------------------------------- statistics
@dataclass
class CriterionStats:
    key: str
    scores: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def sd(self) -> float | None:
        """Sample standard deviation (reviewers are a sample of possible peers); 0 for one score."""
        if not self.scores:
            return None
        return statistics.stdev(self.scores) if len(self.scores) > 1 else 0.0

    @property
    def low(self) -> int | None:
        return min(self.scores) if self.scores else None

    @property
    def high(self) -> int | None:
        return max(self.scores) if self.scores else None


def criterion_stats(reviews: list[Review], criteria: list[str]) -> list[CriterionStats]:
    out = []
    for key in criteria:
        st = CriterionStats(key)
        for r in reviews:
            entry = (r.scores or {}).get(key)
            if entry and entry.get("score") is not None:
                st.scores.append(int(entry["score"]))
        out.append(st)
    return out


def decimal(t: Translator, value: float) -> str:
    return format_decimal(value, format="0.0", locale=t.locale)


# ----------------------------------------------------------------------------- rendering
def _by(mention, r: Review) -> str:
    return f" — {mention(r.reviewer)}" if r.named else ""


_FILE_SPECIAL = re.compile(r"([\\`*_\[\]|~]|<(?=[A-Za-z/!?])|&(?=#?\w+;))")
_LINE_START = re.compile(r"^(\d*)([#>+=-]|(?<=\d)[.)])")


def file_escape(text: object) -> str:
    """Inert inside a Markdown *file*, and still readable as plain text in an editor: only
    what would change the rendering is escaped (emphasis, code, links, tables, an HTML tag's
    `<`, a line start that makes a heading or list), not every `:`, `-` or `.` as in chat
    (`\\<b\\>fair\\</b\\>`, `@maria\\:gemeente\\-ede\\.nl`, issue 19)."""
    s = " ".join(str(text).replace("\r", " ").split())
    s = _FILE_SPECIAL.sub(r"\\\1", s)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s)


def render_report(t: Translator, s: ReviewSession, reviews: list[Review], actions: list[SessionAction],
                  criteria: list[str], reviewers: int, mention, escape=md_escape) -> str:
    """The report as Markdown; every user-written text is escaped with `escape`: md_escape
    for chat, file_escape for the .md file."""
    title = f"#{s.id} {escape(s.title)}"
    lines = ["## 📋 " + t("Review report: {title}", title=title), when_of(t, s)]
    if s.project:
        lines.append(t("Project: {text}", text=escape(s.project)))
    if s.question:
        lines.append(t("Question for the reviewers: {text}", text=escape(s.question)))
    lines.append(t("Reviews submitted: {count} of {reviewers}.", count=len(reviews), reviewers=reviewers))
    lines.append("### " + t("Scores"))
    lines.append("_" + t("1 = weak … 5 = strong; mean, standard deviation (sd), lowest–highest, number of scores (n).") + "_")
    items = []
    for st in criterion_stats(reviews, criteria):
        label = escape(criterion_label(t, st.key))
        if st.n:
            items.append(f"- **{label}: {decimal(t, st.mean)}** · sd {decimal(t, st.sd)} · "
                         f"{st.low}–{st.high} · n = {st.n}")
        else:
            items.append(f"- **{label}**: " + t("no scores"))
        for r in reviews:
            comment = ((r.scores or {}).get(st.key) or {}).get("comment")
            if comment:
                items.append(f"    - “{escape(comment)}”{_by(mention, r)}")
    lines.append("\n".join(items))
    for name in TEXT_FIELDS:
        texts = [f"- {escape(getattr(r, name))}{_by(mention, r)}" for r in reviews if getattr(r, name)]
        lines.append("### " + text_label(t, name))
        lines.append("\n".join(texts) if texts else "—")
    lines.append("### " + t("Actions"))
    if actions:
        lines.append("\n".join(
            "- " + t("{text} — {owner}, due {when}", text=escape(a.text), owner=mention(a.owner),
                     when=t.date(a.due)) for a in actions))
    else:
        lines.append("—")
    named = [r for r in reviews if r.named]
    lines.append("_" + (t("Reviewers who chose to be named are shown with their comments; the others are anonymous.")
                        if named else t("All reviews are anonymous.")) + "_")
    return "\n\n".join(lines)


def _plain(text: str) -> str:
    """Text matplotlib shows as written: a `$` would otherwise start mathtext (and a
    title such as `$\\frac{` would fail to render)."""
    return "".join(ch for ch in text if ch.isprintable() or ch == "\n").replace("$", r"\$")


def render_chart(t: Translator, s: ReviewSession, stats: list[CriterionStats]) -> bytes:
    """Horizontal bars of the mean score per criterion with ±sd whiskers, labels in the
    reader's language. The PNG's Description holds the figures as text (alt text)."""
    # The Agg canvas directly: no pyplot global state, safe in a server process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [_plain("\n".join(textwrap.wrap(criterion_label(t, st.key), 22))) for st in stats]
    means = [st.mean or 0.0 for st in stats]
    # ±sd whiskers, clipped to the 1–5 scale (a mean of 3 with sd 2.8 cannot reach 5.8).
    errors = [[min(st.sd or 0.0, max((st.mean or 0) - 1, 0)) for st in stats],
              [min(st.sd or 0.0, max(5 - (st.mean or 0), 0)) for st in stats]]
    fig = Figure(figsize=(7.5, 1.4 + 0.75 * len(stats)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = list(range(len(stats)))
    ax.barh(positions, means, xerr=errors, color="#2f6f9f", ecolor="#333333", capsize=5, height=0.55)
    for y, st in zip(positions, stats):
        text = (f"{decimal(t, st.mean)} ± {decimal(t, st.sd)}  ({st.low}–{st.high}, n = {st.n})"
                if st.n else t("no scores"))
        ax.text(5.35, y, text, va="center", fontsize=9)  # a column right of the scale
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 7.6)
    ax.set_xticks(range(1, 6))
    ax.axvline(5, color="#bbbbbb", linewidth=0.8)
    ax.set_xlabel(t("Score 1–5: mean ± standard deviation"))
    ax.set_title(_plain(t("Review scores: {title}", title=f"#{s.id} {s.title}"[:70])), fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    description = "; ".join(f"{criterion_label(t, st.key)}: {decimal(t, st.mean)} (sd {decimal(t, st.sd)}, n = {st.n})"
                            if st.n else f"{criterion_label(t, st.key)}: —" for st in stats)
    buffer = BytesIO()
    with warnings.catch_warnings():
        # A character the font lacks (an emoji in a title) is drawn as a box: not worth a log line.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.tight_layout()
        fig.savefig(buffer, format="png", metadata={"Title": f"session-{s.id}-scores", "Description": description})
    return buffer.getvalue()


# ----------------------------------------------------------------------------- sending
async def submitted_reviews(db, session_id: int) -> list[Review]:
    return list((await db.scalars(select(Review).where(
        Review.session_id == session_id, Review.submitted_at.is_not(None)).order_by(Review.submitted_at))).all())


async def session_actions(db, session_id: int) -> list[SessionAction]:
    return list((await db.scalars(select(SessionAction).where(SessionAction.session_id == session_id)
                                  .order_by(SessionAction.due, SessionAction.id))).all())


async def reviewer_ids(db, session_id: int) -> list[str]:
    return [p.user_id for p in await participants(db, session_id, "going") if p.role == "reviewer"]


async def presenter_ids(db, session_id: int) -> list[str]:
    return [p.user_id for p in await participants(db, session_id, "going") if p.role == "presenter"]


def report_job_id(s: ReviewSession) -> str:
    return f"session:{s.id}:report"


async def send_report(ctx, s: ReviewSession, *, requested_by: str | None = None) -> list[str]:
    """Send the report to the presenters and a copy to the facilitator (and to whoever
    asked for it); mark it sent. Returns the presenters. The caller checked there are
    reviews and presenters."""
    reviews = await submitted_reviews(ctx.db, s.id)
    actions = await session_actions(ctx.db, s.id)
    presenters = await presenter_ids(ctx.db, s.id)
    criteria = list(ctx.settings.sessions.criteria)
    reviewers = len(await reviewer_ids(ctx.db, s.id))
    stats = criterion_stats(reviews, criteria)
    charts: dict[str, bytes] = {}

    async def deliver(user_id: str, header=None) -> None:
        t = await ctx.translator_for(user_id)
        if t.lang not in charts:
            # ~0.1 s of matplotlib (bench/bench_report.py): off the event loop, with plain values only.
            plain = SimpleNamespace(id=s.id, title=s.title)
            charts[t.lang] = await asyncio.to_thread(render_chart, t, plain, stats)
        text = render_report(t, s, reviews, actions, criteria, reviewers, ctx.mention)
        when = t.moment(ctx.now)
        generated = t("Generated by the DSIH bot on {when}.", when=when)

        def in_file(user_id: str) -> str:
            return file_escape(t("a former member") if is_former(user_id) else user_id)

        document = render_report(t, s, reviews, actions, criteria, reviewers, in_file, escape=file_escape)
        document = f"{document}\n\n---\n\n_{generated}_\n"
        body = (header(t) + "\n\n" if header else "") + text
        ctx.send_to_user(user_id, body, attachment=Attachment(f"session-{s.id}-report.md", "text/markdown",
                                                              document.encode("utf-8")))
        ctx.send_to_user(user_id, "", attachment=Attachment(f"session-{s.id}-scores.png", "image/png",
                                                            charts[t.lang], msgtype="m.image"))

    for user_id in presenters:
        await deliver(user_id)
    names = ", ".join(ctx.mention(p) for p in presenters)
    for user_id in dict.fromkeys([s.facilitator, requested_by or s.facilitator]):
        if user_id in presenters or user_id == ctx.services.bot_user_id:
            continue
        await deliver(user_id, lambda t: "_" + t("Copy of the report sent to {people}.", people=names) + "_")
    s.report_sent_at = ctx.now
    await ctx.cancel_jobs(job_ids=[report_job_id(s)], note=N_("the report was already sent"))
    return presenters


async def report_blocker(ctx, s: ReviewSession) -> tuple[str, dict] | None:
    """Why the report cannot go out now (an English msgid and its params), or None."""
    if s.report_sent_at is not None:
        return N_("The report of session {number} was already sent."), {"number": s.id}
    if s.status == "cancelled":
        return N_("Session {number} is cancelled."), {"number": s.id}
    if not await presenter_ids(ctx.db, s.id):
        return N_("Session {number} has no presenter; assign one first."), {"number": s.id}
    if not await submitted_reviews(ctx.db, s.id):
        return N_("No reviewer has submitted a review for session {number} yet."), {"number": s.id}
    return None


async def send_if_complete(ctx, s: ReviewSession) -> bool:
    """After a submission: the report goes out when every reviewer has submitted."""
    reviewers = set(await reviewer_ids(ctx.db, s.id))
    done = {r.reviewer for r in await submitted_reviews(ctx.db, s.id)}
    if not reviewers or not reviewers <= done or await report_blocker(ctx, s) is not None:
        return False
    await send_report(ctx, s)
    return True


@session.subcommand("report", dutch=("rapport", "verslag"), role=Role.ROOM_FACILITATOR)
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
async def session_report(ctx, number):
    """Send the review report to the presenter(s) now (the facilitator gets a copy).

    Otherwise it goes out by itself when every reviewer has submitted, or a while after the session."""
    s = await get_session(ctx, number)
    require_manage(ctx, s)
    blocker = await report_blocker(ctx, s)
    if blocker is not None:
        raise BadArgument(blocker[0], **blocker[1])
    presenters = await send_report(ctx, s, requested_by=ctx.sender)
    await ctx.reply("📋 " + ctx.t("The report of session {number} was sent to {people}; a copy is in your direct messages.",
                                  number=s.id, people=", ".join(ctx.mention(p) for p in presenters)))


@planner
async def plan_report(ctx, s: ReviewSession) -> None:
    if s.report_sent_at is not None:
        return
    await ctx.schedule(
        REPORT_JOB, s.ends_at + ctx.settings.sessions.report_after, {"session": s.id},
        job_id=report_job_id(s), group=group_of(s), owner=s.facilitator, room_id=s.room_id)


@cog.job(REPORT_JOB)
async def report_job(ctx, job) -> None:
    s = await ctx.db.get(ReviewSession, job.payload["session"])
    if s is None:
        raise JobSkipped(N_("the session no longer exists"))
    blocker = await report_blocker(ctx, s)
    if blocker is not None:
        raise JobSkipped(blocker[0].format(**blocker[1]))
    await send_report(ctx, s)


# ----------------------------------------------------------------------------- actions
@session.subcommand("action", dutch=("actie",), role=Role.ROOM_FACILITATOR)
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
@argument("text", Text(max_length=500), help=N_("what is to be done, in quotes"))
@argument("owner", UserId(), help=N_("who does it: a mention or @name:server"))
@argument("due", When(), rest=True, help=N_("the due date, e.g. 15 januari, next friday"))
async def session_action(ctx, number, text, owner, due):
    """Record an action from a session: what, who, by when. The owner is told and reminded before the due date."""
    s = await get_session(ctx, number)
    require_manage(ctx, s)
    count = len(await session_actions(ctx.db, s.id))
    if count >= 50:
        raise BadArgument("Session {number} already has {count} actions.", number=s.id, count=count)
    action = SessionAction(session_id=s.id, text=text, owner=owner, due=due, created_by=ctx.sender, created_at=ctx.now)
    ctx.db.add(action)
    await ctx.db.flush()
    t = ctx.t
    remind_at = due - ctx.settings.sessions.action_reminder
    reply = t("✅ Action {id} for {owner}, due {when}: {text}", id=action.id, owner=ctx.mention(owner),
              when=t.moment(due), text=md_escape(text))
    if remind_at > ctx.now:
        await ctx.schedule(
            ACTION_REMINDER_JOB, remind_at, {"action": action.id},
            job_id=f"session-action:{action.id}:remind", group=f"session-actions:{s.id}", owner=owner,
            room_id=s.room_id)
        reply += "\n\n" + t("I will remind them on {when}.", when=t.moment(remind_at))
    await ctx.reply(reply, mentions=(owner,))
    if owner not in (ctx.sender, ctx.services.bot_user_id):
        ot = await ctx.translator_for(owner)
        ctx.send_to_user(owner, ot("📌 {facilitator} gave you an action from {title}: {text}. Due: {when}.",
                                   facilitator=ctx.mention(ctx.sender), title=title_of(s), text=md_escape(text),
                                   when=ot.moment(due)))


@cog.job(ACTION_REMINDER_JOB)
async def action_reminder(ctx, job) -> None:
    action = await ctx.db.get(SessionAction, job.payload["action"])
    if action is None:
        raise JobSkipped(N_("the action no longer exists"))
    s = await ctx.db.get(ReviewSession, action.session_id)
    t = await ctx.translator_for(action.owner)
    ctx.send_to_user(action.owner, t("⏰ Reminder: your action from {title} is due {when}: {text}",
                                     title=title_of(s), when=t.moment(action.due), text=md_escape(action.text)))


@session.subcommand("actions", dutch=("acties",))
@argument("number", Int(minimum=1, maximum=10**9), help=N_("the session number"))
async def session_actions_list(ctx, number):
    """List the actions agreed in a session: what, who, by when."""
    s = await get_session(ctx, number)
    actions = await session_actions(ctx.db, s.id)
    t = ctx.t
    if not actions:
        await ctx.reply(t("Session {number} has no actions yet.", number=s.id))
        return
    items = [f"{a.id}. " + t("{text} — {owner}, due {when}", text=md_escape(a.text), owner=ctx.mention(a.owner),
                             when=t.date(a.due)) for a in actions]
    await ctx.reply_pages(t("Actions from {title}:", title=title_of(s)), items)
