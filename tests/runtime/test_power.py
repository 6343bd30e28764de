"""Power levels per room version (bot/matrix/power.py): v1-v11 as before, v12 creators
(sender and additional_creators) above every level, a missing power-levels event, and the
hub's Space lending a moderator's level to its child rooms."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.framework.roles import FACILITATOR_POWER_LEVEL, Access, Role
from bot.matrix.power import CREATOR_POWER, RoomPower, creators, creators_privileged, power_level

ALICE, BOB, CAROL, DAVE = "@alice:hub", "@bob:hub", "@carol:hub", "@dave:hub"
LEVELS = {"users": {BOB: 50, CAROL: 100}, "users_default": 0}


def create(version: str | None, sender: str = ALICE, **content) -> dict:
    body = dict(content)
    if version is not None:
        body["room_version"] = version
    return {"type": "m.room.create", "state_key": "", "sender": sender, "content": body}


@pytest.mark.parametrize("version", [str(v) for v in range(1, 12)] + [None, "org.matrix.msc3757.11"])
def test_before_v12_the_creator_is_what_the_power_levels_say(version):
    ev = create(version, additional_creators=[DAVE])
    assert not creators_privileged(version)
    assert power_level(ALICE, ev, {"users": {ALICE: 100}}) == 100
    assert power_level(ALICE, ev, {"users": {}, "users_default": 0}) == 0  # demoted creator stays demoted
    assert power_level(DAVE, ev, LEVELS) == 0  # additional_creators means nothing before v12
    assert power_level(BOB, ev, LEVELS) == 50
    assert power_level(CAROL, ev, LEVELS) == 100


@pytest.mark.parametrize("version", ["12", "13", "org.matrix.hydra.11"])
def test_v12_creators_rank_above_every_level(version):
    ev = create(version, additional_creators=[DAVE, 7, None])
    assert creators_privileged(version)
    assert creators(ev) == {ALICE, DAVE}
    top = {"users": {CAROL: 2 ** 53 - 1}, "users_default": 0}
    for creator in (ALICE, DAVE):
        assert power_level(creator, ev, LEVELS) == CREATOR_POWER
        assert power_level(creator, ev, top) > power_level(CAROL, ev, top)
    # Listed anyway (a server must refuse it): the creator still has unlimited power.
    assert power_level(ALICE, ev, {"users": {ALICE: 0}}) == CREATOR_POWER
    assert power_level(BOB, ev, LEVELS) == 50
    assert power_level("@eve:hub", ev, LEVELS) == 0
    assert power_level("@eve:hub", ev, {"users_default": 20}) == 20


def test_missing_power_levels_event():
    # Before v12 the creator has 100 and everyone else 0; v1-10 name the creator in content.
    assert power_level(ALICE, create("10", sender=BOB, creator=ALICE), None) == 100
    assert power_level(BOB, create("10", sender=BOB, creator=ALICE), None) == 0
    assert power_level(ALICE, create("11"), None) == 100
    assert power_level(BOB, create("11"), None) == 0
    # v12: creators unlimited, everyone else 0.
    assert power_level(ALICE, create("12", additional_creators=[DAVE]), None) == CREATOR_POWER
    assert power_level(DAVE, create("12", additional_creators=[DAVE]), None) == CREATOR_POWER
    assert power_level(BOB, create("12"), None) == 0
    # No create event known at all: only the power levels count.
    assert power_level(BOB, None, LEVELS) == 50
    assert power_level(ALICE, None, None) == 0


@pytest.mark.parametrize("levels, expected", [
    ({"users": {BOB: "50"}}, 50),               # numeric strings (old room versions)
    ({"users": {BOB: True}}, 0),                # a boolean is no level
    ({"users": {BOB: "lots"}, "users_default": 10}, 10),
    ({"users": [BOB], "users_default": "5"}, 5),
    ({"users_default": None}, 0),
    ("not a dict", 0),
])
def test_hostile_content_never_raises(levels, expected):
    assert power_level(BOB, create("11"), levels if isinstance(levels, dict) else None) == expected
    assert power_level(BOB, {"sender": 3, "content": "x"}, None) == 0
    assert creators({"sender": None, "content": {"room_version": "12", "additional_creators": "x"}}) == set()


def _state(room_id: str, power: RoomPower, *events: dict) -> None:
    power.observe_all(room_id, events)


def _levels(users: dict) -> dict:
    return {"type": "m.room.power_levels", "state_key": "", "sender": ALICE, "content": {"users": users}}


def _child(room_id: str, via: list | None) -> dict:
    return {"type": "m.space.child", "state_key": room_id, "sender": ALICE,
            "content": {"via": via} if via is not None else {}}


def test_room_power_follows_sync_state_latest_wins():
    power = RoomPower()
    _state("!r", power, create("12", additional_creators=[DAVE]), _levels({BOB: 50}))
    assert power.knows("!r") and not power.knows("!other")
    assert power.level_of("!r", ALICE) == power.level_of("!r", DAVE) == CREATOR_POWER
    assert power.level_of("!r", BOB) == 50
    power.observe("!r", _levels({BOB: 0}))
    assert power.level_of("!r", BOB) == 0
    power.observe("!r", {"type": "m.room.power_levels", "sender": ALICE, "content": {"users": {BOB: 99}}})
    assert power.level_of("!r", BOB) == 0, "a timeline event without state_key is not state"
    power.forget("!r")
    assert power.level_of("!r", ALICE) == 0 and not power.knows("!r")


def test_space_moderators_are_moderators_of_its_children_only():
    power = RoomPower(space_id="!space")
    _state("!space", power, create("12", type="m.space"), _levels({BOB: 50, CAROL: 49}),
           _child("!child", ["hub"]), _child("!nochild", []), _child("!bad", "hub"))
    _state("!child", power, create("11", sender=CAROL), _levels({CAROL: 100}))
    _state("!outside", power, create("12", sender=CAROL))
    assert power.level_of("!child", BOB) == FACILITATOR_POWER_LEVEL
    assert power.level_of("!child", ALICE) == FACILITATOR_POWER_LEVEL  # the Space's (v12) creator
    assert power.level_of("!child", CAROL) == 100  # her own level in the room stays
    assert power.level_of("!child", DAVE) == 0
    for room in ("!outside", "!nochild", "!bad"):
        assert power.level_of(room, BOB) == 0, room
    assert power.level_of("!space", BOB) == 50  # the Space itself: its own levels
    # The child is removed (empty content), then the moderator steps down: rights go.
    power.observe("!space", _child("!child", None))
    assert power.level_of("!child", BOB) == 0
    power.observe("!space", _child("!child", ["hub"]))
    assert power.level_of("!child", BOB) == FACILITATOR_POWER_LEVEL
    power.observe("!space", _levels({}))
    assert power.level_of("!child", BOB) == 0
    # Without bot.space configured a Space grants nothing.
    assert RoomPower().level_of("!child", BOB) == 0


def test_access_turns_creator_power_into_the_room_role_never_more():
    access = Access(admins=[], facilitators=[], allowed_users=["*"], own_server=None)
    power = RoomPower()
    _state("!r", power, create("12"))
    level = power.level_of("!r", ALICE)
    assert access.role_of(ALICE, level, room_grants=True) == Role.ROOM_FACILITATOR
    assert access.role_of(ALICE, level, room_grants=False) == Role.MEMBER  # direct chat: nothing


@pytest.mark.parametrize("value, expected", [
    ("#hub:example.org", "#hub:example.org"), ("!AbC123xyz", "!AbC123xyz"), ("!old:example.org", "!old:example.org"),
    ("  ", None), (None, None),
])
def test_bot_space_takes_an_alias_or_a_room_id(value, expected):
    from config.settings import BotSettings

    assert BotSettings(space=value).space == expected


@pytest.mark.parametrize("value", ["hub", "#hub", "! x", "@user:example.org", "#" + "x" * 300 + ":example.org"])
def test_bot_space_refuses_anything_else_with_a_clear_message(value):
    from pydantic import ValidationError

    from config.settings import BotSettings

    with pytest.raises(ValidationError, match="expected the Space's room id"):
        BotSettings(space=value)


class _Client:
    """Answers room_resolve_alias / join / room_get_state from a script (error paths only;
    the real homeserver's answers are tested in tests/runtime/test_space_roles_e2e.py)."""

    def __init__(self, *answers, rooms=()):
        self.answers = list(answers)
        self.calls: list[tuple] = []
        self.rooms = {r: object() for r in rooms}

    async def _next(self, *call):
        self.calls.append(call)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def room_resolve_alias(self, alias):
        return await self._next("resolve", alias)

    async def join(self, room_id):
        return await self._next("join", room_id)

    async def room_get_state(self, room_id):
        return await self._next("state", room_id)


async def test_space_alias_resolved_once_retrying_while_the_homeserver_is_away(caplog):
    import asyncio

    from aiohttp import ClientConnectionError

    from bot.matrix.power import join_space, resolve_space

    stopping = asyncio.Event()
    assert await resolve_space(_Client(), "!space", stopping) == "!space"  # a room id: no request
    client = _Client(ClientConnectionError("down"), SimpleNamespace(room_id="!resolved"))
    assert await resolve_space(client, "#hub:hub", stopping, max_backoff=0.01) == "!resolved"
    assert client.calls == [("resolve", "#hub:hub")] * 2
    missing = _Client(SimpleNamespace(status_code="M_NOT_FOUND", message="Room alias not found"))
    assert await resolve_space(missing, "#nohub:hub", stopping) is None
    assert "roles from the Space are off" in caplog.text

    joined = _Client(rooms=["!space"])
    await join_space(joined, "!space")
    await join_space(joined, None)
    assert joined.calls == []
    refused = _Client(SimpleNamespace(status_code="M_FORBIDDEN", message="not invited"))
    await join_space(refused, "!space")
    assert refused.calls == [("join", "!space")] and "invite the bot to it" in caplog.text


async def test_state_read_once_when_sync_has_not_shown_the_create_event():
    power = RoomPower()
    power.observe("!r", _levels({BOB: 50}))
    client = _Client(SimpleNamespace(events=[create("12", sender=ALICE)]))
    assert await power.sender_level(client, "!r", ALICE) == CREATOR_POWER
    assert await power.sender_level(client, "!r", BOB) == 50
    assert client.calls == [("state", "!r")]  # known now: no second request
    failing = _Client(OSError("down"))
    assert await power.sender_level(failing, "!other", BOB) == 0
    assert await power.sender_level(failing, "!other", BOB) == 0
    assert failing.calls == [("state", "!other")]  # not again on every message
