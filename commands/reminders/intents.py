"""Plain sentences that ask for a reminder: "remind me tomorrow at 9 to call the province",
"herinner me morgen om half drie bel Rotterdam", "wil je me vrijdag om kwart voor negen
herinneren aan het overleg?". The time phrase may stand anywhere; the rest is the text."""
from __future__ import annotations

import re

from bot.framework.errors import BadArgument
from bot.framework.intents import Intent, find_when, proposal, run_command, without

_LEAD = re.compile(r"^(?:(?:can|could|would|will) you\s+|(?:kun|kan|wil|zou) je\s+|please\s+|graag\s+)*"
                   r"(?:remind|herinner)\s+(?:me|mij)\b\s*", re.I)
_TAIL = re.compile(r"\s*(?:te\s+)?herinneren\b|\s*(?:please|alsjeblieft|aub|a\.u\.b\.)\b|[?!.]+$", re.I)
_OPEN = re.compile(r"^(?:to|about|of|that|aan|om|dat|van|over)\s+", re.I)
_WANT = re.compile(r"^(?:(?:kun|kan|wil|zou) je\s+(?:me|mij)\b)", re.I)


async def remind(ctx, text: str, match) -> bool:
    body = _LEAD.sub("", text.strip(), count=1)
    body = _WANT.sub("", body, count=1)
    words = body.split()
    found = find_when(words, lang=ctx.lang, tz=ctx.tz, now=ctx.now)
    if found is None:
        raise BadArgument("I could not find when to remind you. Example: {example}",
                          example=proposal(ctx, "remindme", ctx.t("tomorrow 9:00 call the province")))
    rest = " ".join(without(words, found.start, found.end))
    for _ in range(3):
        rest = _TAIL.sub("", rest).strip()
        rest = _OPEN.sub("", rest).strip(" ,:")
    if not rest:
        raise BadArgument("What should I remind you of? Example: {example}",
                          example=proposal(ctx, "remindme", ctx.t("tomorrow 9:00 call the province")))
    cmd_when = found.when
    maximum = ctx.services.registry.get("remindme").arguments[0].converter.maximum
    if cmd_when - ctx.now > maximum:
        raise BadArgument("{value} is too far ahead.", value=found.phrase[:60])
    await run_command(ctx, "remindme", when=cmd_when, text=rest[:1000])
    return True


# Dutch: "herinner me …", "wil je me … herinneren"; English: "remind me …"
INTENTS = (
    Intent("reminders.remind", (r"^\W*(?:(?:can|could|would|will) you\s+|please\s+)?remind\s+me\b",
                                r"^\W*(?:(?:kun|kan|wil|zou) je\s+)?herinner\s+(?:me|mij)\b",
                                r"^\W*(?:kun|kan|wil|zou) je\s+(?:me|mij)\b.*\bherinneren\b"), remind),
)
