"""The bot's life in Matrix: log in (once), long-poll sync with a stored token, join on
allowed invites, turn room messages into commands, and stop cleanly.

Exactly-once rules for commands (see also bot.framework.dispatcher):
- `next_batch` is stored after a sync batch has been handled, so a crash re-delivers at
  most the unfinished batch, and handled event ids make re-delivery harmless;
- on the very first sync (no stored token) timelines are history, never commands;
- messages older than bot.max_command_age, or older than the bot's join, are ignored."""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

from aiohttp import ClientError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from nio import (
    RoomCreateEvent,
    AsyncClient, AsyncClientConfig, InviteMemberEvent, LoginResponse, MegolmEvent, RoomMemberEvent,
    ReactionEvent, RedactionEvent, RoomMessageText, RoomUpgradeEvent, SyncError, SyncResponse, UnknownEvent, WhoamiResponse,
)

from bot.framework.paging import forget_all, stop_retries
from bot.framework import effects
from bot.app import build_dispatcher, build_services, warm_caches
from bot.framework.messages import Incoming, Outgoing
from bot.matrix.events import RoomFacts, incoming_from_message, is_edit, room_event
from bot.matrix import credentials as creds_mod, cross_signing, leader as leader_mod
from bot.matrix.power import RoomPower, join_space, resolve_space
from bot.matrix.transport import MatrixTransport
from bot.metrics import MetricsServer, refresh_from_database
from bot.outbox import OutboxSender
from bot.ratelimit import RateWatch
from bot.scheduler import Scheduler
from config.settings import Settings
from storage.db import describe_transient
from storage.models.core import HandledEvent, KeyValue, RoomState

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
TOKEN_KEY = "sync.next_batch"
OWN_ROOM_GRACE_MS = 60_000
READY_SYNC_AGE = 150  # seconds; long-polls return at least every 30 s
# The sync token is a restart shortcut, not what makes commands exactly-once (handled event
# ids are): it is written at most this often (and at a clean stop), not after every batch.
TOKEN_WRITE_INTERVAL = 5.0
HEARTBEAT = "heartbeat"  # touched after every successful sync; `dsih-bot health` reads its age


