"""Migration 0005_funding_data and the new funding fields (kind, checked_by, origin,
external id/status, last_seen_at, stale, indicative dates) on SQLite and PostgreSQL, and
the eu-ft refresh on both."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command as alembic_command

from storage.db import Database, alembic_config
from storage.funding.dataset import load_sample_data
from storage.funding.records import InstrumentRecord, record_of
from storage.funding.dataset import FILE, export_text, import_file
from storage.funding.refresh import refresh_eu_ft
from storage.funding.models import FundingInstrument
from support.eu_ft_server import PortalStub
from support.funding_env import funding_services

_n = itertools.count()
UTC = timezone.utc


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'mig.sqlite3'}"
    return request.getfixturevalue("postgres_server").create_database(f"fd{next(_n)}_{request.node.name[:12].lower()}"
                                                                      .replace("[", "_").replace("]", "").replace("-", "_"))


def _run(connection, fn, revision):
    fn(alembic_config(connection), revision)


async def test_migration_fills_defaults_for_existing_rows_and_downgrades(url):
    db = Database(url)
    try:
        await db.upgrade("0003_labs")
        async with db.engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO funding_instruments (id, title, level, themes, eligible_applicants, deadline_model, "
                "deadlines, updated_at) VALUES ('old-row', 'An old row', 'eu', '[]', '[]', 'single', '[]', "
                ":at)"), {"at": datetime(2026, 1, 1, tzinfo=UTC)})
        await db.upgrade("head")
        async with db.session() as s:
            row = await s.get(FundingInstrument, "old-row")
            assert (row.kind, row.origin, row.stale, row.dates_indicative) == ("grant", "bundled", False, False)
            assert row.checked_by is None and row.external_id is None and row.last_seen_at is None
        async with db.engine.begin() as conn:
            await conn.run_sync(_run, alembic_command.downgrade, "0003_labs")
            cols = await conn.run_sync(lambda c: {x["name"] for x in sa.inspect(c).get_columns("funding_instruments")})
            assert "kind" not in cols and "stale" not in cols
            assert (await conn.execute(sa.text("SELECT count(*) FROM funding_instruments"))).scalar() == 1
        await db.upgrade("head")
        async with db.engine.begin() as conn:
            idx = await conn.run_sync(lambda c: {i["name"] for i in sa.inspect(c).get_indexes("funding_instruments")})
            assert "ix_funding_instruments_origin_external_id" in idx
    finally:
        await db.dispose()


async def test_new_fields_round_trip_through_database_and_files(url, tmp_path):
    db = Database(url)
    try:
        await db.upgrade()
        rec = InstrumentRecord.model_validate({
            "id": "portal-thing", "title": "A portal topic", "level": "eu", "kind": "procurement",
            "url": "https://ec.europa.eu/x", "last_checked": "2026-11-25", "checked_by": "eu-ft refresh",
            "origin": "eu-ft", "external_id": "HORIZON-X-01", "external_status": "forthcoming",
            "last_seen_at": "2026-11-25T03:00:00+00:00", "stale": True, "dates_indicative": True,
            "deadlines": [{"at": "2027-04-08T17:00", "tz": "Europe/Brussels", "label": "stage 1", "indicative": True}]})
        async with db.transaction() as s:
            s.add(FundingInstrument(**rec.to_row(), updated_at=datetime.now(UTC)))
        async with db.session() as s:
            row = await s.get(FundingInstrument, "portal-thing")
            assert row.last_seen_at == datetime(2026, 11, 25, 3, 0, tzinfo=UTC) and row.stale is True
            assert row.deadlines[0]["indicative"] is True and row.last_checked == date(2026, 11, 25)
            assert InstrumentRecord.model_validate(record_of(row)).to_row() == rec.to_row()
        for fmt in ("csv", "json", "yaml"):
            text = await export_text(db, fmt)
            assert "procurement" in text and "HORIZON-X-01" in text
            path = tmp_path / f"f.{fmt}"
            path.write_text(text, encoding="utf-8")
            assert "0 new, 0 updated, 1 unchanged" in await import_file(db, path, actor="test")
            assert await export_text(db, fmt) == text
        # Older files without the new columns still import (defaults), as origin "import".
        old = tmp_path / "old.csv"
        old.write_text("id,title,level,url\nold-file-row,From an old file,national,https://www.rvo.nl/y\n")
        await import_file(db, old, actor="test")
        async with db.session() as s:
            row = await s.get(FundingInstrument, "old-file-row")
            assert (row.kind, row.origin, row.stale) == ("grant", "import", False)
        assert "stale" in FILE.fields and "checked_by" in FILE.fields
    finally:
        await db.dispose()


async def test_refresh_on_both_databases(url, tmp_path):
    services = await funding_services(tmp_path, database_url=None if url.startswith("sqlite") else url)
    try:
        with PortalStub() as stub:
            services.settings.funding.eu_ft_url = stub.url
            services.settings.funding.eu_ft_page_size = 3
            # After the bundled file's own fact check (2026-12-05): the newest check is kept.
            now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
            first = await refresh_eu_ft(services.db, services.settings, now=now)
            second = await refresh_eu_ft(services.db, services.settings, now=now)
        assert len(first.created) == 4 and first.curated_seen == ["horizon-mission-soil-2027"]
        assert (second.created, second.updated, second.unchanged) == ([], [], 4)
        # A restart finds the bundled records up to date (the refresh's notes are not a change).
        async with services.db.transaction() as s:
            assert await load_sample_data(s) == 0
    finally:
        await services.db.dispose()
