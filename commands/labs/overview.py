"""Labs' part of the topic overview: how many labs fit the words, the first three with
their place, and the command that lists the rest."""
from __future__ import annotations

from bot.framework.capability import Section
from bot.framework.render import md_code, md_link
from commands.labs.commands import _gaz, command_for, place_of
from storage.labs.records import parse_words, search_labs

TOP = 3
MAX_LABS = 200         # counted up to this many (the labs list itself stops there)


async def overview_section(ctx, query: str, topic) -> Section:
    t = ctx.t
    q = parse_words(query, _gaz(ctx))
    # No words, theme or place left ("test", "lab"): every lab would match, which says nothing.
    hits = [] if q.empty else await search_labs(ctx.db, q, limit=MAX_LABS + 1)
    if not hits:
        return Section(0, t("**Living labs**: nothing found."))
    head = (t.n("**Living labs**: {count} lab", "**Living labs**: {count} labs", len(hits)) if len(hits) <= MAX_LABS
            else t("**Living labs**: more than {count}", count=MAX_LABS))
    head += " — " + t("all: {command}", command=md_code(command_for(ctx, q)))
    lines = [head, *(f"{n}. {md_link(h.lab.name, h.lab.website)} — {place_of(h.lab)}"
                     for n, h in enumerate(hits[:TOP], 1))]
    return Section(len(hits), "\n".join(lines))
