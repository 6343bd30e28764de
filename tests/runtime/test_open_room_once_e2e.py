"""An introduction room is opened once even when the bot dies between creating the room
and recording it (issue 20 polish), against a real Synapse, with the transport in-process
so the fault can sit exactly between the two steps:

- crash after the room was created, before its id was kept: the retry (a new transport,
  as after a restart) finds the room by its alias and posts into it; no second room;
- crash after the intent was kept, before the room was created: the retry creates it once;
- the record lost altogether (a database restored from before it): the homeserver refuses
  the alias, the retry resolves it: still one room.

Each case counts the rooms the invited person was invited to and the bot is in."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import delete

from bot.framework import effects
from bot.matrix.transport import MatrixTransport
from storage.models.core import KeyValue, OutboxMessage
from support.matrix_user import MatrixUser
from support.quiescence import until
from support.transport_crash import bot_account, send_dying_at, send_dying_before_create

pytestmark = pytest.mark.e2e


@pytest.fixture
async def opener(synapse, tmp_path):
    async with bot_account(synapse, tmp_path, "opener") as pair:
        yield pair


def _row(invite, name) -> OutboxMessage:
    out = effects.open_room_outgoing("Meet each other: **hello**", invite=tuple(invite), name=name)
    [values] = effects.build_rows([out], origin="introduction", key=f"$intro-{uuid.uuid4().hex}")
    return OutboxMessage(**values)


async def _rooms_named(user: MatrixUser, name: str) -> list[str]:
    joined = await user.client.joined_rooms()
    out = []
    for room_id in joined.rooms:
        resp = await user.client.room_get_state_event(room_id, "m.room.name")
        if (getattr(resp, "content", None) or {}).get("name") == name:
            out.append(room_id)
    return out


async def _deliver_after_restart(user, db, row, bob, name):
    result = await MatrixTransport(user.client, db).send(row)
    assert result.event_id, result
    await until(lambda: any(r for r in bob.invites), 30, "bob's invitation")
    await asyncio.sleep(1.0)   # a second room, if any, would have been created by now
    rooms = await _rooms_named(user, name)
    assert len(rooms) == 1, rooms
    assert set(bob.invites) == set(rooms), bob.invites    # bob (fresh) was invited once, to that room
    # Sent twice more (a resend of the same row): same room, the homeserver dedups the message.
    again = await MatrixTransport(user.client, db).send(row)
    assert again.event_id == result.event_id
    assert await _rooms_named(user, name) == rooms
    return rooms[0]


async def test_crash_between_creating_and_recording_the_room_makes_no_second_room(opener, bob):
    user, db = opener
    bob.auto_join = False
    name = f"intro-{uuid.uuid4().hex[:8]}"
    row = _row([bob.user_id], name)
    await send_dying_at(user, db, row, "_remember_room")
    assert len(await _rooms_named(user, name)) == 1       # the room exists, unrecorded
    await _deliver_after_restart(user, db, row, bob, name)


async def test_crash_before_the_room_was_created_creates_it_once(opener, bob):
    user, db = opener
    bob.auto_join = False
    name = f"intro-{uuid.uuid4().hex[:8]}"
    row = _row([bob.user_id], name)
    await send_dying_before_create(user, db, row)
    assert await _rooms_named(user, name) == []            # only the intent was kept
    await _deliver_after_restart(user, db, row, bob, name)


async def test_a_lost_record_still_finds_the_room_by_its_alias(opener, bob):
    user, db = opener
    bob.auto_join = False
    name = f"intro-{uuid.uuid4().hex[:8]}"
    row = _row([bob.user_id], name)
    await send_dying_at(user, db, row, "_remember_room")
    async with db.transaction() as s:                       # no intent, no room id
        gone = await s.execute(delete(KeyValue).where(KeyValue.key == f"open_room:{row.txn_id}"[:100]))
        assert gone.rowcount == 1
    await _deliver_after_restart(user, db, row, bob, name)
