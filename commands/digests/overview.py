"""The digest's line in the topic overview: `!abonneer energie wekelijks`, checked against
what !subscribe will accept."""
from __future__ import annotations

from bot.framework.capability import Section
from bot.framework.render import md_code
from bot.framework.topics import match
from storage import topics


async def overview_section(ctx, query: str, topic) -> Section | None:
    if topic is None:
        return None
    name = topics.name_for(topic, ctx.t.lang, query)
    if match(name).topic != topic:
        return None
    weekly = "wekelijks" if ctx.t.lang == "nl" else "weekly"
    return Section(0, ctx.t("Follow this topic, one digest a week: {command}",
                            command=md_code(ctx.command_name(f"subscribe {name} {weekly}"))), trailing=True)
