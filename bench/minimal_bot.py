"""The floor for a bot's round trip: a bare matrix-nio client that answers `!ping` with
`Pong!` as fast as it can (no database, no encryption, no outbox). bench_ping.py runs it
as a second baseline next to Synapse's echo:

    python bench/minimal_bot.py HOMESERVER USER_ID PASSWORD [CRYPTO_STORE_DIR]"""
from __future__ import annotations

import asyncio
import sys

from nio import AsyncClient, InviteMemberEvent, RoomMessageText


async def main(homeserver: str, user_id: str, password: str, store: str | None = None) -> None:
    # With a store path: encryption on, as in dsih-bot (to see what E2EE costs a round trip).
    from nio import AsyncClientConfig
    client = (AsyncClient(homeserver, user_id, store_path=store, config=AsyncClientConfig(encryption_enabled=True))
              if store else AsyncClient(homeserver, user_id))
    await client.login(password)

    async def on_invite(room, event: InviteMemberEvent) -> None:
        if event.state_key == user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_message(room, event: RoomMessageText) -> None:
        if event.sender != user_id and event.body.strip() == "!ping":
            await client.room_send(room.room_id, "m.room.message", {
                "msgtype": "m.notice", "body": "Pong!",
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}}})

    client.add_event_callback(on_invite, InviteMemberEvent)
    client.add_event_callback(on_message, RoomMessageText)
    await client.sync(timeout=0)          # history is not answered
    print("ready:", flush=True)
    await client.sync_forever(timeout=30_000)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
