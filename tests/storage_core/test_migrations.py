"""Upgrades keep data: for EVERY earlier schema revision (read from the Alembic script
directory, so a new migration is covered the day it is added), an empty database is brought
to that revision, every table of that revision gets a representative row (written through
the tables as they exist at that revision, found by reflection: never the head models),
then it is migrated to head, on SQLite and on PostgreSQL. Every row must still be there
with every value it had, read back through the head models, and the search indexes must
rebuild from the migrated rows."""
from __future__ import annotations

import itertools
import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml
from alembic.script import ScriptDirectory
from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, Integer, LargeBinary, MetaData, Numeric,
                        String, Text, and_, inspect, select)

from storage.labs.records import DATA_FILE as LABS_FILE
from commands import build_registry
from storage.db import Database, alembic_config
from storage.models import Base

_n = itertools.count()
SCRIPT = ScriptDirectory.from_config(alembic_config())
HEAD = SCRIPT.get_current_head()
EARLIER = [r.revision for r in reversed(list(SCRIPT.walk_revisions())) if r.revision != HEAD]
# Derived tables (full-text indexes, SQLite's FTS5 shadow tables) are rebuilt, not migrated.
DERIVED = re.compile(r"^alembic_version$|_search($|_)")
# Tables a migration removed on purpose (name -> why); none so far.
DROPPED: dict[str, str] = {}
BUNDLED_LAB = yaml.safe_load(LABS_FILE.read_text())["labs"][0]
WHEN = datetime(2026, 11, 25, 13, 45, 12, 345678, tzinfo=timezone.utc)
DICT_COLUMNS = {"content", "payload", "detail", "scores", "recurrence"}


def test_the_chain_is_read_from_the_script_directory():
    assert EARLIER[0] == "0001_core" and len(EARLIER) >= 7 and HEAD not in EARLIER
    assert len(set(EARLIER)) == len(EARLIER)


def _value(table, column, parents: dict):
    """A representative value for `column` as it is typed at this revision."""
    for fk in column.foreign_keys:
        return parents[fk.column.table.name][fk.column.name]
    override = {("labs", "id"): BUNDLED_LAB["id"], ("labs", "facilities"): BUNDLED_LAB["facilities"],
                ("labs", "latitude"): 52.37, ("labs", "longitude"): 4.89, ("labs", "themes"): ["climate-adaptation"],
                ("funding_instruments", "level"): "national", ("funding_instruments", "deadline_model"): "fixed",
                ("funding_instruments", "deadlines"): [{"date": "2027-03-01", "label": "indiening"}],
                ("knowledge_items", "kind"): "lesson", ("review_sessions", "status"): "planned",
                ("digest_subscriptions", "at_time"): "09:00", ("digest_subscriptions", "frequency"): "weekly",
                ("digest_subscriptions", "weekday"): 0}.get((table.name, column.name))
    if override is not None:
        return override
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, (Integer, BigInteger)):
        return 3_000_000_000 if isinstance(kind, BigInteger) else 7
    if isinstance(kind, (Float, Numeric)):
        return 0.5
    if isinstance(kind, DateTime):
        return WHEN
    if isinstance(kind, Date):
        return date(2026, 12, 1)
    if isinstance(kind, JSON):
        return {"kept": [table.name, column.name]} if column.name in DICT_COLUMNS else ["één", f"{column.name}"]
    if isinstance(kind, LargeBinary):
        return b"\x00\xff ics \x80"
    text = f"{column.name} van {table.name} — ok"
    length = getattr(kind, "length", None) if isinstance(kind, (String, Text)) else None
    return text[:length] if length else text


def _reflect(sync_conn) -> MetaData:
    md = MetaData()
    md.reflect(bind=sync_conn, only=lambda name, _md: not DERIVED.search(name))
    return md


def _fill(sync_conn) -> dict[str, dict]:
    """One row in every table of the schema as it is now; returns them by table."""
    md = _reflect(sync_conn)
    rows: dict[str, dict] = {}
    for table in md.sorted_tables:          # parents first: children point at their row
        row = {c.name: _value(table, c, rows) for c in table.columns}
        sync_conn.execute(table.insert(), [row])
        rows[table.name] = row
    return rows


def _same(expected, actual) -> bool:
    if isinstance(expected, datetime) and isinstance(actual, datetime):
        actual = actual if actual.tzinfo else actual.replace(tzinfo=timezone.utc)
        return expected == actual
    if isinstance(expected, float):
        return actual is not None and abs(expected - actual) < 1e-9
    return expected == actual


async def _database(kind: str, tmp_path, request) -> Database:
    if kind == "sqlite":
        return Database(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    server = request.getfixturevalue("postgres_server")
    return Database(server.create_database(f"upgrade{next(_n)}"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("revision", EARLIER)
async def test_upgrade_from_every_earlier_revision_keeps_rows(revision, kind, tmp_path, request):
    db = await _database(kind, tmp_path, request)
    try:
        await db.upgrade(revision)
        async with db.engine.begin() as conn:
            assert (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar() == revision
            written = await conn.run_sync(_fill)
        assert "kv" in written and len(written) >= 5

        await db.upgrade("head")

        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar() == HEAD
            head_tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            for name, row in written.items():
                if name in DROPPED:
                    assert name not in head_tables
                    continue
                # Read back through the head models (their types: UTC datetimes, JSON, booleans).
                table = Base.metadata.tables.get(name)
                assert table is not None, f"table {name} of {revision} is gone at {HEAD} (add it to DROPPED?)"
                key = and_(*(c == row[c.name] for c in table.primary_key.columns))
                found = (await conn.execute(select(table).where(key))).mappings().all()
                assert len(found) == 1, f"{name}: the row written at {revision} is missing at {HEAD}"
                lost = {c: (v, found[0].get(c)) for c, v in row.items()
                        if c in table.columns and not _same(v, found[0].get(c))}
                assert not lost, f"{name}: values changed by the upgrade from {revision}: {lost}"
                dropped = set(row) - set(table.columns.keys())
                assert not dropped, f"{name}: columns {dropped} of {revision} are gone at {HEAD}"
            if "labs" in written and "facilities_nl" not in written["labs"]:
                # 0008_labs_facilities_nl fills the Dutch facilities of unchanged bundled labs.
                nl = (await conn.execute(select(Base.metadata.tables["labs"].c.facilities_nl))).scalar()
                assert nl == BUNDLED_LAB["facilities_nl"]

        # The app can use the migrated rows: every data set's search index rebuilds from them.
        async with db.transaction() as session:
            for dataset in build_registry().datasets.values():
                if dataset.model.__tablename__ in written:
                    await dataset.reindex(session)
                    assert await dataset.index.count(session) == await dataset.count(session) == 1
    finally:
        await db.dispose()
