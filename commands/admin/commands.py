"""Operating the bot from chat (admins only) and everyone's own data (AVG/GDPR).

`!admin stats|announce|data reload|user|forget` need the admin role (bot.admins);
`!mydata` and `!mydata delete` are for every user and only ever about themselves. What
the bot holds per table, and what forgetting does to it, is the privacy engine's
(storage/privacy.py) over the rules each capability declares.

`!admin stats` asks every capability for its lines (manifest `extras["admin_stats"]`:
async (ctx) -> list of (section, line), section one of "data", "scheduled", "feeds"), so
it knows no capability's tables."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot import __version__
from bot.framework import Choice, Cog, Role, Text, argument
from bot.framework.errors import BadArgument
from bot.framework.i18n import N_
from bot.framework.render import md_escape
from bot.framework.timeparse import human_duration
from bot.framework.arguments import UserId
from storage import privacy
from storage.datasets.reload import reload_bundled
from storage.models.core import AuditLog, DirectRoom, HandledEvent, KeyValue, OutboxMessage, RoomState, ScheduledJob

cog = Cog("admin", N_("Administration and your data"))

CONFIRM_WITHIN = timedelta(minutes=10)
LINES_PER_TABLE = 3
CONFIRM = Choice(["confirm"], synonyms={"bevestig": "confirm", "ja": "confirm", "yes": "confirm"})


# ----------------------------------------------------------------------------- !admin
@cog.command("admin", dutch=("beheer",), role=Role.ADMIN)
async def admin(ctx):
    """Run the bot from chat: statistics, announcements, data reload, people's data."""
    from bot.framework.help import command_help
    await ctx.reply(command_help(admin, ctx.settings.bot.command_prefix, ctx.t))


def _ago(ctx, when: datetime | None) -> str:
    if when is None:
        return ctx.t("never")
    return ctx.t.datetime(when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc))


async def _count(ctx, query) -> int:
    return (await ctx.db.scalar(query)) or 0


def _metric_outcomes(ctx) -> dict[str, int]:
    totals: dict[str, int] = {}
    for family in ctx.services.metrics.commands.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                outcome = sample.labels.get("outcome", "")
                totals[outcome] = totals.get(outcome, 0) + int(sample.value)
    return totals


