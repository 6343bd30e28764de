"""Knowledge digests: follow topics, get one digest per period by direct message (or in
a room its facilitator subscribed), a one-time alert when a deadline on a followed topic
comes close, pause, resume and preview. Delivery: commands/digests/delivery.py;
composition: storage/digests/compose.py; schedule maths: storage/digests/schedule.py."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.framework import Cog, Converter, Duration, argument, option
from bot.framework.digest_parts import change_key
from bot.framework.errors import BadArgument, CheckFailure
from bot.framework.roles import Role
from bot.framework.i18n import N_
from bot.framework.render import md_escape
from bot.framework.topics import TopicList, command_word
from commands.digests import delivery
from commands.digests.render import render_digest, schedule_text, topic_label
from storage import topics as topic_list
from storage.digests.compose import gather, select_for
from storage.digests.schedule import PERIOD, next_due
from storage.digests.models import LAST_DAY, DigestRecord, DigestSubscription

cog = Cog("digests", N_("Knowledge digests"))

FREQUENCY_WORDS = {"daily": "daily", "dagelijks": "daily", "weekly": "weekly", "wekelijks": "weekly",
                   "monthly": "monthly", "maandelijks": "monthly", "elke dag": "daily", "per week": "weekly"}
DAY_WORDS = {"monday": 0, "mon": 0, "maandag": 0, "ma": 0, "tuesday": 1, "tue": 1, "dinsdag": 1, "di": 1,
             "wednesday": 2, "wed": 2, "woensdag": 2, "wo": 2, "thursday": 3, "thu": 3, "donderdag": 3, "do": 3,
             "friday": 4, "fri": 4, "vrijdag": 4, "vr": 4, "saturday": 5, "sat": 5, "zaterdag": 5, "za": 5,
             "sunday": 6, "sun": 6, "zondag": 6, "zo": 6}
LAST_WORDS = ("last", "laatste", "end", "eind")
ALL_WORDS = ("all", "alle", "alles")


class TimeOfDay(Converter):
    """`09:00`, `9`, `9:30`, `9u`, `14 uur`, `9am`, `2pm` → "HH:MM"."""
    metavar = N_("time")
    _PATTERN = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|u|uur|h)?$")

    async def convert(self, raw, ctx):
        m = self._PATTERN.match(raw.strip().lower())
        if m:
            hour, minute = int(m.group(1)), int(m.group(2) or 0)
            if m.group(3) == "pm" and hour < 12:
                hour += 12
            elif m.group(3) == "am" and hour == 12:
                hour = 0
            if hour < 24 and minute < 60:
                return f"{hour:02d}:{minute:02d}"
        raise BadArgument("{value} is not a time of day. Examples: 09:00, 9am, 14 uur.", value=raw[:40])


class DayConverter(Converter):
    """A weekday (monday, maandag, ma) or a day of the month (1-28, last/laatste)."""
    metavar = N_("day")

    async def convert(self, raw, ctx):
        key = raw.strip().lower().rstrip(".")
        if key in DAY_WORDS:
            return ("weekday", DAY_WORDS[key])
        if key in LAST_WORDS:
            return ("month", LAST_DAY)
        if re.fullmatch(r"\d{1,2}", key) and 1 <= int(key) <= 28:
            return ("month", int(key))
        raise BadArgument("{value} is not a day. Use a weekday (monday, maandag) or, for monthly digests, "
                          "a day of the month from 1 to 28 or last.", value=raw[:40])


# Words !subscribe and !unsubscribe read among the topics (bot.framework.topics.TopicList).
SUBSCRIBE_WORDS = TopicList(extra=FREQUENCY_WORDS)
UNSUBSCRIBE_WORDS = TopicList(extra={w: "all" for w in ALL_WORDS})


def subscriber_of(ctx, room: bool) -> str:
    if not room:
        return ctx.sender
    if ctx.incoming.is_direct:
        raise CheckFailure("Use --room in the community room itself; a direct chat cannot be subscribed.")
    # ctx.role counts the room's power levels only where the room grants roles (see Access).
    if not ctx.has_role(Role.ROOM_FACILITATOR):
        raise CheckFailure("Only a facilitator of this room can subscribe it or change its digest.")
    return ctx.incoming.room_id


async def get_subscription(ctx, room: bool) -> DigestSubscription | None:
    who = subscriber_of(ctx, room)
    return await ctx.db.scalar(select(DigestSubscription).where(DigestSubscription.subscriber == who))


def when_text(ctx, sub: DigestSubscription) -> str:
    return schedule_text(ctx.t, sub.frequency, sub.at_time, sub.weekday, sub.day_of_month)


def zone_for(ctx, sub: DigestSubscription) -> str:
    return sub.timezone if sub.is_room and sub.timezone else ctx.tz


def labels(ctx, topic_ids) -> str:
    return ", ".join(f"**{md_escape(topic_label(ctx.t, t))}**" for t in topic_ids)


ROOM_OPTION = option("room", aliases=("ruimte", "kamer"), help=N_("for this room (its facilitators only)"))


@cog.command("topics", dutch=("themas", "thema's", "onderwerpen"))
async def topics_cmd(ctx):
    """The twelve topics and how many follow each; follow them with !subscribe."""
    counts: dict[str, int] = {}
    for (followed,) in (await ctx.db.execute(select(DigestSubscription.topics))).all():
        for t in followed or ():
            counts[t] = counts.get(t, 0) + 1
    p = ctx.settings.bot.command_prefix
    lines = [ctx.t("**Topics** (follow with `{prefix}subscribe <topic>`):", prefix=p)]
    for topic in topic_list.all_topics():
        n = counts.get(topic.id, 0)
        # The word to type after !subscribe: the id in English, a Dutch name in Dutch.
        word = topic.id if ctx.lang == "en" else command_word(topic, ctx.lang)
        lines.append(f"- **{md_escape(topic.label(ctx.lang))}** (`{word}`) — "
                     + ctx.t.n("{count} follower", "{count} followers", n))
    await ctx.reply("\n".join(lines))


@cog.command("subscribe", dutch=("abonneer", "volg"))
@argument("topics", SUBSCRIBE_WORDS, rest=True, help=N_("one or more topics, and optionally daily, weekly or monthly"))
@option("at", TimeOfDay(), aliases=("om",), help=N_("time of day, e.g. 09:00"))
@option("day", DayConverter(), aliases=("dag",), help=N_("weekday, or day of the month (1-28, last) for monthly"))
@ROOM_OPTION
async def subscribe(ctx, topics, at, day, room):
    """Follow topics and get a digest of what is new by direct message (default weekly, Monday 09:00).

    Example: !subscribe klimaatadaptatie energie weekly --at 08:30 --day friday. Monthly: --day 1-28 or last."""
    found = topics.ids
    frequency = topics.words[-1] if topics.words else None
    if not found:
        raise BadArgument("Name at least one topic; `{prefix}topics` lists them.", prefix=ctx.settings.bot.command_prefix)
    who = subscriber_of(ctx, room)
    sub = await ctx.db.scalar(select(DigestSubscription).where(DigestSubscription.subscriber == who))
    cfg = ctx.settings.digests
    now = ctx.now
    created = sub is None
    if created:
        frequency = frequency or "weekly"
        sub = DigestSubscription(subscriber=who, is_room=room, topics=[], frequency=frequency,
                                 at_time=cfg.default_time, weekday=DAY_WORDS[cfg.default_day], day_of_month=None,
                                 watermark=now - PERIOD[frequency], next_due_at=now, created_by=ctx.sender,
                                 created_at=now)
        ctx.db.add(sub)
    reschedule = created or frequency is not None or at is not None or day is not None
    if frequency:
        sub.frequency = frequency
    if at:
        sub.at_time = at
    if day is not None:
        kind, value = day
        if kind == "weekday":
            if sub.frequency == "monthly":
                raise BadArgument("A monthly digest takes a day of the month (1-28 or last), not a weekday.")
            sub.weekday = value
        else:
            if sub.frequency != "monthly":
                raise BadArgument("A day of the month only goes with monthly; for weekly use a weekday.")
            sub.day_of_month = value
    if sub.frequency == "monthly" and sub.day_of_month is None:
        sub.day_of_month = 1
    if room:
        sub.language, sub.timezone = ctx.lang, ctx.tz
    sub.topics = list(dict.fromkeys([*(sub.topics or []), *found]))
    if reschedule:
        sub.next_due_at = next_due(now, sub.frequency, sub.at_time, zone_for(ctx, sub), weekday=sub.weekday,
                                   day_of_month=sub.day_of_month)
    await _ensure_run(ctx, sub.next_due_at)
    where = ctx.t("in this room") if room else ctx.t("by direct message")
    await ctx.reply("\n\n".join([
        ctx.t("Following: {topics}.", topics=labels(ctx, sub.topics)),
        ctx.t("Digest {schedule} ({zone}), {where}; the next one is due {when}.", schedule=when_text(ctx, sub),
              zone=md_escape(zone_for(ctx, sub)), where=where, when=ctx.t.moment(sub.next_due_at)),
        ctx.t("See what it would hold now: `{prefix}digest preview`. Stop: `{prefix}unsubscribe all`.",
              prefix=ctx.settings.bot.command_prefix),
    ]))


async def _ensure_run(ctx, due: datetime | None = None) -> None:
    if await delivery.ensure_run_job(ctx.db, ctx.services, ctx.now):
        ctx.arm_timer(delivery.RUN_JOB_ID, ctx.now)
    await delivery.arm_due(ctx, due)


@cog.command("unsubscribe", dutch=("opzeggen", "ontvolg"))
@argument("topics", UNSUBSCRIBE_WORDS, rest=True, help=N_("topics to stop following, or all"))
@ROOM_OPTION
async def unsubscribe(ctx, topics, room):
    """Stop following topics (or all: no more digests)."""
    found, everything = topics.ids, "all" in topics.words
    sub = await get_subscription(ctx, room)
    if sub is None:
        await ctx.reply(ctx.t("You follow no topics."))
        return
    remaining = [] if everything else [t for t in sub.topics if t not in found]
    if not remaining:
        await ctx.db.delete(sub)
        await ctx.reply(ctx.t("Done: no more digests."))
        return
    sub.topics = remaining
    await ctx.reply(ctx.t("Still following: {topics}.", topics=labels(ctx, remaining)))


async def show(ctx, room: bool) -> None:
    sub = await get_subscription(ctx, room)
    p = ctx.settings.bot.command_prefix
    if sub is None:
        await ctx.reply(ctx.t("You follow no topics. `{prefix}topics` lists them; follow with "
                              "`{prefix}subscribe <topic>`.", prefix=p))
        return
    last = await ctx.db.scalar(select(func.max(DigestRecord.composed_at)).where(
        DigestRecord.subscription_id == sub.id, DigestRecord.outbox_key.is_not(None)))
    lines = [ctx.t("**Topics**: {topics}", topics=labels(ctx, sub.topics)),
             ctx.t("**Digest**: {schedule} ({zone})", schedule=when_text(ctx, sub), zone=md_escape(zone_for(ctx, sub))),
             ctx.t("**Last digest**: {when}", when=ctx.t.moment(last) if last else ctx.t("none yet")),
             ctx.t("**Next due**: {when}", when=ctx.t.moment(sub.next_due_at))]
    if sub.paused_until and sub.paused_until > ctx.now:
        lines.append(ctx.t("**Paused until**: {when} (`{prefix}digest resume`)", when=ctx.t.moment(sub.paused_until),
                           prefix=p))
    await ctx.reply("\n".join(f"- {line}" for line in lines))


@cog.command("subscriptions", dutch=("abonnementen",))
@ROOM_OPTION
async def subscriptions(ctx, room):
    """Your topics, how often the digest comes, when the last went out and the next is due."""
    await show(ctx, room)


@cog.command("digest")
@ROOM_OPTION
async def digest(ctx, room):
    """Your digest subscription; subcommands pause, resume, preview."""
    await show(ctx, room)


@digest.subcommand("pause", dutch=("pauze", "pauzeer"))
@argument("duration", Duration(minimum=timedelta(hours=1), maximum=timedelta(days=366), m_means="ask"),
          help=N_("how long, e.g. 2w or 10d"))
@ROOM_OPTION
async def pause(ctx, duration, room):
    """Pause your digests and deadline alerts for a while (nothing is lost: the next digest catches up)."""
    sub = await _required(ctx, room)
    sub.paused_until = ctx.now + duration
    await ctx.reply(ctx.t("Paused until {when}. Resume earlier with `{prefix}digest resume`.",
                          when=ctx.t.moment(sub.paused_until), prefix=ctx.settings.bot.command_prefix))


@digest.subcommand("resume", dutch=("hervat",))
@ROOM_OPTION
async def resume(ctx, room):
    """Resume paused digests."""
    sub = await _required(ctx, room)
    sub.paused_until = None
    await ctx.reply(ctx.t("Resumed; the next digest is due {when}.", when=ctx.t.moment(sub.next_due_at)))


@digest.subcommand("preview", dutch=("voorbeeld",))
@ROOM_OPTION
async def preview(ctx, room):
    """What your next digest would hold if it went out now."""
    sub = await _required(ctx, room)
    cfg = ctx.settings.digests
    # No settle window: a preview writes no watermark, so nothing can slip under one.
    cand = await gather(ctx.db, sub.watermark, set(sub.topics), ctx.now, cfg.horizon,
                        ctx.services.registry.contributions("digest"), settle=timedelta(0))
    told = await delivery.load_alerted(ctx.db, [sub.subscriber], [change_key(c) for c in cand.changes])
    found = select_for(cand, sub.topics, sub.watermark, cfg.max_items, told.get(sub.subscriber))
    if not found.fresh:
        await ctx.reply(ctx.t("Nothing new on your topics since {when}, so no digest would go out now.",
                              when=ctx.t.moment(sub.watermark)))
        return
    await ctx.reply(render_digest(ctx.t, found, now=ctx.now, prefix=ctx.settings.bot.command_prefix, preview=True,
                                  names=ctx.command_name))


async def _required(ctx, room: bool) -> DigestSubscription:
    sub = await get_subscription(ctx, room)
    if sub is None:
        raise BadArgument("You follow no topics yet: `{prefix}subscribe <topic>`.",
                          prefix=ctx.settings.bot.command_prefix)
    return sub


@cog.job(delivery.RUN_KIND)
async def digest_run(ctx, job):
    await delivery.tick(ctx.services, ctx.now)
    await delivery.arm_due(ctx, await delivery.next_due_at(ctx.db))


@cog.job(delivery.DUE_KIND)
async def digest_due(ctx, job):
    """The run at the moment the earliest subscription falls due; then the next moment."""
    await delivery.tick(ctx.services, ctx.now)
    await delivery.arm_due(ctx, await delivery.next_due_at(ctx.db))


@cog.on_startup
async def plan_run(services) -> None:
    """Re-create the recurring run if there are subscribers (e.g. after `run_every` changed)."""
    async with services.db.transaction() as session:
        if await session.scalar(select(func.count()).select_from(DigestSubscription)):
            await delivery.ensure_run_job(session, services, services.clock())


async def stats(session):
    return [(N_("digest subscriptions"), await session.scalar(select(func.count()).select_from(DigestSubscription)))]
