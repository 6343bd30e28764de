"""Funding Lane in a real Synapse room: !funding, !deadlines, a plain-language question,
a zero-hit query and an injection-like query."""
from __future__ import annotations

import pytest

from support.e2e_helpers import body_of, html_of

pytestmark = pytest.mark.e2e


async def test_funding_search_and_record(alice, bot, room, ask):
    reply = await ask(alice, room, "!funding circular economy --level eu", bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    assert "life-circular-economy-2026" in body and "Filters: level EU" in body
    assert '<a href="https://ec.europa.eu' in html_of(reply)
    record = await ask(alice, room, "!subsidie life-circular-economy-2026", bot_id=bot.user_id)
    assert "Wie mag aanvragen" in body_of(record) and "€" in body_of(record)


async def test_deadlines(alice, bot, room, ask):
    reply = await ask(alice, room, "!deadlines 1000d", bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    # Real clock: the bundled data has deadlines in 2027, so a 1000-day window lists some.
    assert "funding deadline" in body and "days left" in body
    soon = await ask(alice, room, "!deadlines 1d --theme housing", bot_id=bot.user_id)
    assert "No funding deadlines in the next day." in body_of(soon)


async def test_plain_language_question(alice, bot, room, ask):
    reply = await ask(alice, room, f"{bot.user_id}: which EU funding is there for biodiversity in provinces?",
                      bot_id=bot.user_id, timeout=60, mentions=[bot.user_id])
    body = body_of(reply)
    assert "I understood your question" in body and "level EU" in body


async def test_zero_hits_says_why_and_suggests(alice, bot, room, ask):
    reply = await ask(alice, room, "!funding klimaatadaptie --level local --applicant water_board",
                      bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    assert "No funding instruments" in body and "klimaatadaptatie" in body


async def test_injection_like_query_is_harmless(alice, bot, room, ask):
    reply = await ask(alice, room, '!funding "NEAR(* -x) OR 1=1; DROP TABLE funding_instruments; -- <script>x</script>',
                      bot_id=bot.user_id, timeout=60)
    assert "<script" not in html_of(reply).lower()
    assert "something went wrong" not in body_of(reply).lower()
    again = await ask(alice, room, "!funding sbir", bot_id=bot.user_id)
    assert "sbir-innovatiecompetitie" in body_of(again)
