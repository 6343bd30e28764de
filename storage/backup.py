"""Backups that work the same on SQLite and PostgreSQL, and move a deployment from one to
the other: every table's rows as JSON lines in one gzip file, read in ONE read
transaction (a consistent snapshot while the bot runs: SQLite WAL readers see one
snapshot; PostgreSQL uses REPEATABLE READ), restored into an empty database at the same
schema revision, after which the search indexes are rebuilt from their tables.

File layout: a header line {"format": "dsih-bot-backup", "version": 1, "revision": …,
"created_at": …, "tables": {name: rows}}, then one {"table": name, "row": {…}} per row.
Datetimes are ISO 8601 strings, bytes are base64."""
from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import LargeBinary, func, select, text

from storage.db import Database
from storage.models import Base
from storage.models.base import UTCDateTime

FORMAT = "dsih-bot-backup"
VERSION = 1


class BackupError(Exception):
    """Worded for the operator."""


def _tables():
    # Search index tables are derived (rebuilt after a restore) and not in the metadata.
    return list(Base.metadata.sorted_tables)  # parents before children (foreign keys)


def _encode(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, LargeBinary):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # date
        return value.isoformat()
    return value


def _decode(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, LargeBinary):
        return base64.b64decode(value)
    if isinstance(column.type, UTCDateTime) or column.type.python_type is datetime:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if kind.__name__ == "date":
        from datetime import date
        return date.fromisoformat(value)
    return value


async def _revision(conn) -> str | None:
    try:
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception:  # noqa: BLE001 - no schema yet
        return None


async def backup(db: Database, path: Path, *, progress=None) -> dict[str, int]:
    """Write a consistent copy of every table to `path` (gzip JSON lines); returns row counts.
    `progress(n, total)` (bot.progress) hears of the rows written."""
    counts: dict[str, int] = {}
    tmp = path.with_name(path.name + ".partial")
    async with db.engine.connect() as conn:
        if not db.is_sqlite:
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            revision = await _revision(conn)
            tables = _tables()
            for table in tables:
                counts[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar() or 0
            if progress:
                progress(0, sum(counts.values()))
            with gzip.open(tmp, "wt", encoding="utf-8") as out:
                out.write(json.dumps({"format": FORMAT, "version": VERSION, "revision": revision,
                                      "created_at": datetime.now(timezone.utc).isoformat(), "tables": counts}) + "\n")
                for table in tables:
                    result = await conn.stream(select(table))
                    done = 0
                    async for row in result:
                        record = {c.name: _encode(c, row._mapping[c.name]) for c in table.columns}
                        out.write(json.dumps({"table": table.name, "row": record}, ensure_ascii=False) + "\n")
                        done += 1
                        if progress and done % 500 == 0:
                            progress(500)
                    if progress and done % 500:
                        progress(done % 500)
    tmp.chmod(0o600)  # it holds who asked what: personal data
    tmp.replace(path)
    return counts


def _read(path: Path) -> tuple[dict, Iterator[dict]]:
    try:
        fh = gzip.open(path, "rt", encoding="utf-8")
        header = json.loads(fh.readline())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: not a dsih-bot backup ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path}: not a dsih-bot backup")
    if header.get("version") != VERSION:
        raise BackupError(f"{path}: backup format version {header.get('version')} is not supported")

    def rows() -> Iterator[dict]:
        with fh:
            for line in fh:
                yield json.loads(line)
    return header, rows()


async def restore(db: Database, path: Path, *, reindex=None, progress=None) -> dict[str, int]:
    """Load a backup into an EMPTY database (schema migrated to the backup's revision or
    later). `reindex(session)` callbacks rebuild the search indexes afterwards;
    `progress(n, total)` (bot.progress) hears of the rows loaded."""
    header, rows = _read(path)
    if progress:
        progress(0, sum(v for v in (header.get("tables") or {}).values() if isinstance(v, int)))
    await db.upgrade()
    tables = {t.name: t for t in _tables()}
    async with db.engine.begin() as conn:
        revision = await _revision(conn)
        for table in tables.values():
            if (await conn.execute(select(func.count()).select_from(table))).scalar():
                raise BackupError(f"the database is not empty (table {table.name} has rows); "
                                  "restore into a new database")
        if header.get("revision") and revision and header["revision"] > revision:
            raise BackupError(f"the backup is from a newer schema ({header['revision']}) than this "
                              f"version of dsih-bot ({revision}); upgrade dsih-bot first")
        # Every table this version has, empty ones too: the same count the backup reports.
        counts: dict[str, int] = {name: 0 for name in tables}
        batch: list[dict] = []
        current = None

        async def flush() -> None:
            if batch:
                await conn.execute(tables[current].insert(), batch)
                if progress:
                    progress(len(batch))
                batch.clear()

        for item in rows:
            name = item.get("table")
            if name not in tables:
                continue  # a table this version no longer has
            if name != current:
                await flush()
                current = name
            table = tables[name]
            batch.append({c.name: _decode(c, item["row"].get(c.name)) for c in table.columns if c.name in item["row"]})
            counts[name] += 1
            if len(batch) >= 1000:
                await flush()
        await flush()
        if not db.is_sqlite:
            # Serial ids continue after the restored rows.
            for table in tables.values():
                for column in table.primary_key.columns:
                    if column.autoincrement is True or (column.type.python_type is int and len(table.primary_key.columns) == 1):
                        await conn.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                            f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"))
    if reindex:
        async with db.transaction() as session:
            for rebuild in reindex:
                await rebuild(session)
    expected = header.get("tables", {})
    missing = {k: v for k, v in expected.items() if k in tables and counts.get(k, 0) != v}
    if missing:
        raise BackupError(f"restored row counts differ from the backup's header: {missing}")
    return counts
