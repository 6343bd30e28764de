"""Nothing lost, nothing doubled: the bot is killed with SIGKILL, restarted, its
homeserver goes away, and rate limits bite."""
from __future__ import annotations

import asyncio

import pytest

from storage.funding.records import load_bundled
from support.botproc import BOT_PASSWORD, BotProcess
from support.e2e_helpers import body_of
from support.matrix_user import MatrixUser
from support.quiesce import replies_to, wait_delivered
from support.quiescence import quiescent
from support.synapse import SynapseServer

pytestmark = pytest.mark.e2e


def bot_messages(user, room_id, bot_id, since=0):
    return [e for e in user.messages(room_id, bot_id, since=since)]


async def test_kill_9_restart_answers_missed_command_once_and_old_ones_never(alice, bot, room, ask):
    answered = await ask(alice, room, "!ping", bot_id=bot.user_id)
    assert body_of(answered) == "Pong!"
    await bot.akill()
    mark = alice.mark()
    # Sent while the bot is down: must be answered exactly once after the restart.
    missed = await alice.send_text(room, "!help ping")
    await bot.astart()
    state = await bot.quiescent(handled=[missed])
    await wait_delivered(alice, state, room)
    replies = replies_to(alice, room, bot.user_id, missed)
    assert len(replies) == state.rows_for(missed) == 1, [body_of(e) for e in replies]
    assert "Check that I am awake" in body_of(replies[0])
    # The bot has handled a newer command and sent everything: the old !ping was not answered again.
    after = bot_messages(alice, room, bot.user_id, since=mark)
    assert after == replies and state.rows_for(answered.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]) == 1
    # Kill again right after a command, restart: still exactly one answer each.
    mark = alice.mark()
    about = await alice.send_text(room, "!about")
    await alice.wait_for_reply(room, bot.user_id, since=mark, timeout=30)
    await bot.akill()
    await bot.astart()
    ping = await alice.send_text(room, "!ping")
    state = await bot.quiescent(handled=[about, ping])
    await wait_delivered(alice, state, room)
    bodies = [body_of(e) for e in bot_messages(alice, room, bot.user_id, since=mark)]
    assert sum("dsih-bot" in b for b in bodies) == 1, bodies
    assert bodies.count("Pong!") == 1, bodies
    assert len(bodies) == 2, bodies


@pytest.mark.parametrize("bot_options", [{"bot": {"max_command_age": "PT3S"}}])
async def test_commands_older_than_max_age_are_not_answered(alice, bot, room, ask, bot_options):
    await ask(alice, room, "!ping", bot_id=bot.user_id)
    await bot.akill()
    mark = alice.mark()
    old = await alice.send_text(room, "!help")
    await asyncio.sleep(4)  # the scenario itself: older than max_command_age when the bot sees it
    await bot.astart()
    ping = await alice.send_text(room, "!ping")
    # The newer command is handled, so the sync holding the old one has been handled too.
    state = await bot.quiescent(handled=[ping], lookup=[old])
    await wait_delivered(alice, state, room)
    assert old not in state.handled and state.rows_for(old) == 0
    assert [body_of(e) for e in bot_messages(alice, room, bot.user_id, since=mark)] == ["Pong!"]


async def test_reminder_due_while_down_arrives_exactly_once(alice, bot, room, ask):
    confirm = await ask(alice, room, "!remindme 3s water the plants", bot_id=bot.user_id)
    assert "remind you" in body_of(confirm)
    await bot.akill()
    mark = alice.mark()
    await asyncio.sleep(5)  # the scenario itself: due while the bot is down
    await bot.astart()
    state = await bot.quiescent()
    await wait_delivered(alice, state, room)
    hits = [e for e in bot_messages(alice, room, bot.user_id, since=mark) if "water the plants" in body_of(e)]
    assert len(hits) == 1, [body_of(e) for e in hits]
    assert alice.user_id in str(hits[0].source["content"].get("m.mentions"))
    # Restart once more: it must not come again.
    await bot.akill()
    await bot.astart()
    probe = await alice.send_text(room, "!ping")  # proves the restarted bot has synced and worked
    state = await bot.quiescent(handled=[probe])
    await wait_delivered(alice, state, room)
    hits = [e for e in bot_messages(alice, room, bot.user_id, since=mark) if "water the plants" in body_of(e)]
    assert len(hits) == 1


async def test_reminder_while_running_arrives_once(alice, bot, room, ask):
    await ask(alice, room, "!remindme 2s stand up", bot_id=bot.user_id)
    mark = alice.mark()
    await alice.wait_for(lambda e: getattr(e, "sender", None) == bot.user_id and "stand up" in body_of(e),
                         timeout=30, since=mark)
    await quiescent(bot, [alice])
    hits = [e for e in bot_messages(alice, room, bot.user_id, since=mark) if "stand up" in body_of(e)]
    assert len(hits) == 1, [body_of(e) for e in hits]


@pytest.fixture
def private_synapse(tmp_path):
    server = SynapseServer(tmp_path / "hs-private")
    server.start()
    yield server
    server.stop()


