"""End-to-end fixtures (a pytest plugin, see tests/conftest.py): a real Synapse on 127.0.0.1, the bot as a subprocess
(`dsih-bot run --config …`), and real matrix-nio users that talk to it.

Fixture names (function scope unless said otherwise):
- `synapse`         session-scoped SynapseServer (high rate limits); shared by tests.
- `bot`             a fresh, started BotProcess with its own Matrix account and data dir;
                    `bot.user_id`, `bot.kill()`, `bot.terminate()`, `bot.start()`, `bot.log()`.
                    Admin: the `alice` user. Configure by parametrising `bot_options` (dict with
                    keys "bot"/"matrix"/"env" merged into the config; other keys, e.g.
                    "sessions", become config sections).
- `alice`, `bob`    MatrixUser clients (E2EE capable), fresh accounts per test.
- `room`            a plain room created by alice with the bot invited and joined.
- `ask(user, room_id, text, **kw)` -> the bot's reply event (awaitable helper fixture);
                    `body_of(event)` / `html_of(event)` / `relates_of(event)` are in support/e2e_helpers.py.
"""
from __future__ import annotations

import itertools
import uuid

import pytest

from support.botproc import BOT_PASSWORD, BotProcess
from support.e2e_helpers import body_of, html_of, relates_of  # noqa: F401  (re-exported for readers)
from support.matrix_user import MatrixUser
from support.secrets_check import secret_problems
from support.synapse import SynapseServer

USER_PASSWORD = "user-password"
_counter = itertools.count()



@pytest.fixture(scope="session")
def synapse(tmp_path_factory):
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}{uuid.uuid4().hex[:6]}"


@pytest.fixture
def bot_options():
    return {}


@pytest.fixture
async def alice(synapse, tmp_path):
    user_id = synapse.register(unique("alice"), USER_PASSWORD)
    user = await MatrixUser.create(synapse.url, user_id, USER_PASSWORD, tmp_path / "alice")
    yield user
    await user.close()


@pytest.fixture
async def bob(synapse, tmp_path):
    user_id = synapse.register(unique("bob"), USER_PASSWORD)
    user = await MatrixUser.create(synapse.url, user_id, USER_PASSWORD, tmp_path / "bob")
    yield user
    await user.close()


@pytest.fixture
def bot(synapse, tmp_path, alice, bot_options):
    bot_id = synapse.register(unique("dsih"), BOT_PASSWORD)
    proc = BotProcess(tmp_path / "bot", synapse.url, bot_id, admins=[alice.user_id],
                      extra_bot=bot_options.get("bot"), extra_matrix=bot_options.get("matrix"),
                      env=bot_options.get("env"),
                      extra_sections={k: v for k, v in bot_options.items() if k not in ("bot", "matrix", "env")})
    proc.start()
    yield proc
    if proc.running:
        code = proc.terminate()
        assert code == 0, f"bot exited with {code} on SIGTERM:\n{proc.log()[-2000:]}"
    assert "Traceback" not in proc.log(), proc.log()[-4000:]
    # Every e2e test also proves the bot kept its secrets: none in its log, its files private.
    problems = secret_problems(proc.workdir, BOT_PASSWORD)
    assert not problems, "\n".join(problems)


@pytest.fixture
async def room(alice, bot):
    room_id = await alice.create_room(invite=[bot.user_id], name="dsih e2e")
    await alice.wait_joined(room_id, bot.user_id, timeout=30)
    return room_id


@pytest.fixture
def ask():
    async def _ask(user: MatrixUser, room_id: str, text: str, *, bot_id: str, timeout: float = 30, **send_kw):
        # The bot's answer to *this* message (its m.in_reply_to), not merely its next message:
        # a notice or a late answer to an earlier command may come first.
        mark = user.mark()
        sent = await user.send_text(room_id, text, **send_kw)
        return await user.wait_for_reply(
            room_id, bot_id, since=mark, timeout=timeout,
            predicate=lambda ev: (relates_of(ev).get("m.in_reply_to") or {}).get("event_id") == sent)
    return _ask
