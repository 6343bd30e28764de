"""A direct room is opened once even when the bot dies between creating the room and
recording it, against a real Synapse, with the transport in-process so the fault sits
exactly between the two steps (the introduction rooms' twin: test_open_room_once_e2e):

- crash after the room was created, before it was recorded: the retry (a new transport,
  as after a restart) finds the unnamed room the bot made with that person and sends the
  message there; the person is invited once;
- crash after the intent was kept, before the room was created: the retry creates it once;
- a room the person made with the bot, or one with a third member, is never taken for it."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from bot.framework import effects
from bot.framework.messages import Outgoing
from bot.matrix.transport import MatrixTransport, direct_intent_key
from storage.models.core import DirectRoom, KeyValue, OutboxMessage
from support.matrix_user import MatrixUser
from support.quiescence import until
from support.transport_crash import bot_account, send_dying_at, send_dying_before_create

pytestmark = pytest.mark.e2e


@pytest.fixture
async def sender(synapse, tmp_path):
    async with bot_account(synapse, tmp_path, "dmsender") as pair:
        yield pair


def _row(to_user: str, text: str) -> OutboxMessage:
    [values] = effects.build_rows([Outgoing(text, to_user=to_user)], origin="test",
                                  key=f"$dm-{uuid.uuid4().hex}")
    return OutboxMessage(**values)


async def _rooms_with(user: MatrixUser, other: str) -> list[str]:
    joined = await user.client.joined_rooms()
    out = []
    for room_id in joined.rooms:
        members = await user.client.joined_members(room_id)
        state = await user.client.room_get_state_event(room_id, "m.room.member", other)
        if other in [m.user_id for m in getattr(members, "members", [])] or \
                (getattr(state, "content", None) or {}).get("membership") == "invite":
            out.append(room_id)
    return out


async def _deliver_after_restart(user, db, row, bob) -> str:
    # The restarted bot's first sync knows the room the crashed one created.
    result = await MatrixTransport(user.client, db).send(row)
    while result.retry_after is not None:      # the new room is not synced yet: the outbox's retry
        await asyncio.sleep(0.5)
        result = await MatrixTransport(user.client, db).send(row)
    assert result.event_id, result
    await until(lambda: bool(bob.invites), 30, "bob's invitation")
    await asyncio.sleep(1.0)   # a second room, if any, would have been created by now
    rooms = await _rooms_with(user, bob.user_id)
    assert len(rooms) == 1, rooms
    assert set(bob.invites) == set(rooms), bob.invites      # bob was invited once, to that room
    async with db.session() as s:
        assert (await s.get(DirectRoom, bob.user_id)).room_id == rooms[0]
        assert await s.get(KeyValue, direct_intent_key(bob.user_id)) is None   # the intent is gone
    # The same row again (a resend): same room, the homeserver dedups the message.
    again = await MatrixTransport(user.client, db).send(row)
    assert again.event_id == result.event_id
    return rooms[0]


async def test_crash_between_creating_and_recording_the_direct_room_makes_no_second_room(sender, bob):
    user, db = sender
    bob.auto_join = False
    row = _row(bob.user_id, f"hello {uuid.uuid4().hex[:6]}")
    await send_dying_at(user, db, row, "_record_direct_room")
    assert len(await _rooms_with(user, bob.user_id)) == 1    # the room exists, unrecorded
    async with db.session() as s:
        assert (await s.scalars(select(DirectRoom))).all() == []
        assert (await s.get(KeyValue, direct_intent_key(bob.user_id))).value == bob.user_id
    await until(lambda: any(bob.user_id in r.invited_users for r in user.client.rooms.values()), 30,
                "the new room in the sender's sync")
    await _deliver_after_restart(user, db, row, bob)


async def test_crash_before_the_direct_room_was_created_creates_it_once(sender, bob):
    user, db = sender
    bob.auto_join = False
    row = _row(bob.user_id, f"hello {uuid.uuid4().hex[:6]}")
    await send_dying_before_create(user, db, row)
    assert await _rooms_with(user, bob.user_id) == []          # only the intent was kept
    await _deliver_after_restart(user, db, row, bob)


async def test_a_room_someone_else_made_or_shared_is_not_taken_for_the_direct_room(sender, bob, alice):
    user, db = sender
    bob.auto_join = True
    theirs = await bob.create_room(invite=[user.user_id])                    # bob made it
    await until(lambda: theirs in user.client.rooms, 30, "bob's room joined")   # the sender joins on invitation
    shared = (await user.client.room_create(invite=[bob.user_id, alice.user_id])).room_id  # a third member
    await until(lambda: theirs in user.client.rooms and shared in user.client.rooms, 30, "both rooms synced")
    # As a restart may see it: nio's view a sync behind (alice's invitation not in it yet).
    user.client.rooms[shared].invited_users.pop(alice.user_id, None)
    user.client.rooms[shared].users.pop(alice.user_id, None)
    async with db.transaction() as s:                                          # an interrupted creation
        s.add(KeyValue(key=direct_intent_key(bob.user_id), value=bob.user_id))
    room_id = await MatrixTransport(user.client, db).direct_room(bob.user_id)
    assert room_id not in (theirs, shared)
