"""What a person's client does with polls and files, for end-to-end tests: answer a poll
(MSC3381 response related to the start event) and download an m.file's media (the
authenticated media API Synapse serves; decrypted when the file came encrypted)."""
from __future__ import annotations

from support.matrix_user import MatrixUser
from support.media import download_media

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


# The bytes of an m.file event: one helper for every test (support/media.py).
download_file = download_media
