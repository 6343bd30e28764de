"""The first words people type: a message that only names a topic ("klimaat", "heat stress",
"digitale inclusie", "iets over energie?") gets one overview of what the hub holds on it —
funding, living labs, shared knowledge and the digest — each with the command that lists
the rest.

Each capability contributes its own section (its manifest's `overview`); this capability
only asks them and puts the answer together.

The handler is the last resort: this module comes last in commands.ENABLED, so every other
capability's question handler (funding, labs, knowledge questions, small talk) is asked
first, and a real question is never taken for a topic word."""
from __future__ import annotations

from bot.framework import Cog
from bot.framework.asking import GREETINGS, THANKS
from bot.framework.i18n import N_
from bot.framework.render import md_code, md_escape
from storage import topics
from storage.search.text import content_words

cog = Cog("overview", N_("Topic overview"))

MAX_WORDS = 4          # "circular economy", "digitale inclusie gemeenten": a topic, not a question
MAX_CHARS = 200

# Words around a topic word that ask for the overview itself ("vertel iets over energie",
# "info klimaat", "everything on housing"): not search words.
FILLER = frozenset("""
vertel vertellen tell info informatie information alles everything overzicht overview thema theme topic
onderwerp onderwerpen topics themas meer more graag please zoek zoeken search find vind show toon laat zien
geef give weet know heb hebt have has hub dsih bot test testing testje probeer proberen try
""".split()) | GREETINGS | THANKS   # "test" alone is someone checking the bot is there


def _words(text: str) -> list[str]:
    return [w for w in content_words(text[:MAX_CHARS], max_terms=MAX_WORDS + 4) if w not in FILLER]


def _pick_topic(ids: list[str], rows: list[tuple[str, ...]]) -> list[str]:
    """The topics the words stand for, the one most of the found funding is about first
    ("klimaat": climate adaptation, which most instruments found are about, before
    climate-neutral cities); ties keep the topic list's order."""
    if len(ids) < 2:
        return ids
    count = {tid: sum(tid in found for found in rows) for tid in ids}
    return sorted(ids, key=lambda tid: (-count[tid], ids.index(tid)))


async def _gather(ctx, query: str, topic_ids: list[str]) -> tuple[int, list[str], list[str], list]:
    """(results found, the answer's sections, the topics with the main one first, the
    trailing contributions still to ask). Each enabled capability that declares an overview
    section (its manifest's `overview`) is asked in capability order; a section is told the
    main topic as the sections before it found it."""
    hits, sections, themes, trailing = 0, [], [], []
    for contribute in ctx.services.registry.contributions("overview"):
        ordered = _pick_topic(topic_ids, themes)
        section = await contribute(ctx, query, topics.get(ordered[0]) if ordered else None)
        if section is None:
            continue
        if section.trailing:
            trailing.append(contribute)
            continue
        hits += section.count
        sections.append(section.text)
        themes += section.themes
    return hits, sections, _pick_topic(topic_ids, themes), trailing


@cog.question
async def topic_overview(ctx, text: str) -> bool:
    if len(text) > MAX_CHARS:
        return False
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    if ctx.services.registry.get(first):
        return False   # "sessie klimaat": a command whose arguments did not parse; its error helps more
    words = _words(text)
    if not words or len(words) > MAX_WORDS:
        return False
    query = " ".join(words)
    t = ctx.t
    hits, sections, ordered, trailing = await _gather(ctx, query, topics.query_topics(query))
    topical = bool(ordered) and all(topics.expand_words(words))
    if not hits and topical:
        # "AI": a topic word too short to search for; the topic's own name finds what it holds.
        by_name = " ".join(content_words(topics.get(ordered[0]).label(t.lang)))
        hits, again, _, _ = await _gather(ctx, by_name, ordered[:1])
        if hits:
            query, sections = by_name, again
    if not hits and not topical:
        # Nonsense, or words the hub holds nothing on ("energie blabla"): the usual "did not
        # understand", with help. A topic word alone is answered even when nothing is found.
        return False
    primary = topics.get(ordered[0]) if ordered else None
    lines = [f"### {md_escape(primary.label(t.lang)) if primary else f'“{md_escape(query)}”'}", *sections]
    for contribute in trailing:
        if primary and (section := await contribute(ctx, query, primary)) is not None:
            lines.append(section.text)
    others = [topics.get(tid) for tid in ordered[1:]]
    if others:
        lines.append(t("Your words also fit {topics}: type {names}.",
                       topics=", ".join(f"**{md_escape(o.label(t.lang))}**" for o in others),
                       names=", ".join(md_code(topics.name_for(o, t.lang)) for o in others)))
    await ctx.reply("\n\n".join(lines))
    return True
