"""Plain sentences that ask to follow a topic ("ik wil graag op de hoogte blijven van
klimaatadaptatie", "send me a weekly digest about mobility"): answered with the exact
`!subscribe` to send, since a subscription sends messages from then on."""
from __future__ import annotations

import re

from bot.framework.intents import Intent, proposal
from bot.framework.render import md_code, md_escape
from bot.framework.topics import command_word
from storage import topics as topic_list

_FREQUENCY = [(r"\b(?:dagelijks\w*|elke\s+dag|iedere\s+dag|daily|every\s+day)\b", "daily"),
              (r"\b(?:maandelijks\w*|elke\s+maand|iedere\s+maand|monthly|every\s+month|per\s+maand)\b", "monthly"),
              (r"\b(?:wekelijks\w*|elke\s+week|iedere\s+week|weekly|every\s+week)\b", "weekly")]
_WORD = {"nl": {"daily": "dagelijks", "weekly": "wekelijks", "monthly": "maandelijks"},
         "en": {"daily": "daily", "weekly": "weekly", "monthly": "monthly"}}


def typed_name(topic, text: str, lang: str) -> str:
    """The topic's name as the person typed it, else its shortest one-word name in their
    language (`!abonneer energie`): the command reads like what they said."""
    names = [n.lower() for n in (topic.label(lang), *(topic.aliases_nl if lang == "nl" else topic.aliases_en))]
    said = sorted((n for n in names if re.search(rf"\b{re.escape(n)}\b", text.lower())), key=len, reverse=True)
    if said:
        return said[0]   # the longest name they used: "climate adaptation", not "adaptation"
    single = [n for n in names if " " not in n] or names
    return sorted(single, key=len)[0]


async def follow(ctx, text: str, match) -> bool:
    found = topic_list.find_in_text(text)
    frequency = next((f for p, f in _FREQUENCY if re.search(p, text, re.I)), None)
    words = " ".join(typed_name(t, text, ctx.lang) for t in found)
    if frequency:
        words += " " + _WORD.get(ctx.lang, _WORD["en"])[frequency]
    if not found and len(fits := topic_list.query_topics(text[:500])) > 1:
        # "op de hoogte blijven van klimaat": a word of several topics; the choice, as !subscribe gives it.
        options = [(t.label(ctx.lang), proposal(ctx, "subscribe", command_word(t, ctx.lang, one_token=False,
                                                                              typed=text)).strip("`"))
                   for t in map(topic_list.get, fits)]
        await ctx.reply("\n".join([ctx.t("Which topic would you like to follow?")] +
                                  [f"- **{md_escape(label)}**: {md_code(command)}" for label, command in options]))
        return True
    if not found:
        await ctx.reply(ctx.t("Which topic would you like to follow? `{prefix}topics` lists them; then: {command}",
                              prefix=ctx.settings.bot.command_prefix,
                              command=proposal(ctx, "subscribe", ctx.t("climate-adaptation weekly"))))
        return True
    names = ", ".join(md_escape(t.label(ctx.lang)) for t in found)
    await ctx.reply(ctx.t("To get a digest on {topics} by direct message, send: {command}",
                          topics=names, command=proposal(ctx, "subscribe", words.strip())))
    return True


INTENTS = (
    Intent("digests.follow", (
        r"\bop\s+de\s+hoogte\b", r"\b(?:volgen|abonneren|abonnement)\b", r"\b(?:samenvatting|nieuwsbrief|digest)\b",
        r"\bstuur\s+(?:me|mij)\b.*\b(?:nieuw|nieuws)\b",
        r"\bkeep\s+(?:me\s+)?(?:up|posted|informed|updated)\b", r"\bsubscribe\s+me\b", r"\bfollow\b.*\b(?:topic|news)\b",
        r"\bsend\s+me\b.*\b(?:digest|news|updates?)\b", r"\bnewsletter\b"),
        follow, unless=(r"https?://", r"\bremind|herinner", r"^\W*!")),
)
