"""Plain sentences about sessions: asking what is planned ("wanneer is de volgende sessie?",
"when is the next peer review?") lists them; planning one ("plan een sessie volgende dinsdag
14:00 over de digitale tweeling") or a slot poll ("maak een poll: dinsdag 14:00 of donderdag
10:00") is answered with the exact command to run, with the times read from the sentence,
because a facilitator confirms what goes out to the room."""
from __future__ import annotations

import re

from bot.framework.intents import Intent, find_when, proposal, run_command
from bot.framework.render import md_escape

_SESSION = r"(?:sessies?|sessions?|peer[ -]?reviews?|intervisies?|intervision)"
_PLAN_VERB = r"(?:plan|plannen|inplannen|organiseer|organiseren|schedule|set\s+up|organi[sz]e|arrange|book)"
_POLL = r"(?:poll|peiling|datumprikker|stemming)"
_MAKE = r"(?:maak|maken|make|create|start|open|zet|kun|kan|can|could|set\s+up)"


def _local(ctx, when) -> str:
    return when.astimezone(ctx.t.tz).strftime("%Y-%m-%d %H:%M")


async def list_sessions(ctx, text: str, match) -> bool:
    await run_command(ctx, "sessions")
    return True


_FILLER = re.compile(
    r"\b(?:plan|plannen|inplannen|organiseer|organiseren|schedule|set\s+up|organi[sz]e|arrange|book|kun|kan|je|jij|"
    r"can|could|you|please|graag|een|a|an|new|nieuwe|sessie|session|peer[ -]?review|intervisie|intervision|"
    r"voor|for|on|op|om|at)\b|[?!.]", re.I)


async def plan_session(ctx, text: str, match) -> bool:
    words = text.split()
    found = find_when(words, lang=ctx.lang, tz=ctx.tz, now=ctx.now)
    rest = " ".join(words[:found.start] + words[found.end:]) if found else text
    about = re.search(r"\b(?:over|about|on the topic of|rond|m\.b\.t\.)\s+(.+)$", rest, re.I)
    title = about.group(1) if about else _FILLER.sub(" ", rest)
    title = re.sub(r"^(?:de|het|the)\s+", "", " ".join(title.split()).strip(" ,:;?!."), flags=re.I)
    title = (title[:1].upper() + title[1:])[:120] if title else ctx.t("Peer review session")
    title = title.replace('"', "'")
    if found is None:
        await ctx.reply(ctx.t("To plan a session, give a title and a time: {command}",
                              command=proposal(ctx, "session new", f'"{title}" ' + ctx.t("tuesday 14:00"))))
        return True
    command = proposal(ctx, "session new", f'"{title}" {_local(ctx, found.when)}')
    await ctx.reply(ctx.t("I can plan the session {title} on {when}. To confirm, send: {command}",
                          title=f"“{md_escape(title)}”", when=ctx.t.moment(found.when), command=command))
    return True


_SPLIT = re.compile(r"\s*(?:\||;|,|\bof\b|\bor\b|\ben\b|\band\b)\s*", re.I)


async def plan_poll(ctx, text: str, match) -> bool:
    parts = re.split(r"(?<!\d):(?!\d)", text, maxsplit=1)   # "…voor de volgende sessie: dinsdag 14:00 of …"
    body = parts[-1]
    slots = []
    for part in _SPLIT.split(body):
        found = find_when(part.split(), lang=ctx.lang, tz=ctx.tz, now=ctx.now)
        if found is not None and found.had_time and found.when not in slots:
            slots.append(found.when)
    title = ctx.t("Next session")
    if len(slots) < 2:
        await ctx.reply(ctx.t("To let the room choose a time, give two or more times: {command}",
                              command=proposal(ctx, "session poll", f'"{title}" ' + ctx.t("tuesday 14:00 | thursday 10:00"))))
        return True
    command = proposal(ctx, "session poll", f'"{title}" ' + " | ".join(_local(ctx, s) for s in slots))
    times = "; ".join(ctx.t.moment(s) for s in slots)
    await ctx.reply(ctx.t("I can open a poll with these times: {times}. To confirm, send: {command}",
                          times=times, command=command))
    return True


INTENTS = (
    Intent("sessions.poll", (rf"\b{_MAKE}\b.*\b{_POLL}\b", rf"^\W*{_POLL}\b"), plan_poll),
    Intent("sessions.plan", (rf"\b{_PLAN_VERB}\b.*\b{_SESSION}\b", rf"\b{_SESSION}\b.*\b(?:inplannen|plannen)\b"),
           plan_session, unless=(r"\bremind|herinner",)),
    Intent("sessions.list", (
        rf"\b(?:wanneer|welke|wat|is\s+er|zijn\s+er|kan\s+ik|kun\s+ik|komende?|volgende)\b.*\b{_SESSION}\b",
        rf"\b(?:when|which|what|are\s+there|is\s+there|any|can\s+i|upcoming|next)\b.*\b{_SESSION}\b",
        rf"^\W*{_SESSION}\W*$"),
        list_sessions, unless=(r"\bremind|herinner|https?://", rf"\b{_PLAN_VERB}\b", rf"\b{_POLL}\b",
                               r"\b(?:subsid\w*|funding|grants?|financiering|labs?|proeftuin\w*)\b")),
)
