"""Self-test of the test harness: real Synapse, real nio clients with e2e,
a Synapse restart, and a throw-away PostgreSQL."""

from __future__ import annotations

import time

import asyncpg
import pytest

from support.matrix_user import MatrixUser, content_of
from support.postgres import require_postgres
from support.synapse import SynapseServer

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def synapse(tmp_path):
    server = SynapseServer(tmp_path / "synapse")
    server.start()
    yield server
    server.stop()


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_encrypted_roundtrip_survives_synapse_restart(synapse, tmp_path):
    t0 = time.monotonic()
    a_id = synapse.register("alice", "alice-pw")
    b_id = synapse.register("bob", "bob-pw")
    assert (a_id, b_id) == ("@alice:localhost", "@bob:localhost")
    uid, token, device = synapse.login_token("alice", "alice-pw")
    assert uid == a_id and token and device

    alice = await MatrixUser.create(synapse.url, a_id, "alice-pw", tmp_path / "alice")
    bob = await MatrixUser.create(synapse.url, b_id, "bob-pw", tmp_path / "bob")
    try:
        room = await alice.create_room(invite=[b_id], encrypted=True, name="selftest")
        assert alice.client.rooms[room].encrypted
        # bob auto-joins on invite
        await alice.wait_joined(room, b_id)
        await bob.wait_joined(room, b_id)

        b_mark = bob.mark()
        eid = await alice.send_text(room, "hello bob", mentions=[b_id])
        msg = await bob.wait_for_reply(room, a_id, since=b_mark)
        assert msg.event_id == eid
        assert getattr(msg, "decrypted", False), "message should have been encrypted"
        assert content_of(msg)["body"] == "hello bob"
        assert msg.source["content"]["m.mentions"] == {"user_ids": [b_id]}

        # reply in a thread, seen by alice (buffered even if it races her send)
        a_mark = alice.mark()
        reid = await bob.send_text(room, "hi alice", thread_root=eid)
        reply = await alice.wait_for_reply(room, b_id, since=a_mark)
        assert reply.event_id == reid
        assert reply.source["content"]["m.relates_to"]["rel_type"] == "m.thread"
        assert await alice.collect(room, b_id, 0.3, since=a_mark) == [reply]

        echo = await alice.echo_time(room)
        assert 0 < echo < 5

        # --- restart the homeserver: clients must recover by themselves
        t_restart = time.monotonic()
        synapse.restart()
        restart_s = time.monotonic() - t_restart
        assert synapse.is_running

        b_mark = bob.mark()
        eid2 = await alice.send_text(room, "after restart")
        msg2 = await bob.wait_for_reply(room, a_id, since=b_mark, timeout=20)
        assert msg2.event_id == eid2
        assert content_of(msg2)["body"] == "after restart"
        print(
            f"\nsynapse start {synapse.last_start_seconds:.2f}s, restart {restart_s:.2f}s, "
            f"echo {echo * 1000:.0f}ms, test body {time.monotonic() - t0:.2f}s"
        )
    finally:
        await alice.close()
        await bob.close()


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_postgres_server():
    pg = require_postgres()
    try:
        url = pg.create_database("selftest")
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/selftest"
        conn = await asyncpg.connect(pg.dsn("selftest"))
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()
    finally:
        pg.stop()
    assert not pg.is_running
