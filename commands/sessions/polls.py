"""Time-slot polls: a facilitator offers times, the room votes, closing plans the session.

`!session poll "<title>" <slot> | <slot> | …` sends a native Matrix poll (MSC3381, with
the unstable event types that clients render today) whose `max_selections` is the number
of slots, since people pick every time they can make, and a numbered plain-text fallback.
Votes come from poll responses (both event types) and, for clients that offer single
choice only, from `!vote <poll> 1 3`. A later vote of the same person replaces the earlier
one; votes for a closed poll do not count. `!session poll close <n>` plans the session at
the slot with most votes (ties: the earliest), adds its voters as reviewers, sends them
the .ics, reports the votes in the room and ends the poll in the clients.

A response names the poll's start event; we find the poll through the outbox row that
sent it (its transaction id is stored on the poll, its event id filled once sent)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.framework import Int, Text, argument
from bot.framework.errors import BadArgument, CheckFailure
from bot.framework.roles import Role
from bot.framework.i18n import N_, Translator
from bot.framework.render import md_escape
from bot.framework.timeparse import TimeParseError, example, parse_when
from commands.sessions.base import cog, session, session_details, title_of, when_of
from commands.sessions.calendar import ics_attachment, organizer_of
from commands.sessions.planning import add_participant, create_session
from storage.models.core import OutboxMessage
from storage.sessions.models import PollVote, ReviewSession, SessionPoll

POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"
RESPONSE_TYPES = ("org.matrix.msc3381.poll.response", "m.poll.response")
TEXT = "org.matrix.msc1767.text"
DISCLOSED = "org.matrix.msc3381.poll.disclosed"
POLL_KEY = "org.dsih.poll"  # our poll number in the start event, for people reading the raw event
MIN_SLOTS, MAX_SLOTS = 2, 20    # MSC3381 allows up to 20 answers
MAX_AHEAD = timedelta(days=3 * 366)
CLOSE_WORDS = {"close", "sluit", "sluiten", "end"}
WITHDRAW_WORDS = {"none", "geen", "-", "niets", "withdraw"}
_SLOT_SEPARATORS = re.compile(r"\s*[|\n\uff5c]\s*")
_NUMBER = re.compile(r"#?\d{1,9}")


class PollId(Int):
    metavar = N_("poll number")

    def __init__(self):
        super().__init__(minimum=1, maximum=10**9)


# ----------------------------------------------------------------------------- commands
@session.subcommand("poll", dutch=("peiling",), role=Role.ROOM_FACILITATOR)
@argument("title", Text(max_length=200), help=N_("the title, in quotes if it has spaces; or close, or a poll number"))
@argument("slots", Text(max_length=2000), required=False, rest=True,
          help=N_("the times to choose from, separated by |, e.g. dinsdag 14:00 | woensdag 10:00"))
@session_details
async def session_poll(ctx, title, slots, duration, project, question, topic, capacity, where):
    """Let the room vote on times for a session, with a Matrix poll.

    `poll <number>` shows the votes so far; `poll close <number>` plans the session at the time with most votes, adds everyone who voted for it as a reviewer and sends them the calendar file."""
    if title.strip().lower() in CLOSE_WORDS and slots and _NUMBER.fullmatch(slots.strip()):
        await close_poll(ctx, await get_poll(ctx, int(slots.strip().lstrip("#"))))
        return
    if title.strip().lower() in CLOSE_WORDS and slots is None:
        raise BadArgument("Which poll? Example: {example}", example=f"{ctx.settings.bot.command_prefix}session poll close 3")
    if slots is None and _NUMBER.fullmatch(title.strip()):
        poll = await get_poll(ctx, int(title.strip().lstrip("#")))
        await ctx.reply(await render_poll(ctx, ctx.t, poll))
        return
    starts = parse_slots(slots or "", ctx)
    if not title.strip():
        raise BadArgument("The poll needs a title.")
    options = {"duration": int(duration.total_seconds()) if duration else None, "project": project,
               "question": question, "topic": topic, "capacity": capacity, "where": where,
               "lang": ctx.lang, "tz": str(ctx.t.tz.key)}
    poll = SessionPoll(title=title.strip(), room_id=ctx.incoming.room_id, facilitator=ctx.sender,
                       slots=[s.isoformat() for s in starts], status="open", options=options, created_at=ctx.now)
    ctx.db.add(poll)
    await ctx.db.flush()
    await open_poll(ctx, poll)


@cog.command("vote", dutch=("stem",))
@argument("poll", PollId(), help=N_("the poll number, e.g. 3"))
@argument("choices", Text(max_length=200), required=False, rest=True,
          help=N_("the numbers of every time you can make, e.g. 1 3 (or 1-3); none withdraws your vote"))
async def vote(ctx, poll, choices):
    """Vote in a time poll by number (for chat apps whose polls allow one choice only).

    Without numbers it shows the poll, the votes so far and your own vote."""
    found = await get_poll(ctx, poll)
    if choices is None:
        await ctx.reply(await render_poll(ctx, ctx.t, found, you=ctx.sender))
        return
    if found.status != "open":
        raise BadArgument("Poll {number} is closed.", number=found.id)
    if ctx.incoming.room_id != found.room_id:
        raise BadArgument("Vote in the room where poll {number} was posted.", number=found.id)
    picks = parse_choices(choices, len(found.slots), found.id)
    at_ms = ctx.incoming.timestamp_ms or int(ctx.now.timestamp() * 1000)
    await record_vote(ctx.db, found, ctx.sender, picks, at_ms)
    t = ctx.t
    if not picks:
        await ctx.reply(t("Your vote in poll {number} is withdrawn.", number=found.id))
        return
    labels = slot_labels(t, found, ctx.settings.sessions.default_duration)
    # The slots by the poll's own numbers: "3\." is no list item, which Markdown would renumber 1, 2, …
    await ctx.reply(t("Your vote in poll {number}:", number=found.id) + "\n\n" +
                    "\n".join(f"{i + 1}\\. {labels[i]}" for i in picks))


def vote_example(slots: int) -> str:
    """Numbers that exist in a poll of this size: `1 3`, `1 2` for two times, `1` for one."""
    return "1 3" if slots >= 3 else "1 2" if slots == 2 else "1"


@cog.event(*RESPONSE_TYPES)
async def on_poll_response(ctx, event) -> None:
    """A vote from a client's poll: a response related (m.reference) to our start event."""
    relates = event.content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != "m.reference":
        return
    start_event = relates.get("event_id")
    if not isinstance(start_event, str):
        return
    poll = await poll_for_event(ctx.db, event.room_id, start_event)
    if poll is None or poll.status != "open":
        return  # not one of ours, or closed: a late vote does not count
    answers = response_answers(event.content)
    if answers is None:
        return
    await record_vote(ctx.db, poll, event.sender, answer_indexes(answers, len(poll.slots)), event.timestamp_ms)


