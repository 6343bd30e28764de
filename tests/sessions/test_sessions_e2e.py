"""Peer-review sessions in a real Synapse: plan -> join -> the reminder arrives exactly
once (DM and room notice) -> move -> a new reminder -> cancel -> everyone told; members
refused every facilitator command in their own room with the bot; a reminder due while
the bot is killed arrives exactly once after the restart."""
from __future__ import annotations

import asyncio

import pytest

from support.e2e_helpers import body_of
from support.quiesce import wait_delivered
from support.quiescence import quiescent

pytestmark = pytest.mark.e2e

# Reminders one minute before the start; sessions start ~70-80 s after planning, so a
# reminder is due 10-20 s later.
SESSIONS = {"sessions": {"reminders": ["1m"]}}


def _from_bot(bot_id, needle):
    return lambda ev: getattr(ev, "sender", None) == bot_id and needle in body_of(ev)


def _dm_from_bot(bot_id, needle, room_id):
    """A direct message: from the bot, containing needle, in any room but `room_id`."""
    return lambda ev: _from_bot(bot_id, needle)(ev) and ev.room_id != room_id


def _count(user, mark, bot_id, needle, room_id=None):
    return len([e for e in user.events[mark:] if _from_bot(bot_id, needle)(e)
                and (room_id is None or e.room_id == room_id)])


@pytest.mark.parametrize("bot_options", [SESSIONS])
async def test_plan_join_remind_move_cancel(alice, bob, bot, room, ask, bot_options):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    planned = await ask(alice, room, '!session new "Groene daken Zwolle" in 70 seconds --project "Subsidieregeling groene daken"',
                        bot_id=bot.user_id, timeout=60)
    assert "Planned session 1" in body_of(planned) and "CET" in body_of(planned)
    bob_mark, alice_mark = bob.mark(), alice.mark()
    joined = await ask(bob, room, "!session join 1", bot_id=bot.user_id)
    assert "You take part" in body_of(joined)

    # The reminder: one DM to bob, one notice in the room; never a second one.
    dm = await bob.wait_for(_dm_from_bot(bot.user_id, "Reminder: #1", room), since=bob_mark, timeout=60)
    await alice.wait_for(_from_bot(bot.user_id, "Reminder: #1"), since=alice_mark, timeout=30)
    await quiescent(bot, [alice, bob])  # nothing due left, all delivered
    assert _count(bob, bob_mark, bot.user_id, "Reminder: #1", room_id=dm.room_id) == 1
    assert _count(alice, alice_mark, bot.user_id, "Reminder: #1", room_id=room) == 1

    # Moved: bob is told, and a new reminder follows the new time.
    mark = bob.mark()
    moved = await ask(alice, room, "!session move 1 in 80 seconds", bot_id=bot.user_id)
    assert "moved to" in body_of(moved)
    await bob.wait_for(_dm_from_bot(bot.user_id, "has moved", room), since=mark, timeout=30)
    await bob.wait_for(_dm_from_bot(bot.user_id, "Reminder: #1", room), since=mark, timeout=60)
    mark_a = alice.mark()
    await alice.send_text(room, "!session 1")
    shown = await alice.wait_for_reply(room, bot.user_id, since=mark_a, timeout=30,
                                       predicate=lambda ev: "Reminders:" in body_of(ev))
    # Both reminders (before and after the move) went out, each once, visible to the facilitator.
    assert body_of(shown).count("1min before: sent") == 2

    mark = bob.mark()
    cancelled = await ask(alice, room, "!session cancel 1 the presenter is ill", bot_id=bot.user_id)
    assert "is cancelled" in body_of(cancelled)
    told = await bob.wait_for(_dm_from_bot(bot.user_id, "is cancelled", room), since=mark, timeout=30)
    assert "the presenter is ill" in body_of(told)


FACILITATOR_COMMANDS = ['!session new "Mijn sessie" morgen 14:00', "!session move 1 overmorgen 10:00",
                        "!session cancel 1", "!session assign 1 {me} presenter", "!funding set horizon-mission-soil-2027 status closed",
                        "!request accept 1", '!session poll "Wanneer?" morgen 10:00 | overmorgen 10:00',
                        "!session poll close 1", "!session report 1", "!session format 1 intervisie"]


@pytest.mark.parametrize("bot_options", [{"bot": {"rate_limit_count": 1000}}])
async def test_member_in_own_room_with_the_bot_is_refused_everything(alice, bob, bot, room, ask, bot_options):
    # A session exists (planned by alice, an admin), so refusals are not "no such session".
    await ask(alice, room, '!session new "Echte sessie" morgen 14:00', bot_id=bot.user_id, timeout=60)
    await ask(alice, room, "!lab request the-green-village heat-stress sensors on a square", bot_id=bot.user_id)
    # bob opens a direct chat with the bot: power level 100 for bob there.
    dm = await bob.create_room(invite=[bot.user_id], is_direct=True)
    await bob.wait_joined(dm, bot.user_id, timeout=30)
    # ... and a room of only bob and the bot, where bob is admin too.
    own = await bob.create_room(invite=[bot.user_id], name="bob's own room")
    await bob.wait_joined(own, bot.user_id, timeout=30)
    for room_id in (dm, own):
        for command in FACILITATOR_COMMANDS:
            reply = await ask(bob, room_id, command.format(me=bob.user_id), bot_id=bot.user_id, timeout=30)
            assert "🔒" in body_of(reply), (command, body_of(reply))
    listed = await ask(bob, dm, "!sessions", bot_id=bot.user_id)
    assert "#1" in body_of(listed) and "#2" not in body_of(listed)


@pytest.mark.parametrize("bot_options", [SESSIONS])
async def test_reminder_due_while_killed_arrives_once(alice, bob, bot, room, ask, bot_options):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    await ask(alice, room, '!session new "Herstart" in 75 seconds', bot_id=bot.user_id, timeout=60)
    mark = bob.mark()
    await ask(bob, room, "!session join 1", bot_id=bot.user_id)
    await bot.akill()
    await asyncio.sleep(20)  # the scenario: the reminder fell due (at ~15 s) while the bot was down
    await bot.astart()
    dm = await bob.wait_for(_dm_from_bot(bot.user_id, "Reminder: #1", room), since=mark, timeout=60)
    state = await bot.quiescent(timeout=60)  # nothing due or unsent any more
    await wait_delivered(bob, state, room)
    assert _count(bob, mark, bot.user_id, "Reminder: #1", room_id=dm.room_id) == 1
    assert _count(bob, mark, bot.user_id, "Reminder: #1", room_id=room) == 1
    # Killed again right after it was sent: still one.
    await bot.akill()
    await bot.astart()
    probe = await bob.send_text(room, "!ping")  # the restarted bot has synced and worked
    state = await bot.quiescent(handled=[probe], timeout=60)
    await wait_delivered(bob, state, room)
    assert _count(bob, mark, bot.user_id, "Reminder: #1", room_id=dm.room_id) == 1
    assert _count(bob, mark, bot.user_id, "Reminder: #1", room_id=room) == 1