@admin.subcommand("stats", dutch=("statistieken", "cijfers"))
async def stats(ctx):
    """Rooms, people, commands in the last 24 hours, data freshness, what is scheduled, feeds, version and uptime."""
    t, db = ctx.t, ctx.db
    started = ctx.services.running_since()
    up = int(ctx.services.uptime().total_seconds())
    n = t.number
    rooms = await _count(ctx, select(func.count()).select_from(RoomState))
    direct = await _count(ctx, select(func.count()).select_from(RoomState).where(RoomState.is_direct_with.is_not(None)))
    # handled_at is written with the real clock (not bot.pretend_now): compare with real time.
    day_ago = datetime.now(timezone.utc) - timedelta(hours=24)
    handled = await _count(ctx, select(func.count()).select_from(HandledEvent).where(
        HandledEvent.handled_at >= day_ago, HandledEvent.event_id.not_like("undecryptable:%")))
    outcomes = _metric_outcomes(ctx)
    pending = await _count(ctx, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
    failed = await _count(ctx, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed"))
    general = [
        "- " + t("Running since {since} ({hours} h {minutes} min).", since=t.datetime(started),
                 hours=up // 3600, minutes=up % 3600 // 60),
        "- " + t("Rooms: {rooms} ({direct} of them direct chats).", rooms=n(rooms), direct=n(direct)),
        "- " + t("People the bot holds data about: {count}.", count=n(await ctx.services.registry.privacy.people_count(db, exclude=(ctx.services.bot_user_id,)))),
        "- " + t("Commands and room events handled in the last 24 hours: {count}.", count=n(handled)),
        "- " + t("Since this start: {ok} answered, {refused} refused or bad input, {errors} internal errors.",
                 ok=n(outcomes.get("ok", 0)),
                 refused=n(sum(v for k, v in outcomes.items() if k not in ("ok", "internal_error"))),
                 errors=n(outcomes.get("internal_error", 0))),
        "- " + t("Outbox: {pending} waiting to be sent, {failed} failed for good.", pending=n(pending), failed=n(failed)),
    ]
    # Set by the Matrix runtime (bot.matrix.cross_signing): the device's cross-signing state.
    xsign = ctx.services.extras["cross_signing"]() if "cross_signing" in ctx.services.extras else None
    if xsign is not None:
        device = md_escape(xsign.device_id)
        general.append("- " + (
            t("Device {device} is cross-signed by the bot's own identity: Element shares room keys with it.",
              device=device) if xsign.cross_signed else
            t("Device {device} is not cross-signed: Element does not share room keys with it nor show its "
              "messages in encrypted rooms. The log says why; the operator runs `dsih-bot crypto bootstrap`.",
              device=device)))
    # Set by the runtime (bot.ratelimit): the homeserver's rate limit and what it means for the backlog.
    limited = ctx.services.extras["send_rate"](pending) if "send_rate" in ctx.services.extras else None
    if limited is not None:
        eta = timedelta(seconds=int(limited["eta_seconds"] or 0))
        general.append("- " + t(
            "⚠️ The homeserver is rate-limiting the bot: {pending} messages wait; at {rate} a second that takes "
            "about {duration}. A homeserver admin can exempt the bot: `POST /_synapse/admin/v1/users/{user}/"
            "override_ratelimit` with `{{\"messages_per_second\": 0, \"burst_count\": 0}}` (or raise `rc_message` "
            "in the homeserver's config). See the operator guide, \"Rate limits\".",
            pending=n(pending), rate=n(round(limited["rate"], 2)), duration=human_duration(eta, t.lang),
            user=limited["user_id"]))  # a Matrix id has no backtick: safe in code
    contributed: dict[str, list[str]] = {"data": [], "scheduled": [], "feeds": []}
    for contribute in ctx.services.registry.contributions("admin_stats"):
        for section, line in await contribute(ctx):
            contributed.setdefault(section, []).append("- " + line)
    sections = [(t("dsih-bot {version}: status", version=md_escape(__version__)), general),
                (t("Data"), contributed["data"] or ["- " + t("No data sets are loaded.")]),
                (t("Scheduled"), await _schedule_lines(ctx) + contributed["scheduled"]),
                (t("Feeds"), contributed["feeds"] or ["- " + t("No feeds are configured (knowledge.feeds).")])]
    await ctx.reply("\n\n".join(f"**{title}**\n" + "\n".join(lines) for title, lines in sections))


async def _schedule_lines(ctx) -> list[str]:
    """Jobs no capability reports itself (`extras["admin_jobs"]`: the kinds it counts)."""
    t, n = ctx.t, ctx.t.number
    own = {k for kinds in ctx.services.registry.contributions("admin_jobs") for k in kinds}
    other = await _count(ctx, select(func.count()).select_from(ScheduledJob).where(
        ScheduledJob.status == "pending", ScheduledJob.kind.not_in(own)))
    failed = await _count(ctx, select(func.count()).select_from(ScheduledJob).where(ScheduledJob.status == "failed"))
    return ["- " + t("Other jobs waiting (session reminders, reports, rounds, actions): {count}; failed: {failed}.",
                     count=n(other), failed=n(failed))]


class RoomTarget(Text):
    """A room ID (`!abc:server`), `here` (this room) or `all` (every room the bot is in)."""

    metavar = N_("room")

    async def convert(self, raw, ctx):
        value = raw.strip()
        if value.lower() in ("all", "alle", "allemaal"):
            return "all"
        if value.lower() in ("here", "hier"):
            return ctx.incoming.room_id
        # No ":server" required: room ids of version 12 are a hash without a server part.
        if not value.startswith("!") or len(value) < 2 or len(value) > 255 or any(c.isspace() for c in value):
            raise BadArgument("{value} is not a room. Give a room ID such as {example}, `here` or `all`.",
                              value=value[:60], example="!abc:example.org")
        return value


async def community_rooms(db) -> list[str]:
    """Every room the bot joined, except direct chats with one person (an announcement is
    for the hub's rooms, not a message in everyone's private chat)."""
    direct = select(DirectRoom.room_id)
    return list((await db.scalars(select(RoomState.room_id).where(
        RoomState.is_direct_with.is_(None), RoomState.room_id.not_in(direct)).order_by(RoomState.room_id))).all())


@admin.subcommand("announce", dutch=("aankondiging", "meld"))
@argument("room", RoomTarget(), help=N_("a room ID, here, or all"))
@argument("text", Text(max_length=4000), rest=True, help=N_("the announcement (Markdown)"))
async def announce(ctx, room, text):
    """Post an announcement in one room or in every room the bot is in (not in direct chats)."""
    rooms = await community_rooms(ctx.db) if room == "all" else [room]
    if room != "all" and room != ctx.incoming.room_id and await ctx.db.get(RoomState, room) is None:
        raise BadArgument("I am not in the room {value}.", value=room[:80])
    if not rooms:
        raise BadArgument("I am not in any room besides direct chats, so there is nobody to announce to.")
    for room_id in rooms:
        # The admin's Markdown is kept (bold, links); the renderer escapes raw HTML and sanitises.
        ctx.send_to_room(room_id, "📢 " + text, notice=False)
    ctx.db.add(AuditLog(actor=ctx.sender, action="admin.announce", target=room if room != "all" else "all",
                        detail={"rooms": len(rooms)}, at=ctx.now))
    await ctx.reply(ctx.t.n("Announcement queued for {count} room.", "Announcement queued for {count} rooms.",
                            len(rooms)))


@admin.subcommand("data", dutch=("gegevens",))
@argument("action", Choice(["reload"], synonyms={"herlaad": "reload", "herladen": "reload", "vernieuw": "reload"}),
          help=N_("reload"))
async def data(ctx, action):
    """Read the bundled data files again and apply them, with a count of changes per data set.

    Records someone edited here (e.g. with `!funding set`) are kept."""
    if not ctx.settings.storage.load_sample_data:
        raise BadArgument("Bundled data is switched off here (storage.load_sample_data: false); "
                          "load data with `dsih-bot import` instead.")
    lines = [ctx.t("Data reloaded from the bundled files:")]
    totals = {}
    for name, dataset in ctx.services.registry.datasets.items():
        count = await reload_bundled(ctx.db, dataset, by=ctx.sender, now=ctx.now)
        totals[name] = count.__dict__
        line = ctx.t("{label}: {added} added, {changed} changed, {unchanged} unchanged",
                     label=ctx.t(dataset.label), added=count.added, changed=count.changed, unchanged=count.unchanged)
        if count.kept:
            line += ctx.t(", {kept} kept because they were edited here", kept=count.kept)
        lines.append("- " + line + ".")
    ctx.db.add(AuditLog(actor=ctx.sender, action="admin.data_reload", target="bundled", detail=totals, at=ctx.now))
    await ctx.reply("\n".join(lines))


# ----------------------------------------------------------------------------- privacy
async def _overview(ctx, user: str, *, own: bool) -> str:
    found = await ctx.services.registry.privacy.inventory(ctx.db, user)
    t = ctx.t
    head = (t("What I hold about you:") if own else t("What I hold about {user}:", user=md_escape(user)))
    if not found:
        return (t("I hold no data about you.") if own else t("I hold no data about {user}.", user=md_escape(user)))
    lines = ["**" + head + "**"]
    for f in found:
        lines.append(f"- {t(f.holding.label)}: {t.number(len(f.rows))}")
        if f.holding.line:
            for row in f.rows[:LINES_PER_TABLE]:
                lines.append("  - " + md_escape(f.holding.line(row, t)))
            if len(f.rows) > LINES_PER_TABLE:
                lines.append("  - " + t("…and {count} more", count=len(f.rows) - LINES_PER_TABLE))
    mentions = await ctx.services.registry.privacy.mention_count(ctx.db, user, found)
    if mentions:
        lines.append("- " + t("Other records that mention {who} (messages, logs): {count}",
                              who=t("you") if own else md_escape(user), count=t.number(mentions)))
    return "\n".join(lines)


def _confirm_word(ctx) -> str:
    return "bevestig" if ctx.t.lang == "nl" else "confirm"      # both are accepted (CONFIRM)


async def _ask_confirmation(ctx, target: str) -> None:
    key = privacy.confirmation_key(ctx.sender, target)
    value = json.dumps({"target": target, "at": ctx.now.isoformat()})
    row = await ctx.db.get(KeyValue, key)
    if row is None:
        ctx.db.add(KeyValue(key=key, value=value))
    else:
        row.value = value


async def _confirmed(ctx, target: str) -> bool:
    row = await ctx.db.get(KeyValue, privacy.confirmation_key(ctx.sender, target))
    if row is None:
        return False
    try:
        asked = datetime.fromisoformat(json.loads(row.value)["at"])
    except (ValueError, KeyError, TypeError):
        return False
    return timedelta(0) <= ctx.now - asked <= CONFIRM_WITHIN


async def _forget(ctx, user: str) -> privacy.ForgetReport:
    report = await ctx.services.registry.privacy.forget(ctx.db, user)
    ctx.drop_timers(report.job_ids)
    # Accountability without naming the person: who asked, when, how much.
    ctx.db.add(AuditLog(actor=ctx.sender if ctx.sender != user else privacy.pseudonym(),
                        action="privacy.forget", target="(forgotten)",
                        detail={"deleted": report.deleted, "anonymised": report.anonymised,
                                "redacted": report.redacted, "self": ctx.sender == user}, at=ctx.now))
    return report


@admin.subcommand("user", dutch=("gebruiker",))
@argument("user", UserId(), help=N_("the person's Matrix ID, e.g. @name:example.org"))
async def user_(ctx, user):
    """Show what the bot holds about someone (for an access request under the AVG/GDPR)."""
    await ctx.reply(await _overview(ctx, user, own=False))


@admin.subcommand("forget", dutch=("vergeet",))
@argument("user", UserId(), help=N_("the person's Matrix ID, e.g. @name:example.org"))
@argument("confirm", CONFIRM, required=False, help=N_("confirm"))
async def forget(ctx, user, confirm):
    """Remove someone's personal data; their reviews and shared items stay without their name.

    First shows what would go and asks for confirmation: repeat the command with `confirm` within 10 minutes."""
    if confirm is None or not await _confirmed(ctx, user):
        found = await ctx.services.registry.privacy.inventory(ctx.db, user)
        if not found and not await ctx.services.registry.privacy.mention_count(ctx.db, user):
            await ctx.reply(ctx.t("I hold no data about {user}.", user=md_escape(user)))
            return
        overview = await _overview(ctx, user, own=False)
        await _ask_confirmation(ctx, user)
        await ctx.reply(overview + "\n\n" + ctx.t(
            "To remove this, send `{command}` within 10 minutes.",
            command=f"{ctx.command_name('admin forget')} {user} {_confirm_word(ctx)}"))
        return
    report = await _forget(ctx, user)
    # The reply does not repeat the ID: it would be stored again (outbox) right after forgetting it.
    await ctx.reply(ctx.t("Done: {deleted} records removed, {anonymised} anonymised, {redacted} mentions removed. "
                          "Nothing I hold names that person any more.", deleted=report.deleted,
                          anonymised=report.anonymised, redacted=report.redacted))


# ----------------------------------------------------------------------------- !mydata
@cog.command("mydata", dutch=("mijngegevens",))
async def mydata(ctx):
    """See what I hold about you; `delete` removes it."""
    p = ctx.settings.bot.command_prefix
    _leave_no_language_memory(ctx)
    overview = await _overview(ctx, ctx.sender, own=True)
    if not await ctx.services.registry.privacy.inventory(ctx.db, ctx.sender):
        await ctx.reply(overview)  # nothing to delete: no offer to
        return
    await ctx.reply(overview + "\n\n" + ctx.t("To delete your data: `{prefix}mydata delete`.", prefix=p))


def _leave_no_language_memory(ctx) -> None:
    """Asking what the bot holds, or to delete it, must not itself leave a trace: the
    language the message was written in would otherwise be remembered by this very message
    (and "remembered language: 1" be back right after a deletion)."""
    for row in list(ctx.db.new):
        if isinstance(row, KeyValue) and row.key == privacy.language_memory_key(ctx.sender):
            ctx.db.expunge(row)


@mydata.subcommand("delete", dutch=("verwijder", "wis"))
@argument("confirm", CONFIRM, required=False, help=N_("confirm"))
async def mydata_delete(ctx, confirm):
    """Delete your data: preferences, subscriptions, reminders, requests, sign-ups and votes.

    Your reviews and shared items stay without your name. Asks for confirmation first."""
    me = ctx.sender
    _leave_no_language_memory(ctx)
    if confirm is None or not await _confirmed(ctx, me):
        if not await ctx.services.registry.privacy.inventory(ctx.db, me):
            await ctx.reply(ctx.t("I hold no data about you."))
            return
        overview = await _overview(ctx, me, own=True)
        await _ask_confirmation(ctx, me)
        await ctx.reply(overview + "\n\n" + ctx.t(
            "To delete this, send `{command}` within 10 minutes. This cannot be undone.",
            command=f"{ctx.command_name('mydata delete')} {_confirm_word(ctx)}"))
        return
    report = await _forget(ctx, me)
    await ctx.reply(ctx.t("Done: I deleted {deleted} records about you and removed your name from {anonymised} "
                          "others (reviews and shared items stay, without your name).",
                          deleted=report.deleted + report.redacted, anonymised=report.anonymised))
