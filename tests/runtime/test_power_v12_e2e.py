"""Rights from power levels per room version, in a real Synapse (issue 15, part 2).

In room version 12 (MSC4289; Synapse's default) the room's creator and the users named in
the create event's `additional_creators` have unlimited power and are not listed in
`m.room.power_levels`: read the old way (matrix-nio's get_user_level) they have 0, so a
civil servant could not plan a session in the room they made. Here, in a v11 and a v12 room,
the creator, an additional creator, a moderator (50) and a member each try to plan one; the
v12 creator also after a restart of the bot (its room state comes from a full-state sync);
in a v12 direct chat its creator is refused (a direct chat grants nothing)."""
from __future__ import annotations

import pytest

from support.e2e_helpers import body_of
from support.rooms import close_people, create_room, register_people, room_state, set_level

pytestmark = pytest.mark.e2e

PASSWORD = "user-password"
PLANNED = "Planned session"
REFUSED_HERE = "Only a facilitator of this room (power level 50 or more) or a hub facilitator can use"
REFUSED_DIRECT = "Only a hub facilitator can use"


@pytest.fixture
async def people(synapse, tmp_path):
    """carol makes the rooms, dave is named an additional creator, erin becomes moderator,
    frank stays a member. None is configured in the bot (alice is its admin)."""
    made = await register_people(synapse, tmp_path, ("carol", "dave", "erin", "frank"), PASSWORD)
    yield made
    await close_people(made)


async def _room_of_four(synapse, bot, people, version: str) -> str:
    carol, dave, erin, frank = (people[n] for n in ("carol", "dave", "erin", "frank"))
    room = await create_room(synapse.url, carol, room_version=version, preset="private_chat", name=f"v{version} room",
                             creation_content={"additional_creators": [dave.user_id]},
                             invite=[bot.user_id, dave.user_id, erin.user_id, frank.user_id])
    for user_id in (bot.user_id, dave.user_id, erin.user_id, frank.user_id):
        await carol.wait_joined(room, user_id, timeout=30)
    await set_level(carol, room, erin.user_id, 50)
    return room


async def _tries(ask, bot, people, room, label) -> dict[str, str]:
    """Who may plan a session here: 'planned' or 'refused' per person."""
    seen = {}
    for name in ("carol", "dave", "erin", "frank"):
        reply = body_of(await ask(people[name], room, f'!session new "{label} by {name}" tomorrow 14:00',
                                  bot_id=bot.user_id, timeout=30))
        assert "🔒" in reply or PLANNED in reply, reply
        if "🔒" in reply:
            assert REFUSED_HERE in reply, reply
        seen[name] = "refused" if "🔒" in reply else "planned"
    return seen


async def test_v11_room_rights_are_the_power_levels(synapse, alice, bot, people, ask):
    room = await _room_of_four(synapse, bot, people, "11")
    create = await room_state(people["carol"], room, "m.room.create")
    assert create.get("room_version") == "11"
    seen = await _tries(ask, bot, people, room, "v11")
    # The creator has 100 in the power levels; additional_creators means nothing before v12.
    assert seen == {"carol": "planned", "dave": "refused", "erin": "planned", "frank": "refused"}


async def test_v12_creators_have_rights_the_power_levels_do_not_list(synapse, alice, bot, people, ask):
    carol, dave = people["carol"], people["dave"]
    room = await _room_of_four(synapse, bot, people, "12")
    create = await room_state(carol, room, "m.room.create")
    assert create.get("room_version") == "12" and create.get("additional_creators") == [dave.user_id]
    users = (await room_state(carol, room, "m.room.power_levels")).get("users", {})
    assert carol.user_id not in users and dave.user_id not in users, users
    # What the bot read before (and nio still does): the creators have the room's default, 0.
    levels = carol.client.rooms[room].power_levels
    assert levels.get_user_level(carol.user_id) == levels.get_user_level(dave.user_id) == 0

    seen = await _tries(ask, bot, people, room, "v12")
    assert seen == {"carol": "planned", "dave": "planned", "erin": "planned", "frank": "refused"}

    # After a restart the bot knows the room from a full-state sync: the creator still may.
    await bot.aterminate()
    await bot.astart()
    again = await ask(carol, room, '!session new "after a restart" tomorrow 15:00', bot_id=bot.user_id, timeout=60)
    assert PLANNED in body_of(again), body_of(again)
    assert "sync had not shown its create event" not in bot.log()  # sync brought the state, no extra request

    # A direct chat (v12, carol its creator with unlimited power) grants nothing.
    dm = await create_room(synapse.url, carol, room_version="12", preset="trusted_private_chat", is_direct=True,
                           invite=[bot.user_id])
    await carol.wait_joined(dm, bot.user_id, timeout=30)
    refused = body_of(await ask(carol, dm, '!session new "in a direct chat" tomorrow 16:00', bot_id=bot.user_id))
    assert "🔒" in refused and REFUSED_DIRECT in refused, refused
