"""Which `dsih-bot run` process is the active one.

PostgreSQL: replicas share the database and one Matrix device (credentials and crypto store
in a shared `storage.data_dir`). The active replica holds a session-level advisory lock on a
connection of its own for its whole life. A standby asks for the lock every POLL_SECONDS
(pg_try_advisory_lock) and takes over once it comes free: when the holder's connection closes
(the process died) or it unlocks after a clean stop.
Nothing Matrix-side is touched before the lock is held: a standby never opens the crypto
store, never syncs, never sends.

If the active replica loses its lock connection (the database restarted, the connection was
killed), a standby may already be active: the process exits at once (EXIT_LOST_LOCK) rather
than carry on as a second leader; its supervisor restarts it as a standby. Unfinished work is
safe: a command's handled id and its outbox rows are committed together (events re-delivered
from an older sync token are recognised), and the outbox's deterministic transaction ids
(same device) let the homeserver drop a resend.

SQLite: one process only. A file lock in data_dir refuses a second `run` with a clear message."""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # a standby asks for the lock this often (also the retry after a database error)
WATCH_SECONDS = 2.0  # the active replica checks its lock connection this often
WATCH_TIMEOUT = 5.0  # a check that hangs this long counts as a lost connection
EXIT_LOST_LOCK = 75  # EX_TEMPFAIL: "try again", so systemd/compose restart the process
# The server drops a silently vanished holder (power cut, partition) after ~25 s instead of
# the kernel default of two hours, so the lock comes free for the standby. This must stay well
# above WATCH_SECONDS + WATCH_TIMEOUT: a cut-off holder must have exited before the standby starts.
KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}
LOCK_FILE = "dsih-bot.lock"
DEVICE_KEY = "replica.device_id"  # kv row: the Matrix device the last active replica used


