"""Hostile content through a real Synapse: odd Unicode (RTL override, zero-width), a forged
edit of the bot's own reply, and markup in a formatted body are handled like any message,
and the bot keeps running.

Synapse itself refuses some content, which therefore cannot reach the bot through it (the
unit fuzzer, test_fuzz_dispatch.py, covers it): a lone surrogate (which that fuzzer found
escaping the dispatcher) and NUL get a 500, a relation to an unknown event or with a
non-string event_id is refused, wrong-typed m.mentions get M_BAD_JSON."""
from __future__ import annotations

import pytest

from support.e2e_helpers import body_of, html_of
from support.html_safety import html_problems
from support.quiescence import quiescent

pytestmark = pytest.mark.e2e


async def test_hostile_event_content_is_answered_and_the_bot_keeps_running(alice, bot, room, ask):
    reply = await ask(alice, room, "!tz \u202eEurope/Amsterdam\u200b", bot_id=bot.user_id)
    assert "is not a time zone" in body_of(reply), body_of(reply)
    # A forged edit of the bot's own reply ("m.replace" of someone else's event) is not a command.
    mark = alice.mark()
    await alice.send_text(room, "* !ping", extra_content={
        "m.new_content": {"msgtype": "m.text", "body": "!ping"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": reply.event_id}})
    await ask(alice, room, "!ping", bot_id=bot.user_id)
    await quiescent(bot, [alice])
    assert [body_of(e) for e in alice.messages(room, bot.user_id, since=mark)] == ["Pong!"]
    marked = await ask(alice, room, "!knowledge <img src=x onerror=alert(1)>", bot_id=bot.user_id,
                       formatted_body='<a href="javascript:alert(1)">!knowledge</a> <img src=x onerror=alert(1)>')
    assert not html_problems(html_of(marked)), html_of(marked)
    assert body_of(await ask(alice, room, "!ping", bot_id=bot.user_id)) == "Pong!"  # still running
    assert bot.running
