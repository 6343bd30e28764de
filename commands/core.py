"""Built-in commands: help, language, time zone, ping, about, more."""
from __future__ import annotations


from sqlalchemy import func, select

from bot import __version__
from bot.framework import Cog, Language, Text, TimeZoneName, argument
from bot.framework.dispatcher import suggest_commands
from bot.framework.errors import BadArgument
from bot.framework.help import command_help, overview
from bot.i18n import N_
from bot.render import md_escape
from storage.models.core import Pager, RoomState, ScheduledJob, UserPrefs

cog = Cog("core", N_("General"))


@cog.command("help", aliases=("h", "?"), dutch=("hulp",), rate_limited=False)
@argument("command", Text(max_length=80), rest=True, required=False, help=N_("a command to explain"))
async def help_(ctx, command):
    """Show what I can do, or how one command works."""
    p = ctx.settings.bot.command_prefix
    if not command:
        await ctx.reply(overview(ctx.services.registry, p, ctx.t, ctx.role))
        return
    words = command.lstrip(p).split()
    cmd = ctx.services.registry.get(words[0]) if words else None
    if cmd and len(words) > 1 and words[1].lower() in cmd.subcommands:
        cmd = cmd.subcommands[words[1].lower()]
    if cmd is None or cmd.hidden:
        raise BadArgument("There is no command called {value}.", value=command[:60],
                          suggestions=suggest_commands(ctx.services.registry, words[0] if words else ""))
    await ctx.reply(command_help(cmd, p, ctx.t))


@cog.command("lang", aliases=("language",), dutch=("taal",), rate_limited=False)
@argument("language", Language(), required=False, help=N_("nl or en"))
async def lang(ctx, language):
    """Choose the language I answer you in (nl or en)."""
    prefs = await ctx.db.get(UserPrefs, ctx.sender)
    if language is None:
        current = prefs.language if prefs and prefs.language else None
        await ctx.reply(ctx.t("I answer you in {language}. Change it with `{prefix}lang nl` or `{prefix}lang en`.",
                              language=ctx.t("Dutch") if (current or ctx.lang) == "nl" else ctx.t("English"),
                              prefix=ctx.settings.bot.command_prefix))
        return
    if prefs is None:
        prefs = UserPrefs(user_id=ctx.sender)
        ctx.db.add(prefs)
    prefs.language = language
    ctx.set_language(language)
    await ctx.reply(ctx.t("From now on I answer you in Dutch.") if language == "nl"
                    else ctx.t("From now on I answer you in English."))


@cog.command("tz", aliases=("timezone",), dutch=("tijdzone",), rate_limited=False)
@argument("zone", TimeZoneName(), required=False, help=N_("an IANA time zone, e.g. Europe/Amsterdam"))
async def tz(ctx, zone):
    """Choose the time zone for dates and times I show you."""
    prefs = await ctx.db.get(UserPrefs, ctx.sender)
    if zone is None:
        await ctx.reply(ctx.t("Your time zone is {zone}; it is now {now}.", zone=md_escape(ctx.tz),
                              now=ctx.t.datetime(ctx.now)))
        return
    if prefs is None:
        prefs = UserPrefs(user_id=ctx.sender)
        ctx.db.add(prefs)
    prefs.timezone = zone
    ctx.set_language(ctx.lang, zone)
    await ctx.reply(ctx.t("Time zone set to {zone}; it is now {now} there.", zone=md_escape(zone),
                          now=ctx.t.datetime(ctx.now)))


@cog.command("ping", rate_limited=False)
async def ping(ctx):
    """Check that I am awake."""
    await ctx.reply(ctx.t("Pong!"))


@cog.command("about", dutch=("over",))
async def about(ctx):
    """Version, uptime and what is in my database."""
    started = ctx.services.started_at
    uptime = ctx.now - started
    hours, rem = divmod(int(uptime.total_seconds()), 3600)
    lines = [ctx.t("**dsih-bot** {version} — community bot of the Dutch Societal Innovation Hub.",
                   version=md_escape(__version__)),
             ctx.t("Running since {since} ({hours} h {minutes} min).", since=ctx.t.datetime(started),
                   hours=hours, minutes=rem // 60)]
    counts = [
        (N_("rooms"), await ctx.db.scalar(select(func.count()).select_from(RoomState))),
        (N_("scheduled jobs pending"), await ctx.db.scalar(
            select(func.count()).select_from(ScheduledJob).where(ScheduledJob.status == "pending"))),
    ]
    for cog_ in ctx.services.registry.cogs:
        for stat in cog_.stats:
            counts.extend(await stat(ctx.db))
    lines.append("\n".join(f"- {ctx.t(label)}: {ctx.t.number(n or 0)}" for label, n in counts))
    await ctx.reply("\n\n".join(lines))


@cog.command("more", dutch=("meer",), rate_limited=False)
async def more(ctx):
    """Show the next page of my last long answer."""
    pager = await ctx.db.get(Pager, (ctx.sender, ctx.incoming.room_id))
    if pager is None or not pager.pages:
        await ctx.reply(ctx.t("There is nothing more to show."))
        return
    page, rest = pager.pages[0], pager.pages[1:]
    await ctx.reply(page)
    await ctx.store_pages(rest)
