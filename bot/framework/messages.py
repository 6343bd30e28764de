"""Transport-free message shapes: what comes in from a chat, what goes out."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Incoming:
    sender: str
    room_id: str
    event_id: str
    body: str
    is_direct: bool = False
    formatted_body: str | None = None
    thread_root: str | None = None
    mentions: tuple[str, ...] = ()  # m.mentions.user_ids
    power_level: int = 0
    timestamp_ms: int = 0


@dataclass
class Outgoing:
    markdown: str
    room_id: str | None = None  # None + to_user: a direct message, room found at send time
    to_user: str | None = None
    reply_to: str | None = None
    thread_root: str | None = None
    mentions: tuple[str, ...] = ()
    notice: bool = True
