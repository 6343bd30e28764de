"""The EU portal refresh against REAL recorded responses (tests/data/eu_ft/real/, byte-for-byte
copies of ../shared/fixtures/eu-ft/, provenance in its README): the mapper on each way real
answers differ from hand-made ones, and the whole refresh through the real HTTP client
against a local server replaying them. The hand-made responses (tests/data/eu_ft/,
test_funding_refresh.py) stay only for shapes no recording has; see the comments there."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import select

from bot.framework.render import message_content
from storage.funding.eu_portal import (
    Listing, PortalError, budget_of, check_row, html_to_text, map_row, map_rows, portal_moment, query_parts, row_key,
)
from storage.funding.records import status_of
from storage.funding.refresh import refresh_eu_ft
from storage.funding.models import FundingInstrument
from support.eu_ft_replay import REAL, SHARED, RealPortal, recorded, recorded_rows
from support.funding_env import FundingChat, funding_services

UTC = timezone.utc
PRETEND = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)     # the "as of" date
NMM = "nmmonteiro_search_text-AI_2025-12-05_b.json"
NMM_PRETTY = "nmmonteiro_search_text-AI_2025-12-05_a_pretty.json"
NMM_ID = "nmmonteiro_search_text-topicid_2025-12-05.json"
PAUL = "paulmazaingue_search_all_2025-05-05.json"
AARHUS = "aarhusai_portal_search_page_TRIMMED_2026.json"
FH_SEARCH = "fundhunt_sedia_search_TRIMMED_2026.json"
FH_CASCADE = "fundhunt_sedia_cascade_TRIMMED_2025.json"
SENSE = "sensefound_sedia-sample_EXCERPT_2026-09-01.json"
# Every recording once (the pretty file is the same answer re-indented).
ALL = [NMM, NMM_ID, PAUL, AARHUS, FH_SEARCH, FH_CASCADE, SENSE]


def row(name: str, ident: str, lang: str | None = "en") -> dict:
    for r in recorded_rows(name):
        md = r["metadata"]
        if md["identifier"][0] == ident and (lang is None or (r.get("language") or "en") == lang) \
                and md.get("type") != ["6"]:
            return r
    raise LookupError(ident)


def row_status(rec, now=PRETEND) -> str:
    return status_of(FundingInstrument(**rec.to_row()), now)


# ------------------------------------------------------------------ the copies are the recordings
def test_copies_are_byte_for_byte():
    sums = dict(reversed(line.split("  ", 1)) for line in (REAL / "SHA256SUMS").read_text().splitlines())
    assert len(sums) == 8
    for name, digest in sums.items():
        assert hashlib.sha256((REAL / name).read_bytes()).hexdigest() == digest, name
        if SHARED.is_dir():      # CI lays out ../shared beside the clone: the copies must match it
            assert (SHARED / name).read_bytes() == (REAL / name).read_bytes(), name
    # The "pretty" file is the same answer re-indented by its author (same rows, same order).
    assert [r["reference"] for r in recorded_rows(NMM)] == [r["reference"] for r in recorded_rows(NMM_PRETTY)]


# ------------------------------------------------------------------ mapping, one finding at a time
def test_budgets_are_per_call_and_a_topic_gets_only_its_own_line():
    md = row(NMM, "HORIZON-CL4-2025-04-DATA-03")["metadata"]
    b = budget_of(md, "HORIZON-CL4-2025-04-DATA-03")
    # Not 132 M (the call) nor 6–8 M (DATA-02's line, which comes first).
    assert (b.topic_total, b.grant_min, b.grant_max) == (15_000_000, 4_000_000, 6_000_000)
    assert (b.call_total, b.call_topics, b.shared_pool) == (132_000_000, 7, False)
    rec, why = map_row(row(NMM, "HORIZON-CL4-2025-04-DATA-03"), PRETEND)
    assert why is None and rec.budget_total_eur == 15_000_000 and "EUR 132 000 000 for the call's 7 topics" in rec.summary
    # CEF (old budget style, "13 September 2022" dates, amounts as numbers): 2 bn of the call's 8 bn.
    cef = row(PAUL, "CEF-T-2022-CORECOEN-MARP-WORKS", lang=None)["metadata"]
    b = budget_of(cef, "CEF-T-2022-CORECOEN-MARP-WORKS")
    assert (b.topic_total, b.call_total) == (2_000_000_000, 8_000_000_000)
    # A joint undertaking repeats the call's pool (170,760,699) on every line: no topic budget.
    cbe = row(AARHUS, "HORIZON-JU-CBE-2026-IAFlag-02")["metadata"]
    b = budget_of(cbe, "HORIZON-JU-CBE-2026-IAFlag-02")
    assert b.topic_total is None and b.call_total is None   # the author cut this overview: not all lines
    # Another topic's line never stands in: Mission Soil's overview was cut before SOIL-01's own line.
    soil, _ = map_row(row(AARHUS, "HORIZON-MISS-2027-05-SOIL-01-two-stage"), PRETEND)
    assert (soil.budget_total_eur, soil.grant_min_eur, soil.grant_max_eur) == (None, None, None)
    # Where the own line is there, it is used; with several years, they add up.
    gov, _ = map_row(row(AARHUS, "HORIZON-CL6-2026-04-GOVERNANCE-01"), PRETEND)
    assert (gov.budget_total_eur, gov.grant_min_eur, gov.grant_max_eur) == (60_000_000, 60_000_000, 60_000_000)


def test_a_shared_pool_on_every_line_is_the_calls_budget():
    md = {"budgetOverview": [json.dumps({"budgetTopicActionMap": {"1": [
        {"action": f"HORIZON-JU-X-2026-0{n} - HORIZON-JU-IA", "expectedGrants": 1, "minContribution": 2_000_000,
         "maxContribution": 2_000_000, "budgetYearMap": {"2026": "170760699"}} for n in (1, 2, 3)]}})]}
    b = budget_of(md, "HORIZON-JU-X-2026-02")
    assert (b.topic_total, b.grant_max, b.call_total, b.shared_pool) == (None, 2_000_000, 170_760_699, True)


def test_cascade_calls_are_calls_of_their_own():
    rows = recorded_rows(FH_CASCADE)
    # Two calls share one identifier (the parent topic) and even one page.
    assert rows[0]["metadata"]["identifier"] == rows[1]["metadata"]["identifier"]
    assert rows[0]["url"] == rows[1]["url"]
    m = map_rows(rows, PRETEND)
    # Three are for students or interns (not for public bodies); EIT Urban Mobility's stays.
    assert m.dropped == Counter({"for individuals only": 3})
    (rec,) = m.records.values()
    assert rec.id == "euft-cascade-11264" and rec.external_id == "cascade-call-11264"
    assert rec.identifier == "HORIZON-EIT-2023-25-KIC-EITURBANMOBILITY"
    assert rec.title == "Urban Mobility Explained (UMX) Open Call (Multi-cut-off)"
    assert rec.url.endswith("/competitive-calls-cs/45033429") and rec.budget_total_eur == 4_000_000
    assert rec.programme == "Horizon Europe (EIT) (cascade funding)" and "EITUM-BP23-25" in rec.managing_body
    assert rec.deadline_model == "multiple_cutoffs" and "mobility" in rec.themes
    # The portal says open; both cut-offs are past on 5 December 2026.
    assert rec.external_status == "open" and row_status(rec) == "closed"
    # Each call keeps its own number as identity, so the two sharing an identifier stay two.
    both = map_rows([{**r, "metadata": {**r["metadata"], "callTitle": [f"Digital health call {n}"],
                                        "description": []}} for n, r in enumerate(rows[:2])], PRETEND)
    assert sorted(both.records) == ["euft-cascade-11143", "euft-cascade-11145"]


def test_cut_off_times_are_kept_and_shown_in_brussels_time():
    rows = recorded_rows(FH_CASCADE)
    assert portal_moment("2025-09-02T03:59:00.000+0000") == (date(2025, 9, 2),
                                                             datetime(2025, 9, 2, 3, 59, tzinfo=UTC))
    assert portal_moment("2027-04-08T00:00:00.000+0000") == (date(2027, 4, 8), None)       # a day
    assert portal_moment("2023-05-11T02:00:00.000+0200") == (date(2023, 5, 11), None)      # old style, a day
    assert portal_moment("18 January 2023") == (date(2023, 1, 18), None)
    md = {**rows[2]["metadata"], "callTitle": ["GreenChips open call"], "description": []}
    rec, why = map_row({**rows[2], "metadata": md}, PRETEND)
    assert why is None, why
    # 23:59 UTC is 00:59 (winter) or 01:59 (summer) the next day in Brussels; not 17:00.
    assert [d.stored() for d in rec.deadlines[:2]] == [
        {"at": "2025-09-08T01:59", "tz": "Europe/Brussels", "label": "cut-off 1"},
        {"at": "2026-02-16T00:59", "tz": "Europe/Brussels", "label": "cut-off 2"}]
    assert all(d.aware().astimezone(UTC).strftime("%H:%M") == "23:59" for d in rec.deadlines)
    # Topic deadlines are days: 17:00 Brussels, said so.
    topic, _ = map_row(row(AARHUS, "HORIZON-CL5-2027-03-D5-05"), PRETEND)
    assert [d.stored()["at"] for d in topic.deadlines] == ["2027-04-14T17:00"]
    assert "17:00 Brussels time is its usual hour" in topic.deadline_note


def test_archived_language_and_update_rows_are_dropped():
    m = map_rows(recorded_rows(AARHUS), PRETEND)
    assert m.dropped["archived copy"] == 3          # SEDIA_PRD_CENTRICITY, "Forthcoming" with 2024 deadlines
    assert not any("2024" in rid for rid in m.records)
    m = map_rows(recorded_rows(NMM), PRETEND)
    assert m.dropped == Counter({"language copy": 2, "not a call": 2}) and list(m.records) == [
        "euft-horizon-cl4-2025-04-data-03"]
    assert map_rows(recorded_rows(NMM_ID), PRETEND).dropped == Counter({"not a call": 10})
    assert map_rows(recorded_rows(PAUL), PRETEND).dropped == Counter({"language copy": 10})


def test_the_open_flag_loses_to_the_dates():
    eccc, _ = map_row(row(AARHUS, "HORIZON-CL3-2026-02-CS-ECCC-01"), PRETEND)
    assert eccc.external_status == "open" and row_status(eccc) == "closed"       # deadline 15 Sep 2026
    emerging, _ = map_row(row(AARHUS, "HORIZON-CL4-2027-04-DIGITAL-EMERGING-10"), PRETEND)
    # Recorded as forthcoming; it opened on 17 November 2026.
    assert emerging.external_status == "forthcoming" and row_status(emerging) == "open"


def test_two_stage_topics():
    soil, _ = map_row(row(AARHUS, "HORIZON-MISS-2027-05-SOIL-01-two-stage"), PRETEND)
    assert soil.deadline_model == "two_stage" and soil.opens_on == date(2027, 2, 4)
    assert [(d.stored()["at"], d.label) for d in soil.deadlines] == [("2027-04-08T17:00", "stage 1"),
                                                                     ("2027-09-14T17:00", "stage 2")]
    assert row_status(soil) == "forthcoming" and "soil-biodiversity" in soil.themes
    # Flagged closed after stage 1, while stage 2 (20 October 2026) was ahead on the day it was captured.
    closed = recorded(SENSE)["closed"]
    rec, _ = map_row(closed, PRETEND)
    assert rec.external_status == "closed" and rec.deadline_model == "two_stage"
    assert row_status(rec, datetime(2026, 9, 1, tzinfo=UTC)) == "invitation_only"
    assert row_status(rec) == "closed"
    assert (rec.budget_total_eur, rec.grant_max_eur) == (23_500_000, 4_000_000)


def test_html_becomes_text():
    md = row(NMM, "HORIZON-CL4-2025-04-DATA-03")["metadata"]
    rec, _ = map_row(row(NMM, "HORIZON-CL4-2025-04-DATA-03"), PRETEND)
    assert "<" not in rec.summary and "&" not in rec.summary and "Expected Outcome: Improved methods" in rec.summary
    assert html_to_text("<p>a&#xa0;b</p><ul><li>c</li><li>d &amp; e</li></ul>") == "a b c d & e"
    assert html_to_text("<script>alert(1)</script>x<style>p{}</style>") == "x"
    assert html_to_text(md["descriptionByte"][0]).startswith("Expected Outcome:")


def test_scope_programmes_and_hub_topics():
    # Joint undertakings (industry-led) are out of scope; so is a topic about none of the hub's topics.
    assert map_row(row(AARHUS, "HORIZON-JU-CBE-2026-IAFlag-02"), PRETEND)[1] == "programme out of scope"
    assert map_row(recorded(SENSE)["open"], PRETEND)[1] == "programme out of scope"
    off_topic = row(FH_SEARCH, "HORIZON-CL5-2026-09-D4-08")
    bare = {**off_topic, "summary": "x", "metadata": {**off_topic["metadata"], "title": ["Solid-state chemistry"],
                                                      "callTitle": ["X"]}}
    assert map_row(bare, PRETEND)[1] == "no hub topic"
    # The query asks for live calls of the current data source in English, sorted on a unique field.
    parts = query_parts()
    must = {k: v for t in parts["query"]["bool"]["must"] for k, v in t["terms"].items()}
    assert must == {"type": ["1", "2", "8"], "status": ["31094501", "31094502"], "DATASOURCE": ["SEDIA"]}
    assert parts["languages"] == ["en"] and parts["sort"] == {"field": "identifier", "order": "ASC"}


def replay_counts(now=PRETEND) -> tuple[Counter, Counter, dict]:
    m = map_rows(recorded_rows(*ALL), now)
    statuses = Counter(row_status(r, now) for r in m.records.values())
    return statuses, m.dropped, m.records


def test_replayed_real_data_as_of_5_december_2026(capsys):
    statuses, dropped, records = replay_counts()
    total = sum(len(recorded_rows(n)) for n in ALL)
    assert total == 44 and len(records) + sum(dropped.values()) == total
    assert statuses == Counter({"closed": 7, "forthcoming": 2, "open": 1})
    assert dropped == Counter({"language copy": 12, "not a call": 12, "programme out of scope": 4,
                               "archived copy": 3, "for individuals only": 3})
    with capsys.disabled():
        print(f"\nreplayed real rows: {total}; records {len(records)}: {dict(statuses)}; dropped {dict(dropped)}")


# ------------------------------------------------------------------ the client against recorded bytes
@pytest.fixture
async def services(tmp_path):
    services = await funding_services(tmp_path, now=PRETEND)
    yield services
    await services.db.dispose()


async def test_a_recording_whose_filter_was_ignored_fails_the_run(services):
    # The services answered these outside what was asked (other languages, closed topics,
    # topic updates): the run fails and nothing changes.
    for name, why in ((NMM, "language sv"), (PAUL, "language bg"), (NMM_ID, "type 6")):
        with RealPortal(files=[name]) as portal:
            services.settings.funding.eu_ft_url = portal.url
            with pytest.raises(PortalError, match=f"ignored the filter \\({why}"):
                await refresh_eu_ft(services.db, services.settings, now=PRETEND)
    async with services.db.session() as s:
        assert (await s.scalars(select(FundingInstrument).where(FundingInstrument.origin == "eu-ft"))).all() == []


async def test_a_total_that_changes_between_pages_aborts_the_run(services):
    with RealPortal(files=[AARHUS, FH_SEARCH]) as portal:     # totalResults 9, then 4
        services.settings.funding.eu_ft_url = portal.url
        services.settings.funding.eu_ft_page_size = 5
        with pytest.raises(PortalError, match="listing changed while it was read"):
            await refresh_eu_ft(services.db, services.settings, now=PRETEND)


async def test_recorded_bytes_through_the_client(services):
    with RealPortal(files=[AARHUS]) as portal:
        services.settings.funding.eu_ft_url = portal.url
        report = await refresh_eu_ft(services.db, services.settings, now=PRETEND)
    # 9 rows; 3 archived copies dropped by the client; the JU topic out of scope; 2 closed
    # by their dates not added; Mission Soil, Cluster 4 foresight and Cluster 5 HDV added.
    assert (report.listed, report.dropped["archived copy"], report.fetched) == (9, 3, 5)
    assert sorted(report.created) == ["euft-horizon-cl4-2027-04-digital-emerging-10",
                                      "euft-horizon-cl5-2027-03-d5-05",
                                      "euft-horizon-miss-2027-05-soil-01-two-stage"]
    assert sorted(report.closed_not_added) == ["euft-horizon-cl3-2026-02-cs-eccc-01",
                                               "euft-horizon-cl6-2026-04-governance-01"]
    assert "3 new (added), 0 changed, 0 unchanged, 0 marked stale" in report.line()


# ------------------------------------------------------------------ a whole refresh, replayed
LIVE = [AARHUS, FH_SEARCH, FH_CASCADE, SENSE]


async def test_refresh_of_replayed_rows_is_idempotent_and_marks_gone_after_14_days(services):
    db, settings = services.db, services.settings
    with RealPortal(rows=recorded_rows(*LIVE), repeat_on_next_page=True) as portal:
        settings.funding.eu_ft_url, settings.funding.eu_ft_page_size = portal.url, 4
        first = await refresh_eu_ft(db, settings, now=PRETEND)
        # Sorted on identifier, paged by 4, each page repeating the row before: deduplicated.
        assert all(json.loads(r["parts"]["sort"][1]) == {"field": "identifier", "order": "ASC"}
                   for r in portal.requests)
        assert len(portal.requests) == 5 and first.dropped["duplicate"] >= 3
        assert first.dropped["archived copy"] >= 3     # repeated rows count again
        assert len(first.created) == 3 and first.closed_not_added
        again = await refresh_eu_ft(db, settings, now=PRETEND + timedelta(days=1))
        assert (again.created, again.updated, again.unchanged, again.marked_stale) == ([], [], 3, [])
    # Two weeks later the portal lists only the FundHunt rows: not yet 14 days unseen.
    with RealPortal(rows=recorded_rows(FH_SEARCH, FH_CASCADE)) as portal:
        settings.funding.eu_ft_url = portal.url
        soon = await refresh_eu_ft(db, settings, now=PRETEND + timedelta(days=14))
        assert soon.marked_stale == []
        later = PRETEND + timedelta(days=16)
        gone = await refresh_eu_ft(db, settings, now=later)
        assert sorted(gone.marked_stale) == ["euft-horizon-cl4-2027-04-digital-emerging-10",
                                             "euft-horizon-cl5-2027-03-d5-05",
                                             "euft-horizon-miss-2027-05-soil-01-two-stage"]
        assert "3 marked stale (gone: no longer in the source)" in gone.line()
        assert (await refresh_eu_ft(db, settings, now=later)).marked_stale == []     # once
    async with db.session() as s:
        soil = await s.get(FundingInstrument, "euft-horizon-miss-2027-05-soil-01-two-stage")
        assert soil.stale and status_of(soil, later) == "gone"        # kept, never deleted, never "open"
    services.clock = lambda: later
    body = message_content(await FundingChat(services).text("!funding soil health living labs"))["body"]
    assert "euft-horizon-miss-2027-05-soil-01-two-stage" in body and "no longer in the source: check" in body


async def test_a_two_stage_call_past_stage_1_is_not_gone(services):
    db, settings = services.db, services.settings
    captured = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    closed = recorded(SENSE)["closed"]     # flagged closed, stage 2 ahead: the refresh was given it once

    async def once():
        return Listing(rows=[closed], total=1)

    report = await refresh_eu_ft(db, settings, now=captured, fetch=once)
    assert report.created == ["euft-horizon-cl5-2026-04-two-stage-d3-02"]

    async def nothing():
        return Listing(rows=[], total=0)

    # A query for open calls no longer returns it; 20 days on, stage 2 (20 October) is still ahead.
    later = await refresh_eu_ft(db, settings, now=captured + timedelta(days=20), fetch=nothing)
    assert later.marked_stale == []
    async with db.session() as s:
        row_ = await s.get(FundingInstrument, "euft-horizon-cl5-2026-04-two-stage-d3-02")
        assert status_of(row_, captured + timedelta(days=20)) == "invitation_only"


async def test_an_incomplete_listing_marks_nothing_gone(services):
    db, settings = services.db, services.settings
    with RealPortal(rows=recorded_rows(AARHUS)) as portal:
        settings.funding.eu_ft_url = portal.url
        await refresh_eu_ft(db, settings, now=PRETEND)
    with RealPortal(rows=recorded_rows(FH_SEARCH, FH_CASCADE, AARHUS)) as portal:
        settings.funding.eu_ft_url, settings.funding.eu_ft_page_size, settings.funding.eu_ft_max_pages = (
            portal.url, 2, 1)
        report = await refresh_eu_ft(db, settings, now=PRETEND + timedelta(days=30))
    assert not report.complete and report.marked_stale == [] and "nothing was marked gone" in report.line()


# ------------------------------------------------------------------ odd rows never crash the client side
_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
_any = st.recursive(_leaf, lambda k: st.lists(k, max_size=3) | st.dictionaries(st.text(max_size=6), k, max_size=3),
                    max_leaves=8)


@hsettings(max_examples=200, deadline=None)
@given(base=st.sampled_from(recorded_rows(AARHUS, FH_CASCADE, NMM)), key=st.sampled_from(
    ["type", "status", "language", "DATASOURCE", "identifier", "deadlineDate", "actions", "budgetOverview",
     "descriptionByte", "budget", "startDate", "callTitle"]), value=_any, top=st.booleans())
def test_a_real_row_with_one_odd_value_never_crashes(base, key, value, top):
    res = json.loads(json.dumps(base))
    if top:
        res[key if key in ("language",) else "metadata"] = value
    else:
        res["metadata"][key] = value
    check_row(res), row_key(res)
    rec, why = map_row(res, PRETEND)
    assert (rec is None) != (why is None)
