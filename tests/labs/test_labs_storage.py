"""Living labs storage on SQLite and PostgreSQL: models, the labs_search index, ranked
search with filters, import (CSV/JSON/YAML, validation, all-or-nothing, upsert) and export."""
from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import func, select

from storage.labs.records import LABS_INDEX, LabQuery, load_sample_data, parse_words, search_labs
from storage.labs.dataset import export_text, import_file
from storage.models.core import AuditLog
from storage.labs.models import Lab, LabRequest
from storage.validation import ImportError_

LAB = {
    "id": "test-lab-zwolle", "name": "Test Lab Zwolle", "host_organisation": "Gemeente Zwolle",
    "municipality": "Zwolle", "themes": ["climate-adaptation", "hittestress"],
    "facilities": ["water square", "heat sensors"], "services": ["experimentation"],
    "target_users": ["municipality"], "website": "https://example.org/lab", "contact": "@lab:example.org",
    "description": "A test lab for rainwater storage.", "description_nl": "Een testlab voor waterberging.",
    "source": "test", "last_checked": "2026-11-01",
}


async def test_sample_data_index_and_search(db):
    async with db.transaction() as s:
        assert await load_sample_data(s) == 26
        assert await load_sample_data(s) == 0      # only into an empty table
    async with db.session() as s:
        assert await LABS_INDEX.count(s) == 26
        hits = await search_labs(s, parse_words("klimaatadaptatie near Zwolle"), limit=3)
        assert hits[0].lab.id == "living-lab-ruimtelijke-adaptatie-overijssel"
        hits = await search_labs(s, LabQuery(province="Limburg", themes=["data-digital-twins"]))
        assert {h.lab.id for h in hits} == {"brightlands-smart-services-campus", "public-services-lab-heerlen"}
        hits = await search_labs(s, parse_words("within 15 km of Eindhoven"))
        assert hits and all(h.distance_km <= 15 for h in hits)
        for hostile in ['"', "NEAR(a b)", "*", "a OR b AND NOT c", "'; DROP TABLE labs; --", "x" * 10_000, "\x00"]:
            await search_labs(s, parse_words(hostile))
        assert (await s.scalar(select(func.count()).select_from(Lab))) == 26


async def test_request_model_autoincrement(db):
    async with db.transaction() as s:
        await load_sample_data(s)
        a = LabRequest(lab_id="de-ceuvel", requester="@a:x", room_id="!r:x", text="t")
        b = LabRequest(lab_id="de-ceuvel", requester="@b:x", room_id="!r:x", text="u")
        s.add_all([a, b])
        await s.flush()
        assert b.id == a.id + 1 and a.status == "pending" and a.created_at.tzinfo is not None


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
async def test_import_upsert_and_export_round_trip(db, tmp_path, fmt):
    async with db.transaction() as s:
        await load_sample_data(s)
    path = tmp_path / f"labs.{fmt}"
    if fmt == "yaml":
        path.write_text(yaml.safe_dump({"labs": [LAB]}), encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps([LAB]), encoding="utf-8")
    else:
        head = ["id", "name", "municipality", "themes", "facilities", "services", "enoll_member", "website"]
        path.write_text(",".join(head) + "\n" +
                        'test-lab-zwolle,Test Lab Zwolle,Zwolle,climate-adaptation|hittestress,"water square|heat sensors",'
                        "experimentation,ja,https://example.org/lab\n", encoding="utf-8")
    report = await import_file(db, path, actor="test")
    assert "1 new" in report
    async with db.session() as s:
        lab = await s.get(Lab, "test-lab-zwolle")
        assert lab.province == "Overijssel" and lab.themes == ["climate-adaptation"]     # alias -> id, deduped
        assert lab.latitude == pytest.approx(52.5125)      # filled from the gazetteer
        assert await LABS_INDEX.count(s) == 27
        hits = await search_labs(s, parse_words("water square"), limit=3)
        assert "test-lab-zwolle" in [h.lab.id for h in hits]
        assert (await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "labs.import"))) == 1
    # Upsert: same id again with a new name.
    changed = dict(LAB, name="Renamed Lab")
    path2 = tmp_path / "again.yaml"
    path2.write_text(yaml.safe_dump([changed]), encoding="utf-8")
    assert "1 updated" in await import_file(db, path2, actor="test")
    async with db.session() as s:
        assert (await s.get(Lab, "test-lab-zwolle")).name == "Renamed Lab"
        assert (await s.scalar(select(func.count()).select_from(Lab))) == 27
    # Export -> import again changes nothing but round-trips every format.
    text = await export_text(db, fmt)
    out = tmp_path / f"export.{fmt}"
    out.write_text(text, encoding="utf-8")
    assert "0 new, 0 updated, 27 unchanged" in await import_file(db, out, actor="test")
    assert await export_text(db, fmt) == text


async def test_import_is_all_or_nothing_and_names_records_and_fields(db, tmp_path):
    async with db.transaction() as s:
        await load_sample_data(s)
    bad = [
        dict(LAB, id="ok-one"),
        dict(LAB, id="Bad Id"),
        dict(LAB, id="two", municipality="Zwole"),
        dict(LAB, id="three", themes=["quantum"]),
        dict(LAB, id="four", province="Limburg"),
        dict(LAB, id="five", latitude=40.0, longitude=5.0),
        dict(LAB, id="six", website="ftp://x"),
        dict(LAB, id="seven", services=["sleeping"]),
        dict(LAB, id="ok-one"),
    ]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"labs": bad}), encoding="utf-8")
    with pytest.raises(ImportError_) as exc:
        await import_file(db, path, actor="test")
    msg = str(exc.value)
    assert "record 2, field id" in msg
    assert "record 3" in msg and "Zwolle" in msg          # suggestion for the misspelt municipality
    assert "record 4, field themes" in msg and "quantum" in msg
    assert "record 5" in msg and "Overijssel" in msg
    assert "record 6, field latitude" in msg
    assert "record 7, field website" in msg
    assert "record 8, field services" in msg
    assert "record 9, field id: duplicate of record 1" in msg
    async with db.session() as s:
        assert (await s.get(Lab, "ok-one")) is None        # nothing imported
        assert (await s.scalar(select(func.count()).select_from(Lab))) == 26


