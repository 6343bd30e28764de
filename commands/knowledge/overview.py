"""Knowledge's part of the topic overview: how many shared items, the first two, and the
command that lists the rest, or an invitation to share the first one on the topic."""
from __future__ import annotations

from bot.framework.capability import Section
from bot.framework.render import md_code, md_escape, md_link
from commands.knowledge.commands import find
from storage import topics
from storage.knowledge.records import KIND_LABELS

TOP = 2


def _line(t, n: int, item) -> str:
    parts = [t(KIND_LABELS.get(item.kind, item.kind))]
    if item.organisation:
        parts.append(md_escape(item.organisation))
    return f"{n}. {md_link(item.title, item.url)} — {' · '.join(parts)}"


async def overview_section(ctx, query: str, topic) -> Section:
    t = ctx.t
    items = await find(ctx, query, None, None)
    if not items:
        if topic is None:
            return Section(0, t("**Knowledge**: nothing found."))
        return Section(0, t('**Knowledge**: nothing shared on this yet. Share what you know: '
                            '`{share} <link> "<title>" #{topic}`', share=ctx.command_name("share"),
                            topic=topics.name_for(topic, t.lang, query).replace(" ", "-")))
    head = t.n("**Knowledge**: {count} item", "**Knowledge**: {count} items", len(items))
    head += " — " + t("all: {command}", command=md_code(ctx.command_name(f"knowledge {query}")))
    lines = [head, *(_line(t, n, i) for n, i in enumerate(items[:TOP], 1))]
    return Section(len(items), "\n".join(lines))
