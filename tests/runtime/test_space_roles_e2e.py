"""Roles from the hub's Space, in a real Synapse (issue 15, part 3).

The operator names the hub's Space by its alias (`bot.space`, resolved once at start); the
Space's creator invites the bot, which joins it like any room. A moderator of the Space
(power level 50 there, nothing in the rooms) may then plan a session in a child room of the
Space, as that room's moderator could, but not in a room outside the Space; so may the
Space's creator (a v12 creator, not listed in its power levels). Taking the room out of the
Space (m.space.child with empty content), or the moderator's level in the Space, takes the
rights away at once; putting the room back gives them back."""
from __future__ import annotations

import uuid

import pytest

from support.e2e_helpers import body_of
from support.matrix_user import MatrixUser
from support.rooms import close_people, create_room, register_people, room_state, set_level

PASSWORD = "user-password"
PLANNED = "Planned session"
REFUSED_HERE = "Only a facilitator of this room (power level 50 or more) or a hub facilitator can use"

pytestmark = pytest.mark.e2e


@pytest.fixture
async def people(synapse, tmp_path):
    """dave makes the Space, carol the rooms, erin moderates the Space, frank is a member."""
    made = await register_people(synapse, tmp_path, ("carol", "dave", "erin", "frank"), PASSWORD)
    yield made
    await close_people(made)


@pytest.fixture
async def space(synapse, people):
    """The hub's Space, private, with an alias; it exists before the bot starts."""
    local = f"hub{uuid.uuid4().hex[:8]}"
    dave = people["dave"]
    room_id = await create_room(synapse.url, dave, room_version="12", preset="private_chat", name="DSIH hub",
                                room_alias_name=local, creation_content={"type": "m.space"},
                                invite=[people["erin"].user_id])
    await dave.wait_joined(room_id, people["erin"].user_id, timeout=30)
    await set_level(dave, room_id, people["erin"].user_id, 50)
    return {"id": room_id, "alias": f"#{local}:localhost"}


@pytest.fixture
def bot_options(space):
    return {"bot": {"space": space["alias"]}}


async def _child(dave: MatrixUser, space_id: str, room_id: str, via: list[str]) -> None:
    resp = await dave.client.room_put_state(space_id, "m.space.child", {"via": via} if via else {}, state_key=room_id)
    assert hasattr(resp, "event_id"), resp


async def test_space_moderators_are_facilitators_of_its_rooms(synapse, alice, bot, people, space, ask):
    carol, dave, erin, frank = (people[n] for n in ("carol", "dave", "erin", "frank"))
    assert f"bot.space {space['alias']} is {space['id']}" in bot.log()
    assert (await room_state(dave, space["id"], "m.room.create")).get("type") == "m.space"

    # Rooms made by carol, both with everyone in them; only one is a child of the Space.
    rooms = {}
    for name in ("child", "outside"):
        rooms[name] = await create_room(synapse.url, carol, room_version="12", preset="private_chat", name=name,
                                        invite=[bot.user_id, dave.user_id, erin.user_id, frank.user_id])
        for user_id in (bot.user_id, dave.user_id, erin.user_id, frank.user_id):
            await carol.wait_joined(rooms[name], user_id, timeout=30)
    await _child(dave, space["id"], rooms["child"], ["localhost"])
    # The bot is invited to the Space like to any room, and joins.
    await dave.client.room_invite(space["id"], bot.user_id)
    await dave.wait_joined(space["id"], bot.user_id, timeout=30)

    async def plan(user, where, title):
        reply = body_of(await ask(user, rooms[where], f'!session new "{title}" tomorrow 14:00',
                                  bot_id=bot.user_id, timeout=30))
        assert PLANNED in reply or ("🔒" in reply and REFUSED_HERE in reply), reply
        return "planned" if PLANNED in reply else "refused"

    assert await plan(erin, "child", "by the Space's moderator") == "planned"
    assert await plan(erin, "outside", "outside the Space") == "refused"
    assert await plan(dave, "child", "by the Space's creator") == "planned"
    assert await plan(frank, "child", "by a member") == "refused"

    # The room leaves the Space: the Space's moderator is a member there again.
    await _child(dave, space["id"], rooms["child"], [])
    assert await plan(erin, "child", "after the room left the Space") == "refused"
    await _child(dave, space["id"], rooms["child"], ["localhost"])
    assert await plan(erin, "child", "back in the Space") == "planned"
    # The moderator steps down in the Space.
    await set_level(dave, space["id"], erin.user_id, 0)
    assert await plan(erin, "child", "after stepping down") == "refused"
