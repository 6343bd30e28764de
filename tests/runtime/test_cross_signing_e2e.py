"""The bot's device is cross-signed, so a client that excludes insecure devices (Element,
MSC4153) talks to it: proven with support/strict_client.StrictUser against a real Synapse.

First the old behaviour (cross-signing off): the strict client shares no room key with the
bot's device and refuses the bot's answer, so the test of the old bot is a refusal. Then the
cross-signed bot in an encrypted room and an encrypted direct chat, also after a restart with
a new device (crypto store deleted), a lost identity replaced by `dsih-bot crypto reset`, and a
round-trip measurement (encrypted vs plain room, same run)."""
from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import time
import urllib.request

import pytest
import yaml

from support.botproc import BOT_PASSWORD, BotProcess
from support.e2e_helpers import body_of, relates_of
from support.secrets_check import secret_problems
from support.strict_client import StrictUser

from support.e2e_fixtures import USER_PASSWORD, unique

pytestmark = pytest.mark.e2e


@pytest.fixture
async def strict(synapse, tmp_path):
    user_id = synapse.register(unique("strict"), USER_PASSWORD)
    user = await StrictUser.create_strict(synapse.url, user_id, USER_PASSWORD, tmp_path / "strict")
    assert user.status.cross_signed, user.status
    yield user
    await user.close()


@pytest.fixture
def make_bot(synapse, tmp_path, strict):
    made = []

    def _make(**matrix) -> BotProcess:
        bot_id = synapse.register(unique("dsih"), BOT_PASSWORD)
        proc = BotProcess(tmp_path / f"bot{len(made)}", synapse.url, bot_id, admins=[strict.user_id],
                          extra_matrix=matrix)
        made.append(proc)
        return proc

    yield _make
    for proc in made:
        if proc.running:
            assert proc.terminate() == 0, proc.log()[-2000:]
        assert "Traceback" not in proc.log(), proc.log()[-4000:]
        problems = secret_problems(proc.workdir, BOT_PASSWORD)
        assert not problems, "\n".join(problems)


async def started(bot: BotProcess) -> BotProcess:
    """Started, and its cross-signing at start is done (it runs beside answering)."""
    await bot.astart()
    await bot.await_log("cross-signing:", timeout=60)
    return bot


def device_of(bot: BotProcess) -> str:
    return json.loads((bot.data_dir / "credentials.json").read_text())["device_id"]


async def ask(user: StrictUser, room_id: str, text: str, bot_id: str, timeout: float = 30):
    mark = user.mark()
    sent = await user.send_text(room_id, text)
    return await user.wait_for_reply(
        room_id, bot_id, since=mark, timeout=timeout,
        predicate=lambda ev: (relates_of(ev).get("m.in_reply_to") or {}).get("event_id") == sent)


async def encrypted_rooms(user: StrictUser, bot: BotProcess) -> dict[str, str]:
    room = await user.create_room(invite=[bot.user_id], encrypted=True, name="xsign room")
    direct = await user.create_room(invite=[bot.user_id], encrypted=True, is_direct=True)
    for room_id in (room, direct):
        await user.wait_joined(room_id, bot.user_id, timeout=30)
    return {"room": room, "direct chat": direct}


