"""Transport-free message shapes: what comes in from a chat, what goes out."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Incoming:
    sender: str
    room_id: str
    event_id: str
    body: str
    is_direct: bool = False
    formatted_body: str | None = None
    thread_root: str | None = None
    reply_to: str | None = None  # the event this message answers (m.in_reply_to), e.g. "later" to a reminder
    mentions: tuple[str, ...] = ()  # m.mentions.user_ids
    power_level: int = 0
    timestamp_ms: int = 0
    # A room's power levels grant the room-facilitator role only in a community room:
    # not in a direct chat, and not in a room of just the user and the bot (where the
    # user made themselves admin).
    room_grants_roles: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (uploaded to the media repository at send time)."""
    filename: str
    mimetype: str
    data: bytes
    msgtype: str = "m.file"  # or m.image (a picture clients show inline), m.audio, m.video


@dataclass(frozen=True)
class RoomEvent:
    """A non-text room event a capability listens to (e.g. a poll response)."""
    type: str
    sender: str
    room_id: str
    event_id: str
    content: dict
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
    attachment: Attachment | None = None
    event_type: str = "m.room.message"
    extra_content: dict | None = None  # merged into the content (e.g. a poll's fields)
    # Told the transaction id of the message's first event when it is queued, in the same
    # transaction (a poll keeps it to find its start event once sent).
    on_queued: list = field(default_factory=list, compare=False, repr=False)

    def queued(self, txn_id: str) -> None:
        for callback in self.on_queued:
            callback(txn_id)
