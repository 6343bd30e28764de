"""Download the media of an m.file / m.image event as a person's client does: the
authenticated media API Synapse serves, decrypted when the file came encrypted."""
from __future__ import annotations

import aiohttp
from nio.crypto.attachments import decrypt_attachment

from support.matrix_user import MatrixUser, content_of


async def download_media(user: MatrixUser, event) -> bytes:
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
