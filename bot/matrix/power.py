"""Power levels as the Matrix spec defines them per room version: the one place that reads
them. The runtime builds every Incoming's power level with `RoomPower.sender_level`
(`level_of` once the room's state is known).

Why not matrix-nio's `PowerLevels.get_user_level`: it knows nothing of room version 12
(MSC4289, Matrix 1.16), where the room's creators -- the create event's sender plus the
users in its `content.additional_creators` -- have an infinitely high power level and are not
listed in `m.room.power_levels`; nio returns `users_default` (usually 0) for them. Nor does
it tell an absent power-levels event from an empty one (then, before v12, the creator has 100).

The rules (spec: "Room Version 12" and `m.room.power_levels`):
- room versions with privileged creators (12, and versions built on it; Synapse also knows
  the pre-release `org.matrix.hydra.11`): a creator ranks above every power level; anyone
  else has `users[user]`, else `users_default`, else 0; without a power-levels event, 0;
- older versions: `users[user]`, else `users_default`, else 0; without a power-levels event
  the creator (content.creator in v1-10, the sender from v11) has 100 and everyone else 0.

The hub's Space (`bot.space`): someone with power level 50 or more in the Space counts in each
of its child rooms (an `m.space.child` state event with a non-empty `via`) as a moderator
of that room would (FACILITATOR_POWER_LEVEL), whatever their level in the room itself.

State comes from sync (`observe`): create event, power levels and space children, per room,
latest wins. Content comes from other people's clients: nothing here raises on bad input."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from aiohttp import ClientError

from bot.framework.roles import FACILITATOR_POWER_LEVEL

log = logging.getLogger(__name__)

# Canonical JSON integers lie in [-(2**53)+1, 2**53-1]: this ranks above every legal level.
CREATOR_POWER = 2 ** 53
# Versions whose feature set privileges creators although their name is no number >= 12.
_PRIVILEGED_UNSTABLE = frozenset({"org.matrix.hydra.11"})
_INT = re.compile(r"^[+-]?\d{1,16}$")
REFETCH_AFTER = 300.0  # seconds between two attempts to read a room's whole state


def creators_privileged(room_version: Any) -> bool:
    """Whether creators have unlimited power in this room version (MSC4289). Stable room
    versions build on their predecessor, so a numeric version from 12 up is taken to keep it."""
    version = room_version if isinstance(room_version, str) and room_version else "1"
    if version in _PRIVILEGED_UNSTABLE:
        return True
    return re.fullmatch(r"[0-9]{1,6}", version) is not None and int(version) >= 12


def _content(event: Any) -> dict:
    content = event.get("content") if isinstance(event, dict) else None
    return content if isinstance(content, dict) else {}


def room_version(create: dict | None) -> str:
    version = _content(create).get("room_version")
    return version if isinstance(version, str) and version else "1"  # absent means version 1


def creators(create: dict | None) -> frozenset[str]:
    """The room's creators. Privileged versions: the sender and `additional_creators`.
    Older ones: the single creator (content.creator in v1-10, else the sender)."""
    if not isinstance(create, dict):
        return frozenset()
    content = _content(create)
    sender = create.get("sender") if isinstance(create.get("sender"), str) else None
    if creators_privileged(room_version(create)):
        extra = content.get("additional_creators")
        found = {u for u in extra if isinstance(u, str)} if isinstance(extra, list) else set()
        return frozenset(found | ({sender} if sender else set()))
    creator = content.get("creator") if isinstance(content.get("creator"), str) else sender
    return frozenset({creator} if creator else ())


def _as_level(value: Any) -> int | None:
    """A power level: an integer (older room versions also allowed numeric strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value.strip())
    return None


def power_level(user_id: str, create: dict | None, power_levels: dict | None) -> int:
    """`user_id`'s power level in a room, from its create event (the whole event: sender and
    content) and the content of its `m.room.power_levels` event (None if it has none)."""
    privileged = creators_privileged(room_version(create))
    if privileged and user_id in creators(create):
        return CREATOR_POWER
    if not isinstance(power_levels, dict):
        if not privileged and user_id in creators(create):
            return 100
        return 0
    users = power_levels.get("users")
    level = _as_level(users.get(user_id)) if isinstance(users, dict) else None
    if level is None:
        level = _as_level(power_levels.get("users_default"))
    return level if level is not None else 0


@dataclass
class RoomStateFacts:
    """What power depends on in one room, as last seen in sync."""
    create: dict | None = None        # the m.room.create event: {"sender": …, "content": {…}}
    power_levels: dict | None = None  # the content of m.room.power_levels; None: no such event
    children: set[str] = field(default_factory=set)  # m.space.child state keys with a non-empty via


