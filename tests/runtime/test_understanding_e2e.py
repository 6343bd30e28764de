"""Issue 19, "understand what people ask", in a real Synapse room (bot language nl, a fixed
clock: Wednesday 2026-11-25 10:00 Amsterdam): a plain question reaches the sessions (intent
before search), a plain planning sentence is answered with the exact command, a Dutch clock
phrase in a reminder is read as meant (half drie = 14:30, the rest is the text), and a
person who writes English gets English right after someone else wrote Dutch in the room."""
from __future__ import annotations

import pytest

from support.e2e_helpers import body_of

pytestmark = pytest.mark.e2e

PRETEND_NOW = "2026-11-25T09:00:00+00:00"   # 10:00 in Amsterdam


@pytest.fixture
def bot_options():
    return {"bot": {"language": "nl", "pretend_now": PRETEND_NOW}}


async def test_intents_clock_words_and_reply_language(alice, bob, bot, room, ask):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    to_bot = {"bot_id": bot.user_id, "mentions": [bot.user_id]}

    # A session planned with a Dutch clock phrase, then a plain question that reaches the sessions.
    planned = await ask(alice, room, '!sessie nieuw "Groene daken Zwolle" morgen om half drie', bot_id=bot.user_id,
                        timeout=60)
    assert "donderdag 26 november 2026 14:30" in body_of(planned), body_of(planned)[:300]
    listed = await ask(alice, room, f"{bot.user_id}: wanneer is de volgende sessie?", **to_bot)
    assert "Groene daken Zwolle" in body_of(listed), body_of(listed)[:300]
    assert "subsidie-instrumenten" not in body_of(listed)          # not a funding search

    # Planning in a sentence: the exact command to confirm, with the time read from the sentence.
    plan = await ask(alice, room, f"{bot.user_id}: plan een sessie volgende dinsdag 14:00 over de digitale tweeling",
                     **to_bot)
    assert '!sessie nieuw "Digitale tweeling" 2026-12-01 14:00' in body_of(plan), body_of(plan)[:300]

    # A Dutch clock reminder: 14:30, and "half drie" is not part of the text.
    reminded = await ask(alice, room, "!herinner morgen om half drie bel Rotterdam", bot_id=bot.user_id)
    assert "donderdag 26 november 2026 14:30" in body_of(reminded), body_of(reminded)[:300]
    waiting = await ask(alice, room, "!herinneringen", bot_id=bot.user_id)
    assert "14:30 — bel Rotterdam" in body_of(waiting), body_of(waiting)[:300]
    assert "half drie" not in body_of(waiting)

    # Bob writes Dutch; Alice then writes English with words Dutch shares: English for her,
    # Dutch for him, in the same room.
    dutch = await ask(bob, room, f"{bot.user_id}: welke subsidies sluiten binnenkort?", **to_bot)
    assert body_of(dutch).startswith("Zo heb ik je vraag begrepen"), body_of(dutch)[:300]
    english = await ask(alice, room, f"{bot.user_id}: which subsidies close soon?", **to_bot)
    assert body_of(english).startswith("I understood your question like this"), body_of(english)[:300]
    english2 = await ask(alice, room, "!subsidies for municipalities", bot_id=bot.user_id)
    assert "funding instruments" in body_of(english2), body_of(english2)[:300]
    again = await ask(bob, room, f"{bot.user_id}: zijn er subsidies voor data?", **to_bot)
    assert "subsidie" in body_of(again).lower() and "funding instruments" not in body_of(again), body_of(again)[:300]