def lock_key(user_id: str) -> int:
    """A stable signed 64-bit advisory-lock key per bot account: two bots (different
    accounts) on one database never block each other."""
    digest = hashlib.sha256(f"dsih-bot replica {user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hard_exit() -> None:
    """Stop now: no outbox drain, no further sync or send (another replica may be active)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(EXIT_LOST_LOCK)


class NoLock:
    """Replication off (`storage.replica_lock: false`): always active."""
    active = True

    async def wait_until_active(self, stopping: asyncio.Event) -> bool:
        return True

    async def note_device(self, db, device_id: str) -> None:
        return None

    async def release(self) -> None:
        return None


class FileLock(NoLock):
    """SQLite: refuse a second process on the same data_dir (it would answer every command twice)."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    async def wait_until_active(self, stopping: asyncio.Event) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            log.error("another dsih-bot (pid %s) is already running with data_dir %s; stop it first. "
                      "Two replicas need PostgreSQL (see README, 'Two replicas')", holder, self.path.parent)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class PostgresLock:
    """The advisory lock on a dedicated connection (NullPool: never shared, never recycled)."""

    def __init__(self, url: str, user_id: str, *, on_lost: Callable[[], None] = hard_exit,
                 probes: "StandbyProbes | None" = None):
        self.url, self.user_id, self.key = url, user_id, lock_key(user_id)
        self.on_lost, self.probes = on_lost, probes
        self.active = False
        self._engine = None
        self._conn: AsyncConnection | None = None
        self._watch: asyncio.Task | None = None
        # Counted for the metrics-free observer (tests wait for rounds, not for seconds).
        self.attempts = 0   # pg_try_advisory_lock calls
        self.checks = 0     # watchdog rounds that proved the lock's session alive

    async def _connect(self) -> AsyncConnection:
        if self._engine is None:
            self._engine = create_async_engine(self.url, poolclass=NullPool)
        conn = await self._engine.connect()
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # never "idle in transaction"
        for name, value in KEEPALIVE.items():
            await conn.execute(text(f"SET {name} = {int(value)}"))
        await conn.execute(text("SET application_name = 'dsih-bot replica lock'"))
        await conn.execute(text("SET statement_timeout = 0"))  # a server-wide one could cut the watchdog's check
        return conn

    async def try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = await self._connect()
        got = (await self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar()
        self.attempts += 1
        return bool(got)

    async def wait_until_active(self, stopping: asyncio.Event) -> bool:
        try:
            return await self._wait(stopping)
        finally:
            if self.probes:
                await self.probes.stop()  # the active runtime serves its own on the same port

    async def _wait(self, stopping: asyncio.Event) -> bool:
        started, announced, failing = time.monotonic(), False, False
        while not stopping.is_set():
            try:
                if await self.try_acquire():
                    self.active = True
                    self._watch = asyncio.create_task(self._watchdog(), name="replica-lock-watchdog")
                    waited = time.monotonic() - started
                    log.info("active: this replica holds the lock for %s%s", self.user_id,
                             f" (took over after {waited:.1f}s as standby)" if announced else "")
                    return True
                failing = False
                if not announced:
                    announced = True
                    if self.probes:
                        await self.probes.start()
                    log.info("standby: another replica is active for %s; taking over when it stops", self.user_id)
            except Exception as exc:  # noqa: BLE001 - database away or refusing: keep trying
                if not failing:
                    log.warning("standby: cannot reach the database for the replica lock (%s); retrying",
                                type(exc).__name__)
                failing = True
                await self._drop_connection()
            try:
                await asyncio.wait_for(stopping.wait(), POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
        await self.release()
        log.info("standby: stopped without having been active")
        return False

    async def note_device(self, db, device_id: str) -> None:
        """Warn when replicas are not one device (separate data_dirs): after a takeover the
        outbox's resend would then not be deduplicated, and encrypted rooms lack keys."""
        from storage.models.core import KeyValue

        async with db.transaction() as s:
            row = await s.get(KeyValue, DEVICE_KEY)
            if row is not None and row.value != device_id:
                log.warning("this replica is Matrix device %s, the previous active one was %s: replicas must "
                            "share storage.data_dir (credentials and crypto store), else a reply may be sent "
                            "twice after a takeover and encrypted rooms cannot be read (expected once after "
                            "the bot logged in anew)", device_id, row.value)
            await s.merge(KeyValue(key=DEVICE_KEY, value=device_id))

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                # The lock lives exactly as long as this session: the session answering is the lock held.
                await asyncio.wait_for(self._conn.execute(text("SELECT 1")), WATCH_TIMEOUT)
                self.checks += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: we can no longer prove we hold it
                self.active = False
                log.critical("lost the replica lock connection (%s): another replica may be active now; "
                             "exiting with code %d so the supervisor restarts this one", type(exc).__name__,
                             EXIT_LOST_LOCK)
                self.on_lost()
                return

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()  # a broken connection cannot be closed politely
            except Exception:  # noqa: BLE001
                pass

    async def release(self) -> None:
        """After a clean stop: unlock at once so the standby takes over without waiting."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self._conn is not None and self.active:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except Exception:  # noqa: BLE001 - closing the connection below releases it anyway
                pass
        self.active = False
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


class StandbyProbes:
    """While standby: /readyz says 503 "standby", /healthz 200, /metrics dsih_replica_active 0,
    so a load balancer or monitor tells the replicas apart."""

    def __init__(self, listen: str):
        from bot.framework.metrics import Metrics
        from bot.metrics import MetricsServer

        metrics = Metrics()
        metrics.replica_active.set(0)
        self.server = MetricsServer(metrics, listen, self._not_ready)
        self.started = False

    @staticmethod
    async def _not_ready() -> list[str]:
        return ["standby (another replica is active)"]

    async def start(self) -> None:
        try:
            await self.server.start()
            self.started = True
        except OSError as exc:
            log.warning("standby: cannot listen for probes on %s:%d (%s)", self.server.host, self.server.port, exc)

    async def stop(self) -> None:
        if self.started:
            await self.server.stop()
            self.started = False


def for_settings(settings):
    """The lock this configuration calls for."""
    storage = settings.storage
    if not storage.replica_lock:
        return NoLock()
    url = storage.effective_database_url
    if url.startswith("postgresql"):
        probes = StandbyProbes(settings.metrics.listen) if settings.metrics.listen else None
        return PostgresLock(url, settings.matrix.user_id, probes=probes)
    return FileLock(storage.data_dir)
