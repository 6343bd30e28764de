"""The labs search as the answer to a plain question nothing else understood (issue 18;
bot.framework.capability.Fallback): "waar kan ik zelfrijdende shuttles testen?" names no lab
word, but when its words clearly match a lab it gets the labs answer, not "I did not understand"."""
from __future__ import annotations

from commands.labs.commands import _gaz, answer, command_for, describe_query
from storage.labs.records import LABS_INDEX, parse_words


async def probe(ctx, text: str) -> float:
    q = parse_words(text, _gaz(ctx))
    if q.unresolved or not q.text.strip():
        return 0.0
    return await LABS_INDEX.clear_match(ctx.db, q.text, said=text)


async def answer_question(ctx, text: str) -> None:
    q = parse_words(text, _gaz(ctx))
    described = describe_query(ctx, q)
    lead = ctx.t("I understood: living labs {query}. (Same as `{command}`.)", query=described,
                 command=command_for(ctx, q)) if described else None
    await answer(ctx, q, lead=lead)