# ----------------------------------------------------------------------------- opening
def parse_slots(raw: str, ctx) -> list[datetime]:
    """`dinsdag 14:00 | woensdag 10:00`: each a future moment with a time of day, in the
    user's language and zone; 2 to 20 different ones."""
    parts = [p for p in _SLOT_SEPARATORS.split(raw.strip()) if p.strip()]
    if len(parts) < MIN_SLOTS:
        raise BadArgument("Give at least {min} times, separated by |, e.g. {example}.", min=MIN_SLOTS,
                          example=_slots_example(ctx.lang))
    if len(parts) > MAX_SLOTS:
        raise BadArgument("A poll has at most {max} times; you gave {count}.", max=MAX_SLOTS, count=len(parts))
    starts: list[datetime] = []
    for n, part in enumerate(parts):
        try:
            resolved = parse_when(part, lang=ctx.lang, tz=str(ctx.t.tz.key), now=ctx.now, working_hours=True)
        except TimeParseError as exc:
            if n == 0 and "past" not in exc.message:
                # Most often the rest of an unquoted title: `!session poll Hitte Zwolle dinsdag 14:00 | …`
                raise BadArgument("I could not read {value} as a time. A title with spaces goes in quotes: {example}",
                                  value=part[:60], example=f'"{_title_example(ctx.lang)}" {_slots_example(ctx.lang)}') from None
            raise BadArgument(exc.message, **exc.params) from None
        if not resolved.had_time:
            raise BadArgument("{value} has no time of day. Example: {example}.", value=part[:60],
                              example=example(ctx.lang))
        if resolved.when - ctx.now > MAX_AHEAD:
            raise BadArgument("{value} is too far ahead.", value=part[:60])
        if resolved.when in starts:
            raise BadArgument("{value} is in the poll twice.", value=part[:60])
        starts.append(resolved.when)
    return starts


