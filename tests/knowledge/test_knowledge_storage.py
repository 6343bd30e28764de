"""Knowledge items on SQLite and PostgreSQL: the migration's knowledge_search index, the
bundled sample, Dutch/English search, and import/export (CSV/JSON/YAML, validation,
all-or-nothing, upsert by normalised URL so a link is never imported twice)."""
from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import func, select

from storage.knowledge.records import KNOWLEDGE_INDEX, index_item, load_sample_data, reindex
from storage.knowledge.dataset import export_text, import_file
from storage.models.core import AuditLog
from storage.knowledge.models import KnowledgeFeed, KnowledgeItem
from storage.validation import ImportError_

ITEM = {"url": "https://www.testdam.nl/hitte/?utm_source=x", "title": "Koele plekken in de wijk",
        "summary": "Wat we leerden over schaduw, groene daken en waterberging.", "kind": "les",
        "topics": ["hittestress"], "organisation": "Gemeente Testdam", "source": "test"}


async def _search(db, query, lang="nl"):
    async with db.session() as s:
        hits = await KNOWLEDGE_INDEX.search(s, query, lang, limit=10)
        rows = {str(r.id): r for r in (await s.scalars(select(KnowledgeItem))).all()}
        return [rows[d].title for d, _ in hits]


async def test_sample_index_and_search_in_both_languages(db):
    async with db.transaction() as s:
        assert await load_sample_data(s) == 26
        assert await load_sample_data(s) == 0
    async with db.session() as s:
        assert await KNOWLEDGE_INDEX.count(s) == 26
    assert all("tresstest" in t for t in (await _search(db, "stresstest"))[:3])
    assert (await _search(db, "klimaatstresstest"))[0] == "Klimaatstresstest"
    # A topic alias finds items that never use the word (climate adaptation ~ hittestress).
    assert "Klimaatstresstest" in await _search(db, "heat stress", "en")
    rotterdam = ("Best practice", "Rotterdam Citiverse", "Safe 3D", "De digital twin", "Reimagining the digital city")
    assert all(t.startswith(rotterdam) for t in (await _search(db, "digital twin Rotterdam", "en"))[:3])
    assert "Platform CB'23: guidelines for circular construction" in (await _search(db, "circulair bouwen"))[:3]
    for hostile in ['"', "NEAR(a b)", "*", "a OR b AND NOT c", "'; DROP TABLE knowledge_items; --", "x" * 10_000, "\x00"]:
        await _search(db, hostile)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(KnowledgeItem)) == 26


async def test_item_upsert_in_index_and_feed_state(db):
    async with db.transaction() as s:
        row = KnowledgeItem(title="Warmtenet in Testdam", url="https://testdam.nl/w", url_key="testdam.nl/w",
                            kind="case", topics=["energy-transition"])
        s.add(row)
        s.add(KnowledgeFeed(url="https://testdam.nl/feed.xml", failures=0, items=0, etag='"x"'))
        await s.flush()
        await index_item(s, row)
    assert await _search(db, "warmtepomp") == ["Warmtenet in Testdam"]      # via the topic's aliases
    async with db.transaction() as s:
        row = await s.scalar(select(KnowledgeItem))
        row.title = "Warmtenet en isolatie"
        await index_item(s, row)
        assert await reindex(s) == 1
        assert (await s.get(KnowledgeFeed, "https://testdam.nl/feed.xml")).etag == '"x"'
    assert await _search(db, "isolatie") == ["Warmtenet en isolatie"]


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
async def test_import_export_round_trip_keyed_by_url(db, tmp_path, fmt):
    data = {"items": [ITEM, {**ITEM, "url": "https://ipo.nl/a", "title": "Provinciale les", "topics": [],
                             "kind": "evenement", "event_date": "2027-03-04T10:00:00"}]}
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert "2 new, 0 updated" in await import_file(db, path, actor="test")
    again = {"items": [{**ITEM, "url": "http://testdam.nl/hitte#top", "title": "Koele plekken (herzien)"}]}
    path.write_text(yaml.safe_dump(again, allow_unicode=True), encoding="utf-8")
    assert "0 new, 1 updated" in await import_file(db, path, actor="test")
    async with db.session() as s:
        rows = {r.url_key: r for r in (await s.scalars(select(KnowledgeItem))).all()}
        assert set(rows) == {"testdam.nl/hitte", "ipo.nl/a"}
        assert rows["testdam.nl/hitte"].title == "Koele plekken (herzien)"
        assert rows["testdam.nl/hitte"].kind == "lesson" and rows["testdam.nl/hitte"].topics == ["climate-adaptation"]
        assert rows["ipo.nl/a"].kind == "event" and rows["ipo.nl/a"].event_date.hour == 9   # 10:00 Amsterdam
        assert rows["ipo.nl/a"].topics == ["climate-adaptation"]     # none given: inferred from the summary
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "knowledge.import")) == 2
    text = await export_text(db, fmt)
    out = tmp_path / f"out.{fmt}"
    out.write_text(text, encoding="utf-8")
    assert "0 new, 0 updated, 2 unchanged" in await import_file(db, out, actor="test")
    if fmt == "json":
        assert {r["url"] for r in json.loads(text)["items"]} == {"http://testdam.nl/hitte#top", "https://ipo.nl/a"}
    assert "Koele plekken (herzien)" in await _search(db, "schaduw")


async def test_bad_records_change_nothing(db, tmp_path):
    bad = {"items": [ITEM, {**ITEM, "url": "javascript:alert(1)"}, {**ITEM, "topics": ["poetry"]},
                     {**ITEM, "url": "http://www.testdam.nl/hitte"}, {"title": "no url"}]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(ImportError_) as exc:
        await import_file(db, path, actor="test")
    msg = str(exc.value)
    assert "record 2, field url" in msg and "record 3, field topics" in msg and "record 4, field id: duplicate" in msg
    assert "record 5, field url" in msg
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(KnowledgeItem)) == 0
