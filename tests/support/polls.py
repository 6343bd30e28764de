"""What a person's client does with polls and files, for end-to-end tests: answer a poll
(MSC3381 response related to the start event) and download an m.file's media (the
authenticated media API Synapse serves; decrypted when the file came encrypted)."""
from __future__ import annotations

import aiohttp
from nio.crypto.attachments import decrypt_attachment

from support.matrix_user import MatrixUser, content_of

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"


async def send_poll_response(user: MatrixUser, room_id: str, start_event_id: str, answers: list[str], *,
                             event_type: str = POLL_RESPONSE) -> str:
    """Vote as Element does: the chosen answer ids, m.reference to the poll start."""
    key = "m.poll.response" if event_type == "m.poll.response" else POLL_RESPONSE
    content = {"m.relates_to": {"rel_type": "m.reference", "event_id": start_event_id},
               key: {"answers": list(answers)}}
    return await user.send_event(room_id, content, event_type=event_type)


async def download_file(user: MatrixUser, event) -> bytes:
    """The bytes of an m.file event, fetched with the user's own access token."""
    content = content_of(event)
    encrypted = content.get("file")
    url = encrypted["url"] if encrypted else content["url"]
    server, media_id = url.removeprefix("mxc://").split("/", 1)
    endpoint = f"{user.client.homeserver}/_matrix/client/v1/media/download/{server}/{media_id}"
    async with aiohttp.ClientSession() as http:
        async with http.get(endpoint, headers={"Authorization": f"Bearer {user.access_token}"}) as resp:
            resp.raise_for_status()
            data = await resp.read()
    if encrypted:
        data = decrypt_attachment(data, encrypted["key"]["k"], encrypted["hashes"]["sha256"], encrypted["iv"])
    return data
