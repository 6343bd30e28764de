"""A human-like Matrix test user: a real matrix-nio AsyncClient (with e2e).

    alice = await MatrixUser.create(server.url, "@alice:localhost", "pw", tmp_path / "alice")
    room = await alice.create_room(invite=[bot_id], encrypted=True)
    await alice.wait_joined(room, bot_id)
    m = alice.mark()
    await alice.send_text(room, "!ping")
    reply = await alice.wait_for_reply(room, bot_id, since=m)
    assert reply.source["content"]["body"] == "pong"
    assert await alice.collect(room, bot_id, 2.0, since=m) == [reply]   # no duplicates
    await alice.close()

Every timeline event this client receives (decrypted where possible; nio
replaces Megolm events in the timeline with the decrypted ones) is appended
to ``self.events``. Each buffered event gets two extra attributes:
``room_id`` and ``received_at`` (time.monotonic() when the sync delivering it
was processed). Waits scan that buffer from a position returned by
``mark()``, so an event that arrives before our own ``room_send`` returns is
never missed. ``event.source["content"]`` is the (decrypted) content dict for
plain and decrypted events alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedMembersError,
    LoginResponse,
    MegolmEvent,
    RoomCreateError,
    RoomSendResponse,
    SyncResponse,
)
from nio.api import RoomPreset, RoomVisibility

log = logging.getLogger(__name__)

# A large timeline limit so that no event is lost to a `limited` sync.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}
LONG_POLL_MS = 30000

Predicate = Callable[[Any], bool]


class WaitTimeout(AssertionError):
    """Raised when a wait_* helper times out (an assertion failure in tests)."""


def content_of(event: Any) -> dict:
    """The content dict of a buffered event (plain or decrypted)."""
    return (getattr(event, "source", None) or {}).get("content", {}) or {}


def type_of(event: Any) -> str | None:
    return (getattr(event, "source", None) or {}).get("type")


def _describe(event: Any) -> str:
    c = content_of(event)
    body = c.get("body") or c.get("membership") or ""
    return (
        f"{getattr(event, 'room_id', '?')} {type(event).__name__} "
        f"{type_of(event)} from {getattr(event, 'sender', '?')}: {str(body)[:80]!r}"
    )


class MatrixUser:
    def __init__(self, client: AsyncClient, password: str | None, encryption: bool) -> None:
        self.client = client
        self.password = password
        self.encryption = encryption
        self.events: list[Any] = []
        self.invites: list[str] = []  # room ids we were invited to
        self.auto_join = True
        self.sync_count = 0
        self._changed = asyncio.Event()
        self._keys_lock = asyncio.Lock()
        self._sync_task: asyncio.Task | None = None
        self._sync_error: BaseException | None = None
        self._joining: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._undecrypted: list[MegolmEvent] = []
        self._closed = False

    # ------------------------------------------------------------- creation
    @classmethod
    async def create(
        cls,
        homeserver_url: str,
        user_id: str,
        password: str,
        store_dir: Path,
        encryption: bool = True,
        *,
        device_name: str = "test-user",
        auto_join: bool = True,
        device_id: str | None = None,
        access_token: str | None = None,
    ) -> "MatrixUser":
        """Log in (or restore a login when device_id+access_token are given),
        do a first sync + key upload, and start the background sync loop."""
        store_dir = Path(store_dir)
        store_dir.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=encryption,
            store_sync_tokens=True,
            max_timeout_retry_wait_time=1.0,  # reconnect quickly after a homeserver restart
            request_timeout=LONG_POLL_MS / 1000 + 30,
        )
        client = AsyncClient(
            homeserver_url, user_id, store_path=str(store_dir), config=config
        )
        if device_id and access_token:
            client.restore_login(user_id, device_id, access_token)
        else:
            resp = await client.login(password, device_name=device_name)
            if not isinstance(resp, LoginResponse):
                await client.close()
                raise RuntimeError(f"login as {user_id} failed: {resp}")
        self = cls(client, password, encryption)
        self.auto_join = auto_join
        try:
            await self._sync_once(timeout=0, full_state=True)
        except BaseException:
            await client.close()
            raise
        self._sync_task = asyncio.create_task(self._sync_loop(), name=f"sync {user_id}")
        return self

    @property
    def user_id(self) -> str:
        return self.client.user_id

    @property
    def device_id(self) -> str:
        return self.client.device_id

    @property
    def access_token(self) -> str:
        return self.client.access_token

    # ------------------------------------------------------------ sync loop
    async def _sync_loop(self) -> None:
        backoff = 0.1
        while not self._closed:
            try:
                await self._sync_once(timeout=LONG_POLL_MS)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as e:  # connection trouble (homeserver restart): retry
                log.info("%s: sync failed (%r), retrying in %.1fs", self.user_id, e, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    async def _sync_once(self, timeout: int, full_state: bool = False) -> None:
        resp = await self.client.sync(
            timeout=timeout, full_state=full_state, sync_filter=SYNC_FILTER
        )
        if not isinstance(resp, SyncResponse):
            raise RuntimeError(f"sync error: {resp}")
        self.sync_count += 1
        now = time.monotonic()
        for room_id, info in resp.rooms.join.items():
            for ev in info.timeline.events:
                self._append(ev, room_id, now)
                if isinstance(ev, MegolmEvent):
                    self._undecrypted.append(ev)
        if self._undecrypted and self.encryption:
            self._retry_decryption(now)
        for room_id in resp.rooms.invite:
            if room_id not in self.invites:
                self.invites.append(room_id)
            if self.auto_join and room_id not in self._joining:
                self._joining.add(room_id)
                task = asyncio.create_task(self._join(room_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        # Wake waiters after every sync: room state may have changed too.
        self._notify()
        await self._key_maintenance()

    def _append(self, ev: Any, room_id: str, now: float) -> None:
        try:
            ev.room_id = room_id
            ev.received_at = now
        except AttributeError:  # slotted class; keep going
            pass
        self.events.append(ev)

    def _retry_decryption(self, now: float) -> bool:
        """Megolm events whose key arrived later: append the decrypted event."""
        found = False
        still = []
        for ev in self._undecrypted:
            try:
                dec = self.client.decrypt_event(ev)
            except Exception:
                still.append(ev)
                continue
            if isinstance(dec, MegolmEvent) or dec is None:
                still.append(ev)
                continue
            self._append(dec, ev.room_id, now)
            found = True
        self._undecrypted = still
        return found

    async def _join(self, room_id: str) -> None:
        try:
            await self.client.join(room_id)
        except Exception as e:
            log.warning("%s: joining %s failed: %r", self.user_id, room_id, e)
            self._joining.discard(room_id)

    async def _key_maintenance(self) -> None:
        """What sync_forever does after each sync."""
        c = self.client
        if not self.encryption or c.olm is None:
            return
        async with self._keys_lock:
            try:
                if c.should_upload_keys:
                    await c.keys_upload()
                if c.should_query_keys:
                    await c.keys_query()
                if c.should_claim_keys:
                    await c.keys_claim(c.get_users_for_key_claiming())
                await c.send_to_device_messages()
            except Exception as e:
                log.warning("%s: key maintenance failed: %r", self.user_id, e)

    def _notify(self) -> None:
        ev, self._changed = self._changed, asyncio.Event()
        ev.set()

    def _check_alive(self) -> None:
        t = self._sync_task
        if t is not None and t.done() and not t.cancelled() and t.exception():
            raise RuntimeError(f"{self.user_id}: sync loop died") from t.exception()

    async def _wait_until(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        """Re-evaluate check() after every sync until it returns a truthy value."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            result = check()
            if result:
                return result
            self._check_alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(f"{self.user_id}: timed out after {timeout}s waiting for {what}")
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, 1.0))
            except asyncio.TimeoutError:
                pass

    # --------------------------------------------------------------- buffer
    def mark(self) -> int:
        """Current buffer position; pass as since= to the wait helpers."""
        return len(self.events)

    async def wait_for(
        self, predicate: Predicate, timeout: float = 20, since: int = 0, what: str = "event"
    ) -> Any:
        """First buffered event at index >= since that satisfies predicate(event)."""
        pos = since

        def check():
            nonlocal pos
            while pos < len(self.events):
                ev = self.events[pos]
                pos += 1
                if predicate(ev):
                    return (ev,)
            return None

        try:
            return (await self._wait_until(check, timeout, what))[0]
        except WaitTimeout as e:
            tail = "\n".join("  " + _describe(ev) for ev in self.events[since:][-15:])
            raise WaitTimeout(f"{e}\nevents since mark {since}:\n{tail or '  (none)'}") from None

    @staticmethod
    def _is_message(ev: Any, room_id: str, from_user: str | None) -> bool:
        return (
            getattr(ev, "room_id", None) == room_id
            and (from_user is None or getattr(ev, "sender", None) == from_user)
            and type_of(ev) == "m.room.message"
        )

    async def wait_for_reply(
        self,
        room_id: str,
        from_user: str,
        since: int = 0,
        timeout: float = 20,
        predicate: Predicate | None = None,
    ) -> Any:
        """First m.room.message from from_user in room_id (buffer index >= since)."""
        return await self.wait_for(
            lambda ev: self._is_message(ev, room_id, from_user)
            and (predicate is None or predicate(ev)),
            timeout=timeout,
            since=since,
            what=f"a message from {from_user} in {room_id}",
        )

    def messages(self, room_id: str, from_user: str | None = None, since: int = 0) -> list[Any]:
        """Buffered m.room.message events (no waiting)."""
        return [ev for ev in self.events[since:] if self._is_message(ev, room_id, from_user)]

    async def collect(
        self, room_id: str, from_user: str, duration: float, since: int = 0
    ) -> list[Any]:
        """Wait the full `duration`, then return every m.room.message from
        from_user in room_id since the mark (to assert there are no extras)."""
        await asyncio.sleep(duration)
        self._check_alive()
        return self.messages(room_id, from_user, since)

    # ---------------------------------------------------------------- rooms
    async def wait_room_known(self, room_id: str, timeout: float = 15) -> None:
        """Until our own sync has delivered the room (needed before sending)."""
        await self._wait_until(
            lambda: room_id in self.client.rooms, timeout, f"room {room_id} in own sync"
        )

    async def create_room(
        self,
        invite: Iterable[str] = (),
        encrypted: bool = False,
        is_direct: bool = False,
        name: str | None = None,
        timeout: float = 15,
    ) -> str:
        initial_state = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        resp = await self.client.room_create(
            visibility=RoomVisibility.private,
            name=name,
            is_direct=is_direct,
            preset=RoomPreset.trusted_private_chat if is_direct else RoomPreset.private_chat,
            invite=list(invite),
            initial_state=initial_state,
        )
        if isinstance(resp, RoomCreateError):
            raise RuntimeError(f"room_create failed: {resp}")
        room_id = resp.room_id
        # nio would send *plaintext* into a room it does not yet know is
        # encrypted: wait until our sync has delivered the room state.
        await self._wait_until(
            lambda: room_id in self.client.rooms
            and (not encrypted or self.client.rooms[room_id].encrypted),
            timeout,
            f"created room {room_id} in own sync",
        )
        return room_id

    async def join(self, room_id: str, timeout: float = 15) -> None:
        resp = await self.client.join(room_id)
        if not hasattr(resp, "room_id"):
            raise RuntimeError(f"join {room_id} failed: {resp}")
        await self.wait_joined(room_id, self.user_id, timeout)

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 15) -> None:
        """Until user_id's membership in room_id is join, as seen by this client."""
        deadline = time.monotonic() + timeout
        await self.wait_room_known(room_id, timeout)

        def synced_join() -> bool:
            room = self.client.rooms.get(room_id)
            return bool(room and user_id in room.users and user_id not in room.invited_users)

        last_poll = 0.0
        while True:
            if synced_join():
                return
            now = time.monotonic()
            if now - last_poll > 1.0:  # fallback: ask the server
                last_poll = now
                try:
                    resp = await self.client.joined_members(room_id)
                    if not isinstance(resp, JoinedMembersError) and any(
                        m.user_id == user_id for m in resp.members
                    ):
                        return
                except Exception:
                    pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(
                    f"{self.user_id}: {user_id} did not join {room_id} within {timeout}s"
                )
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass

    # -------------------------------------------------------------- sending
    async def send_event(
        self, room_id: str, content: dict, event_type: str = "m.room.message"
    ) -> str:
        """Send any room event (encrypted when the room is); returns event_id."""
        c = self.client
        await self.wait_room_known(room_id)
        room = c.rooms[room_id]
        if room.encrypted and c.olm is not None:
            async with self._keys_lock:
                if not room.members_synced:
                    await c.joined_members(room_id)
                if c.should_query_keys:
                    await c.keys_query()
                resp = await c.room_send(
                    room_id, event_type, content, ignore_unverified_devices=True
                )
        else:
            resp = await c.room_send(room_id, event_type, content)
        if not isinstance(resp, RoomSendResponse):
            raise RuntimeError(f"room_send to {room_id} failed: {resp}")
        return resp.event_id

    async def send_text(
        self,
        room_id: str,
        body: str,
        *,
        thread_root: str | None = None,
        reply_to: str | None = None,
        mentions: list[str] | dict | None = None,
        formatted_body: str | None = None,
        msgtype: str = "m.text",
        extra_content: dict | None = None,
    ) -> str:
        """Send a text message; returns its event_id.

        thread_root: send into that thread (m.thread relation, with the
        fallback reply to the root unless reply_to is given).
        mentions: list of user ids (-> m.mentions.user_ids) or a full
        m.mentions dict.
        """
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if formatted_body is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted_body
        if mentions is not None:
            content["m.mentions"] = (
                mentions if isinstance(mentions, dict) else {"user_ids": list(mentions)}
            )
        if thread_root is not None:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread_root,
                "is_falling_back": reply_to is None,
                "m.in_reply_to": {"event_id": reply_to or thread_root},
            }
        elif reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        if extra_content:
            content.update(extra_content)
        return await self.send_event(room_id, content)

    async def echo_time(self, room_id: str, timeout: float = 20) -> float:
        """Seconds from starting a send until our own event shows up in our sync."""
        token = f"echo {uuid.uuid4().hex}"
        m = self.mark()
        t0 = time.monotonic()
        await self.send_text(room_id, token)
        ev = await self.wait_for(
            lambda e: getattr(e, "sender", None) == self.user_id
            and content_of(e).get("body") == token,
            timeout=timeout,
            since=m,
            what="own echo",
        )
        return getattr(ev, "received_at", time.monotonic()) - t0

    # ---------------------------------------------------------------- close
    async def close(self, logout: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        if self._sync_task is not None:
            self._sync_task.cancel()
            try:
                await self._sync_task
            except (asyncio.CancelledError, Exception):
                pass
        for task in list(self._tasks):
            task.cancel()
        if logout:
            try:
                await asyncio.wait_for(self.client.logout(), 5)
            except Exception:
                pass
        await self.client.close()

    async def __aenter__(self) -> "MatrixUser":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