class RoomPower:
    """Per room: the state that power depends on, kept up to date from sync; and the one
    function that says how much power someone has in a room (`level_of`)."""

    def __init__(self, space_id: str | None = None):
        self.space_id = space_id
        self.rooms: dict[str, RoomStateFacts] = {}
        self._fetched: dict[str, float] = {}  # room id -> monotonic time of the last /state read

    # -- from sync ----------------------------------------------------------------
    def observe(self, room_id: str, event: Any) -> None:
        """One event's raw form (nio's `event.source`), from a room's state or timeline."""
        if not isinstance(event, dict) or not isinstance(event.get("state_key"), str):
            return
        kind, key = event.get("type"), event["state_key"]
        if kind == "m.room.create" and key == "":
            self._room(room_id).create = {"sender": event.get("sender"), "content": _content(event)}
        elif kind == "m.room.power_levels" and key == "":
            self._room(room_id).power_levels = _content(event)
        elif kind == "m.space.child" and key:
            via = _content(event).get("via")
            children = self._room(room_id).children
            if isinstance(via, list) and any(isinstance(v, str) and v for v in via):
                children.add(key)
            else:  # removed (empty content) or invalid: not a child (spec: Spaces)
                children.discard(key)

    def observe_all(self, room_id: str, events: Iterable[Any]) -> None:
        for event in events:
            self.observe(room_id, event)

    def forget(self, room_id: str) -> None:
        """The bot left the room: it no longer sees changes, so nothing it knew counts."""
        self.rooms.pop(room_id, None)

    def _room(self, room_id: str) -> RoomStateFacts:
        return self.rooms.setdefault(room_id, RoomStateFacts())

    # -- questions ----------------------------------------------------------------
    def knows(self, room_id: str) -> bool:
        facts = self.rooms.get(room_id)
        return facts is not None and facts.create is not None

    def in_room(self, room_id: str, user_id: str) -> int:
        facts = self.rooms.get(room_id) or RoomStateFacts()
        return power_level(user_id, facts.create, facts.power_levels)

    def is_space_child(self, room_id: str) -> bool:
        space = self.rooms.get(self.space_id) if self.space_id else None
        return space is not None and room_id != self.space_id and room_id in space.children

    def level_of(self, room_id: str, user_id: str) -> int:
        """The power level that counts for `user_id` in `room_id`: the room's own, raised to
        a moderator's where the user has 50 or more in the hub's Space and the room is one of
        its children. Whether it grants anything (not in a direct chat) is Access.role_of's
        business."""
        own = self.in_room(room_id, user_id)
        if (own < FACILITATOR_POWER_LEVEL and self.is_space_child(room_id)
                and self.in_room(self.space_id, user_id) >= FACILITATOR_POWER_LEVEL):
            return FACILITATOR_POWER_LEVEL
        return own

    async def sender_level(self, client: Any, room_id: str, user_id: str) -> int:
        """level_of for a message just received: first reads the state of the room (and of
        the Space) if sync has not shown it."""
        await self.ensure(client, room_id)
        space = self.space_id
        if space and space != room_id and space in getattr(client, "rooms", {}):
            await self.ensure(client, space)
        return self.level_of(room_id, user_id)

    # -- filling gaps -------------------------------------------------------------
    def observe_sync(self, response: Any) -> None:
        """Every joined room's state and timeline of a nio SyncResponse; rooms left are forgotten."""
        rooms = getattr(response, "rooms", None)
        for room_id in getattr(rooms, "leave", None) or {}:
            self.forget(room_id)
        for room_id, info in (getattr(rooms, "join", None) or {}).items():
            timeline = getattr(getattr(info, "timeline", None), "events", None) or ()
            events = (*(getattr(info, "state", None) or ()), *timeline)
            self.observe_all(room_id, (getattr(ev, "source", None) for ev in events))

    async def ensure(self, client: Any, room_id: str) -> None:
        """Fetch a joined room's whole state once if sync has not shown us its create event
        (it always should: full state after a restart, the room's state on a join). A failed
        fetch is tried again after REFETCH_AFTER seconds, not on every message."""
        last = self._fetched.get(room_id)
        if self.knows(room_id) or (last is not None and time.monotonic() - last < REFETCH_AFTER):
            return
        self._fetched[room_id] = time.monotonic()
        try:
            resp = await client.room_get_state(room_id)
        except Exception as exc:  # noqa: BLE001 - without it the room's power levels alone count
            log.warning("could not read the state of %s (%s): power levels without its create event", room_id, exc)
            return
        events = getattr(resp, "events", None)
        if isinstance(events, list):
            self.observe_all(room_id, events)
            log.info("read the state of %s (%d events): sync had not shown its create event", room_id, len(events))
        else:
            log.warning("could not read the state of %s: %s", room_id, resp)


# ----------------------------------------------------------------------------- the hub's Space
async def resolve_space(client: Any, configured: str, stopping: asyncio.Event, *,
                        max_backoff: float = 60) -> str | None:
    """bot.space as a room id. A room id is taken as it is; an alias is resolved (once, at
    start), retried while the homeserver is unreachable; an unknown alias turns Space roles off."""
    if configured.startswith("!"):
        return configured
    backoff = 1.0
    while not stopping.is_set():
        try:
            resp = await client.room_resolve_alias(configured)
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            log.warning("could not resolve bot.space %s (%s); retrying in %.0fs", configured, exc, backoff)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), backoff)
            backoff = min(backoff * 2, max_backoff)
            continue
        room_id = getattr(resp, "room_id", None)
        if isinstance(room_id, str) and room_id:
            log.info("bot.space %s is %s", configured, room_id)
            return room_id
        log.error("bot.space %s could not be resolved (%s): roles from the Space are off until the alias "
                  "exists and the bot restarts", configured, resp)
        return None
    return None


async def join_space(client: Any, space_id: str | None) -> None:
    """The bot sees the Space's children and power levels only as a member of it: join it
    if it is not already (a Space that needs an invitation: the invitation is accepted as
    any room's is)."""
    if not space_id or space_id in client.rooms:
        return
    try:
        result = await client.join(space_id)
    except (ClientError, asyncio.TimeoutError, OSError) as exc:
        result = exc
    if getattr(result, "room_id", None):
        log.info("joined the hub's Space %s (bot.space)", space_id)
    else:
        log.warning("could not join the hub's Space %s (%s): invite the bot to it; until then its moderators "
                    "have no rights in its rooms", space_id, result)
