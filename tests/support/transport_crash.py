"""For tests that kill the transport between two steps (a room created, not yet recorded):
`Crash` stands for the process dying, `bot_account` for the bot's account and database."""
from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from bot.matrix.transport import MatrixTransport
from support.chat import make_services
from support.e2e_fixtures import USER_PASSWORD, unique
from support.matrix_user import MatrixUser


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


@asynccontextmanager
async def bot_account(synapse, tmp_path, name: str):
    """(a syncing Matrix account, a bot database): a MatrixTransport over them acts as the
    bot's sender does; a new transport over the same pair stands for a restart."""
    user_id = synapse.register(unique(name), USER_PASSWORD)
    user = await MatrixUser.create(synapse.url, user_id, USER_PASSWORD, tmp_path / name, encryption=False)
    services = await make_services(tmp_path / f"{name}-data", modules=("core",))
    try:
        yield user, services.db
    finally:
        await services.db.dispose()
        await user.close()


async def send_dying_before_create(user: MatrixUser, db, row) -> None:
    """Send `row` through a new transport that dies as it is about to create a room (after
    keeping its intent): the homeserver has no room yet."""
    real_create = user.client.room_create

    async def crash_before_create(*_a, **_k):
        raise Crash("room_create")
    user.client.room_create = crash_before_create
    try:
        with pytest.raises(Crash):
            await MatrixTransport(user.client, db).send(row)
    finally:
        user.client.room_create = real_create


async def send_dying_at(user: MatrixUser, db, row, method: str) -> None:
    """Send `row` through a new transport that dies as it enters its own `method` (e.g.
    the step that records a room the homeserver has just made)."""
    transport = MatrixTransport(user.client, db)

    async def crash(*_a, **_k):
        raise Crash(method)
    setattr(transport, method, crash)
    with pytest.raises(Crash):
        await transport.send(row)
