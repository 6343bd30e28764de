"""The search engine and funding import/export on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import func, select

from storage.db import Database
from storage.funding.records import FUNDING_INDEX, load_bundled
from storage.funding.dataset import export_text, import_file
from storage.models.core import AuditLog
from storage.funding.models import FundingInstrument
from storage.search import SearchIndex
from storage.validation import ImportError_
from support.funding_env import FundingChat, funding_services, result_ids


@pytest.fixture(scope="module")
def pg():
    from support.postgres import require_postgres
    server = require_postgres()
    yield server
    server.stop()


_n = iter(range(1000))
BUNDLED = len(load_bundled())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def services(request, tmp_path):
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg").create_database(f"fund{next(_n)}")
    services = await funding_services(tmp_path, database_url=url)
    yield services
    await services.db.dispose()


async def test_search_engine_finds_synonyms_and_stems(services):
    async with services.db.session() as s:
        assert await FUNDING_INDEX.count(s) == BUNDLED
        for q, expect in [("klimaatadaptatie", "impulsregeling-klimaatadaptatie"),
                          ("adapting to heat", "rotterdam-subsidie-klimaatadaptatie"),
                          ("circulaire economie", "life-circular-economy-2026"),
                          ("woningen bouwen", "woningbouwimpuls")]:
            ids = [d for d, _ in await FUNDING_INDEX.search(s, q, limit=10)]
            assert expect in ids, (q, ids)
        hits = await FUNDING_INDEX.search(s, "klimaatadaptatie", limit=10, ids_filter={"woningbouwimpuls",
                                                                                      "impulsregeling-klimaatadaptatie"})
        assert [d for d, _ in hits] == ["impulsregeling-klimaatadaptatie"]
        assert await FUNDING_INDEX.search(s, "klimaat", ids_filter=set()) == []
        for hostile in ['"', "NEAR(a b)", "*", "-x", "a OR b AND NOT c", "'; DROP TABLE x; --", "x" * 10_000,
                        "klimaat " * 2000, "", "(((", "\x00"]:
            res = await FUNDING_INDEX.search(s, hostile, limit=5)
            assert all(0 < score <= 2 for _, score in res)


async def test_generic_index_upsert_delete(services):
    idx = SearchIndex("funding_search", {"title": 6.0, "topics": 3.0, "body": 1.0})
    async with services.db.transaction() as s:
        await idx.upsert(s, "zz-new", {"title": "Brand new quantum bicycle fund"})
        assert [d for d, _ in await idx.search(s, "quantum bicycles")][:1] == ["zz-new"]
        await idx.upsert(s, "zz-new", {"title": "Renamed"})
        assert await idx.search(s, "quantum") == []
        await idx.delete(s, "zz-new")
        assert await idx.count(s) == BUNDLED


async def test_export_import_roundtrip_all_formats(services, tmp_path):
    db: Database = services.db
    for fmt in ("csv", "json", "yaml"):
        text = await export_text(db, fmt)
        path = tmp_path / f"funding.{fmt}"
        path.write_text(text, encoding="utf-8")
        report = await import_file(db, path, actor="test")
        assert f"0 new, 0 updated, {BUNDLED} unchanged" in report, report
        assert await export_text(db, fmt) == text  # stable round trip


async def test_import_is_validated_all_or_nothing_and_upserts(services, tmp_path):
    db: Database = services.db
    data = yaml.safe_load(await export_text(db, "yaml"))["instruments"]
    good = dict(data[0], id="new-fund-1", title="A new test fund for quantum bicycles")
    bad = dict(data[1], cofinancing_rate=1.5, deadlines=[{"at": "not a date", "tz": "Mars/Base"}])
    changed = dict(data[2], title="Changed title")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([good, changed, bad]), encoding="utf-8")
    with pytest.raises(ImportError_) as err:
        await import_file(db, path, actor="test")
    msg = str(err.value)
    assert "record 3, field cofinancing_rate" in msg and "record 3, field deadlines.0.at" in msg
    assert "record 3, field deadlines.0.tz" in msg
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(FundingInstrument)) == BUNDLED
        assert await s.get(FundingInstrument, "new-fund-1") is None
    path.write_text(json.dumps([good, changed]), encoding="utf-8")
    assert "1 new, 1 updated" in await import_file(db, path, actor="test")
    async with db.session() as s:
        assert (await s.get(FundingInstrument, data[2]["id"])).title == "Changed title"
        assert [d for d, _ in await FUNDING_INDEX.search(s, "quantum bicycles")][:1] == ["new-fund-1"]
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "funding.import"))
    for name, content, needle in [("x.txt", "", "unknown file type"), ("x.json", "{", "not valid JSON"),
                                  ("x.yaml", "a: [", "not valid YAML"), ("x.csv", "title\nx\n", "`id` column"),
                                  ("x.json", '{"instruments": 3}', "expected a list")]:
        p = tmp_path / name
        p.write_text(content, encoding="utf-8")
        with pytest.raises(ImportError_, match=needle):
            await import_file(db, p, actor="test")


async def test_commands_work_on_this_database(services):
    chat = FundingChat(services)
    ids = result_ids(await chat.text("!funding circulaire economie --level eu"))
    assert "life-circular-economy-2026" in ids[:3]
