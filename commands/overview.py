"""The first words people type: a message that only names a topic ("klimaat", "heat stress",
"digitale inclusie", "iets over energie?") gets one overview of what the hub holds on it —
funding, living labs, shared knowledge and the digest — each with the command that lists
the rest.

The handler is the last resort: this module comes last in commands.MODULES, so every other
capability's question handler (funding, labs, knowledge questions, small talk) is asked
first, and a real question is never taken for a topic word."""
from __future__ import annotations

from bot.framework import Cog
from bot.framework.errors import BadArgument
from bot.i18n import N_
from bot.render import md_escape, md_link
from commands import funding as funding_cog
from commands.core import GREETINGS, THANKS
from commands import knowledge as knowledge_cog
from commands import labs as labs_cog
from storage import topics
from storage.funding_data import accepting, days_left, next_deadline_info, status_of
from storage.knowledge_data import KIND_LABELS as KNOWLEDGE_KINDS
from storage.labs_data import parse_words, search_labs
from storage.search.text import content_words, tokens

cog = Cog("overview", N_("Topic overview"))

MAX_WORDS = 4          # "circular economy", "digitale inclusie gemeenten": a topic, not a question
MAX_CHARS = 200
TOP_FUNDING, TOP_LABS, TOP_KNOWLEDGE = 3, 3, 2
MAX_LABS = 200         # counted up to this many (the labs list itself stops there)

# Words around a topic word that ask for the overview itself ("vertel iets over energie",
# "info klimaat", "everything on housing"): not search words.
FILLER = frozenset("""
vertel vertellen tell info informatie information alles everything overzicht overview thema theme topic
onderwerp onderwerpen topics themas meer more graag please zoek zoeken search find vind show toon laat zien
geef give weet know heb hebt have has hub dsih bot test testing testje probeer proberen try
""".split()) | GREETINGS | THANKS   # "test" alone is someone checking the bot is there


def _words(text: str) -> list[str]:
    return [w for w in content_words(text[:MAX_CHARS], max_terms=MAX_WORDS + 4) if w not in FILLER]


def _name_for(topic: topics.Topic, lang: str, typed: str) -> str:
    """How to name `topic` in a command in `lang`: the user's own words when they name it,
    else its label or the first alias of at most two words (!subscribe takes up to four)."""
    if typed and (found := topics.lookup(typed)) is not None and found.id == topic.id:
        return typed
    aliases = topic.aliases_nl if lang == "nl" else topic.aliases_en
    for name in (topic.label(lang), *aliases):
        if len(tokens(name)) <= 2 and (found := topics.lookup(name)) is not None and found.id == topic.id:
            return name.lower()
    return topic.id


def _pick_topic(ids: list[str], rows) -> list[str]:
    """The topics the words stand for, the one most of the found funding is about first
    ("klimaat": climate adaptation, which most instruments found are about, before
    climate-neutral cities); ties keep the topic list's order."""
    if len(ids) < 2:
        return ids
    count = {tid: sum(tid in (r.themes or ()) for r in rows) for tid in ids}
    return sorted(ids, key=lambda tid: (-count[tid], ids.index(tid)))


def _funding_line(t, n: int, r, now) -> str:
    status = status_of(r, now)
    nd = next_deadline_info(r, now)
    if status in ("open", "invitation_only") and nd:
        state = t("open until {date} ({left})", date=t.short_date(nd.at),
                  left=t.n("{count} day left", "{count} days left", max(0, days_left(nd.at, now, t.tz))))
    elif status == "forthcoming" and r.opens_on:
        state = t("opens {date}", date=t.short_date(r.opens_on))
    elif status == "continuous":
        state = t("apply any time")
    elif status == "closed":
        state = t("closed")
    elif status == "gone":
        state = t("no longer in the source: check")
    else:
        state = t("dates unknown")
    return f"{n}. {md_link(funding_cog.title_of(r, t.lang), r.url)} — {state}"


def _lab_line(n: int, hit) -> str:
    return f"{n}. {md_link(hit.lab.name, hit.lab.website)} — {labs_cog.place_of(hit.lab)}"


def _knowledge_line(t, n: int, item) -> str:
    parts = [t(KNOWLEDGE_KINDS.get(item.kind, item.kind))]
    if item.organisation:
        parts.append(md_escape(item.organisation))
    return f"{n}. {md_link(item.title, item.url)} — {' · '.join(parts)}"


def _code(command: str) -> str:
    return f"`{command.replace('`', chr(39))}`"


async def _funding_block(ctx, query: str) -> tuple[int, str, list]:
    t, now = ctx.t, ctx.now
    rows = (await funding_cog.find(ctx, query, funding_cog.Filters())).rows
    if not rows:
        return 0, t("**Funding**: nothing found."), []
    head = t.n("**Funding**: {count} instrument", "**Funding**: {count} instruments", len(rows))
    open_now = sum(accepting(r, now) for r in rows)
    if open_now:
        head += t(", {count} open now", count=open_now)
    # The commands go in the heading line: a line after a Markdown list would join its last item.
    head += " — " + t("all: {command}", command=_code(ctx.command_name(f"funding {query}")))
    if 0 < open_now < len(rows):
        head += ", " + t("open now: {command}", command=_code(ctx.command_name(f"funding {query} --open")))
    lines = [head, *(_funding_line(t, n, r, now) for n, r in enumerate(rows[:TOP_FUNDING], 1))]
    return len(rows), "\n".join(lines), rows


