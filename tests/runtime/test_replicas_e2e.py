"""Two replicas, one PostgreSQL, one bot account and one shared data_dir: the active one is
killed (SIGKILL) in the middle of a stream of commands; the standby takes over, and every
command is answered exactly once, as is a reminder that falls due during the switch."""
from __future__ import annotations

import asyncio
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

import pytest

from support.quiesce import wait_delivered

from support.botproc import BOT_PASSWORD, BotProcess
from support.e2e_helpers import body_of, relates_of

pytestmark = pytest.mark.e2e

COMMANDS = 40
KILL_AFTER = 15


@pytest.fixture
def pg_server():
    from support.postgres import require_postgres
    server = require_postgres()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    return pg_server.create_database("e2e_replicas")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def replied_to(event) -> str | None:
    return (relates_of(event).get("m.in_reply_to") or {}).get("event_id")


# Encrypted: the new active replica decrypts with the keys the dead one received (shared crypto store).
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_standby_takes_over_from_a_killed_replica_and_nothing_is_lost_or_doubled(synapse, alice, tmp_path,
                                                                                        pg_url, encrypted):
    bot_id = synapse.register(f"dsihreplica{uuid.uuid4().hex[:8]}", BOT_PASSWORD)
    shared = tmp_path / "shared-data"  # credentials and crypto store: one device for both

    def replica(name: str, port: int) -> BotProcess:
        return BotProcess(tmp_path / name, synapse.url, bot_id, admins=[alice.user_id], data_dir=shared,
                          env={"DSIH_BOT__STORAGE__DATABASE_URL": pg_url},
                          extra_sections={"metrics": {"listen": str(port)}})

    ports = free_port(), free_port()
    first, second = replica("a", ports[0]), replica("b", ports[1])
    first.start()
    second.start(wait_ready=False)
    try:
        second.wait_log("standby:", timeout=30)
        status, text = readyz(ports[1])
        assert status == 503 and "standby" in text, (status, text)
        assert readyz(ports[0])[0] == 200

        room = await alice.create_room(invite=[bot_id], name="replicas", encrypted=encrypted)
        await alice.wait_joined(room, bot_id, timeout=30)
        mark = alice.mark()
        remind_id = await alice.send_text(room, "!remindme 3s relay baton")
        confirm = await alice.wait_for_reply(room, bot_id, since=mark, timeout=30,
                                             predicate=lambda e: replied_to(e) == remind_id)
        assert "remind you" in body_of(confirm)

        sent: list[str] = []
        killed_at = 0.0
        for n in range(COMMANDS):
            if n == KILL_AFTER:
                first.kill()
                killed_at = time.time()
            sent.append(await alice.send_text(room, "!ping"))
            await asyncio.sleep(0.1)

        def answered() -> Counter:
            return Counter(replied_to(e) for e in alice.messages(room, bot_id, since=mark))

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(answered()[i] for i in sent):
            await asyncio.sleep(0.3)
        # Proof, not a pause: the reminder came, the active replica has nothing left to send,
        # and alice has seen every event it sent; a double would be among them.
        await alice.wait_for(lambda e: getattr(e, "sender", None) == bot_id and "relay baton" in body_of(e),
                             since=mark, timeout=60)
        state = await second.quiescent(timeout=60)
        await wait_delivered(alice, state, room)
        counts = answered()
        missing = [i for i in sent if counts[i] == 0]
        doubled = {i: counts[i] for i in sent if counts[i] > 1}
        assert not missing and not doubled, f"{len(missing)} unanswered, doubled: {doubled}"
        assert all(body_of(e) == "Pong!" for e in alice.messages(room, bot_id, since=mark)
                   if replied_to(e) in sent)

        reminders = [e for e in alice.messages(room, bot_id, since=mark) if "relay baton" in body_of(e)]
        assert len(reminders) == 1, [body_of(e) for e in reminders]

        after_kill = [e.server_timestamp for e in alice.messages(room, bot_id, since=mark)
                      if e.server_timestamp > killed_at * 1000]
        took = min(after_kill) / 1000 - killed_at
        print(f"\ntakeover ({'encrypted' if encrypted else 'plain'} room): first answer {took:.2f}s after SIGKILL")
        assert "took over after" in second.log()
        status, text = readyz(ports[1])
        assert status == 200, text
    finally:
        first.kill()
        code = second.terminate()
    assert code == 0, second.log()[-3000:]
    for proc in (first, second):
        assert "Traceback" not in proc.log(), proc.log()[-4000:]


async def test_an_active_replica_that_loses_its_lock_connection_exits_and_comes_back(synapse, alice, tmp_path,
                                                                                      pg_server, pg_url):
    """As when the database restarts: carrying on could make two active replicas."""
    bot_id = synapse.register(f"dsihlost{uuid.uuid4().hex[:8]}", BOT_PASSWORD)
    proc = BotProcess(tmp_path / "bot", synapse.url, bot_id, admins=[alice.user_id],
                      env={"DSIH_BOT__STORAGE__DATABASE_URL": pg_url})
    proc.start()
    try:
        room = await alice.create_room(invite=[bot_id])
        await alice.wait_joined(room, bot_id, timeout=30)
        pg_server._psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'dsih-bot replica lock'")
        assert proc.proc.wait(15) == 75
        assert "lost the replica lock connection" in proc.log()
        proc.start()  # what systemd or compose do
        mark = alice.mark()
        await alice.send_text(room, "!ping")
        assert body_of(await alice.wait_for_reply(room, bot_id, since=mark, timeout=30)) == "Pong!"
    finally:
        code = proc.terminate()
    assert code == 0, proc.log()[-3000:]