async def test_import_rejects_bad_files(db, tmp_path):
    for name, content in [("x.txt", "a"), ("x.json", "{not json"), ("x.yaml", "a: [b"), ("x.json", '{"labs": 3}'),
                          ("x.csv", "name\nfoo\n")]:
        p = tmp_path / name
        p.write_text(content, encoding="utf-8")
        with pytest.raises(ImportError_):
            await import_file(db, p, actor="test")


async def test_bundled_file_validates_and_has_required_labs():
    from storage.labs.records import ECOSYSTEMS, load_bundled
    recs = load_bundled()
    ids = {r.id for r in recs}
    assert len(recs) >= 20
    assert {"the-green-village", "stratumseind-living-lab", "public-services-lab-heerlen",
            "marineterrein-amsterdam-living-lab"} <= ids
    assert {r.ecosystem for r in recs if r.ecosystem} == set(ECOSYSTEMS)   # all five DSIH ecosystems
    assert all(r.source for r in recs)


async def test_relevance_set_on_both_engines(db):
    """The same relevance set as tests/labs/test_labs_relevance.py, on SQLite FTS5 and on
    PostgreSQL tsvector (ranking differs a little between bm25 and ts_rank)."""
    from support.labs_relevance import RELEVANCE
    async with db.transaction() as s:
        await load_sample_data(s)
    hits = 0
    misses = []
    async with db.session() as s:
        for text, expected in RELEVANCE:
            top = [h.lab.id for h in await search_labs(s, parse_words(text), limit=3)]
            if all(e in top for e in expected):
                hits += 1
            else:
                misses.append((text, top))
    print(f"\n{db.dialect}: relevance {hits}/{len(RELEVANCE)} ({hits / len(RELEVANCE):.0%})", misses)
    assert hits / len(RELEVANCE) >= 0.9, misses


def test_cli_import_and_export(tmp_path, monkeypatch, capsys):
    """`dsih-bot import labs FILE` and `dsih-bot export labs` (SQLite data dir)."""
    from bot.cli import main
    monkeypatch.setenv("DSIH_BOT__STORAGE__DATA_DIR", str(tmp_path / "data"))
    good = tmp_path / "labs.yaml"
    good.write_text(yaml.safe_dump({"labs": [LAB]}), encoding="utf-8")
    assert main(["import", "labs", str(good)]) == 0
    assert "1 new" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([dict(LAB, municipality="Atlantis")]), encoding="utf-8")
    assert main(["import", "labs", str(bad)]) == 1
    assert "record 1, field municipality" in capsys.readouterr().err
    out = tmp_path / "out.csv"
    assert main(["export", "labs", "--format", "csv", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("id,name,host_organisation") and "test-lab-zwolle" in text


async def test_facilities_nl_migration_fills_unchanged_bundled_labs(db):
    """Migration 0008 on a database that has labs: the Dutch facilities are filled for a
    bundled lab whose English facilities are unchanged, never for an edited or unknown one."""
    import sqlalchemy as sa
    from alembic import command as alembic_command
    from datetime import datetime, timezone
    from storage.db import alembic_config
    from storage.labs.records import load_bundled

    from alembic.script import ScriptDirectory
    bundled = {r.id: r for r in load_bundled()}
    before = ScriptDirectory.from_config(alembic_config()).get_revision("0008_labs_facilities_nl").down_revision
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: alembic_command.downgrade(alembic_config(c), before))
    from storage.models.base import UTCDateTime
    old = sa.table("labs", *(sa.column(c) for c in (
        "id", "name", "host_organisation", "municipality", "province", "latitude", "longitude", "enoll_member",
        "description", "description_nl", "source")),
        *(sa.column(c, sa.JSON) for c in ("facilities", "themes", "target_users", "services")),
        sa.column("updated_at", UTCDateTime()))
    base = dict(name="x", host_organisation="", municipality="Amsterdam", province="Noord-Holland", latitude=52.4,
                longitude=4.9, target_users=[], services=[], enoll_member=False, description="",
                description_nl="", source="", updated_at=datetime(2026, 11, 1, tzinfo=timezone.utc))
    async with db.transaction() as s:
        await s.execute(sa.insert(old).values(id="de-ceuvel", facilities=bundled["de-ceuvel"].facilities,
                                              themes=[], **base))
        await s.execute(sa.insert(old).values(id="ams-institute", facilities=["edited by us"], themes=[], **base))
        await s.execute(sa.insert(old).values(id="our-own-lab", facilities=["a test hall"], themes=[], **base))
    await db.upgrade()
    async with db.session() as s:
        got = {r.id: r.facilities_nl for r in (await s.scalars(select(Lab))).all()}
    assert got["de-ceuvel"] == bundled["de-ceuvel"].facilities_nl and got["de-ceuvel"]
    assert got["ams-institute"] == [] and got["our-own-lab"] == []
