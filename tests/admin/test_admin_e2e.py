"""Admin in chat and privacy requests in a real Synapse: the admin (alice) sees the status
with `!admin stats`; a member (bob) is refused it, sees what the bot holds about him with
`!mydata` and deletes it with `!mydata delete` + confirmation; the admin's announcement
arrives once in every room the bot is in, formatted and with raw HTML escaped."""
from __future__ import annotations

import re

import pytest

from support.e2e_helpers import body_of, html_of

pytestmark = pytest.mark.e2e


async def test_admin_stats_mydata_delete_and_announce(alice, bob, bot, room, ask):
    await ask(alice, room, "!lang en", bot_id=bot.user_id)
    stats = await ask(alice, room, "!admin stats", bot_id=bot.user_id)
    text = body_of(stats)
    assert re.search(r"Rooms: [1-9]", text) and "Funding instruments: 41" in text and "Running since" in text, text

    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    refused = await ask(bob, room, "!admin stats", bot_id=bot.user_id)
    assert "Only an admin of the bot can use !admin stats." in body_of(refused) and "Rooms:" not in body_of(refused)

    await ask(bob, room, "!remindme 2h call the province about the heat plan", bot_id=bot.user_id)
    mine = body_of(await ask(bob, room, "!mydata", bot_id=bot.user_id))
    assert "personal reminders: 1" in mine and "call the province" in mine, mine
    asked = body_of(await ask(bob, room, "!mydata delete", bot_id=bot.user_id))
    assert "!mydata delete confirm" in asked and "within 10 minutes" in asked, asked
    done = body_of(await ask(bob, room, "!mydata delete confirm", bot_id=bot.user_id))
    assert done.startswith("Done: I deleted"), done
    assert "I hold no data about you" in body_of(await ask(bob, room, "!mydata", bot_id=bot.user_id))

    # A second room: `all` reaches both, each exactly once.
    other = await alice.create_room(invite=[bot.user_id], name="dsih e2e 2")
    await alice.wait_joined(other, bot.user_id, timeout=30)
    mark_bob, mark_alice = bob.mark(), alice.mark()
    await alice.send_text(room, "!admin announce all **Hub day** on 3 December <b>bring a laptop</b>")
    reply = await alice.wait_for_reply(room, bot.user_id, since=mark_alice, timeout=30,
                                       predicate=lambda ev: "queued" in body_of(ev))
    assert "Announcement queued for 2 rooms." in body_of(reply), body_of(reply)
    is_announcement = lambda ev: "Hub day" in body_of(ev)   # noqa: E731
    seen = await bob.wait_for_reply(room, bot.user_id, since=mark_bob, predicate=is_announcement, timeout=30)
    assert "<strong>Hub day</strong>" in html_of(seen) and "<b>" not in html_of(seen), html_of(seen)
    await alice.wait_for_reply(other, bot.user_id, since=mark_alice, predicate=is_announcement, timeout=30)
    later = await alice.collect(other, bot.user_id, 3, since=mark_alice)
    assert sum(1 for ev in later if is_announcement(ev)) == 1
    assert sum(1 for ev in bob.messages(room, bot.user_id, since=mark_bob) if is_announcement(ev)) == 1
