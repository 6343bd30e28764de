"""Engine, sessions and migrations. The same code runs on SQLite (default) and PostgreSQL."""
from __future__ import annotations

import os

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def version_locations() -> list[Path]:
    """The core's migrations and each capability's (storage/<name>/migrations). Found by
    their place, not by importing the capabilities: the history is one linear chain across
    all of them, so every folder takes part whichever capabilities a bot enables."""
    here = Path(__file__).parent
    return [MIGRATIONS / "versions", *sorted(p for p in here.glob("*/migrations") if p.parent.name != "migrations"
                                             and any(p.glob("[0-9]*.py")))]

# PostgreSQL SQLSTATE classes that mean "try again": connection exception, operator
# intervention (shutting down, cannot connect now), insufficient resources, transaction
# rollback (serialization failure, deadlock).
_TRANSIENT_SQLSTATE = ("08", "57", "53", "40")


def is_transient(exc: BaseException | None) -> bool:
    """True when a database error says "not now" rather than "never": SQLite locked or
    busy (another process holds the write lock), PostgreSQL restarting or unreachable.
    Such work is retried as it was; anything else is a bug and is reported as one."""
    seen = 0
    while exc is not None and seen < 8:
        seen += 1
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return True
        if isinstance(exc, DBAPIError):
            if exc.connection_invalidated:
                return True
            state = str(getattr(exc.orig, "sqlstate", "") or "")
            if state[:2] in _TRANSIENT_SQLSTATE:
                return True
            message = str(exc.orig).lower()
            if any(w in message for w in ("database is locked", "database is busy", "database table is locked",
                                          "connection is closed", "connection was closed",
                                          "the database system is")):
                return True
            if isinstance(exc, InterfaceError):
                return True
        name = type(exc).__name__
        if name in ("CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError",
                    "AdminShutdownError", "InterfaceError") and type(exc).__module__.startswith("asyncpg"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class DatabaseUnavailable(Exception):
    """The database said "not now" while handling something: the caller retries that work
    as it was (nothing of it was committed)."""


def _chain(exc: BaseException | None):
    for _ in range(8):
        if exc is None:
            return
        yield exc
        exc = exc.__cause__ or exc.__context__


def describe_transient(exc: BaseException) -> str:
    """One line for the log (no traceback: a busy database is routine)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    # WAL lets the console read while the bot writes; busy_timeout avoids spurious "locked".
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL is crash-safe in WAL mode (only a power cut can lose the last commits, and the
    # outbox's deterministic transaction ids make a re-handled command harmless).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_pre_ping=not url.startswith("sqlite"))
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on error."""
        async with self.sessionmaker() as session:
            async with session.begin():
                yield session

    async def upgrade(self, revision: str = "head") -> None:
        async with self.engine.connect() as conn:
            if self.is_sqlite:
                # SQLite migrations rebuild a table to alter it (copy, drop, rename); with foreign
                # keys enforced, dropping a parent that children point at fails. The pragma only
                # works outside a transaction; integrity is checked before it is switched back on.
                await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await conn.commit()
            try:
                async with conn.begin():
                    before, after = await conn.run_sync(_upgrade, revision)
                    if self.is_sqlite:
                        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                        if broken:
                            raise RuntimeError(f"migration to {revision} broke foreign keys: {broken[:5]}")
            finally:
                if self.is_sqlite:
                    await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                    await conn.commit()
        # Every CLI command upgrades first: say so only when a migration actually ran.
        if before != after:
            log.info("database schema upgraded from %s to %s", ",".join(before) or "empty", ",".join(after))
        else:
            log.debug("database schema is at %s", revision)

    async def unavailable(self, exc: BaseException) -> bool:
        """Did `exc` come from the database being locked, restarting or unreachable? A
        connection-type error that is not the database's (a handler's own network call)
        is told apart by asking the database itself, so it is never retried forever."""
        if isinstance(exc, DatabaseUnavailable):
            return True
        if not is_transient(exc):
            return False
        if any(isinstance(e, DBAPIError) for e in _chain(exc)):
            return True
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure here means the database is away
            return True
        return False

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection=None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # os.pathsep between folders: an install path may hold spaces.
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection, revision: str) -> tuple:
    """Upgrade; returns the revisions (before, after), so only a real change is logged."""
    from alembic.runtime.migration import MigrationContext

    before = tuple(MigrationContext.configure(connection).get_current_heads())
    alembic_command.upgrade(alembic_config(connection), revision)
    return before, tuple(MigrationContext.configure(connection).get_current_heads())