async def test_bot_recovers_when_the_homeserver_restarts(private_synapse, tmp_path):
    hs = private_synapse
    bot_id = hs.register("dsihrecover", BOT_PASSWORD)
    user_id = hs.register("carol", "pw")
    bot = BotProcess(tmp_path / "bot", hs.url, bot_id)
    await bot.astart()
    carol = await MatrixUser.create(hs.url, user_id, "pw", tmp_path / "carol")
    try:
        room_id = await carol.create_room(invite=[bot_id])
        await carol.wait_joined(room_id, bot_id, timeout=30)
        mark = carol.mark()
        await carol.send_text(room_id, "!ping")
        await carol.wait_for_reply(room_id, bot_id, since=mark)
        # In a thread: the homeserver's blocking start/stop must not freeze carol's sync loop.
        await asyncio.to_thread(hs.stop)
        await bot.await_log("sync failed", timeout=40)  # the bot sees the homeserver gone and backs off
        await asyncio.to_thread(hs.start)
        await bot.await_log("homeserver reachable again", timeout=40)
        mark = carol.mark()
        await carol.send_text(room_id, "!ping")
        reply = await carol.wait_for_reply(room_id, bot_id, since=mark, timeout=40)
        assert body_of(reply) == "Pong!"
        assert bot.running
    finally:
        await carol.close()
        assert await bot.aterminate() == 0


async def test_every_reply_arrives_under_real_rate_limits(tmp_path):
    hs = SynapseServer(tmp_path / "hs-limited", real_rate_limits=True)
    hs.start()
    bot = None
    dave = None
    try:
        bot_id = hs.register("dsihlimited", BOT_PASSWORD)
        user_id = hs.register("dave", "pw")
        # Only the bot is limited: dave may send as fast as he likes, so the bot's replies hit the limit.
        hs.register("hsadmin", "pw", admin=True)
        _, admin_token, _ = hs.login_token("hsadmin", "pw")
        hs.api("POST", f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
               {"messages_per_second": 0, "burst_count": 0}, access_token=admin_token)
        bot = BotProcess(tmp_path / "bot", hs.url, bot_id, extra_bot={"rate_limit_count": 100})
        await bot.astart()
        dave = await MatrixUser.create(hs.url, user_id, "pw", tmp_path / "dave", encryption=False)
        room_id = await dave.create_room(invite=[bot_id])
        await dave.wait_joined(room_id, bot_id, timeout=30)
        mark = dave.mark()
        count = 14
        sent = [await dave.send_text(room_id, "!help ping") for _ in range(count)]
        state = await bot.quiescent(handled=sent, timeout=120)
        await wait_delivered(dave, state, room_id)
        replies = dave.messages(room_id, bot_id, since=mark)
        assert len(replies) == count, f"{len(replies)} of {count} replies arrived"
        assert all(len(replies_to(dave, room_id, bot_id, ev)) == 1 for ev in sent)
        assert "rate limited" in bot.log()  # the limit really was hit
    finally:
        if dave:
            await dave.close()
        if bot:
            await bot.aterminate()
        await asyncio.to_thread(hs.stop)


async def test_restarts_keep_one_device_and_secrets_stay_out_of_logs(synapse, alice, bot, room, ask):
    creds = bot.workdir / "data" / "credentials.json"
    assert creds.stat().st_mode & 0o777 == 0o600
    before = creds.read_text()
    await bot.aterminate()
    await bot.astart()
    await ask(alice, room, "!ping", bot_id=bot.user_id)
    assert creds.read_text() == before  # token and device reused, no new login
    _, token, _ = synapse.login_token(bot.user_id.split(":")[0][1:], BOT_PASSWORD, device_name="inspector")
    devices = synapse.api("GET", "/_matrix/client/v3/devices", access_token=token)["devices"]
    # (Registration itself also leaves an unnamed device; the bot's own are named by config.)
    assert [d["display_name"] for d in devices].count("dsih-bot-under-test") == 1
    log = bot.log()
    import json
    assert BOT_PASSWORD not in log and json.loads(before)["access_token"] not in log


@pytest.fixture
def pg_url(request):
    from support.postgres import require_postgres
    server = require_postgres()
    yield server.create_database("e2e_bot")
    server.stop()


async def test_bot_on_postgresql_answers_and_survives_kill_9(synapse, alice, tmp_path, pg_url, ask):
    bot_id = synapse.register("dsihpg", BOT_PASSWORD)
    bot = BotProcess(tmp_path / "bot", synapse.url, bot_id, admins=[alice.user_id],
                     env={"DSIH_BOT__STORAGE__DATABASE_URL": pg_url})
    await bot.astart()
    try:
        room_id = await alice.create_room(invite=[bot_id])
        await alice.wait_joined(room_id, bot_id, timeout=30)
        about = await ask(alice, room_id, "!about", bot_id=bot_id)
        funding = len(load_bundled())
        assert f"funding instruments: {funding}" in body_of(about) and "living labs: 26" in body_of(about)
        await bot.akill()
        mark = alice.mark()
        missed = await alice.send_text(room_id, "!funding klimaatadaptatie")
        await bot.astart()
        state = await bot.quiescent(handled=[missed])
        await wait_delivered(alice, state, room_id)
        replies = bot_messages(alice, room_id, bot_id, since=mark)
        assert len(replies) == state.rows_for(missed) == 1, [body_of(e) for e in replies]
        assert "klimaatadaptatie" in body_of(replies[0])
        assert not (tmp_path / "bot" / "data" / "dsih-bot.sqlite3").exists()
    finally:
        assert await bot.aterminate() == 0