def _title_example(lang: str) -> str:
    return "Hittestress Zwolle" if lang == "nl" else "Heat stress Zwolle"


def _slots_example(lang: str) -> str:
    return "dinsdag 14:00 | woensdag 10:00" if lang == "nl" else "tuesday 14:00 | wednesday 10am"


async def open_poll(ctx, poll: SessionPoll) -> None:
    t, p = ctx.t, ctx.settings.bot.command_prefix
    labels = slot_labels(t, poll, ctx.settings.sessions.default_duration)
    fallback = [t("📊 **Poll {number}: {title}**: which times can you make?", number=poll.id,
                  title=md_escape(poll.title)),
                "\n".join(f"{i + 1}. {label}" for i, label in enumerate(labels)),
                t("Vote in the poll (pick every time you can make), or reply `{prefix}vote {number} {example}` "
                  "with the numbers of those times.", prefix=p, number=poll.id, example=vote_example(len(labels)))]
    start = {
        "question": {TEXT: poll.title, "body": poll.title, "msgtype": "m.text"},
        "kind": DISCLOSED,
        "max_selections": len(labels),
        "answers": [{"id": f"a{i + 1}", TEXT: label} for i, label in enumerate(labels)],
    }
    sent = ctx.send_to_room(poll.room_id, "\n\n".join(fallback), event_type=POLL_START,
                            extra_content={POLL_START: start, POLL_KEY: poll.id})
    # Its outbox row's transaction id is how its event id is found once it is sent.
    sent.on_queued.append(lambda txn_id: setattr(poll, "txn_id", txn_id))
    await ctx.reply(t("Poll {number} is open with {count} times. Votes so far: `{prefix}session poll {number}`; "
                      "`{prefix}session poll close {number}` plans the session at the time with most votes.",
                      number=poll.id, count=len(labels), prefix=p))


def slot_times(poll: SessionPoll) -> list[datetime]:
    return [_utc(datetime.fromisoformat(s)) for s in poll.slots]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def poll_duration(poll: SessionPoll, default: timedelta) -> timedelta:
    seconds = (poll.options or {}).get("duration")
    return timedelta(seconds=seconds) if seconds else default


def slot_labels(t: Translator, poll: SessionPoll, default_duration: timedelta) -> list[str]:
    """`Tuesday 1 December 2026 14:00–15:30 CET`: weekday, date, times and zone."""
    length = poll_duration(poll, default_duration)
    return [f"{t.datetime(start)}–{t.time(start + length)} {start.astimezone(t.tz).tzname()}"
            for start in slot_times(poll)]


# ----------------------------------------------------------------------------- votes
async def get_poll(ctx, number: int) -> SessionPoll:
    found = await ctx.db.get(SessionPoll, number)
    if found is None:
        raise BadArgument("There is no poll {number}.", number=number)
    return found


async def poll_for_event(db, room_id: str, event_id: str) -> SessionPoll | None:
    """The open poll in this room whose start event is `event_id` (few open polls per
    room, each joined to its outbox row by the unique transaction id)."""
    return await db.scalar(
        select(SessionPoll).join(OutboxMessage, OutboxMessage.txn_id == SessionPoll.txn_id)
        .where(SessionPoll.room_id == room_id, SessionPoll.status == "open", OutboxMessage.event_id == event_id)
        .limit(1))


async def start_event_of(db, poll: SessionPoll) -> str | None:
    if not poll.txn_id:
        return None
    return await db.scalar(select(OutboxMessage.event_id).where(OutboxMessage.txn_id == poll.txn_id))


def response_answers(content: dict) -> list[str] | None:
    """The chosen answer ids of a response, unstable (`org.matrix.msc3381.poll.response`)
    or stable (`m.poll.response`, `m.selections`); None if the event carries none."""
    for key in RESPONSE_TYPES:
        body = content.get(key)
        if isinstance(body, dict) and isinstance(body.get("answers"), list):
            return [a for a in body["answers"] if isinstance(a, str)]
    if isinstance(content.get("m.selections"), list):
        return [a for a in content["m.selections"] if isinstance(a, str)]
    return None


