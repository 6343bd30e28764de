"""The shared-knowledge search as the answer to a plain question nothing else understood
(issue 18; bot.framework.capability.Fallback): a question whose words clearly match a
published lesson, case or tool gets the knowledge answer, not "I did not understand"."""
from __future__ import annotations

import re

from sqlalchemy import select

from commands.knowledge.commands import QUESTION_FILLER, knowledge
from storage.knowledge.models import KnowledgeItem
from storage.knowledge.records import KNOWLEDGE_INDEX


def _query(text: str) -> str:
    return " ".join(w for w in re.findall(r"[a-zà-ÿ0-9-]+", text[:2000].lower()) if w not in QUESTION_FILLER)


async def probe(ctx, text: str) -> float:
    query = _query(text)
    if not query:
        return 0.0
    published = (await ctx.db.scalars(select(KnowledgeItem.id).where(KnowledgeItem.status == "published"))).all()
    return await KNOWLEDGE_INDEX.clear_match(ctx.db, query, said=text, ids_filter=[str(i) for i in published])


async def answer_question(ctx, text: str) -> None:
    query = _query(text)
    command = ctx.command_name(f"knowledge {query}".strip())
    await ctx.reply(ctx.t("I searched the shared knowledge. (Same as `{command}`.)", command=command.replace("`", "'")))
    await knowledge.callback(ctx, query=query, topic=None, kind=None)
