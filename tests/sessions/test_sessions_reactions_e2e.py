"""One click instead of a command, in a real Synapse: a planned session's announcement
gets the bot's 👍; bob's 👍 signs him up (told once by DM), carol's 👍 puts her on the
waiting list of the full session (capacity 1); bob takes his 👍 away -> he is signed off
and carol moves up; the bot's own 👍 never counts; a kill -9 and restart sends nothing
twice (neither the bot's reaction nor any DM)."""
from __future__ import annotations

import pytest

from support.e2e_fixtures import USER_PASSWORD, unique
from support.e2e_helpers import body_of, relates_of
from support.matrix_user import MatrixUser, type_of
from support.quiesce import wait_delivered

pytestmark = pytest.mark.e2e


def _bot_reaction(bot_id, room_id):
    return lambda ev: (getattr(ev, "sender", None) == bot_id and type_of(ev) == "m.reaction"
                       and ev.room_id == room_id)


def _dm(bot_id, needle, room_id):
    return lambda ev: (getattr(ev, "sender", None) == bot_id and type_of(ev) == "m.room.message"
                       and needle in body_of(ev) and ev.room_id != room_id)


def _count(user, predicate, since=0):
    return len([e for e in user.events[since:] if predicate(e)])


async def _react(user, room_id, event_id, key="👍"):
    resp = await user.client.room_send(room_id, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": event_id, "key": key}})
    return resp.event_id


async def test_thumbs_up_joins_and_leaves(synapse, tmp_path, alice, bob, bot, room, ask):
    carol = await MatrixUser.create(synapse.url, synapse.register(unique("carol"), USER_PASSWORD), USER_PASSWORD,
                                    tmp_path / "carol")
    try:
        for user in (bob, carol):
            await alice.client.room_invite(room, user.user_id)
            await user.join(room)
        # carol reads Dutch: she is told in her language.
        await ask(carol, room, "!taal nl", bot_id=bot.user_id)
        planned = await ask(alice, room, '!session new "Klik sessie" in 2 hours --capacity 1', bot_id=bot.user_id,
                            timeout=60)
        assert "Planned session 1" in body_of(planned) and "👍" in body_of(planned)
        reaction = await bob.wait_for(_bot_reaction(bot.user_id, room), timeout=60)
        assert relates_of(reaction) == {"rel_type": "m.annotation", "event_id": planned.event_id, "key": "👍"}

        bob_mark, carol_mark = bob.mark(), carol.mark()
        bob_thumb = await _react(bob, room, planned.event_id, "👍️")  # with the variation selector
        joined = await bob.wait_for(_dm(bot.user_id, "signed you up", room), since=bob_mark, timeout=30)
        assert "Klik sessie" in body_of(joined)
        await _react(carol, room, planned.event_id)
        waiting = await carol.wait_for(_dm(bot.user_id, "wachtlijst", room), since=carol_mark, timeout=30)
        assert "nummer 1" in body_of(waiting)

        shown = await ask(alice, room, "!session 1", bot_id=bot.user_id)
        assert "(1/1)" in body_of(shown) and "1 person on the waiting list" in body_of(shown)

        # bob takes his 👍 away: signed off, carol moves up (told in Dutch).
        await bob.client.room_redact(room, bob_thumb)
        left = await bob.wait_for(_dm(bot.user_id, "no longer take part", room), since=bob_mark, timeout=30)
        assert "Klik sessie" in body_of(left)
        await carol.wait_for(_dm(bot.user_id, "vrijgekomen", room), since=carol_mark, timeout=30)
        shown = await ask(alice, room, "!session 1", bot_id=bot.user_id)
        local = lambda user: user.user_id[1:].split(":")[0]  # noqa: E731 - mentions show the name
        assert "(1/1)" in body_of(shown) and local(carol) in body_of(shown) and local(bob) not in body_of(shown)
        assert "waiting list" not in body_of(shown)

        # Restart hard: nothing is sent again (not the bot's 👍, not a DM).
        await bot.akill()
        await bot.astart()
        probe = await bob.send_text(room, "!ping")
        state = await bot.quiescent(handled=[probe], timeout=60)
        await wait_delivered(bob, state, room)
        assert _count(bob, _bot_reaction(bot.user_id, room)) == 1
        assert _count(bob, _dm(bot.user_id, "signed you up", room), bob_mark) == 1
        assert _count(bob, _dm(bot.user_id, "no longer take part", room), bob_mark) == 1
        assert _count(carol, _dm(bot.user_id, "wachtlijst", room), carol_mark) == 1
        assert _count(carol, _dm(bot.user_id, "vrijgekomen", room), carol_mark) == 1
    finally:
        await carol.close()
