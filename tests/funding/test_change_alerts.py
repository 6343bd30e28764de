"""Change alerts (issue 17, section 4) and the indexed deadline span (section 5), without
Matrix: what counts as a change, what a refresh and `!funding set` record, what a
subscriber's digest shows (once), and `!deadlines` reading only records whose stored span
meets the window. The real-room proof across kill -9 is test_change_alerts_e2e.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st
from sqlalchemy import delete, select

from bot.framework.digest_parts import Window
from bot.framework.i18n import Translator
from commands.digests.render import render_digest
from storage.digests.compose import gather, select_for
from storage.funding import changes
from storage.funding.digest import CONTRIBUTION
from storage.funding.models import FundingChange, FundingDeadline, FundingInstrument, deadline_moments
from storage.funding.records import deadline_infos, resync_deadlines
from storage.funding.refresh import refresh_eu_ft
from support.eu_ft_server import PortalStub
from support.funding_env import FundingChat, funding_services

UTC = timezone.utc
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
FACIL = "@facil:test"


@pytest.fixture
def stub():
    with PortalStub() as s:
        yield s


@pytest.fixture
async def services(tmp_path, stub):
    services = await funding_services(tmp_path, now=T0, modules=("core", "funding", "digests"))
    services.settings.funding.eu_ft_url = stub.url
    services.settings.funding.eu_ft_page_size = 3
    yield services
    await services.db.dispose()


async def _changes(db):
    async with db.session() as s:
        return [(c.instrument_id, c.field, c.kind, c.old, c.new, c.source)
                for c in (await s.scalars(select(FundingChange).order_by(FundingChange.id))).all()]


# ------------------------------------------------------------------ what a change is
def _snap(deadline="2027-03-01T17:00:00+01:00", status="open", budget="1000", conditions=None):
    return changes.Snapshot(deadline, status, budget, conditions)


def test_diff_kinds():
    assert changes.diff(_snap(), _snap()) == []
    assert changes.diff(_snap(), _snap(deadline="2027-02-01T17:00:00+01:00")) == [
        ("deadline", "earlier", "2027-03-01T17:00:00+01:00", "2027-02-01T17:00:00+01:00")]
    assert changes.diff(_snap(), _snap(deadline="2027-04-01T17:00:00+02:00"))[0][1] == "changed"
    assert changes.diff(_snap(status="closed"), _snap(status="open")) == [("status", "reopened", "closed", "open")]
    assert changes.diff(_snap(status="gone"), _snap(status="continuous"))[0][1] == "reopened"
    assert changes.diff(_snap(status="unknown"), _snap(status="forthcoming"))[0][1] == "forthcoming"
    assert changes.diff(_snap(status="open"), _snap(status="gone"))[0][1] == "changed"
    assert changes.diff(_snap(), _snap(budget="2000")) == [("budget", "changed", "1000", "2000")]
    assert changes.diff(_snap(), _snap(conditions="municipality")) == [("conditions", "changed", None, "municipality")]
    # A new record is news only when it is forthcoming (a new open one is "New or updated funding").
    assert changes.diff(None, _snap(status="forthcoming")) == [("status", "forthcoming", None, "forthcoming")]
    assert changes.diff(None, _snap(status="open")) == []


_moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC).isoformat())


@given(_moments, _moments)
def test_a_deadline_is_an_alert_exactly_when_it_moved_earlier(old, new):
    found = changes.diff(_snap(deadline=old), _snap(deadline=new))
    if old == new:
        assert found == []
    else:
        assert found == [("deadline", "earlier" if new < old else "changed", old, new)]


@given(st.lists(st.fixed_dictionaries({"at": st.one_of(st.datetimes(min_value=datetime(2000, 1, 1)).map(
    lambda d: d.isoformat()), st.text(max_size=10)), "tz": st.sampled_from(["Europe/Amsterdam", "Nowhere/X", ""])}),
    max_size=5))
def test_the_deadline_table_holds_exactly_the_readable_deadlines(deadlines):
    row = FundingInstrument(id="x", deadlines=deadlines)
    assert deadline_moments(deadlines) == sorted({d.at.astimezone(UTC) for d in deadline_infos(row)})


# ------------------------------------------------------------------ who records them
async def test_refresh_records_changes_once_and_a_second_run_records_none(services, stub):
    db, settings = services.db, services.settings
    await refresh_eu_ft(db, settings, now=T0)
    first = await _changes(db)
    # New portal calls that are forthcoming are news; open ones are not changes.
    assert ("euft-life-2027-sap-clima-cca", "status", "forthcoming", None, "forthcoming", "eu-ft") in first
    assert all(c[5] == "eu-ft" for c in first)
    await refresh_eu_ft(db, settings, now=T0)
    assert await _changes(db) == first                      # the same answer again: nothing new
    # 25 days later two calls are gone: "open" -> "no longer in the source: check".
    stub.snapshot = "2026-12-20"
    later = T0 + timedelta(days=25)
    await refresh_eu_ft(db, settings, now=later)
    gone = [c for c in await _changes(db) if c not in first]
    assert sorted((c[0], c[1], c[3], c[4]) for c in gone) == [
        ("euft-horizon-cl5-2027-04-d4-03", "status", "open", "gone"),
        ("euft-horizon-miss-2027-03-cit-02", "status", "open", "gone")]
    # Listed again: reopened.
    stub.snapshot = "2026-11-25"
    await refresh_eu_ft(db, settings, now=later + timedelta(days=1))
    back = [c for c in await _changes(db) if c not in first and c not in gone]
    assert sorted((c[0], c[2]) for c in back) == [("euft-horizon-cl5-2027-04-d4-03", "reopened"),
                                                  ("euft-horizon-miss-2027-03-cit-02", "reopened")]


async def _a_followed_record(db, topic="climate-adaptation") -> str:
    async with db.transaction() as s:
        row = (await s.scalars(select(FundingInstrument).order_by(FundingInstrument.id))).first()
        row.themes, row.deadline_model, row.opens_on, row.stale = [topic], "single", None, False
        row.deadlines = [{"at": "2027-03-01T17:00", "tz": "Europe/Brussels", "label": "deadline"}]
        row.budget_total_eur = 2_000_000
        return row.id


async def test_funding_set_records_old_and_new_and_the_digest_tells_it_once(services):
    db = services.db
    fid = await _a_followed_record(db)
    chat = FundingChat(services)
    assert "Updated" in await chat.text(f"!funding set {fid} deadlines 2027-02-01 17:00 Europe/Brussels", sender=FACIL)
    assert "Updated" in await chat.text(f"!funding set {fid} budget_total_eur 5000000", sender=FACIL)
    assert "Updated" in await chat.text(f"!funding set {fid} summary Only the summary changed", sender=FACIL)  # not a change
    assert [(c[1], c[2], c[5]) for c in await _changes(db)] == [("deadline", "earlier", "chat"),
                                                                ("budget", "changed", "chat")]
    async with db.session() as s:
        who = (await s.scalars(select(FundingChange.changed_by))).all()
        assert set(who) == {FACIL}
        kept = (await s.execute(select(FundingDeadline.instrument_id, FundingDeadline.at).where(
            FundingDeadline.instrument_id == fid))).all()
        assert kept == [(fid, datetime(2027, 2, 1, 16, 0, tzinfo=UTC))]

    since, now = T0 - timedelta(days=1), T0 + timedelta(minutes=5)
    async with db.session() as s:
        cand = await gather(s, since, {"climate-adaptation", "energy-transition"}, now, timedelta(days=30),
                            [CONTRIBUTION])
    digest = select_for(cand, ["energy-transition", "climate-adaptation"], since, 10)
    assert [c.field for c in digest.alerts] == ["deadline"]
    assert [c.field for p in digest.parts for c in p.changes] == ["budget"]
    assert digest.fresh >= 2
    for lang, words in (("en", ("Deadline moved earlier", "Changed", "source: a facilitator", "€2,000,000")),
                        ("nl", ("Deadline vervroegd", "Gewijzigd", "bron: een facilitator", "€ 2.000.000"))):
        md = render_digest(Translator(lang, "Europe/Amsterdam"), digest, now=now, prefix="!").replace("\u00a0", " ")
        for w in words:
            assert w in md, (lang, w, md)
        assert md.count(f"funding {fid}`") == 2
    # After the digest the watermark is the run's cut-off: the same changes are not told again.
    again = select_for(cand, ["climate-adaptation"], cand.cutoff, 10)
    assert again.alerts == [] and all(not p.changes for p in again.parts)
    # Someone who does not follow the topic hears nothing of it.
    other = select_for(cand, ["energy-transition"], since, 10)
    assert other.alerts == [] and all(not p.changes for p in other.parts)


async def test_deadlines_reads_the_deadline_table_kept_on_every_write(services):
    db = services.db
    fid = await _a_followed_record(db)
    chat = FundingChat(services)
    services.clock = lambda: datetime(2027, 2, 1, 3, 0, tzinfo=UTC)
    assert fid in await chat.text("!deadlines 60d")
    # A write that bypasses the ORM (and so the table) is not seen: the query reads the table.
    async with db.transaction() as s:
        await s.execute(delete(FundingDeadline).where(FundingDeadline.instrument_id == fid))
    assert fid not in await chat.text("!deadlines 60d")
    async with db.transaction() as s:
        assert await resync_deadlines(s) > 0
    assert fid in await chat.text("!deadlines 60d")
    async with db.transaction() as s:   # an ORM write keeps it
        row = await s.get(FundingInstrument, fid)
        row.deadlines = [{"at": "2027-02-20T17:00", "tz": "Europe/Brussels", "label": "deadline"}]
    assert fid in await chat.text("!deadlines 60d") and fid not in await chat.text("!deadlines 5d")
    text = await chat.text("!deadlines 5d")
    assert "No funding deadlines" in text and "The next one is" in text
    async with db.transaction() as s:   # and a deleted record leaves nothing behind
        await s.delete(await s.get(FundingInstrument, fid))
    async with db.session() as s:
        assert (await s.scalars(select(FundingDeadline).where(FundingDeadline.instrument_id == fid))).all() == []


async def test_an_import_moving_a_deadline_earlier_records_the_change_once(services, tmp_path):
    """`dsih-bot import funding FILE` records what it changes like a refresh or a reload
    does (source "import", by the actor): followers hear of a deadline moved earlier
    however it was changed. Importing the same file again records nothing."""
    import yaml
    from storage.funding.dataset import FILE, import_file
    db = services.db
    fid = await _a_followed_record(db)
    async with db.session() as s:
        record = FILE.record_of(await s.get(FundingInstrument, fid))
    record["deadlines"] = [{"at": "2027-02-01T17:00", "tz": "Europe/Brussels", "label": "deadline"}]
    path = tmp_path / "moved.yaml"
    path.write_text(yaml.safe_dump({"instruments": [record]}, allow_unicode=True))
    before = len(await _changes(db))
    assert "1 updated" in await import_file(db, path, actor="cli")
    added = (await _changes(db))[before:]
    assert [(c[0], c[1], c[2], c[5]) for c in added] == [(fid, "deadline", "earlier", "import")], added
    assert "0 updated, 1 unchanged" in await import_file(db, path, actor="cli")
    assert len(await _changes(db)) == before + 1
