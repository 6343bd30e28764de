"""What a new user types first, in a real Synapse room with the default language nl:
`!funding klimaat` puts an instrument about climate on top, a plain deadline question is
answered in one message that starts with how it was understood, and `!funding climate
adaptation` is answered in English. The bot runs on a fixed clock (bot.pretend_now): which
instruments close "binnenkort" must not change with the day the suite runs."""
from __future__ import annotations

import re

import pytest

from storage.funding.records import load_bundled
from support.e2e_helpers import body_of

pytestmark = pytest.mark.e2e

CLIMATE = {"climate-adaptation", "climate-neutral-cities"}
PRETEND_NOW = "2026-11-25T12:00:00+00:00"   # the day the bundled data was checked


@pytest.fixture
def bot_options():
    return {"bot": {"language": "nl", "pretend_now": PRETEND_NOW}}


def ids_in(body: str) -> list[str]:
    return re.findall(r"· `?([a-z0-9-]+)`?\s*$", body, re.M)


async def test_first_words_of_a_new_user(alice, bot, room, ask):
    themes = {r.id: set(r.themes) for r in load_bundled()}

    reply = await ask(alice, room, "!funding klimaat", bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    top = ids_in(body)[:3]
    assert "subsidie-instrumenten" in body, body[:300]            # Dutch words, Dutch answer
    assert top and all(themes[i] & CLIMATE for i in top), top
    assert len(themes[top[0]]) <= 3, top                        # about climate, not a broad scheme

    mark = alice.mark()
    await alice.send_text(room, f"{bot.user_id}: welke subsidies sluiten binnenkort?", mentions=[bot.user_id])
    first = await alice.wait_for_reply(room, bot.user_id, since=mark, timeout=60)
    assert body_of(first).startswith("Zo heb ik je vraag begrepen"), body_of(first)[:300]
    assert "(Hetzelfde als !sluitingsdata 60d.)" in body_of(first)   # the command that gives the same answer
    assert "sluiten" not in body_of(first).split("\n")[0].split("(")[0]   # not searched as a word
    replies = await alice.collect(room, bot.user_id, 6, since=mark)
    assert len(replies) == 1, [body_of(r)[:80] for r in replies]   # one question, one answer

    english = await ask(alice, room, "!funding climate adaptation", bot_id=bot.user_id)
    assert "funding instruments for" in body_of(english), body_of(english)[:300]
    assert "rotterdam-subsidie-klimaatadaptatie" in ids_in(body_of(english))[:5]

    nonsense = await ask(alice, room, "!funding <script>alert(1)</script>", bot_id=bot.user_id)
    assert ids_in(body_of(nonsense)) == []
    assert "No funding instruments found" in body_of(nonsense)   # English: her last clear language


async def test_a_question_without_a_funding_word_is_searched_not_shrugged_at(alice, bot, room, ask):
    # Issue 18: a plain question with no command, intent or funding word that clearly matches
    # records gets the search answer of the capability it matches (the kernel's fallback);
    # nonsense still gets "Dat begreep ik niet".
    mark = alice.mark()
    await alice.send_text(room, f"{bot.user_id}: kunnen we met Duitse gemeenten over de grens samenwerken aan energie?",
                          mentions=[bot.user_id])
    reply = await alice.wait_for_reply(room, bot.user_id, since=mark, timeout=60)
    body = body_of(reply)
    assert body.startswith("Zo heb ik je vraag begrepen"), body[:300]
    assert "interreg-deutschland-nederland" in ids_in(body)[:3], body[:800]

    mark = alice.mark()
    await alice.send_text(room, f"{bot.user_id}: blauwe olifanten dansen vanavond in de tuin", mentions=[bot.user_id])
    shrug = await alice.wait_for_reply(room, bot.user_id, since=mark, timeout=60)
    assert "begreep ik niet" in body_of(shrug), body_of(shrug)[:300]