def cli(bot: BotProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([bot.executable(), *args, "--config", str(bot.config_path)], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


async def test_strict_client_refuses_a_bot_that_is_not_cross_signed(strict, make_bot):
    """The old behaviour: no room key for the bot's device, and its answer is not shown."""
    bot = await started(make_bot(cross_signing=False))
    assert "cross-signing: off" in bot.log()
    rooms = await encrypted_rooms(strict, bot)
    for where, room_id in rooms.items():
        mark = strict.mark()
        await strict.send_text(room_id, "!ping")
        assert device_of(bot) not in strict.shared_with(room_id, bot.user_id), where
        # The bot got no key, so it says it cannot decrypt; that answer comes from an
        # unsigned device and is refused, never shown.
        refused = await strict._wait_until(lambda: strict.refused_from(bot.user_id, room_id), 30,
                                           f"the bot's refused answer in the {where}")
        ev, why = refused[0]
        assert "could not decrypt" in body_of(ev), body_of(ev)
        assert "not cross-signed by its owner" in why, why
        assert strict.messages(room_id, bot.user_id, since=mark) == [], where
    await strict.settled()
    assert all(not strict.messages(r, bot.user_id) for r in rooms.values())

    # `dsih-bot crypto bootstrap` signs the running bot's device: answers reach the strict
    # client from then on, without a restart.
    boot = cli(bot, "crypto", "bootstrap")
    assert boot.returncode == 0 and f"device {device_of(bot)} is cross-signed" in boot.stdout, boot
    for where, room_id in rooms.items():
        reply = await ask(strict, room_id, "!ping", bot.user_id)
        assert body_of(reply).lower().startswith("pong"), (where, body_of(reply))
        assert device_of(bot) in strict.shared_with(room_id, bot.user_id), where
    stats = await ask(strict, rooms["direct chat"], "!admin stats", bot.user_id)
    assert f"Device {device_of(bot)} is cross-signed" in body_of(stats), body_of(stats)


async def test_cross_signed_bot_answers_a_strict_client_also_with_a_new_device(strict, make_bot):
    bot = await started(make_bot())
    first_device = device_of(bot)
    assert f"device {first_device} is cross-signed" in bot.log()
    assert (bot.data_dir / "cross_signing.json").stat().st_mode & 0o077 == 0
    rooms = await encrypted_rooms(strict, bot)
    for where, room_id in rooms.items():
        reply = await ask(strict, room_id, "!ping", bot.user_id)
        assert body_of(reply).lower().startswith("pong"), (where, body_of(reply))
        assert getattr(reply, "decrypted", False), where
        assert first_device in strict.shared_with(room_id, bot.user_id), where
    stats = await ask(strict, rooms["direct chat"], "!admin stats", bot.user_id)
    assert f"Device {first_device} is cross-signed" in body_of(stats), body_of(stats)
    checked = cli(bot, "check-config")
    assert checked.returncode == 0 and f"device {first_device} is cross-signed" in checked.stdout, checked
    status = cli(bot, "crypto", "status")
    assert status.returncode == 0 and "is cross-signed" in status.stdout, status

    # Restart with the crypto store lost: a new device, signed again at start.
    assert await bot.aterminate() == 0
    shutil.rmtree(bot.data_dir / "crypto")
    await started(bot)
    second_device = device_of(bot)
    assert second_device != first_device
    assert "logging in as a new device" in bot.log()
    assert f"device {second_device} is cross-signed" in bot.log()
    for where, room_id in rooms.items():
        reply = await ask(strict, room_id, "!ping", bot.user_id)
        assert body_of(reply).lower().startswith("pong"), (where, body_of(reply))
        shared = strict.shared_with(room_id, bot.user_id)
        assert second_device in shared and first_device not in shared, (where, shared)
    await strict.settled()
    assert strict.refused_from(bot.user_id) == [], strict.refused_from(bot.user_id)


async def test_lost_identity_is_refused_until_crypto_reset(strict, make_bot):
    """The identity's private keys lost (data directory restored without them): the bot says
    it is not cross-signed and the strict client refuses it; `dsih-bot crypto reset` makes a
    new identity and the strict client talks to the bot again, without a restart."""
    bot = await started(make_bot())
    old_master = json.loads((bot.data_dir / "cross_signing_status.json").read_text())["master_key"]
    assert await bot.aterminate() == 0
    (bot.data_dir / "cross_signing.json").unlink()
    shutil.rmtree(bot.data_dir / "crypto")  # a new device that the lost keys cannot sign
    await started(bot)
    assert "is NOT cross-signed" in bot.log() and "crypto reset" in bot.log()
    checked = cli(bot, "check-config")
    assert "NOT cross-signed" in checked.stdout, checked
    room = (await encrypted_rooms(strict, bot))["room"]
    await strict.send_text(room, "!ping")
    await strict._wait_until(lambda: strict.refused_from(bot.user_id, room), 30, "the bot's refused answer")
    assert device_of(bot) not in strict.shared_with(room, bot.user_id)

    reset = cli(bot, "crypto", "reset")  # the password comes from the config (UIA m.login.password)
    assert reset.returncode == 0 and "is cross-signed" in reset.stdout, reset
    new_master = json.loads((bot.data_dir / "cross_signing_status.json").read_text())["master_key"]
    assert new_master != old_master
    reply = await ask(strict, room, "!ping", bot.user_id)
    assert body_of(reply).lower().startswith("pong")
    assert device_of(bot) in strict.shared_with(room, bot.user_id)


def access_token(synapse, user_id: str) -> str:
    body = json.dumps({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id},
                       "password": BOT_PASSWORD, "initial_device_display_name": "token device"}).encode()
    req = urllib.request.Request(synapse.url + "/_matrix/client/v3/login", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["access_token"]


async def test_access_token_only_bot_is_cross_signed_and_reset_asks_for_the_password(strict, make_bot, synapse):
    """Without a password: the first identity needs none (MSC3967), so the bot is still
    cross-signed at start; replacing it does, and `crypto reset` says so instead of failing
    obscurely (stdin is not a terminal here, so it cannot ask)."""
    bot = make_bot()
    config = yaml.safe_load(bot.config_path.read_text())
    config["matrix"].pop("password")
    config["matrix"]["access_token"] = access_token(synapse, bot.user_id)
    bot.config_path.write_text(yaml.safe_dump(config))
    await started(bot)
    assert f"device {device_of(bot)} is cross-signed" in bot.log()
    direct = (await encrypted_rooms(strict, bot))["direct chat"]
    reply = await ask(strict, direct, "!ping", bot.user_id)
    assert body_of(reply).lower().startswith("pong")

    reset = cli(bot, "crypto", "reset")
    assert reset.returncode == 1, reset
    assert "wants the password" in reset.stderr and "operator guide" in reset.stderr, reset.stderr
    status = cli(bot, "crypto", "status")  # nothing was replaced: still cross-signed
    assert status.returncode == 0 and "is cross-signed" in status.stdout, status


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def test_round_trip_encrypted_against_plain(strict, make_bot, capsys):
    """The strict client's `!ping` round trip in a plain room, in an encrypted room with a
    fresh /keys/query before every send (the tests' default, the worst case) and with the
    queries only when Element makes them (a room key to share, a member's devices changed),
    interleaved in the same run, 30 samples each."""
    bot = await started(make_bot())
    plain = await strict.create_room(invite=[bot.user_id], name="plain")
    await strict.wait_joined(plain, bot.user_id, timeout=30)
    encrypted = (await encrypted_rooms(strict, bot))["room"]
    for room_id in (plain, encrypted):  # warm-up: key sharing and first queries
        await ask(strict, room_id, "!ping", bot.user_id)
    kinds = (("plain", plain, True), ("encrypted, query every send", encrypted, True),
             ("encrypted, query as Element", encrypted, False))
    samples = {kind: [] for kind, _, _ in kinds}
    queries = {kind: 0 for kind, _, _ in kinds}
    for _ in range(30):
        for kind, room_id, every in kinds:
            strict.query_every_send = every
            before = strict.queries
            t0 = time.monotonic()
            reply = await ask(strict, room_id, "!ping", bot.user_id)
            samples[kind].append(reply.received_at - t0)
            queries[kind] += strict.queries - before
            await asyncio.sleep(0.05)
    strict.query_every_send = True
    lines = [f"{kind:28s} n={len(v)} p50={_pct(v, .5) * 1000:.0f} ms p95={_pct(v, .95) * 1000:.0f} ms "
             f"mean={statistics.mean(v) * 1000:.0f} ms /keys/query={queries[kind]}" for kind, v in samples.items()]
    base = _pct(samples["plain"], .5)
    ratios = ", ".join(f"{kind} {_pct(v, .5) / base:.2f}x" for kind, v in samples.items() if kind != "plain")
    with capsys.disabled():
        print("\nstrict client !ping round trip (same run):\n  " + "\n  ".join(lines) + f"\n  p50 against plain: {ratios}")
    assert queries["encrypted, query every send"] == 30 and queries["encrypted, query as Element"] == 0, queries
    assert all(_pct(v, .95) < 5.0 for v in samples.values()), lines
    assert strict.refused_from(bot.user_id) == []