def answer_indexes(answers: list[str], count: int) -> list[int]:
    """`["a3", "a1", "x", "a1"]` -> [2, 0]: unknown ids are dropped (an empty list is a
    withdrawn or spoiled vote, which replaces the earlier one all the same)."""
    out: list[int] = []
    for answer in answers:
        m = re.fullmatch(r"a(\d{1,2})", answer)
        if m and 1 <= int(m.group(1)) <= count and int(m.group(1)) - 1 not in out:
            out.append(int(m.group(1)) - 1)
    return out[:count]


def parse_choices(raw: str, count: int, number: int) -> list[int]:
    """`1 3`, `1,3`, `1-3` -> 0-based slot indexes; `none`/`geen` -> [] (withdraw)."""
    words = [w for w in re.split(r"[\s,;]+", raw.strip().lower()) if w]
    if len(words) == 1 and words[0] in WITHDRAW_WORDS:
        return []
    picks: list[int] = []
    for word in words:
        m = re.fullmatch(r"#?(\d{1,3})(?:-(\d{1,3}))?", word)
        low, high = (int(m.group(1)), int(m.group(2) or m.group(1))) if m else (0, 0)
        if not m or not 1 <= low <= high <= count:
            raise BadArgument("{value} is not a time of poll {number}: pick numbers from 1 to {count}.",
                              value=word[:20], number=number, count=count)
        picks.extend(i - 1 for i in range(low, high + 1) if i - 1 not in picks)
    return picks


async def record_vote(db, poll: SessionPoll, user_id: str, picks: list[int], at_ms: int) -> None:
    """The latest vote of a person counts; one that arrives late but was cast earlier does not."""
    existing = await db.get(PollVote, (poll.id, user_id))
    if existing is None:
        db.add(PollVote(poll_id=poll.id, user_id=user_id, slots=picks, at_ms=at_ms))
    elif at_ms >= (existing.at_ms or 0):
        existing.slots, existing.at_ms = picks, at_ms
    await db.flush()


async def voters_per_slot(db, poll: SessionPoll) -> list[list[str]]:
    """For each slot, who can make it, in the order they voted."""
    votes = (await db.scalars(select(PollVote).where(PollVote.poll_id == poll.id)
                              .order_by(PollVote.at_ms, PollVote.user_id))).all()
    out: list[list[str]] = [[] for _ in poll.slots]
    for vote_ in votes:
        for index in vote_.slots or []:
            if isinstance(index, int) and 0 <= index < len(out):
                out[index].append(vote_.user_id)
    return out


def winner(poll: SessionPoll, voters: list[list[str]], now: datetime) -> int | None:
    """The future slot with most votes; of equals, the earliest."""
    starts = slot_times(poll)
    candidates = [i for i in range(len(starts)) if voters[i] and starts[i] > now]
    if not candidates:
        return None
    return min(candidates, key=lambda i: (-len(voters[i]), starts[i]))


async def render_poll(ctx, t: Translator, poll: SessionPoll, *, you: str | None = None) -> str:
    voters = await voters_per_slot(ctx.db, poll)
    labels = slot_labels(t, poll, ctx.settings.sessions.default_duration)
    head = t("📊 **Poll {number}: {title}**", number=poll.id, title=md_escape(poll.title))
    if poll.status != "open":
        head += " " + (t("(closed: session {session})", session=poll.session_id) if poll.session_id
                       else t("(closed)"))
    lines = []
    for i, label in enumerate(labels):
        line = f"{i + 1}. {label} — " + t.n("{count} vote", "{count} votes", len(voters[i]))
        if voters[i]:
            line += ": " + ", ".join(md_escape(v) for v in voters[i])
        lines.append(line)
    parts = [head, "\n".join(lines)]
    if you is not None:
        mine = [i + 1 for i, who in enumerate(voters) if you in who]
        parts.append(t("Your vote: {numbers}.", numbers=", ".join(map(str, mine))) if mine
                     else t("You have not voted."))
    return "\n\n".join(parts)


