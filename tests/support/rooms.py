"""Room helpers for end-to-end tests that need more than nio's room_create offers: any
createRoom body (room_version, creation_content with additional_creators or a Space type),
reading a state event, and changing one user's power level."""
from __future__ import annotations

import uuid

import aiohttp
from nio import RoomGetStateEventResponse

from support.matrix_user import MatrixUser


async def create_room(homeserver_url: str, user: MatrixUser, **body) -> str:
    """POST /createRoom with any body; returns once the creator's sync knows the room."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{homeserver_url}/_matrix/client/v3/createRoom", json=body,
                             headers={"Authorization": f"Bearer {user.access_token}"}) as resp:
            data = await resp.json()
            assert resp.status == 200, data
    await user.wait_room_known(data["room_id"])
    return data["room_id"]


async def room_state(user: MatrixUser, room_id: str, event_type: str, state_key: str = "") -> dict:
    resp = await user.client.room_get_state_event(room_id, event_type, state_key)
    assert isinstance(resp, RoomGetStateEventResponse), resp
    return dict(resp.content)


async def set_level(user: MatrixUser, room_id: str, who: str, level: int) -> None:
    content = await room_state(user, room_id, "m.room.power_levels")
    content["users"] = {**content.get("users", {}), who: level}
    resp = await user.client.room_put_state(room_id, "m.room.power_levels", content)
    assert hasattr(resp, "event_id"), resp


async def register_people(synapse, store_dir, names, password: str) -> dict[str, MatrixUser]:
    """Fresh accounts (unique ids) logged in and syncing; close them with `close_people`."""
    made = {}
    for name in names:
        user_id = synapse.register(f"{name}{uuid.uuid4().hex[:8]}", password)
        made[name] = await MatrixUser.create(synapse.url, user_id, password, store_dir / name)
    return made


async def close_people(people: dict[str, MatrixUser]) -> None:
    for user in people.values():
        await user.close()