class MatrixRuntime:
    def __init__(self, settings: Settings):
        settings.require_matrix()
        self.settings = settings
        self.data_dir: Path = settings.storage.data_dir
        self.stopping = asyncio.Event()
        self.client: AsyncClient | None = None
        self.services = None
        self.dispatcher = None
        self.sender: OutboxSender | None = None
        self.scheduler: Scheduler | None = None
        self.next_batch: str | None = None
        self.own_rooms: dict[str, int] = {}  # rooms the bot created -> creation time (ms)
        self.metrics_server: MetricsServer | None = None
        self.last_sync_at = 0.0
        self.token_written = (None, 0.0)  # (token, monotonic time) last stored
        # room id -> (joined_at_ms, direct_with): our RoomState rows, read once per room
        # instead of once per sync; dropped wherever a row changes.
        self.room_facts: dict[str, tuple[int, str | None]] = {}
        self.room_changes = 0  # bumped by _room_changed: a read that raced a change is not cached
        # Create events, power levels and the hub Space's children, from sync: every power
        # level the bot reads comes from self.power.level_of (see bot/matrix/power.py).
        self.power = RoomPower()
        self.cross_sign_task: asyncio.Future | None = None

    # -- start-up ---------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        self.leader = leader_mod.for_settings(self.settings)  # a standby waits here, touching nothing
        if not await self.leader.wait_until_active(self.stopping):
            return 0 if self.stopping.is_set() else 1
        m = self.settings.matrix
        self.services = await build_services(self.settings, bot_user_id=m.user_id)
        await forget_all(self.services.db)
        self.dispatcher = build_dispatcher(self.services)
        store = self.data_dir / "crypto"
        store.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.client = AsyncClient(
            str(m.homeserver).rstrip("/"), m.user_id, store_path=str(store),
            config=AsyncClientConfig(
                encryption_enabled=True, store_sync_tokens=False,
                # We handle 429s and connection errors ourselves (bounded, logged, non-blocking).
                max_limit_exceeded=0, max_timeouts=0, request_timeout=60,
            ),
        )
        warming = asyncio.ensure_future(asyncio.to_thread(warm_caches))
        try:
            if not await self._login():
                return 1
            await self.leader.note_device(self.services.db, self.client.device_id)
            await warming
            async with self.services.db.session() as s:
                row = await s.get(KeyValue, TOKEN_KEY)
                self.next_batch = row.value if row else None
            transport = MatrixTransport(self.client, self.services.db, self.services.metrics)
            transport.room_changed = self._room_changed
            self.sender = OutboxSender(self.services.db, transport,
                                       max_retries=m.max_send_retries, backoff_max=m.reconnect_max_seconds)
            self.sender.watch = RateWatch(self.services.bot_user_id, str(self.settings.matrix.homeserver or ""))
            # For `!admin stats`: the backlog under the homeserver's rate limit (None when not limited).
            self.services.extras["send_rate"] = self.sender.watch.state
            self.dispatcher.on_committed = self.sender.submit
            self.scheduler = Scheduler(self.services, self.sender.wake)
            self.services.timers = self.scheduler
            if self.settings.metrics.listen:
                self.metrics_server = MetricsServer(
                    self.services.metrics, self.settings.metrics.listen, self._not_ready,
                    refresh=lambda: refresh_from_database(self.services.metrics, self.services.db),
                    routes=[r for routes in self.services.registry.contributions("http_routes") for r in routes],
                    services=self.services)
                await self.metrics_server.start()
            if self.settings.bot.space:  # an alias is resolved once, here
                self.power.space_id = await resolve_space(self.client, self.settings.bot.space, self.stopping,
                                                          max_backoff=m.reconnect_max_seconds)
            await self._sync_loop()
        finally:
            await self._shutdown()
        return 0

    def _on_signal(self, sig) -> None:
        log.info("received %s: finishing in-flight replies and stopping", signal.Signals(sig).name)
        self.stopping.set()

    async def _login(self) -> bool:
        """Reuse the stored token and device; log in with the password only once."""
        m = self.settings.matrix
        path = self.data_dir / "credentials.json"
        saved = creds_mod.load(path)
        homeserver = str(m.homeserver).rstrip("/")
        if (saved and saved.user_id == m.user_id and saved.homeserver == homeserver and m.password
                and not m.access_token
                and not (self.data_dir / "crypto" / f"{saved.user_id}_{saved.device_id}.db").exists()):
            # The crypto store (this device's keys) is gone: a new device, cross-signed again below.
            log.warning("the crypto store of device %s is missing; logging in as a new device", saved.device_id)
            await self._retire(saved)
            saved = None
        if saved and saved.user_id == m.user_id and saved.homeserver == homeserver:
            self.client.restore_login(saved.user_id, saved.device_id, saved.access_token)
            log.info("restored login for %s (device %s)", saved.user_id, saved.device_id)
            return True
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                if m.access_token:
                    self.client.access_token = m.access_token.get_secret_value()
                    who = await self.client.whoami()
                    if not isinstance(who, WhoamiResponse) or not who.device_id:
                        log.error("the configured access_token was refused: %s", who)
                        return False
                    creds = creds_mod.Credentials(homeserver, m.user_id, who.device_id, self.client.access_token)
                else:
                    resp = await self.client.login(m.password.get_secret_value(), device_name=m.device_name)
                    if not isinstance(resp, LoginResponse):
                        log.error("login failed: %s", resp)
                        return False
                    creds = creds_mod.Credentials(homeserver, m.user_id, resp.device_id, resp.access_token)
                creds_mod.save(path, creds)
                self.client.restore_login(creds.user_id, creds.device_id, creds.access_token)
                log.info("logged in as %s (device %s); credentials stored", creds.user_id, creds.device_id)
                return True
            except (ClientError, asyncio.TimeoutError, OSError) as exc:
                log.warning("homeserver unreachable at login (%s); retrying in %.0fs", exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, m.reconnect_max_seconds)
        return False

    async def _retire(self, saved: creds_mod.Credentials) -> None:
        """Log the old device out (its keys go with it), so clients stop sharing room keys with
        a device whose keys nobody holds any more. Best effort: the new device works either way."""
        try:
            done = await cross_signing.Homeserver(saved.homeserver, saved.access_token, timeout=10).logout()
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            done = False
            log.debug("logging out the old device failed: %s", exc)
        if done:
            log.info("old device %s logged out", saved.device_id)
        else:
            log.warning("could not log out the old device %s; remove it in a client's session list", saved.device_id)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    # -- sync ---------------------------------------------------------------------
    async def _sync_loop(self) -> None:
        m = self.settings.matrix
        sync_filter = {
            "room": {"timeline": {"limit": m.timeline_limit}, "state": {"lazy_load_members": False}},
            "presence": {"not_types": ["*"]},
        }
        first = True
        backoff = 1.0
        db_backoff = 0.5
        while not self.stopping.is_set():
            sync_task = asyncio.ensure_future(self.client.sync(
                timeout=SYNC_TIMEOUT_MS if not first else 0, sync_filter=sync_filter, since=self.next_batch,
                full_state=True if first and self.next_batch else None))
            stop_task = asyncio.ensure_future(self.stopping.wait())
            done, _ = await asyncio.wait({sync_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            if stop_task not in done:
                stop_task.cancel()
            if sync_task not in done:
                sync_task.cancel()
                break
            try:
                resp = sync_task.result()
            except (ClientError, asyncio.TimeoutError, OSError) as exc:
                resp = exc
            if not isinstance(resp, SyncResponse):
                if isinstance(resp, SyncError) and resp.status_code == "M_UNKNOWN_TOKEN":
                    log.error("the homeserver no longer accepts our access token; forgetting it, "
                              "restart to log in again")
                    creds_mod.forget(self.data_dir / "credentials.json")
                    self.stopping.set()
                    break
                log.warning("sync failed (%s); retrying in %.0fs", resp, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, m.reconnect_max_seconds)
                continue
            # Command age is judged at arrival: time spent behind earlier commands of a busy
            # batch must not make a fresh command "too old" (it was dropped under load).
            received_ms = time.time() * 1000
            if backoff > 1:
                log.info("homeserver reachable again; resuming from the stored sync token")
            backoff = 1.0
            self.power.observe_sync(resp)
            await self._keys()
            try:
                if self.next_batch is None:
                    await self._first_ever_sync(resp)
                else:
                    await self._handle_sync(resp, received_ms)
            except Exception as exc:  # noqa: BLE001 - sorted below: only "database away" is retried
                if not await self.services.db.unavailable(exc):
                    raise
                # Locked or restarting: next_batch stays where it was, so this batch comes
                # again; what was handled is skipped (handled_events), the rest is answered.
                log.warning("database unavailable (%s); handling this sync again in %.1fs",
                            describe_transient(exc), db_backoff)
                await self._sleep(db_backoff)
                db_backoff = min(db_backoff * 2, m.reconnect_max_seconds)
                continue
            db_backoff = 0.5
            self.next_batch = resp.next_batch
            if first or time.monotonic() - self.token_written[1] >= TOKEN_WRITE_INTERVAL:
                try:
                    await self._store_token()
                except Exception as exc:  # noqa: BLE001 - an older stored token only means re-reading
                    if not await self.services.db.unavailable(exc):
                        raise
                    log.warning("could not store the sync token (%s); trying again later", describe_transient(exc))
            (self.data_dir / HEARTBEAT).touch()
            self.last_sync_at = time.time()
            self.services.metrics.last_sync.set(self.last_sync_at)
            if first:
                first = False
                await self._after_first_sync()

    async def _store_token(self) -> None:
        if self.next_batch and self.token_written[0] != self.next_batch:
            async with self.services.db.transaction() as s:
                await s.merge(KeyValue(key=TOKEN_KEY, value=self.next_batch))
        self.token_written = (self.next_batch, time.monotonic())

    def _room_changed(self, room_id: str) -> None:
        self.room_changes += 1
        self.room_facts.pop(room_id, None)

    async def _after_first_sync(self) -> None:
        profile = await self.client.get_displayname(self.client.user_id)
        name = getattr(profile, "displayname", None)
        if name:
            self.services.extras["display_name"] = name
        self.services.extras["display_name_of"] = self._display_name_of
        # In the background: a homeserver that is slow to take the keys must not delay answers
        # (clients that do not exclude insecure devices talk to the bot either way).
        self.cross_sign_task = asyncio.ensure_future(self._cross_sign())
        self.sender.start()
        await self.scheduler.start()
        await join_space(self.client, self.power.space_id)
        log.info("ready: %d room(s); prefix %r", len(self.client.rooms), self.settings.bot.command_prefix)

    async def _cross_sign(self) -> None:
        """After the first sync (nio has uploaded this device's keys by then): make sure the
        device is cross-signed, so Element shares room keys with it and shows its messages."""
        m = self.settings.matrix
        if not m.cross_signing:
            status = cross_signing.Status(self.client.device_id, False, "matrix.cross_signing is off")
            log.warning("cross-signing: off (matrix.cross_signing is false): Element clients that exclude "
                        "insecure devices will not talk to this bot in encrypted rooms")
        else:
            status = await cross_signing.ensure_at_start(
                str(m.homeserver), self.client.access_token, self.data_dir, self.client.user_id,
                self.client.device_id, m.password.get_secret_value() if m.password else None)
        self.services.extras["cross_signing"] = lambda: self._cross_signing_now(status)

    def _cross_signing_now(self, at_start: cross_signing.Status) -> cross_signing.Status:
        """For `!admin stats`: `dsih-bot crypto bootstrap|reset` may have run since the start."""
        later = cross_signing.read_status(self.data_dir)
        if later is not None and later.device_id == at_start.device_id and later.checked_at > at_start.checked_at:
            return later
        return at_start

    async def _not_ready(self) -> list[str]:
        """For /readyz: what keeps the bot from answering now (empty = ready)."""
        problems = []
        if not (self.client and self.client.access_token):
            problems.append("not logged in")
        age = time.time() - self.last_sync_at
        if age > READY_SYNC_AGE:
            problems.append("no successful sync yet" if not self.last_sync_at else f"last sync {age:.0f}s ago")
        try:
            async with self.services.db.session() as s:
                await s.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "database unreachable"
            problems.append(f"database unreachable ({type(exc).__name__})")
        return problems

    def _display_name_of(self, user_id: str) -> str | None:
        """A member's display name from any room the bot shares with them (no request)."""
        for room in self.client.rooms.values():
            user = room.users.get(user_id)
            if user is not None and user.display_name and user.display_name != user_id:
                return user.display_name
        return None

    async def _keys(self) -> None:
        """What nio's sync_forever does after each sync, done here because we own the loop."""
        c = self.client
        try:
            if c.should_upload_keys:
                await c.keys_upload()
            if c.should_query_keys:
                await c.keys_query()
            if c.should_claim_keys:
                await c.keys_claim(c.get_users_for_key_claiming())
            await c.send_to_device_messages()
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            log.warning("key maintenance failed (%s); will retry after next sync", exc)

    async def _first_ever_sync(self, resp: SyncResponse) -> None:
        """No stored token: everything in this sync is history. Record the rooms we are in
        (as joined now, so their past is never answered) and handle pending invites."""
        now_ms = int(time.time() * 1000)
        async with self.services.db.transaction() as s:
            for room_id in resp.rooms.join:
                if await s.get(RoomState, room_id) is None:
                    s.add(RoomState(room_id=room_id, joined_at_ms=now_ms))
        await self._handle_invites(resp)
        log.info("first sync: %d room(s) recorded, their history is not treated as commands", len(resp.rooms.join))

    async def _handle_sync(self, resp: SyncResponse, received_ms: float) -> None:
        await self._handle_invites(resp)
        for room_id, info in resp.rooms.join.items():
            try:
                await self._handle_room(room_id, info, received_ms)
            except Exception as exc:  # noqa: BLE001 - one bad room must not stop the others
                if await self.services.db.unavailable(exc):
                    raise  # the whole batch is handled again (see _sync_loop)
                log.exception("error while handling events of %s", room_id)

    async def _handle_invites(self, resp: SyncResponse) -> None:
        access = self.services.access
        for room_id, info in resp.rooms.invite.items():
            inviter, direct = None, False
            for ev in info.invite_state:
                if isinstance(ev, InviteMemberEvent) and ev.state_key == self.client.user_id and ev.membership == "invite":
                    inviter, direct = ev.sender, bool(ev.content.get("is_direct"))
            if inviter and access.is_allowed(inviter):
                result = await self.client.join(room_id)
                if getattr(result, "room_id", None):
                    async with self.services.db.transaction() as s:
                        await s.merge(RoomState(room_id=room_id, joined_at_ms=int(time.time() * 1000),
                                                is_direct_with=inviter if direct else None))
                    self._room_changed(room_id)
                    log.info("joined %s on invitation by %s", room_id, inviter)
                else:
                    log.warning("could not join %s: %s", room_id, result)
            else:
                log.info("declining invitation to %s from %s (not allowed)", room_id, inviter)
                await self.client.room_leave(room_id)

    async def _handle_room(self, room_id: str, info, received_ms: float) -> None:
        me = self.client.user_id
        room = self.client.rooms.get(room_id)
        my_joins = [ev.server_timestamp for ev in info.timeline.events
                    if isinstance(ev, RoomMemberEvent) and ev.state_key == me and ev.membership == "join"
                    and ev.prev_membership != "join"]
        facts = self.room_facts.get(room_id)
        if my_joins or facts is None:
            changes = self.room_changes
            for attempt in (1, 2):
                try:
                    async with self.services.db.transaction() as s:
                        state = await s.get(RoomState, room_id)
                        if state is None:
                            state = RoomState(room_id=room_id, joined_at_ms=int(time.time() * 1000))
                            s.add(state)
                        if my_joins:
                            state.joined_at_ms = my_joins[-1]
                        facts = (state.joined_at_ms, state.is_direct_with)
                    break
                except IntegrityError:
                    # The sender recorded the room in the same moment (a direct chat it just
                    # created): read the row it wrote instead of losing this room's events.
                    if attempt == 2:
                        raise
            if changes == self.room_changes:
                self.room_facts[room_id] = facts
        joined_at, direct_with = facts
        max_age_ms = self.settings.bot.max_command_age.total_seconds() * 1000
        for ev in info.timeline.events:
            if getattr(ev, "sender", None) == me:
                continue
            ts = getattr(ev, "server_timestamp", 0)
            if ts < joined_at or received_ms - ts > max_age_ms:
                continue
            if isinstance(ev, MegolmEvent):
                await self._undecryptable(room_id, ev)
            elif isinstance(ev, RoomMessageText):
                await self._message(room, ev, direct_with)
            elif isinstance(ev, UnknownEvent) and ev.type in self.services.registry.events:
                await self._room_event(room_id, ev)
            elif isinstance(ev, (ReactionEvent, RedactionEvent)) or _source_type(ev) == "m.room.redaction":
                await self._relation_event(room_id, ev)
            elif isinstance(ev, RoomUpgradeEvent) and ev.replacement_room:
                await self._follow_upgrade(room_id, ev, direct_with)
        # A direct room the bot has just opened (to notify someone) may sync before its invite
        # does: give a room the bot created itself a minute before "nobody is there" counts.
        for ev in (*getattr(info, "state", ()), *info.timeline.events):
            if isinstance(ev, RoomCreateEvent) and ev.sender == me:
                self.own_rooms[room_id] = ev.server_timestamp
        just_created = time.time() * 1000 - self.own_rooms.get(room_id, 0) < OWN_ROOM_GRACE_MS
        if (room is not None and room.joined_count <= 1 and room.invited_count == 0
                and not just_created):
            log.info("leaving %s: nobody else is there", room_id)
            self._room_changed(room_id)
            await self.client.room_leave(room_id)
            await self.client.room_forget(room_id)

    async def _follow_upgrade(self, room_id: str, ev: RoomUpgradeEvent, direct_with: str | None) -> None:
        """A room upgrade (tombstone): follow the room to its new version, as users do."""
        if not self.services.access.is_allowed(ev.sender):
            return
        result = await self.client.join(ev.replacement_room)
        if not getattr(result, "room_id", None):
            log.warning("could not follow the upgrade of %s to %s: %s", room_id, ev.replacement_room, result)
            return
        async with self.services.db.transaction() as s:
            await s.merge(RoomState(room_id=ev.replacement_room, joined_at_ms=int(time.time() * 1000),
                                    is_direct_with=direct_with))
        self._room_changed(ev.replacement_room)
        log.info("followed the upgrade of %s to %s", room_id, ev.replacement_room)

    async def _message(self, room, ev: RoomMessageText, direct_with: str | None) -> None:
        content = ev.source.get("content")
        if is_edit(content):
            return  # an edit is not a new command
        if not self.services.access.is_allowed(ev.sender):
            log.info("ignoring %s from %s (not allowed)", ev.event_id, ev.sender)
            return
        self.services.metrics.sync_lag.observe(max(0.0, time.time() - ev.server_timestamp / 1000))
        level = await self.power.sender_level(self.client, room.room_id, ev.sender) if room else 0
        facts = RoomFacts(room_id=room.room_id if room else "", direct_with=direct_with,
                          joined_count=room.joined_count if room else 0, power_level=level)
        incoming = incoming_from_message(sender=ev.sender, event_id=ev.event_id, body=ev.body,
                                         formatted_body=ev.formatted_body, content=content,
                                         timestamp_ms=ev.server_timestamp, room=facts)
        await self.dispatcher.handle(incoming)  # its replies reach the sender via on_committed

    async def _room_event(self, room_id: str, ev: UnknownEvent) -> None:
        """Events nio has no class for (polls), for the capabilities that listen to them."""
        if not self.services.access.is_allowed(ev.sender):
            return
        event = room_event(type_=ev.type, sender=ev.sender, event_id=ev.event_id, content=ev.source.get("content"),
                           timestamp_ms=ev.server_timestamp, room_id=room_id)
        if event is not None:
            await self.dispatcher.handle_event(event)

    async def _relation_event(self, room_id: str, ev) -> None:
        """Reactions (m.reaction) and redactions (m.room.redaction, e.g. a reaction taken
        back) for the capabilities that listen to them. A redaction carries the id of the
        event it removes as `redacts` in its content (room v11 and later put it there;
        older rooms at the top level: both are given as content["redacts"])."""
        source = getattr(ev, "source", None) or {}
        type_ = source.get("type") or ("m.reaction" if isinstance(ev, ReactionEvent) else "m.room.redaction")
        if type_ not in self.services.registry.events or not self.services.access.is_allowed(ev.sender):
            return
        content = source.get("content") if isinstance(source.get("content"), dict) else {}
        if type_ == "m.room.redaction":
            redacts = content.get("redacts") or source.get("redacts") or getattr(ev, "redacts", None)
            content = {**content, "redacts": redacts}
        event = room_event(type_=type_, sender=ev.sender, event_id=ev.event_id, content=content,
                           timestamp_ms=getattr(ev, "server_timestamp", 0), room_id=room_id)
        if event is not None:
            await self.dispatcher.handle_event(event)

    async def _undecryptable(self, room_id: str, ev: MegolmEvent) -> None:
        """Tell the sender once (per sender and session) instead of staying silent."""
        key = f"undecryptable:{room_id}:{ev.sender}:{ev.session_id}"[:255]
        async with self.services.db.transaction() as s:
            if await s.get(HandledEvent, key):
                return
            s.add(HandledEvent(event_id=key, room_id=room_id))
            from bot.framework.context import Context
            ctx = Context(Incoming(sender=ev.sender, room_id=room_id, event_id=ev.event_id, body=""),
                          self.services, s)
            t = await ctx.translator_for(ev.sender)
            await effects.enqueue(s, [Outgoing(
                t("I could not decrypt your message, so I cannot answer it. Your app may not have "
                        "shared its keys with me yet: please send it again in a moment."),
                room_id=room_id, reply_to=ev.event_id)], origin=f"undecryptable {ev.event_id}", key=key)
        try:
            await self.client.request_room_key(ev)
        except Exception:  # noqa: BLE001 - best effort; the user has been told
            log.debug("room key request failed", exc_info=True)
        self.sender.wake()

    # -- stop ---------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        if self.cross_sign_task and not self.cross_sign_task.done():
            self.cross_sign_task.cancel()
        if self.services and self.next_batch:
            try:
                await self._store_token()
            except Exception as exc:  # noqa: BLE001 - an older token only means re-reading handled events
                log.warning("could not store the sync token at stop: %s", exc)
        if self.metrics_server:
            await self.metrics_server.stop()
        if self.sender:
            drained = await self.sender.drain(timeout=5)
            if not drained:
                log.warning("stopping with unsent messages; they are sent at next start")
            await self.sender.stop()
        if self.scheduler:
            await self.scheduler.shutdown()
        if self.client:
            await self.client.close()
        if self.services:
            stop_retries()
            await self.services.db.dispose()
        await self.leader.release()  # last: the standby takes over only after our outbox drained
        log.info("stopped")


def _source_type(ev) -> str | None:
    source = getattr(ev, "source", None)
    return source.get("type") if isinstance(source, dict) else None
