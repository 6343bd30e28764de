"""The foundation in a real room: joining, help in two languages, replies, threads,
direct messages, mentions, encryption, unknown commands, the allow-list, leaving."""
from __future__ import annotations

import asyncio

import pytest

from support.e2e_helpers import body_of, html_of, relates_of
from support.matrix_user import content_of

pytestmark = pytest.mark.e2e


async def test_invite_join_and_ping_is_a_threaded_notice_reply(alice, bot, room, ask):
    mark = alice.mark()
    await alice.send_text(room, "!ping")
    reply = await alice.wait_for_reply(room, bot.user_id, since=mark)
    content = content_of(reply)
    assert content["msgtype"] == "m.notice"
    assert body_of(reply) == "Pong!"
    assert content["format"] == "org.matrix.custom.html" and "Pong!" in html_of(reply)
    command_id = [e for e in alice.events[mark:] if getattr(e, "sender", None) == alice.user_id][0].event_id
    assert relates_of(reply)["m.in_reply_to"]["event_id"] == command_id


async def test_help_in_english_and_dutch(alice, bot, room, ask):
    english = await ask(alice, room, "!help", bot_id=bot.user_id)
    assert "Show what I can do" in body_of(english)
    assert "<strong>" in html_of(english)
    dutch = await ask(alice, room, "!hulp", bot_id=bot.user_id)
    assert "Toon wat ik kan" in body_of(dutch)
    await ask(alice, room, "!lang nl", bot_id=bot.user_id)
    saved = await ask(alice, room, "!help ping", bot_id=bot.user_id)
    assert "Controleer of ik wakker ben" in body_of(saved)
    plain_dutch_question = await ask(alice, room, "!help remindme", bot_id=bot.user_id)
    assert "Gebruik:" in body_of(plain_dutch_question)


async def test_reply_stays_in_thread(alice, bot, room, ask):
    root = await alice.send_text(room, "a thread about funding")
    reply = await ask(alice, room, "!ping", bot_id=bot.user_id, thread_root=root)
    rel = relates_of(reply)
    assert rel["rel_type"] == "m.thread" and rel["event_id"] == root
    assert "m.in_reply_to" in rel


async def test_direct_message_needs_no_prefix(alice, bot):
    dm = await alice.create_room(invite=[bot.user_id], is_direct=True)
    await alice.wait_joined(dm, bot.user_id, timeout=30)
    mark = alice.mark()
    await alice.send_text(dm, "ping")
    reply = await alice.wait_for_reply(dm, bot.user_id, since=mark)
    assert body_of(reply) == "Pong!"


async def test_mention_by_name_and_by_m_mentions(alice, bot, room, ask):
    localpart = bot.user_id.split(":")[0][1:]
    by_name = await ask(alice, room, f"{localpart}: ping", bot_id=bot.user_id)
    assert body_of(by_name) == "Pong!"
    pill = f'<a href="https://matrix.to/#/{bot.user_id}">{localpart}</a>: ping'
    by_pill = await ask(alice, room, f"{localpart}: ping", bot_id=bot.user_id, formatted_body=pill,
                        mentions=[bot.user_id])
    assert body_of(by_pill) == "Pong!"
    # Not addressed to the bot, or a notice (what other bots send): no answer.
    mark = alice.mark()
    await alice.send_text(room, "ping everyone")
    await alice.send_text(room, "!ping", msgtype="m.notice")
    assert await alice.collect(room, bot.user_id, 2.0, since=mark) == []


async def test_encrypted_room_round_trip(alice, bot):
    room_id = await alice.create_room(invite=[bot.user_id], encrypted=True)
    await alice.wait_joined(room_id, bot.user_id, timeout=30)
    mark = alice.mark()
    await alice.send_text(room_id, "!ping")
    reply = await alice.wait_for_reply(room_id, bot.user_id, since=mark, timeout=40)
    assert body_of(reply) == "Pong!"
    assert type(reply).__name__ != "MegolmEvent"  # it was decrypted, i.e. the bot encrypted it


