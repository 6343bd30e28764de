"""`dsih-bot refresh funding --source eu-ft` against a local stand-in of the EU Funding &
Tenders search API that replays the HAND-MADE responses in tests/data/eu_ft/: the real
HTTP client, the mapping, idempotent upserts, stale marking, failures and the CLI.

Real recorded responses are replayed in test_eu_ft_real.py; the hand-made ones are kept
only for shapes no recording has (one comment per kept fixture):
- search_2026-11-25_page{1,2}.json: two consecutive pages of ONE listing of live calls
  (every recording is a single page); a LIFE topic and a Digital Europe topic with
  multiple cut-offs (the recordings have only Horizon topics, and cut-offs only in cascade
  calls); a topic that is also a curated bundled record (HORIZON-MISS-2027-05-SOIL-02-two-stage);
  a row without identifier.
- search_2026-12-20_page1.json: the same listing 25 days later with two calls gone (no
  recording shows one query on two days), for "no longer in the source: check"."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select

from bot.cli import main
from bot.framework.render import message_content
from storage.funding.eu_portal import PortalError, map_result, record_id
from storage.funding.records import FUNDING_INDEX, status_of
from storage.funding.dataset import export_text
from storage.funding.refresh import refresh_eu_ft
from storage.funding.models import FundingInstrument
from support.eu_ft_server import DATA, PortalStub
from support.funding_env import FundingChat, funding_services

UTC = timezone.utc
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def results(snapshot="2026-11-25"):
    out = []
    for n in (1, 2):
        p = DATA / f"search_{snapshot}_page{n}.json"
        if p.exists():
            out += json.loads(p.read_text())["results"]
    return out


# ------------------------------------------------------------------ mapping
def test_mapping_of_portal_results():
    a, b, c, d, e, bad = results()
    r = map_result(a, None, T0)
    assert r.id == "euft-horizon-miss-2027-03-cit-02" and r.identifier == "HORIZON-MISS-2027-03-CIT-02"
    assert (r.programme, r.level, r.kind, r.origin, r.external_status) == (
        "Horizon Europe (Missions)", "eu", "grant", "eu-ft", "open")
    assert r.opens_on == date(2026, 10, 14) and r.deadline_model == "single"
    assert [x.stored() for x in r.deadlines] == [{"at": "2027-02-18T17:00", "tz": "Europe/Brussels", "label": "deadline"}]
    assert (r.budget_total_eur, r.grant_min_eur, r.grant_max_eur) == (12_000_000, 4_000_000, 4_000_000)
    assert r.url.endswith("/topic-details/HORIZON-MISS-2027-03-CIT-02") and "<" not in r.summary
    assert "climate-neutral-cities" in r.themes and "energy-transition" in r.themes
    assert r.last_checked == T0.date() and r.last_seen_at == T0 and r.checked_by.startswith("eu-ft refresh")
    two = map_result(b, None, T0)
    assert two.deadline_model == "two_stage" and [x.label for x in two.deadlines] == ["stage 1", "stage 2"]
    assert two.external_status == "forthcoming"
    assert map_result(c, None, T0).programme == "LIFE"
    cut = map_result(d, None, T0)
    assert cut.deadline_model == "multiple_cutoffs" and [x.label for x in cut.deadlines] == ["cut-off 1", "cut-off 2"]
    assert cut.budget_total_eur == 5_000_000 and "&amp;" not in (map_result(c, None, T0).summary or "")
    assert map_result(bad, None, T0) is None
    # The portal's "closed" flag does not drop a row: its dates decide (a two-stage topic is
    # flagged closed after stage 1); the flag is kept as the status at the source.
    closed = json.loads(json.dumps(a))
    closed["metadata"]["status"] = ["31094503"]
    assert map_result(closed, None, T0).external_status == "closed"
    assert record_id("HORIZON-MISS-2027-05-SOIL-02-two-stage") == "euft-horizon-miss-2027-05-soil-02-two-stage"


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
                     max_leaves=10)
_keys = st.sampled_from(["identifier", "callIdentifier", "title", "status", "startDate", "deadlineDate",
                         "deadlineModel", "budgetOverview", "descriptionByte", "callTitle", "type"])


@settings(max_examples=200, deadline=None)
@given(md=st.dictionaries(_keys, _json | st.lists(st.text(max_size=40), max_size=3), max_size=11),
       status=st.sampled_from(["31094501", "31094502", "31094503", "x"]),
       ident=st.text(max_size=60), extra=_json)
def test_mapping_never_crashes_on_odd_results(md, status, ident, extra):
    md = {**md, "status": [status]}
    if ident:
        md["identifier"] = [ident]
    r = map_result({"metadata": md, "summary": extra}, "climate-adaptation", T0)
    assert r is None or (r.origin == "eu-ft" and r.id.startswith("euft-") and r.themes
                         and r.external_status in ("open", "forthcoming", "closed", None))


# ------------------------------------------------------------------ refresh against the local server
@pytest.fixture
def stub():
    with PortalStub() as s:
        yield s


@pytest.fixture
async def services(tmp_path, stub):
    services = await funding_services(tmp_path, now=T0)
    services.settings.funding.eu_ft_url = stub.url
    services.settings.funding.eu_ft_page_size = 3
    yield services
    await services.db.dispose()


async def count(db, **where):
    async with db.session() as s:
        q = select(func.count()).select_from(FundingInstrument)
        for k, v in where.items():
            q = q.where(getattr(FundingInstrument, k) == v)
        return await s.scalar(q)


async def test_refresh_upserts_and_is_idempotent(services, stub):
    db, settings = services.db, services.settings
    bundled = await count(db)
    report = await refresh_eu_ft(db, settings, now=T0)
    # One listing of every live call, 2 pages of 3, every request shaped as the API wants
    # (else the stub says 400); the hub's topics are matched on each call's own text.
    assert len(stub.requests) == 2 and all(r["params"]["pageSize"] == "3" for r in stub.requests)
    assert {r["params"]["text"] for r in stub.requests} == {"***"}
    assert report.fetched == 5 and report.skipped == 1 and report.dropped == {"no identifier": 1}
    assert sorted(report.created) == ["euft-digital-2026-ai-09-govtech", "euft-horizon-cl5-2027-04-d4-03",
                                      "euft-horizon-miss-2027-03-cit-02", "euft-life-2027-sap-clima-cca"]
    # The curated bundled Soil record is noted, not overwritten, and not duplicated.
    assert report.curated_seen == ["horizon-mission-soil-2027"]
    assert await count(db) == bundled + 4 and await count(db, origin="eu-ft") == 4
    async with db.session() as s:
        soil = await s.get(FundingInstrument, "horizon-mission-soil-2027")
        assert soil.origin == "bundled" and soil.external_status == "forthcoming" and soil.last_seen_at == T0
        # Seen in its source: "checked in the EU portal on …" (issue 17), the record's data untouched.
        assert soil.checked_by.startswith("eu-ft refresh") and soil.last_checked == T0.date()
        assert soil.title.startswith("Horizon Europe Mission: A Soil Deal")
        hits = [d for d, _ in await FUNDING_INDEX.search(s, "positive clean energy districts", limit=5)]
        assert "euft-horizon-miss-2027-03-cit-02" in hits   # indexed on upsert
    before = await export_text(db, "yaml")
    again = await refresh_eu_ft(db, settings, now=T0)
    assert (again.created, again.updated, again.unchanged) == ([], [], 4)
    assert await export_text(db, "yaml") == before          # running twice changes nothing
    # Found in chat like any record, with its origin and the portal's status.
    body = message_content(await FundingChat(services).text("!funding euft-life-2027-sap-clima-cca"))["body"]
    assert "Origin: eu-ft · LIFE-2027-SAP-CLIMA-CCA" in body and "Status at the source: forthcoming" in body


async def test_not_listed_for_n_days_becomes_stale_and_says_so(services, stub):
    db, settings = services.db, services.settings
    await refresh_eu_ft(db, settings, now=T0)
    stub.snapshot = "2026-12-20"
    soon = await refresh_eu_ft(db, settings, now=T0 + timedelta(days=10))   # < unseen_after (14 days)
    assert soon.marked_stale == []
    later = T0 + timedelta(days=25)
    report = await refresh_eu_ft(db, settings, now=later)
    assert sorted(report.marked_stale) == ["euft-horizon-cl5-2027-04-d4-03", "euft-horizon-miss-2027-03-cit-02"]
    assert await count(db, stale=True) == 2
    assert (await refresh_eu_ft(db, settings, now=later)).marked_stale == []     # idempotent
    services.clock = lambda: later
    md = await FundingChat(services).text("!funding positive clean energy districts")
    assert "⚠ no longer listed at its source (last seen 25 November 2026): may be out of date" in md
    stub.snapshot = "2026-11-25"
    back = await refresh_eu_ft(db, settings, now=later + timedelta(days=1))
    assert sorted(back.revived) == sorted(report.marked_stale) and await count(db, stale=True) == 0


async def test_failing_portal_changes_nothing(services, stub):
    db, settings = services.db, services.settings
    await refresh_eu_ft(db, settings, now=T0)
    before = await export_text(db, "json")
    stub.fail_with = 503
    with pytest.raises(PortalError, match="HTTP 503"):
        await refresh_eu_ft(db, settings, now=T0 + timedelta(days=60))
    assert await export_text(db, "json") == before and await count(db, stale=True) == 0
    settings.funding.eu_ft_url = "http://127.0.0.1:9/search"     # nothing listens there
    with pytest.raises(PortalError, match="cannot read the portal"):
        await refresh_eu_ft(db, settings, now=T0)


async def test_portal_status_and_dates_drive_the_derived_status(services):
    await refresh_eu_ft(services.db, services.settings, now=T0)
    async with services.db.session() as s:
        row = await s.get(FundingInstrument, "euft-digital-2026-ai-09-govtech")
    assert status_of(row, T0) == "open"
    assert status_of(row, datetime(2027, 3, 12, tzinfo=UTC)) == "closed"


# ------------------------------------------------------------------ the CLI, as cron runs it
def test_cli_refresh_against_local_server(tmp_path, capsys):
    with PortalStub() as stub:
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({
            "storage": {"data_dir": str(tmp_path / "data")},
            "bot": {"pretend_now": "2026-11-25T03:00:00+00:00"},
            "funding": {"eu_ft_url": stub.url, "eu_ft_page_size": 3, "unseen_after": "14d"}}))
        assert main(["refresh", "funding", "--source", "eu-ft", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "eu-ft: 6 rows listed, 5 calls in scope (1 dropped: 1 no identifier)" in out
        assert "5 new (added), 0 changed, 0 unchanged, 0 marked stale" in out
        assert main(["refresh", "funding", "--config", str(config)]) == 0
        assert "0 new (added), 0 changed, 5 unchanged" in capsys.readouterr().out
        stub.fail_with = 500
        assert main(["refresh", "funding", "--config", str(config)]) == 1
        assert "refresh eu-ft failed, nothing was changed" in capsys.readouterr().err
        assert main(["export", "funding", "--format", "csv", "--config", str(config)]) == 0
        csv_text = capsys.readouterr().out
        assert "euft-horizon-miss-2027-05-soil-02-two-stage" in csv_text and ",eu-ft," in csv_text


@settings(max_examples=200, deadline=None)
@given(topic_map=_json | st.dictionaries(st.text(max_size=8), st.lists(
    st.dictionaries(st.sampled_from(["budgetYearMap", "deadlineDates", "deadlineModel", "minContribution",
                                     "maxContribution", "plannedOpeningDate"]), _json, max_size=6), max_size=3),
    max_size=2), as_text=st.booleans())
def test_odd_budget_overviews_never_crash(topic_map, as_text):
    blob = {"budgetTopicActionMap": topic_map}
    md = {"identifier": ["HORIZON-CL5-2027-01-D2-01"], "status": ["31094502"],
          "budgetOverview": [json.dumps(blob) if as_text else blob]}
    r = map_result({"metadata": md}, "climate-adaptation", T0)
    assert r is None or r.id == "euft-horizon-cl5-2027-01-d2-01"


async def test_a_curated_record_the_portal_stops_listing_is_gone_and_comes_back(services):
    """The bundled Mission Soil record (curated, never overwritten) was seen in the portal;
    when the portal has not listed it for 14 days its status says "no longer in the source:
    check" (its stage 1 is still ahead, so the dates do not explain it); listed again, it is back."""
    from storage.funding.eu_portal import Listing
    db, settings = services.db, services.settings
    soil_row = results()[1]

    async def listed():
        return Listing(rows=[soil_row], total=1)

    async def not_listed():
        return Listing(rows=[], total=0)

    assert (await refresh_eu_ft(db, settings, now=T0, fetch=listed)).curated_seen == ["horizon-mission-soil-2027"]
    assert (await refresh_eu_ft(db, settings, now=T0 + timedelta(days=14), fetch=not_listed)).marked_stale == []
    later = T0 + timedelta(days=15)
    report = await refresh_eu_ft(db, settings, now=later, fetch=not_listed)
    assert report.marked_stale == ["horizon-mission-soil-2027"]
    async with db.session() as s:
        soil = await s.get(FundingInstrument, "horizon-mission-soil-2027")
        assert soil.origin == "bundled" and soil.stale and status_of(soil, later) == "gone"
    back = await refresh_eu_ft(db, settings, now=later + timedelta(days=1), fetch=listed)
    assert back.revived == ["horizon-mission-soil-2027"] and await count(db, stale=True) == 0


def test_cli_refresh_all_runs_both_sources_and_one_failure_does_not_stop_the_other(tmp_path, capsys):
    """`--source all` (the compose recipe's nightly command): the EU portal, then the official
    journals (the real recorded SRU answer); a source that fails is reported, the other one
    still runs, and the exit status says something failed."""
    from support.sru_replay import REAL, SruReplay

    with PortalStub() as stub, SruReplay(files=[REAL]) as sru:
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({
            "storage": {"data_dir": str(tmp_path / "data")},
            "bot": {"pretend_now": "2026-12-05T03:00:00+00:00"},
            "funding": {"eu_ft_url": stub.url, "eu_ft_page_size": 3, "unseen_after": "14d",
                        "bekendmakingen_url": sru.url}}))
        assert main(["refresh", "funding", "--source", "all", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "eu-ft: 6 rows listed" in out and "officiele-bekendmakingen" in out, out
        assert len(sru.requests) == 1
        stub.fail_with = 500
        assert main(["refresh", "funding", "--source", "all", "--config", str(config)]) == 1
        captured = capsys.readouterr()
        assert "refresh eu-ft failed, nothing was changed" in captured.err
        assert "officiele-bekendmakingen" in captured.out and len(sru.requests) == 2   # still ran
