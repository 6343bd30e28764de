"""`!review` (`!beoordeel`): a reviewer's scores per criterion, strengths, concerns and
recommendations, as one-line commands or as a guided step-at-a-time dialogue in a
direct message. Only participants with the reviewer role may review; a review is a
draft until submitted and stays editable until the report is out. When the last
reviewer submits, the report goes to the presenter (report.py)."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot.framework import Text, argument, option
from bot.framework.errors import BadArgument, CheckFailure
from bot.framework.i18n import N_, Translator
from bot.framework.render import md_escape
from commands.sessions.base import SessionId, cog, get_session, title_of
from commands.sessions.criteria import (
    TEXT_FIELDS, TEXT_PROMPTS, criterion_label, match_criterion, match_text_field, suggest_criteria, text_label,
)
from commands.sessions.report import send_if_complete
from storage.sessions.models import Participant, Review, ReviewSession

MAX_TEXT = 2000
SUBMIT_WORDS = {"submit", "indienen", "insturen", "inleveren", "versturen", "verstuur"}
SHOW_WORDS = {"show", "toon", "bekijk", "draft", "concept"}
YES = {"yes", "y", "ja", "j", "ok", "oké", "oke", "submit", "indienen", "graag"}
NO = {"no", "n", "nee", "later", "niet"}
STOP = {"stop", "stoppen", "pause", "pauze", "halt"}
SKIP = {"skip", "overslaan", "sla over", "volgende", "next", "-", "pass"}
NAMED = {"named", "met naam", "naam", "with name", "with my name", "--named"}
_SCORE_TOKEN = re.compile(r"^([0-9]+)(?:/5)?$")
_ANSWER = re.compile(r"^\s*([1-5])(?:\s*/\s*5)?(?:\s*$|[\s,.:;–-]+(.*)$)", re.S)


# ----------------------------------------------------------------------------- rights and rows
async def require_reviewer(ctx, s: ReviewSession, user_id: str) -> None:
    p = await ctx.db.get(Participant, (s.id, user_id))
    if p is None or p.role != "reviewer" or p.state != "going":
        raise CheckFailure("Only the reviewers of session {number} can review it. "
                           "Ask the facilitator for the reviewer role.", number=s.id)


def require_open(s: ReviewSession) -> None:
    if s.report_sent_at is not None:
        raise CheckFailure("The report of session {number} is out; reviews can no longer be changed.", number=s.id)
    if s.status == "cancelled":
        raise BadArgument("Session {number} is cancelled.", number=s.id)


async def review_of(ctx, s: ReviewSession, user_id: str) -> Review:
    r = await ctx.db.get(Review, (s.id, user_id))
    if r is None:
        r = Review(session_id=s.id, reviewer=user_id, scores={}, named=False, updated_at=ctx.now)
        ctx.db.add(r)
    return r


def set_score(r: Review, key: str, score: int, comment: str | None, now) -> None:
    scores = dict(r.scores or {})
    old = scores.get(key) or {}
    # A new score without a comment keeps the comment given before.
    scores[key] = {"score": score, "comment": (comment or "").strip()[:MAX_TEXT] or old.get("comment") or ""}
    r.scores = scores  # a new dict, so the JSON column is seen as changed
    r.updated_at = now


def is_empty(r: Review) -> bool:
    return not r.scores and not any(getattr(r, f) for f in TEXT_FIELDS)


# ----------------------------------------------------------------------------- rendering
def render_draft(t: Translator, s: ReviewSession, r: Review, criteria: list[str]) -> str:
    if r.submitted_at is None:
        state = t("draft, not submitted yet")
    elif r.named:
        state = t("submitted {when}, with your name", when=t.moment(r.submitted_at))
    else:
        state = t("submitted {when}, anonymous", when=t.moment(r.submitted_at))
    lines = ["**" + t("Your review of {title}", title=title_of(s)) + f"** ({state})"]
    for key in criteria:
        entry = (r.scores or {}).get(key)
        value = "—" if not entry else str(entry["score"]) + (f" — “{md_escape(entry['comment'])}”" if entry.get("comment") else "")
        lines.append(f"- {md_escape(criterion_label(t, key))}: {value}")
    for name in TEXT_FIELDS:
        lines.append(f"- {text_label(t, name)}: {md_escape(getattr(r, name)) if getattr(r, name) else '—'}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the command
@cog.command("review", dutch=("beoordeel", "beoordeling"))
@argument("number", SessionId(), help=N_("the session number, e.g. 12"))
@argument("words", Text(max_length=4000), required=False, rest=True,
          help=N_("a criterion with a score 1–5 and a comment, strengths/concerns/recommendations with a text, "
                  "submit or show; nothing: a guided dialogue in a direct message"))
@option("named", aliases=("met-naam", "naam"), help=N_("with submit: the presenter sees your name"))
async def review(ctx, number, words, named):
    """Review a session as one of its reviewers: a score 1–5 per criterion, strengths, concerns, recommendations.

    `review 12` asks one question at a time in a direct message; `review 12 impact 4 "clear goals"` scores one
    criterion; `review 12 strengths "…"`; `review 12 show` shows your draft; `review 12 submit` sends it in
    (add --named to show your name to the presenter). You can change it until the report is out."""
    s = await get_session(ctx, number)
    await require_reviewer(ctx, s, ctx.sender)
    criteria = list(ctx.settings.sessions.criteria)
    tokens = (words or "").split()
    first = tokens[0].lower() if tokens else ""
    if first in SHOW_WORDS and len(tokens) == 1:
        r = await ctx.db.get(Review, (s.id, ctx.sender))
        if r is None:
            await ctx.reply(ctx.t("You have not started a review of {title} yet.", title=title_of(s)))
        else:
            await ctx.reply(render_draft(ctx.t, s, r, criteria))
        return
    require_open(s)
    r = await review_of(ctx, s, ctx.sender)
    if not tokens:
        await open_dialogue(ctx, s, r, criteria)
    elif first in SUBMIT_WORDS and len(tokens) == 1:
        await submit(ctx, s, r, named)
    else:
        await edit(ctx, s, r, tokens, criteria)


def _command(ctx) -> str:
    """`!review` or `!beoordeel`, as the user typed it (for examples in answers)."""
    name = (ctx.invoked_as or "review").lower()
    return ctx.settings.bot.command_prefix + (name if name in ("review", "beoordeel", "beoordeling") else "review")


async def edit(ctx, s: ReviewSession, r: Review, tokens: list[str], criteria: list[str]) -> None:
    t, p = ctx.t, ctx.settings.bot.command_prefix
    for size in (2, 1):
        name = match_text_field(" ".join(tokens[:size])) if len(tokens) >= size else None
        if name:
            text = " ".join(tokens[size:]).strip()
            if not text:
                raise BadArgument("Write your text after {field}, e.g. {example}.", field=tokens[0][:40],
                                  example=f'{_command(ctx)} {s.id} {tokens[0][:40]} "…"')
            setattr(r, name, text[:MAX_TEXT])
            r.updated_at = ctx.now
            await ctx.reply(t("Saved: {field} in your review of {title}.", field=text_label(t, name), title=title_of(s)) +
                            " " + _next_hint(t, s, r, p, criteria))
            return
    score_at = next((i for i, w in enumerate(tokens) if _SCORE_TOKEN.match(w)), None)
    name_words = " ".join(tokens[:score_at] if score_at is not None else tokens[:3])
    key = match_criterion(name_words, criteria) if name_words else None
    if key is None and score_at is None:
        # Perhaps only the first word is a criterion and the score is missing.
        key = match_criterion(tokens[0], criteria)
    if key is None:
        raise BadArgument("I don't know {value}: name a criterion ({criteria}), strengths, concerns or "
                          "recommendations, or use submit or show.", value=name_words[:60] or tokens[0][:60],
                          criteria=", ".join(criterion_label(t, k) for k in criteria), suggestions=suggest_criteria(name_words or tokens[0], criteria))
    if score_at is None:
        raise BadArgument("Give {criterion} a score from 1 to 5, e.g. {example}.", criterion=criterion_label(t, key),
                          example=f'{_command(ctx)} {s.id} {criterion_label(t, key).lower()} 4 "…"')
    score = int(_SCORE_TOKEN.match(tokens[score_at]).group(1))
    if not 1 <= score <= 5:
        raise BadArgument("A score is a whole number from 1 to 5, not {value}.", value=tokens[score_at][:20])
    comment = " ".join(tokens[score_at + 1:])
    set_score(r, key, score, comment, ctx.now)
    saved = r.scores[key]
    await ctx.reply(t("Saved: {criterion} {score}", criterion=md_escape(criterion_label(t, key)), score=score) +
                    (f" — “{md_escape(saved['comment'])}”" if saved.get("comment") else "") + ". " + _next_hint(t, s, r, p, criteria))


def _next_hint(t: Translator, s: ReviewSession, r: Review, prefix: str, criteria: list[str]) -> str:
    if r.submitted_at is not None:
        return t("Your submitted review is updated.")
    return t("{done} of {total} criteria scored; submit with `{prefix}review {number} submit`.",
             done=len([k for k in criteria if k in (r.scores or {})]), total=len(criteria), prefix=prefix, number=s.id)


async def submit(ctx, s: ReviewSession, r: Review, named: bool) -> None:
    t, p = ctx.t, ctx.settings.bot.command_prefix
    if is_empty(r):
        raise BadArgument("Your review of session {number} is still empty: score a criterion first, "
                          "or type {example} for questions one at a time.", number=s.id, example=f"{_command(ctx)} {s.id}")
    r.submitted_at, r.named, r.step, r.updated_at = ctx.now, bool(named), None, ctx.now
    await ctx.db.flush()
    how = t("with your name") if r.named else t("anonymously")
    await ctx.reply("✅ " + t("Thank you! Your review of {title} is submitted ({how}). You can change it until the report is out.",
                             title=title_of(s), how=how))
    if await send_if_complete(ctx, s):
        await ctx.reply(t("Every reviewer has submitted: the report has gone to the presenter."))


# ----------------------------------------------------------------------------- the guided dialogue
# Steps: 0..len(criteria)-1 one criterion each, then strengths, concerns, recommendations,
# then the summary with "submit?". `Review.step` is the question waiting for an answer.
def step_kind(step: int, criteria: list[str]) -> tuple[str, str | None]:
    if step < len(criteria):
        return "criterion", criteria[step]
    if step < len(criteria) + len(TEXT_FIELDS):
        return "text", TEXT_FIELDS[step - len(criteria)]
    return "confirm", None


def first_open_step(r: Review, criteria: list[str]) -> int:
    for i, key in enumerate(criteria):
        if key not in (r.scores or {}):
            return i
    for j, name in enumerate(TEXT_FIELDS):
        if not getattr(r, name):
            return len(criteria) + j
    return len(criteria) + len(TEXT_FIELDS)


def question(t: Translator, s: ReviewSession, r: Review, criteria: list[str]) -> str:
    kind, key = step_kind(r.step, criteria)
    controls = t("(`skip` to skip, `stop` to pause)")
    if kind == "criterion":
        entry = (r.scores or {}).get(key)
        now = " " + t("(now: {score})", score=entry["score"]) if entry else ""
        return (f"**{md_escape(criterion_label(t, key))}** ({r.step + 1}/{len(criteria)}): " +
                t("a score from 1 (weak) to 5 (strong), optionally followed by a comment.") + now + " " + controls)
    if kind == "text":
        current = getattr(r, key)
        now = " " + t("(now: {score})", score="“" + md_escape(current[:80]) + "”") if current else ""
        return f"**{text_label(t, key)}**: {t(TEXT_PROMPTS[key])}{now} " + controls
    return (render_draft(t, s, r, criteria) + "\n\n" +
            t("Submit your review? Answer **yes** (anonymous), **yes named** (the presenter sees your name) "
              "or **no** (it stays a draft)."))


async def open_dialogue(ctx, s: ReviewSession, r: Review, criteria: list[str]) -> None:
    # One dialogue at a time: an unfinished one for another session is paused.
    others = (await ctx.db.scalars(select(Review).where(Review.reviewer == ctx.sender, Review.step.is_not(None),
                                                        Review.session_id != s.id))).all()
    for other in others:
        other.step = None
    r.step, r.language, r.updated_at = first_open_step(r, criteria), ctx.lang, ctx.now
    t = ctx.t
    text = ("📝 " + t("Review of {title}, one question at a time. Answer here without `{prefix}`.", title=title_of(s),
                      prefix=ctx.settings.bot.command_prefix) + "\n\n" + question(t, s, r, criteria))
    if ctx.incoming.is_direct:
        await ctx.reply(text)
    else:
        ctx.send_to_user(ctx.sender, text)
        await ctx.reply(t("I sent you a direct message with the review questions for {title}.", title=title_of(s)))


def _words(text: str) -> str:
    return " ".join(re.sub(r"[!.?,;:]+", " ", text.lower()).split())


@cog.question(first=True)
async def review_dialogue(ctx, text: str) -> bool:
    """The answer to the guided dialogue's waiting question (direct chats only)."""
    if not ctx.incoming.is_direct:
        return False
    r = await ctx.db.scalar(select(Review).where(Review.reviewer == ctx.sender, Review.step.is_not(None))
                            .order_by(Review.updated_at.desc()).limit(1))
    if r is None:
        return False
    if r.language:
        ctx.set_language(r.language)
    s = await ctx.db.get(ReviewSession, r.session_id)
    t, p = ctx.t, ctx.settings.bot.command_prefix
    try:
        await require_reviewer(ctx, s, ctx.sender)
        require_open(s)
    except (CheckFailure, BadArgument) as exc:
        r.step = None
        await ctx.reply("🔒 " + t(exc.message, **{k: v for k, v in exc.params.items() if k == "number"}))
        return True
    criteria = list(ctx.settings.sessions.criteria)
    words = _words(text)
    if words in STOP:
        r.step = None
        await ctx.reply("⏸ " + t("Paused; your answers so far are saved. Continue with `{prefix}review {number}`.",
                                prefix=p, number=s.id))
        return True
    kind, key = step_kind(r.step, criteria)
    if kind == "confirm":
        first = words.split(" ", 1)[0] if words else ""
        if first in YES:
            named = any(n in words for n in NAMED if n != "--named")
            await submit(ctx, s, r, named)
            return True
        if first in NO:
            r.step = None
            await ctx.reply(t("Kept as a draft. Submit later with `{prefix}review {number} submit`.", prefix=p, number=s.id))
            return True
        await ctx.reply(t("Please answer yes, yes named, or no."))
        return True
    if words not in SKIP:
        if kind == "criterion":
            m = _ANSWER.match(text)
            if not m:
                await ctx.reply("⚠️ " + t("Please answer with a score from 1 to 5, optionally followed by a comment "
                                          "(or skip, or stop).") + "\n\n" + question(t, s, r, criteria))
                return True
            set_score(r, key, int(m.group(1)), m.group(2), ctx.now)
        else:
            setattr(r, key, text.strip()[:MAX_TEXT])
    r.step += 1
    r.updated_at = ctx.now
    await ctx.reply(question(t, s, r, criteria))
    return True