async def _labs_block(ctx, query: str) -> tuple[int, str]:
    t = ctx.t
    q = parse_words(query, labs_cog._gaz(ctx))
    # No words, theme or place left ("test", "lab"): every lab would match, which says nothing.
    hits = [] if q.empty else await search_labs(ctx.db, q, limit=MAX_LABS + 1)
    if not hits:
        return 0, t("**Living labs**: nothing found.")
    head = (t.n("**Living labs**: {count} lab", "**Living labs**: {count} labs", len(hits)) if len(hits) <= MAX_LABS
            else t("**Living labs**: more than {count}", count=MAX_LABS))
    head += " — " + t("all: {command}", command=_code(labs_cog.command_for(ctx, q)))
    lines = [head, *(_lab_line(n, h) for n, h in enumerate(hits[:TOP_LABS], 1))]
    return len(hits), "\n".join(lines)


async def _knowledge_block(ctx, query: str, topic: topics.Topic | None) -> tuple[int, str]:
    t = ctx.t
    items = await knowledge_cog.find(ctx, query, None, None)
    if not items:
        if topic is None or not ctx.services.registry.get("share"):
            return 0, t("**Knowledge**: nothing found.")
        return 0, t('**Knowledge**: nothing shared on this yet. Share what you know: `{share} <link> "<title>" #{topic}`',
                    share=ctx.command_name("share"), topic=_name_for(topic, t.lang, query).replace(" ", "-"))
    head = t.n("**Knowledge**: {count} item", "**Knowledge**: {count} items", len(items))
    head += " — " + t("all: {command}", command=_code(ctx.command_name(f"knowledge {query}")))
    lines = [head, *(_knowledge_line(t, n, i) for n, i in enumerate(items[:TOP_KNOWLEDGE], 1))]
    return len(items), "\n".join(lines)


def _digest_line(ctx, topic: topics.Topic, query: str) -> str | None:
    """`!abonneer energie wekelijks`, checked against what !subscribe will accept."""
    from commands.digests import parse_topics
    name = _name_for(topic, ctx.t.lang, query)
    try:
        if parse_topics(name, allow_frequency=False)[0] != [topic.id]:
            return None
    except BadArgument:
        return None
    weekly = "wekelijks" if ctx.t.lang == "nl" else "weekly"
    return ctx.t("Follow this topic, one digest a week: {command}",
                 command=_code(ctx.command_name(f"subscribe {name} {weekly}")))


async def _gather(ctx, query: str, topic_ids: list[str]) -> tuple[int, list[str], list[str]]:
    """(results found, the answer's sections, the topics with the main one first)."""
    reg = ctx.services.registry
    hits, sections, rows = 0, [], []
    if reg.get("funding"):
        n, block, rows = await _funding_block(ctx, query)
        hits, sections = hits + n, sections + [block]
    if reg.get("labs"):
        n, block = await _labs_block(ctx, query)
        hits, sections = hits + n, sections + [block]
    ordered = _pick_topic(topic_ids, rows)
    if reg.get("knowledge"):
        n, block = await _knowledge_block(ctx, query, topics.get(ordered[0]) if ordered else None)
        hits, sections = hits + n, sections + [block]
    return hits, sections, ordered


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
    hits, sections, ordered = await _gather(ctx, query, topics.query_topics(query))
    topical = bool(ordered) and all(topics.expand_words(words))
    if not hits and topical:
        # "AI": a topic word too short to search for; the topic's own name finds what it holds.
        by_name = " ".join(content_words(topics.get(ordered[0]).label(t.lang)))
        hits, again, _ = await _gather(ctx, by_name, ordered[:1])
        if hits:
            query, sections = by_name, again
    if not hits and not topical:
        # Nonsense, or words the hub holds nothing on ("energie blabla"): the usual "did not
        # understand", with help. A topic word alone is answered even when nothing is found.
        return False
    primary = topics.get(ordered[0]) if ordered else None
    reg = ctx.services.registry
    lines = [f"### {md_escape(primary.label(t.lang)) if primary else f'“{md_escape(query)}”'}", *sections]
    if primary and reg.get("subscribe") and (digest := _digest_line(ctx, primary, query)):
        lines.append(digest)
    others = [topics.get(tid) for tid in ordered[1:]]
    if others:
        lines.append(t("Your words also fit {topics}: type {names}.",
                       topics=", ".join(f"**{md_escape(o.label(t.lang))}**" for o in others),
                       names=", ".join(_code(_name_for(o, t.lang, "")) for o in others)))
    await ctx.reply("\n\n".join(lines))
    return True
