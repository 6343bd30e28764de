"""Snoozing a reminder in a real Synapse: the reminder arrives; a reply "later" to it (a
real m.in_reply_to reply) plans it again 15 minutes on and the bot answers with a ✅
reaction on that reply; a ⏰ reaction on the reminder does the same (✅ on the reminder);
the same snooze twice plans one reminder, someone else's ⏰ does nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models.core import ScheduledJob
from support.e2e_helpers import body_of, relates_of
from support.matrix_user import type_of
from support.quiescence import quiescent

pytestmark = pytest.mark.e2e


def _pending_reminders(bot):
    engine = create_engine(f"sqlite:///{bot.workdir / 'data' / 'dsih-bot.sqlite3'}", connect_args={"timeout": 15})
    with Session(engine) as s:
        return [(r.id, r.run_at.replace(tzinfo=timezone.utc), r.payload.get("text")) for r in s.scalars(
            select(ScheduledJob).where(ScheduledJob.kind == "reminder", ScheduledJob.status == "pending"))]


def _check_on(bot_id, event_id):
    return lambda ev: (getattr(ev, "sender", None) == bot_id and type_of(ev) == "m.reaction"
                       and relates_of(ev).get("event_id") == event_id and relates_of(ev).get("key") == "✅")


async def test_reply_later_or_alarm_clock_snoozes_a_reminder(alice, bob, bot, room, ask):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    mark = alice.mark()
    await ask(alice, room, "!remindme 5s bel de wethouder", bot_id=bot.user_id)
    reminder = await alice.wait_for(lambda ev: getattr(ev, "sender", None) == bot.user_id
                                    and "bel de wethouder" in body_of(ev) and "remind you" in body_of(ev),
                                    since=mark, timeout=60)
    assert "later" in body_of(reminder) and "⏰" in body_of(reminder)

    # A real reply: m.in_reply_to, the bot mentioned (as Element does for a reply).
    resp = await alice.client.room_send(room, "m.room.message", {
        "msgtype": "m.text", "body": "later", "m.mentions": {"user_ids": [bot.user_id]},
        "m.relates_to": {"m.in_reply_to": {"event_id": reminder.event_id}}})
    await alice.wait_for(_check_on(bot.user_id, resp.event_id), since=mark, timeout=30)
    pending = _pending_reminders(bot)
    assert len(pending) == 1 and pending[0][2] == "bel de wethouder"
    later = pending[0][1] - datetime.now(timezone.utc)
    assert timedelta(minutes=14) < later <= timedelta(minutes=15, seconds=5)

    # Someone else's ⏰ does nothing; alice's ⏰ on the reminder: ✅ on it, still one reminder.
    await bob.client.room_send(room, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": reminder.event_id, "key": "⏰"}})
    await alice.client.room_send(room, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": reminder.event_id, "key": "⏰"}})
    await alice.wait_for(_check_on(bot.user_id, reminder.event_id), since=mark, timeout=30)
    await quiescent(bot, [alice, bob])
    assert len(_pending_reminders(bot)) == 1
    assert len([e for e in alice.events[mark:] if _check_on(bot.user_id, reminder.event_id)(e)]) == 1
    listed = await ask(alice, room, "!reminders", bot_id=bot.user_id)
    assert body_of(listed).count("bel de wethouder") == 1