async def test_undecryptable_message_is_reported_once(alice, bot, room):
    bogus = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnB5", "sender_key": "x" * 43,
             "session_id": "s" * 43, "device_id": "NOPE"}
    mark = alice.mark()
    await alice.send_event(room, bogus, event_type="m.room.encrypted")
    reply = await alice.wait_for_reply(room, bot.user_id, since=mark)
    assert "could not decrypt" in body_of(reply)
    await alice.send_event(room, bogus, event_type="m.room.encrypted")
    assert len(await alice.collect(room, bot.user_id, 3.0, since=mark)) == 1


async def test_unknown_command_suggests_close_names(alice, bot, room, ask):
    reply = await ask(alice, room, "!pnig", bot_id=bot.user_id)
    assert "!pnig" in body_of(reply) and "!ping" in body_of(reply)


async def test_html_in_commands_is_escaped(alice, bot, room, ask):
    reply = await ask(alice, room, "!help <script>alert(1)</script>", bot_id=bot.user_id)
    assert "<script" not in html_of(reply)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_of(reply)  # shown back as text
    bad = await ask(alice, room, '!remindme <b>soon</b> "unbalanced', bot_id=bot.user_id)
    assert "<b>" not in html_of(bad) and "Usage" in body_of(bad)


@pytest.mark.parametrize("bot_options", [{"bot": {"allowed_users": ["@alice*:localhost"]}}])
async def test_users_outside_the_allow_list_are_ignored(alice, bob, bot, bot_options):
    # bob may not invite the bot ...
    bobs_room = await bob.create_room(invite=[bot.user_id])
    bot.wait_log(f"declining invitation to {bobs_room}", timeout=20)
    # ... nor use it in alice's room.
    room_id = await alice.create_room(invite=[bot.user_id, bob.user_id])
    await alice.wait_joined(room_id, bot.user_id, timeout=30)
    await bob.join(room_id)
    mark = bob.mark()
    await bob.send_text(room_id, "!ping")
    assert await bob.collect(room_id, bot.user_id, 3.0, since=mark) == []
    mark = alice.mark()
    await alice.send_text(room_id, "!ping")
    assert body_of(await alice.wait_for_reply(room_id, bot.user_id, since=mark)) == "Pong!"


async def test_bot_leaves_when_it_is_the_last_member(alice, bot, room):
    await alice.client.room_leave(room)
    bot.wait_log(f"leaving {room}", timeout=20)


async def test_long_answers_are_paged_and_more_continues(alice, bot, room, ask):
    for i in range(7):
        await ask(alice, room, f"!remindme {i + 1}d item {i}", bot_id=bot.user_id)
    first = await ask(alice, room, "!reminders", bot_id=bot.user_id)
    assert "item 0" in body_of(first) and "item 6" not in body_of(first) and "!more" in body_of(first)
    second = await ask(alice, room, "!more", bot_id=bot.user_id)
    assert "item 6" in body_of(second)
    done = await ask(alice, room, "!more", bot_id=bot.user_id)
    assert "nothing more" in body_of(done)


async def test_sigterm_exits_cleanly_and_quickly(alice, bot, room, ask):
    await ask(alice, room, "!ping", bot_id=bot.user_id)
    loop = asyncio.get_running_loop()
    start = loop.time()
    code = await asyncio.to_thread(bot.terminate, 15)
    assert code == 0
    assert loop.time() - start < 8
    assert "stopped" in bot.log()


async def test_bot_follows_a_room_upgrade(synapse, alice, bot, room, ask):
    # A public room (in an invite-only one the upgrader must invite the bot again, as any member).
    await alice.client.room_put_state(room, "m.room.join_rules", {"join_rule": "public"})
    new_room = synapse.api("POST", f"/_matrix/client/v3/rooms/{room}/upgrade", {"new_version": "10"},
                           access_token=alice.access_token)["replacement_room"]
    bot.wait_log(f"followed the upgrade of {room} to {new_room}", timeout=30)
    await alice.wait_room_known(new_room)
    reply = await ask(alice, new_room, "!ping", bot_id=bot.user_id)
    assert body_of(reply) == "Pong!"