# ----------------------------------------------------------------------------- closing
async def close_poll(ctx, poll: SessionPoll) -> None:
    if poll.facilitator != ctx.sender and not ctx.is_global(Role.FACILITATOR):
        raise CheckFailure("Only the facilitator who opened poll {number} (or a hub facilitator) may close it.",
                           number=poll.id)
    if poll.status != "open":
        raise BadArgument("Poll {number} is closed.", number=poll.id)
    voters = await voters_per_slot(ctx.db, poll)
    best = winner(poll, voters, ctx.now)
    if best is None:
        if any(voters):
            raise BadArgument("Every time with votes in poll {number} has passed; open a new poll.", number=poll.id)
        raise BadArgument("Nobody has voted in poll {number} yet.", number=poll.id)
    opts = poll.options or {}
    # The session keeps the poll creator's language and zone (its notices, a series' wall time).
    lang, tz = ctx.lang, str(ctx.t.tz.key)
    ctx.set_language(opts.get("lang") or lang, opts.get("tz") or tz)
    try:
        s = await create_session(
            ctx, title=poll.title, starts_at=slot_times(poll)[best],
            duration=timedelta(seconds=opts["duration"]) if opts.get("duration") else None,
            project=opts.get("project"), question=opts.get("question"), topic=opts.get("topic"),
            capacity=opts.get("capacity"), location=opts.get("where"), room_id=poll.room_id,
            facilitator=poll.facilitator)
    finally:
        ctx.set_language(lang, tz)
    poll.status, poll.session_id = "closed", s.id
    invited = []
    for user_id in voters[best]:
        if user_id in (poll.facilitator, ctx.services.bot_user_id):
            continue
        invited.append((user_id, await add_participant(ctx, s, user_id, "reviewer")))
    await _tell_voters(ctx, s, poll, invited)
    await ctx.reply(_result(ctx, ctx.t, poll, s, voters, best, invited))
    if ctx.incoming.room_id != poll.room_id:
        room_t = Translator(s.language, s.timezone)
        ctx.send_to_room(poll.room_id, _result(ctx, room_t, poll, s, voters, best, invited))
    start_event = await start_event_of(ctx.db, poll)
    if start_event:
        t = Translator(s.language, s.timezone)
        ctx.send_to_room(poll.room_id, t("The poll has ended: session {number} is planned for {when}.",
                                         number=s.id, when=when_of(t, s)),
                         event_type=POLL_END,
                         extra_content={"m.relates_to": {"rel_type": "m.reference", "event_id": start_event},
                                        POLL_END: {}})


def _result(ctx, t: Translator, poll: SessionPoll, s: ReviewSession, voters, best: int, invited) -> str:
    p = ctx.settings.bot.command_prefix
    labels = slot_labels(t, poll, ctx.settings.sessions.default_duration)
    lines = [t("📊 Poll {number} is closed. Most votes: **{slot}**.", number=poll.id, slot=labels[best]),
             "\n".join(f"{i + 1}. {label} — " + t.n("{count} vote", "{count} votes", len(voters[i]))
                       for i, label in enumerate(labels)),
             t("📅 Planned session {number}: **{title}**", number=s.id, title=md_escape(s.title)) + " — " +
             when_of(t, s)]
    going = [u for u, state in invited if state == "going"]
    waiting = [u for u, state in invited if state != "going"]
    if going:
        lines.append(t("Taking part as reviewers (told by direct message, with the calendar file): {users}",
                       users=", ".join(md_escape(u) for u in going)))
    if waiting:
        lines.append(t("On the waiting list (the session is full): {users}",
                       users=", ".join(md_escape(u) for u in waiting)))
    lines.append(t("Others join with `{prefix}session join {number}`; calendar file: `{prefix}session ics {number}`.",
                   prefix=p, number=s.id))
    return "\n\n".join(lines)


async def _tell_voters(ctx, s: ReviewSession, poll: SessionPoll, invited) -> None:
    p = ctx.settings.bot.command_prefix
    for user_id, state in invited:
        t = await ctx.translator_for(user_id)
        lines = [t("📅 You voted for this time in poll {number}: session {title} is planned for {when}.",
                   number=poll.id, title=title_of(s), when=when_of(t, s))]
        if state == "going":
            lines.append(t("You take part as a reviewer. The calendar file is attached."))
        else:
            lines.append(t("The session is full, so you are on the waiting list; I will tell you when a "
                           "place frees up. The calendar file is attached."))
        lines.append(t("Details: `{prefix}session {number}`; cannot come after all: `{prefix}session leave {number}`.",
                       prefix=p, number=s.id))
        ctx.send_to_user(user_id, "\n\n".join(lines),
                         attachment=ics_attachment(s, t, ctx.services.bot_user_id, now=ctx.now, prefix=p, state=state,
                                                   organizer=organizer_of(ctx.settings, s)))
