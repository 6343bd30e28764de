"""A room's power levels in a real Synapse: a moderator (power 50) of a community room may
plan a session there, and the same person is a member in another room, where the bot
refuses the same command and any change to that session. (Direct chats and rooms of one
user with the bot: test_sessions_e2e.py; every command x role: tests/kernel/test_permission_matrix.py.)"""
from __future__ import annotations

import pytest
from nio import RoomGetStateEventResponse

from support.e2e_helpers import body_of

pytestmark = pytest.mark.e2e


async def _with_bob(alice, bob, room_id, bot_id):
    await alice.client.room_invite(room_id, bob.user_id)
    await bob.join(room_id)
    await alice.wait_joined(room_id, bob.user_id, timeout=30)
    await alice.wait_joined(room_id, bot_id, timeout=30)


async def test_power_level_counts_in_its_own_room_only(alice, bob, bot, room, ask):
    await _with_bob(alice, bob, room, bot.user_id)
    levels = await alice.client.room_get_state_event(room, "m.room.power_levels")
    assert isinstance(levels, RoomGetStateEventResponse), levels
    content = dict(levels.content)
    content["users"] = {**content.get("users", {}), bob.user_id: 50}
    await alice.client.room_put_state(room, "m.room.power_levels", content)

    planned = await ask(bob, room, '!session new "Planned by a moderator" tomorrow 14:00', bot_id=bot.user_id)
    assert "Planned session 1" in body_of(planned), body_of(planned)

    other = await alice.create_room(invite=[bot.user_id], name="another community room")
    await _with_bob(alice, bob, other, bot.user_id)
    for command in ('!session new "Elsewhere" tomorrow 15:00', "!session cancel 1", "!session move 1 friday 10:00"):
        reply = await ask(bob, other, command, bot_id=bot.user_id)
        assert "🔒" in body_of(reply), (command, body_of(reply))
    # Back in his own room he still may.
    moved = await ask(bob, room, "!session move 1 friday 10:00", bot_id=bot.user_id)
    assert "🔒" not in body_of(moved) and "Friday" in body_of(moved), body_of(moved)
