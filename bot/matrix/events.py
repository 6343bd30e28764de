"""From a Matrix event to the transport-free shapes the dispatcher takes. Event content
comes from other people's clients: every field may be missing or of the wrong type, and
nothing here may raise on it (a raise would skip the rest of that room's batch)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.framework.messages import Incoming, RoomEvent


@dataclass(frozen=True)
class RoomFacts:
    """What the runtime knows about the room an event came from."""
    room_id: str
    direct_with: str | None = None
    joined_count: int = 0
    power_level: int = 0  # of the sender


# JSON may escape half a surrogate pair ("\\ud800"); such a string cannot be encoded as
# UTF-8, so every later step that stores or sends it would raise (a poison message).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else None


def _clean(value: Any) -> Any:
    """Content with every string (keys too) made encodable."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def is_edit(content: Any) -> bool:
    return _dict(_dict(content).get("m.relates_to")).get("rel_type") == "m.replace"


def incoming_from_message(*, sender: str, event_id: str, body: Any, formatted_body: Any, content: Any,
                          timestamp_ms: Any, room: RoomFacts) -> Incoming:
    content = _dict(content)
    relates = _dict(content.get("m.relates_to"))
    mentions = _dict(content.get("m.mentions")).get("user_ids")
    thread_root = _str(relates.get("event_id")) if relates.get("rel_type") == "m.thread" else None
    reply_to = _str(_dict(relates.get("m.in_reply_to")).get("event_id"))
    return Incoming(
        sender=sender, room_id=room.room_id, event_id=event_id, body=_str(body) or "",
        formatted_body=_str(formatted_body),
        is_direct=room.direct_with is not None,
        thread_root=thread_root,
        reply_to=reply_to,
        mentions=tuple(_str(m) for m in mentions if isinstance(m, str)) if isinstance(mentions, list) else (),
        power_level=room.power_level if isinstance(room.power_level, int) else 0,
        timestamp_ms=timestamp_ms if isinstance(timestamp_ms, int) else 0,
        room_grants_roles=room.direct_with is None and room.joined_count > 2,
    )


def room_event(*, type_: str, sender: str, event_id: str, content: Any, timestamp_ms: Any,
               room_id: str) -> RoomEvent | None:
    if not isinstance(content, dict):
        return None
    return RoomEvent(type=type_, sender=sender, room_id=room_id, event_id=event_id, content=_clean(content),
                     timestamp_ms=timestamp_ms if isinstance(timestamp_ms, int) else 0)
