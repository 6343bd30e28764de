"""Living labs in a real Matrix room: `!labs … --near …`, a plain-language question, an
unknown place, and the whole access request → accept → requester notified flow (the
facilitator answers in the direct room where the bot brought the request)."""
from __future__ import annotations

import pytest

from support.e2e_helpers import body_of, html_of
from support.quiesce import wait_delivered
from support.matrix_user import content_of, type_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def bot_options(bob):
    # bob is the hub's facilitator: lab requests without a Matrix contact go to him.
    return {"bot": {"facilitators": [bob.user_id]}}


def _from_bot_containing(bot_id: str, needle: str):
    def check(ev) -> bool:
        return (getattr(ev, "sender", None) == bot_id and type_of(ev) == "m.room.message"
                and needle in content_of(ev).get("body", ""))
    return check


async def test_labs_near_place_lists_labs_by_distance(alice, bot, room, ask):
    reply = await ask(alice, room, "!labs climate adaptation --near Zwolle", bot_id=bot.user_id)
    body = body_of(reply)
    assert "Living Lab Ruimtelijke Adaptatie Overijssel" in body.split("2.")[0]
    assert "0 km" in body and "near Zwolle" in body
    assert "<strong>" in html_of(reply) and "<script" not in html_of(reply)


async def test_plain_language_question_in_dutch(alice, bot, room, ask):
    localpart = bot.user_id.split(":")[0][1:]
    mark = alice.mark()
    await alice.send_text(room, f"{localpart}: welke proeftuinen zijn er voor datagedreven werken in Limburg?")
    result = await alice.wait_for(_from_bot_containing(bot.user_id, "Brightlands Smart Services Campus"),
                                  since=mark, timeout=30)
    assert "Public Services Lab" in body_of(result)


async def test_unknown_place_suggests_names(alice, bot, room, ask):
    reply = await ask(alice, room, "!labs --near Zwole", bot_id=bot.user_id)
    assert "Zwole" in body_of(reply) and "Zwolle" in body_of(reply)
    reply = await ask(alice, room, "!labs energy near Bergen", bot_id=bot.user_id)
    assert "Bergen (L.)" in body_of(reply) and "Bergen (NH.)" in body_of(reply)


async def test_request_accept_and_requester_is_notified(alice, bob, bot, room, ask):
    bob_mark, alice_mark = bob.mark(), alice.mark()
    confirm = await ask(alice, room, "!lab request the-green-village we want to test heat-stress sensors on a square",
                        bot_id=bot.user_id)
    assert "#1" in body_of(confirm) and "facilitators" in body_of(confirm)

    # The facilitator gets the request in a direct room the bot opens with him.
    note = await bob.wait_for(_from_bot_containing(bot.user_id, "Access request #1"), since=bob_mark, timeout=40)
    assert "heat-stress sensors" in body_of(note) and alice.user_id in body_of(note)
    dm = note.room_id

    answer = await ask(bob, dm, "!request accept 1 Welcome! Mail us for a date.", bot_id=bot.user_id, timeout=40)
    assert "now accepted" in body_of(answer)

    told = await alice.wait_for(_from_bot_containing(bot.user_id, "was accepted"), since=alice_mark, timeout=40)
    assert "The Green Village" in body_of(told) and "Mail us for a date" in body_of(told)
    assert told.room_id != room    # a direct message

    status = await ask(alice, room, "!requests", bot_id=bot.user_id)
    assert "#1" in body_of(status) and "accepted" in body_of(status)
    # Exactly once: no second notification arrives.
    assert len([e for e in alice.events[alice_mark:] if _from_bot_containing(bot.user_id, "was accepted")(e)]) == 1


async def test_request_flow_survives_kill_9_without_doubles(alice, bob, bot, room):
    import asyncio

    bob_mark, alice_mark = bob.mark(), alice.mark()
    await alice.send_text(room, "!lab request the-green-village testing permeable paving after a downpour")
    bot.kill()          # the request may or may not have been handled: either way, once
    bot.start()
    note = await bob.wait_for(_from_bot_containing(bot.user_id, "Access request #1"), since=bob_mark, timeout=60)
    await alice.wait_for(_from_bot_containing(bot.user_id, "#1"), since=alice_mark, timeout=60)

    await bob.send_text(note.room_id, "!request accept 1 Come on Tuesday.")
    await asyncio.sleep(0.3)
    bot.kill()          # killed around the accept: the requester is still told exactly once
    bot.start()
    await alice.wait_for(_from_bot_containing(bot.user_id, "was accepted"), since=alice_mark, timeout=60)
    # Proof, not a pause: nothing left to send, and both have seen everything that was sent.
    state = await bot.quiescent()
    await wait_delivered(alice, state)
    await wait_delivered(bob, state)

    def count(user, mark, needle):
        return len([e for e in user.events[mark:] if _from_bot_containing(bot.user_id, needle)(e)])

    assert count(bob, bob_mark, "Access request #1") == 1
    assert count(alice, alice_mark, "was accepted") == 1
    assert count(alice, alice_mark, "Access request #2") == 0
