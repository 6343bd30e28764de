"""Sending outbox rows through matrix-nio, classifying every failure so the outbox can
decide: wait and retry (429), retry later (homeserver away), or give up and log."""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import logging

from aiohttp import ClientError
from sqlalchemy.exc import IntegrityError
from nio import (AsyncClient, RoomCreateResponse, RoomPreset, RoomResolveAliasResponse, RoomSendResponse,
                 UploadResponse)
from nio.exceptions import LocalProtocolError, SendRetryError

from bot.framework.effects import OPEN_ROOM
from bot.outbox import SendResult
from storage.models.core import DirectRoom, KeyValue, OutboxMessage, RoomState

log = logging.getLogger(__name__)

NOT_SYNCED_RETRY = 5.0  # seconds between tries while a new direct room is not known to nio yet
ALIAS_SALT_KEY = "open_room:salt"   # KeyValue: this installation's salt for open_room_alias


def direct_intent_key(user_id: str) -> str:
    """The KeyValue key of "about to create a direct room with user_id" (keys are at most
    100 characters, user ids up to 255: hashed; the value holds the user id, so forgetting
    the user removes it with the other rows naming them)."""
    return "direct_room_intent:" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


class MatrixTransport:
    def __init__(self, client: AsyncClient, db, metrics=None):
        self.client = client
        self.db = db
        self.metrics = metrics
        self._dm_lock = asyncio.Lock()
        self.room_changed = None  # callback(room_id) when a RoomState row is written here

    async def send(self, row: OutboxMessage) -> SendResult:
        result = await self._send(row)
        if self.metrics is not None:
            label = ("sent" if result.event_id else "rate_limited" if result.retry_after is not None
                     else "transient" if result.transient else "failed")
            self.metrics.sent.labels(label).inc()
            if result.retry_after is not None:
                self.metrics.rate_limit_wait.inc(result.retry_after)
        return result

    async def _send(self, row: OutboxMessage) -> SendResult:
        if row.event_type == OPEN_ROOM:
            return await self._open_room(row)
        try:
            room_id = row.room_id or await self.direct_room(row.to_user)
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            return SendResult(transient=f"{type(exc).__name__}: {exc}")
        if room_id is None:
            return SendResult(permanent=f"could not open a direct room with {row.to_user}")
        if room_id not in self.client.rooms:
            if row.to_user:
                # A direct room created moments ago: nio learns of it with a later sync.
                return SendResult(retry_after=NOT_SYNCED_RETRY, reason="direct room not synced yet")
            return SendResult(permanent=f"not a member of {room_id}")
        content = row.content
        try:
            if row.attachment is not None:
                content, failure = await self._with_upload(room_id, row)
                if failure is not None:
                    return failure
            resp = await self.client.room_send(room_id, row.event_type or "m.room.message", content,
                                               tx_id=row.txn_id, ignore_unverified_devices=True)
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            return SendResult(transient=f"{type(exc).__name__}: {exc}")
        except (SendRetryError, LocalProtocolError) as exc:
            if row.to_user:
                # "No such room" / "not a member" right after creating the direct room: a
                # bounded retry (the outbox's max_send_retries), not a permanent failure.
                return SendResult(retry_after=NOT_SYNCED_RETRY, reason=f"direct room not ready ({exc})")
            return SendResult(transient=f"{type(exc).__name__}: {exc}")
        if isinstance(resp, RoomSendResponse):
            return SendResult(event_id=resp.event_id)
        return classify(resp)

    async def _with_upload(self, room_id: str, row: OutboxMessage) -> tuple[dict, SendResult | None]:
        """Upload the row's file (encrypted for encrypted rooms). A crash after the upload
        re-uploads on resend: an orphaned copy in the media store, never a second message."""
        content = dict(row.content)
        info = content.get("info", {})
        encrypted = bool(getattr(self.client.rooms[room_id], "encrypted", False))
        data = row.attachment
        resp, keys = await self.client.upload(lambda *_: data, content_type=info.get("mimetype", "application/octet-stream"),
                                              filename=content.get("body", "file"), encrypt=encrypted,
                                              filesize=len(data))
        if not isinstance(resp, UploadResponse):
            return content, classify(resp)
        if encrypted:
            content["file"] = {**keys, "url": resp.content_uri}
        else:
            content["url"] = resp.content_uri
        return content, None

    async def direct_room(self, user_id: str | None) -> str | None:
        """The room to message `user_id` in; created (once) when there is none.

        Once, across crashes: the intent is kept before the room is created, and removed in
        the transaction that records the room. A retry that finds the intent but no room (a
        crash between creating and recording) looks for the room it made first, an unnamed
        room the bot created with only this person in it, instead of inviting them twice."""
        if not user_id:
            return None
        intent_key = direct_intent_key(user_id)
        async with self._dm_lock:
            async with self.db.session() as session:
                known = await session.get(DirectRoom, user_id)
                intent = await session.get(KeyValue, intent_key)
            if known and known.room_id in self.client.rooms:
                return known.room_id
            room_id = await self._interrupted_direct_room(user_id) if intent is not None else None
            if room_id is None:
                if intent is None:
                    async with self.db.transaction() as session:
                        await session.merge(KeyValue(key=intent_key, value=user_id))
                resp = await self.client.room_create(is_direct=True, invite=[user_id],
                                                     preset=RoomPreset.trusted_private_chat)
                if not isinstance(resp, RoomCreateResponse):
                    result = classify(resp)
                    if result.transient or result.retry_after is not None:
                        raise OSError(f"creating a direct room: {resp}")
                    return None
                room_id = resp.room_id
            else:
                log.info("found the direct room %s made before a restart; not creating another", room_id)
            await self._record_direct_room(user_id, room_id, intent_key)
            if self.room_changed is not None:
                self.room_changed(room_id)
            # The room becomes known to nio with the next sync; wait briefly for it.
            for _ in range(100):
                if room_id in self.client.rooms:
                    break
                await asyncio.sleep(0.1)
            return room_id

    async def _record_direct_room(self, user_id: str, room_id: str, intent_key: str) -> None:
        for attempt in (1, 2):
            try:
                async with self.db.transaction() as session:
                    await session.merge(DirectRoom(user_id=user_id, room_id=room_id))
                    state = await session.get(RoomState, room_id)
                    if state is None:
                        session.add(RoomState(room_id=room_id, joined_at_ms=int(time.time() * 1000),
                                              is_direct_with=user_id))
                    elif state.is_direct_with is None:
                        # The sync loop saw the new room first and recorded it as an ordinary
                        # room; it is the direct chat with user_id (no prefix needed there).
                        state.is_direct_with = user_id
                    intent = await session.get(KeyValue, intent_key)
                    if intent is not None:
                        await session.delete(intent)
                return
            except IntegrityError:
                # The sync loop recorded the room in the same moment: mark that row instead.
                if attempt == 2:
                    raise

    async def _interrupted_direct_room(self, user_id: str) -> str | None:
        """A direct room an interrupted `direct_room` created for `user_id`: one the bot made
        (its create event is the bot's), without a name (introduction rooms have one), whose
        only other member, joined or invited, is `user_id`. Rooms come from the last sync;
        a room nio does not know yet cannot be sent to either, and is looked for again on
        the outbox's retry (the intent stays until a room is recorded)."""
        own = self.client.user_id
        for room in list(self.client.rooms.values()):
            # nio's view (it may lag a sync behind) only picks the rooms worth asking about;
            # the homeserver's current state decides.
            if room.name or user_id not in (set(room.users) | set(room.invited_users)):
                continue
            resp = await self.client.room_get_state(room.room_id)
            events = getattr(resp, "events", None)
            if events is None:
                raise OSError(f"reading the state of {room.room_id}: {resp}")
            made_by_us = any(e.get("type") == "m.room.create" and e.get("sender") == own for e in events)
            named = any(e.get("type") == "m.room.name" and (e.get("content") or {}).get("name") for e in events)
            people = {e.get("state_key") for e in events if e.get("type") == "m.room.member"
                      and (e.get("content") or {}).get("membership") in ("join", "invite")}
            if made_by_us and not named and user_id in people and people <= {own, user_id}:
                return room.room_id
        return None

    async def _alias_salt(self) -> str:
        """A random secret of this installation (kept in the database), so nobody who sees a
        command's event id can work out, and take first, the alias of the room it opens."""
        async with self.db.session() as session:
            found = await session.get(KeyValue, ALIAS_SALT_KEY)
        if found is not None:
            return found.value
        try:
            async with self.db.transaction() as session:
                session.add(KeyValue(key=ALIAS_SALT_KEY, value=secrets.token_hex(16)))
        except IntegrityError:
            pass   # another sender made it a moment ago
        async with self.db.session() as session:
            return (await session.get(KeyValue, ALIAS_SALT_KEY)).value

    async def _resolve_own_alias(self, alias_name: str) -> str | None:
        """The room behind our alias (None: no such alias). Nobody else can hold it: its
        name is a hash of the row's transaction id with this installation's salt."""
        server = (self.client.user_id or "").partition(":")[2]
        resp = await self.client.room_resolve_alias(f"#{alias_name}:{server}")
        if isinstance(resp, RoomResolveAliasResponse):
            return resp.room_id
        if getattr(resp, "status_code", None) == "M_NOT_FOUND":
            return None
        raise OSError(f"resolving #{alias_name}: {resp}")

    async def _remember_room(self, key: str, room_id: str) -> None:
        """Keep the room made for an outbox row (and that the bot is in it)."""
        async with self.db.transaction() as session:
            await session.merge(KeyValue(key=key, value=room_id))
            if await session.get(RoomState, room_id) is None:
                session.add(RoomState(room_id=room_id, joined_at_ms=int(time.time() * 1000)))

    async def _open_room(self, row: OutboxMessage) -> SendResult:
        """An OPEN_ROOM row: create the room once, then post the message with the row's
        transaction id (the homeserver deduplicates a resend).

        Once, across crashes: the room is created with an alias derived from the row's
        transaction id (`open_room_alias`), and the homeserver refuses a second room with
        the same alias (M_ROOM_IN_USE). Before creating, the intent is kept under the row's
        key (an empty value); a retry that finds the intent but no room id (a crash between
        the creation and keeping the id) resolves the alias first, and so does a creation
        refused because the alias is taken. The room id is then kept under the key."""
        spec = dict(row.content.get(OPEN_ROOM) or {})
        content = {k: v for k, v in row.content.items() if k != OPEN_ROOM}
        key = f"open_room:{row.txn_id}"[:100]
        alias_name = open_room_alias(row.txn_id, await self._alias_salt())
        async with self.db.session() as session:
            known = await session.get(KeyValue, key)
        room_id = known.value if known and known.value else None
        created = False
        try:
            if room_id is None and known is not None:
                room_id = await self._resolve_own_alias(alias_name)   # an interrupted creation
            if room_id is None:
                if known is None:
                    async with self.db.transaction() as session:
                        await session.merge(KeyValue(key=key, value=""))
                resp = await self.client.room_create(name=spec.get("name") or None, topic=spec.get("topic") or None,
                                                     invite=list(spec.get("invite") or ()),
                                                     preset=RoomPreset.private_chat, alias=alias_name)
                if isinstance(resp, RoomCreateResponse):
                    room_id, created = resp.room_id, True
                elif getattr(resp, "status_code", None) == "M_ROOM_IN_USE":
                    room_id = await self._resolve_own_alias(alias_name)
                    if room_id is None:
                        return SendResult(transient=f"alias {alias_name} taken but not resolvable yet")
                else:
                    return classify(resp)
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            return SendResult(transient=f"{type(exc).__name__}: {exc}")
        if known is None or not known.value:
            await self._remember_room(key, room_id)
            if self.room_changed is not None:
                self.room_changed(room_id)
            if created:
                log.info("opened room %s for outbox row %s", room_id, row.txn_id)
            for _ in range(100):
                if room_id in self.client.rooms:
                    break
                await asyncio.sleep(0.1)
        if room_id not in self.client.rooms:
            return SendResult(retry_after=NOT_SYNCED_RETRY, reason="new room not synced yet")
        try:
            resp = await self.client.room_send(room_id, "m.room.message", content, tx_id=row.txn_id,
                                               ignore_unverified_devices=True)
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            return SendResult(transient=f"{type(exc).__name__}: {exc}")
        except (SendRetryError, LocalProtocolError) as exc:
            return SendResult(retry_after=NOT_SYNCED_RETRY, reason=f"new room not ready ({exc})")
        if isinstance(resp, RoomSendResponse):
            return SendResult(event_id=resp.event_id)
        return classify(resp)


def open_room_alias(txn_id: str, salt: str) -> str:
    """The local part of the alias a room opened for an outbox row gets: deterministic
    (the same row and installation, the same alias), unguessable without the salt (a
    room member who knows the command's event id cannot take the alias first), short."""
    return "dsih-open-" + hashlib.sha256(f"{salt}|{txn_id}".encode()).hexdigest()[:24]


def classify(resp) -> SendResult:
    errcode = getattr(resp, "status_code", None)
    transport = getattr(resp, "transport_response", None)
    http = getattr(transport, "status", None)
    if errcode == "M_LIMIT_EXCEEDED" or http == 429:
        return SendResult(retry_after=(getattr(resp, "retry_after_ms", None) or 5000) / 1000)
    if http is None or http >= 500 or errcode is None:
        return SendResult(transient=str(resp))
    return SendResult(permanent=str(resp))
