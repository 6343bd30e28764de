"""A test user that treats devices as Element does with "exclude insecure devices" (MSC4153).

    alice = await StrictUser.create_strict(server.url, "@alice:localhost", "pw", tmp_path / "alice")
    room = await alice.create_room(invite=[bot_id], encrypted=True)
    ...
    reply = await alice.wait_for_reply(room, bot_id, since=m)     # only from cross-signed devices
    alice.refused                                                  # what it would not show

It is a MatrixUser (support/matrix_user.py) with two rules, both decided by the signature
chain device <- self-signing key <- master key of the same user
(`bot.matrix.cross_signing.verify_chain`) over a fresh `/keys/query`:

- **Sending** into an encrypted room: before nio shares a room key, every device of every
  member is fetched from `/keys/query`; devices whose chain verifies are marked verified in
  nio's store, all others blacklisted, and the message goes out with
  `ignore_unverified_devices=False` (nio raises rather than sharing with a device that is
  neither). A room key already shared with a device that is now refused, or not shared with
  one that is now trusted, is replaced. `key_shares` records who got each room key.
- **Receiving**: a decrypted event is shown (appended to `events`) only when the device that
  sent it (found by its curve25519 key) passes the chain and its ed25519 key is the one the
  Megolm session was created with; else it goes to `refused`. An unknown device triggers one
  fresh `/keys/query` first (a device that was just signed, as after a bot restart). A plain
  `m.room.message` in an encrypted room from someone else is refused too.

The user cross-signs itself at creation with the bot's own module (`ensure`), the way the
bot does, so the bot's answers reach a device that Element would count as verified too.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from nio import MegolmEvent, SyncResponse

from bot.matrix import cross_signing as xs
from support.matrix_user import MatrixUser, type_of

log = logging.getLogger(__name__)


class StrictUser(MatrixUser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refused: list[tuple[Any, str]] = []  # (event, why)
        self.key_shares: list[tuple[str, frozenset]] = []  # (room_id, {(user, device)}) per room key
        self.queries = 0  # /keys/query requests made for trust decisions
        self._pending: list[tuple[Any, str, float]] = []
        self._chains: dict[str, dict] = {}  # user_id -> last /keys/query answer about them
        self._deciding: asyncio.Task | None = None
        self._server: xs.Homeserver | None = None
        self.status: xs.Status | None = None
        # True (default, what the tests rely on): a fresh /keys/query before every encrypted send.
        # False: as Element does, only when a room key is about to be shared, the members
        # changed, or a sync said a member's devices changed (device_lists.changed).
        self.query_every_send = True
        self._stale: set[str] = set()
        self._trusted_members: dict[str, frozenset] = {}

    @classmethod
    async def create_strict(cls, homeserver_url: str, user_id: str, password: str, store_dir: Path,
                            **kw) -> "StrictUser":
        self = await cls.create(homeserver_url, user_id, password, store_dir, **kw)
        self._server = xs.Homeserver(homeserver_url, self.access_token)
        self.client.add_response_callback(self._on_sync, SyncResponse)
        # Our own device keys went up in the first sync (MatrixUser.create): cross-sign them.
        self.status = await xs.ensure(self._server, Path(store_dir), user_id, self.device_id, password)
        return self

    async def _on_sync(self, resp: SyncResponse) -> None:
        self._stale.update(resp.device_list.changed)

    # ------------------------------------------------------------ trust decisions
    async def _query(self, user_ids) -> None:
        server = self._server or xs.Homeserver(self.client.homeserver, self.access_token)
        answer = await server.query(sorted(set(user_ids)))
        self.queries += 1
        for user_id in user_ids:
            self._chains[user_id] = {
                part: {user_id: answer.get(part, {}).get(user_id)} if answer.get(part, {}).get(user_id) else {}
                for part in ("device_keys", "master_keys", "self_signing_keys")}

    def _device_by_curve(self, user_id: str, curve: str) -> tuple[str, dict] | None:
        devices = (self._chains.get(user_id, {}).get("device_keys") or {}).get(user_id) or {}
        for device_id, keys in devices.items():
            if (keys.get("keys") or {}).get(f"curve25519:{device_id}") == curve:
                return device_id, keys
        return None

    def _judge(self, ev: Any, room_id: str) -> str | None:
        """None = show; else why it is refused. Uses the cached /keys/query answers only."""
        sender = getattr(ev, "sender", None)
        if not getattr(ev, "decrypted", False):
            room = self.client.rooms.get(room_id)
            if (room is not None and room.encrypted and sender != self.user_id
                    and type_of(ev) == "m.room.message" and not isinstance(ev, MegolmEvent)):
                return "unencrypted message in an encrypted room"
            return None
        curve = getattr(ev, "sender_key", None)
        if sender == self.user_id and curve == self.client.olm.account.identity_keys["curve25519"]:
            return None  # our own device
        found = self._device_by_curve(sender, curve)
        if found is None:
            return f"unknown device (curve25519 {curve}) of {sender}"
        device_id, keys = found
        reason = xs.verify_chain(self._chains[sender], sender, device_id)
        if reason:
            return f"device {device_id} of {sender} is not cross-signed by its owner: {reason}"
        session = self.client.olm.inbound_group_store.get(room_id, curve, getattr(ev, "session_id", ""))
        if session is None or session.ed25519 != (keys.get("keys") or {}).get(f"ed25519:{device_id}"):
            return f"the room key of device {device_id} was not made by that device"
        return None

    def _append(self, ev: Any, room_id: str, now: float) -> None:
        if not self._pending and self._judge(ev, room_id) is None:
            super()._append(ev, room_id, now)
            return
        self._pending.append((ev, room_id, now))
        if self._deciding is None or self._deciding.done():
            self._deciding = asyncio.get_running_loop().create_task(self._decide_pending())
            self._tasks.add(self._deciding)  # cancelled by close()
            self._deciding.add_done_callback(self._tasks.discard)

    async def _decide_pending(self) -> None:
        """In arrival order: events whose device is not (yet) known to pass get one fresh query."""
        while self._pending:
            ev, room_id, now = self._pending[0]
            why = self._judge(ev, room_id)
            if why is not None and getattr(ev, "sender", None):
                try:
                    await self._query([ev.sender])
                except Exception as exc:  # noqa: BLE001 - keep the reason; the event stays refused
                    log.warning("%s: /keys/query failed: %r", self.user_id, exc)
                why = self._judge(ev, room_id)
            self._pending.pop(0)
            if why is None:
                super()._append(ev, room_id, now)
            else:
                log.info("%s refuses %s from %s: %s", self.user_id, type_of(ev), ev.sender, why)
                try:
                    ev.room_id = room_id
                except AttributeError:
                    pass
                self.refused.append((ev, why))
            self._notify()

    async def settled(self, timeout: float = 10) -> None:
        """Until every received event has been shown or refused."""
        await self._wait_until(lambda: not self._pending, timeout, "trust decisions on received events")

    def refused_from(self, user_id: str, room_id: str | None = None) -> list[tuple[Any, str]]:
        return [(ev, why) for ev, why in self.refused
                if ev.sender == user_id and (room_id is None or getattr(ev, "room_id", None) == room_id)]

    # ------------------------------------------------------------------ sending
    async def _trust_members(self, room_id: str) -> set[tuple[str, str]]:
        """Verify or blacklist, in nio's store, every device of the room's members by the chain."""
        c = self.client
        room = c.rooms[room_id]
        if not room.members_synced:
            await c.joined_members(room_id)
        members = sorted(room.users)
        await self._query(members)
        c.olm.users_for_key_query.update(members)  # nio's own store must know the same devices
        await c.keys_query()
        trusted = set()
        for user_id in members:
            for device in c.device_store.active_user_devices(user_id):
                if user_id == self.user_id and device.id == self.device_id:
                    continue
                chain = self._chains.get(user_id, {})
                served = ((chain.get("device_keys") or {}).get(user_id) or {}).get(device.id) or {}
                ok = (xs.verify_chain(chain, user_id, device.id) is None
                      and (served.get("keys") or {}).get(f"ed25519:{device.id}") == device.ed25519)
                if ok:
                    c.unblacklist_device(device)
                    c.verify_device(device)
                    trusted.add((user_id, device.id))
                else:
                    c.unverify_device(device)
                    c.blacklist_device(device)
        session = c.olm.outbound_group_sessions.get(room_id)
        if session is not None and set(session.users_shared_with) != trusted:
            c.olm.outbound_group_sessions.pop(room_id)  # rotate: a fresh key, shared by the rules
        return trusted

    async def send_event(self, room_id: str, content: dict, event_type: str = "m.room.message") -> str:
        c = self.client
        await self.wait_room_known(room_id)
        room = c.rooms[room_id]
        if not (room.encrypted and c.olm is not None):
            return await super().send_event(room_id, content, event_type)
        async with self._keys_lock:
            members = frozenset(room.users)
            if (self.query_every_send or c.olm.should_share_group_session(room_id)
                    or members & self._stale or self._trusted_members.get(room_id) != members):
                self._stale -= members
                await self._trust_members(room_id)
                self._trusted_members[room_id] = members
            resp = await c.room_send(room_id, event_type, content, ignore_unverified_devices=False)
            session = c.olm.outbound_group_sessions.get(room_id)
            if session is not None:
                shared = frozenset(session.users_shared_with)
                if not self.key_shares or self.key_shares[-1] != (room_id, shared):
                    self.key_shares.append((room_id, shared))
        if not hasattr(resp, "event_id"):
            raise RuntimeError(f"room_send to {room_id} failed: {resp}")
        return resp.event_id

    def shared_with(self, room_id: str, user_id: str) -> set[str]:
        """Devices of user_id that received the latest room key of room_id from us."""
        for rid, shared in reversed(self.key_shares):
            if rid == room_id:
                return {d for u, d in shared if u == user_id}
        return set()

