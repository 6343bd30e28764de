"""Built-in commands: help, language, time zone, ping, about, more."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from bot import __version__
from bot.framework import Cog, Language, Text, TimeZoneName, argument
from bot.framework.asking import GREETINGS, THANKS
from bot.framework.dispatcher import suggest_commands
from bot.framework.errors import BadArgument
from bot.framework.help import command_help, overview
from bot.framework.i18n import N_
from storage import topics
from bot.framework.render import md_escape
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
    started = ctx.services.running_since()
    uptime = ctx.services.uptime()
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
    for stat in ctx.services.registry.stats:
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


# --------------------------------------------------------------------------- small talk
# Greetings, thanks and "what can you do?" get a short, useful answer instead of "I did not
# understand"; a request for something not built yet (regular digests) is answered honestly.
SMALL_FILLER = frozenset("je u wel you very much so veel daar there bot dsih goede good morning afternoon evening "
                         "allemaal all team".split())
CAPABILITY = re.compile(
    r"\b(wat\s+(kun|kan|kunt|doe)\s+(je|jij|u)(\s+(allemaal|doen|voor mij|voor me))?|wat\s+kan\s+ik\s+(hier|met\s+(je|jou|u))"
    r"|hoe\s+werk(t)?\s+(dit|het|je|jij)|wie\s+ben\s+(je|jij)|waar\s+kun\s+je\s+mee\s+helpen|wat\s+zijn\s+je\s+mogelijkheden"
    r"|what\s+(can|do)\s+(you|u)\s+do|what\s+can\s+i\s+(do|ask)|how\s+do(es)?\s+(this|it|you)\s+work|who\s+are\s+you"
    r"|what\s+are\s+you\s+for|what\s+do\s+you\s+know|help\s+me)\b", re.I)
DIGEST = re.compile(
    r"(\b(stuur|send|mail|e-?mail|geef|give)\b.*\b(elke|iedere|every|wekelijks|weekly|dagelijks|daily|maandelijks"
    r"|monthly|regelmatig|regularly)\b)|\b(abonneer|abonneren|subscribe|nieuwsbrief|newsletter|digest|"
    r"houd\s+me\s+op\s+de\s+hoogte|hou\s+me\s+op\s+de\s+hoogte|keep\s+me\s+(posted|updated|informed)|notify\s+me)\b",
    re.I)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ]+", text.lower())


def capability_overview(ctx) -> str:
    """What this build can do, from the capabilities that are actually loaded."""
    t, p, reg = ctx.t, ctx.settings.bot.command_prefix, ctx.services.registry
    lines = [t("I help civil servants with funding, living labs, peer reviews and what others learned, "
               "in Dutch or English. For example:")]
    for cap in reg.capabilities:   # each capability's own examples (its manifest's `intro`)
        lines += ["- " + t(line, prefix=p) for line in cap.intro]
    lines.append(t("You can also just ask, e.g. *is er subsidie voor klimaatadaptatie voor gemeenten?* "
                   "`{prefix}help` lists every command.", prefix=p))
    return "\n".join(lines)


@cog.question
async def small_talk(ctx, text: str) -> bool:
    p = ctx.settings.bot.command_prefix
    words = _words(text[:300])
    if DIGEST.search(text[:500]) and ctx.services.registry.get("subscribe"):
        # Digests exist: say the exact command (subscribing stays the member's own step).
        found = topics.find_in_text(text[:500])
        label = ctx.t("climate adaptation")
        if found:   # the shortest one-word name of the topic types best
            t0 = found[0]
            names = [n.lower() for n in (t0.label(ctx.t.lang), *(t0.aliases_nl if ctx.t.lang == "nl" else t0.aliases_en))]
            single = [n for n in names if " " not in n] or names
            said = [n for n in single if re.search(rf"\b{re.escape(n)}\b", text.lower())]
            label = (said or sorted(single, key=len))[0]
        low = text.lower()
        freq = ("daily" if re.search(r"\b(dag|dagelijks|daily|every day|elke dag|iedere dag)\b", low) else
                "monthly" if re.search(r"\b(maand|maandelijks|monthly|month)\b", low) else "weekly")
        command = f"{p}subscribe {label} {freq}" if ctx.t.lang == "en" else \
            f"{p}abonneer {label} {dict(daily='dagelijks', weekly='wekelijks', monthly='maandelijks')[freq]}"
        await ctx.reply(ctx.t("I can send you a digest of what is new by direct message: `{command}`. "
                              "`{prefix}topics` lists the topics; `{prefix}digest preview` shows what it would hold.",
                              command=command, prefix=p))
        return True
    if DIGEST.search(text[:500]):
        lines = [ctx.t("I cannot send regular digests or updates yet; that is being built.")]
        if ctx.services.registry.get("deadlines"):
            lines.append(ctx.t("What works now: `{prefix}deadlines 30d` lists the funding deadlines of the next "
                               "30 days whenever you ask.", prefix=p))
        if ctx.services.registry.get("remindme"):
            lines.append(ctx.t("And `{prefix}remindme 7d check the funding deadlines` reminds you once, "
                               "in a week.", prefix=p))
        await ctx.reply(" ".join(lines))
        return True
    if CAPABILITY.search(text[:300]) and len(words) <= 12:
        await ctx.reply(capability_overview(ctx))
        return True
    if not words or len(words) > 5 or not all(w in GREETINGS | THANKS | SMALL_FILLER for w in words):
        return False
    if any(w in THANKS for w in words) and not any(w in GREETINGS for w in words):
        await ctx.reply(ctx.t("You're welcome! Ask me anytime about funding or living labs."))
        return True
    await ctx.reply(ctx.t("Hello! 👋") + " " + capability_overview(ctx))
    return True
