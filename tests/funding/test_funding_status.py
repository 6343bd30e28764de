"""Status rules (storage.funding.records.status_of, the one place they live), how the list and
the record show them, and validation of the record fields that make data trustworthy
(kind, checked_by, origin, indicative dates, official sources)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from storage.funding.records import (
    InstrumentRecord, accepting, is_outdated, load_bundled, next_deadline_info, status_of,
)
from storage.funding.models import FundingInstrument
from support.funding_env import FundingChat, funding_services, result_ids

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def inst(**kw):
    base = dict(id="x", title="X", level="eu", deadline_model="single", deadlines=[], themes=[],
                eligible_applicants=[], opens_on=None, kind="grant", dates_indicative=False, stale=False,
                external_status=None, last_checked=date(2026, 11, 25))
    base.update(kw)
    return FundingInstrument(**base)


def dl(at, label="deadline", tz="Europe/Brussels", **kw):
    return {"at": at, "tz": tz, "label": label, **kw}


def test_single_deadline_and_opening():
    assert status_of(inst(opens_on=date(2027, 1, 1), deadlines=[dl("2027-03-01T17:00")]), NOW) == "forthcoming"
    assert status_of(inst(opens_on=date(2026, 1, 1), deadlines=[dl("2026-12-01T17:00")]), NOW) == "open"
    assert status_of(inst(deadlines=[dl("2026-11-01T17:00")]), NOW) == "closed"


def test_two_stage_past_stage_one_is_by_invitation_never_open():
    two = inst(deadline_model="two_stage", deadlines=[dl("2026-09-03T17:00", "stage 1"),
                                                      dl("2027-03-04T17:00", "stage 2")])
    assert status_of(two, datetime(2026, 9, 3, 14, 0, tzinfo=UTC)) == "open"          # 16:00 Brussels
    assert status_of(two, datetime(2026, 9, 3, 15, 1, tzinfo=UTC)) == "invitation_only"  # 17:01 CEST
    assert status_of(two, NOW) == "invitation_only" and not accepting(two, NOW)
    assert next_deadline_info(two, NOW).label == "stage 2"
    assert status_of(two, datetime(2027, 3, 5, tzinfo=UTC)) == "closed"
    # Stage 1 passed, no later stage known: closed, not by invitation.
    only1 = inst(deadline_model="two_stage", deadlines=[dl("2025-01-16T12:00", "stage 1", "Europe/Paris")])
    assert status_of(only1, NOW) == "closed"


def test_multiple_cutoffs_open_until_the_last():
    m = inst(deadline_model="multiple_cutoffs", deadlines=[dl("2026-10-01T17:00", "cut-off"),
                                                           dl("2027-02-01T17:00", "cut-off")])
    assert status_of(m, NOW) == "open" and accepting(m, NOW)


def test_continuous_with_and_without_end_date():
    assert status_of(inst(deadline_model="continuous"), NOW) == "continuous"
    end = inst(deadline_model="continuous", deadlines=[dl("2027-12-31T23:59", "end date")])
    assert status_of(end, NOW) == "continuous"
    assert status_of(end, datetime(2028, 1, 1, tzinfo=UTC)) == "closed"
    assert status_of(inst(deadline_model="continuous", opens_on=date(2027, 1, 1)), NOW) == "forthcoming"


def test_no_dates_is_unknown_never_closed():
    for model in ("single", "multiple_cutoffs", "two_stage"):
        assert status_of(inst(deadline_model=model), NOW) == "unknown"
    # An opening date alone does not make it open (we do not know whether it still is).
    assert status_of(inst(opens_on=date(2026, 1, 1)), NOW) == "unknown"
    # The source's own status is used when no date is known.
    assert status_of(inst(external_status="open"), NOW) == "open"
    assert status_of(inst(external_status="closed"), NOW) == "unknown"


@pytest.mark.parametrize("utc_hour,minute,expected", [(15, 59, "open"), (16, 0, "open"), (16, 1, "closed")])
def test_deadline_edge_in_winter_time(utc_hour, minute, expected):
    # 17:00 Brussels = 16:00 UTC in winter (CET); the deadline minute itself still counts.
    d = inst(deadlines=[dl("2026-11-23T17:00")])
    assert status_of(d, datetime(2026, 11, 23, utc_hour, minute, tzinfo=UTC)) == expected


@pytest.mark.parametrize("utc_hour,minute,expected", [(14, 59, "open"), (15, 1, "closed")])
def test_deadline_edge_in_summer_time(utc_hour, minute, expected):
    # 17:00 Brussels = 15:00 UTC in summer (CEST).
    d = inst(deadlines=[dl("2026-06-15T17:00")])
    assert status_of(d, datetime(2026, 6, 15, utc_hour, minute, tzinfo=UTC)) == expected


def test_deadline_on_dst_change_day_and_opening_midnight():
    # Sunday 25 October 2026: clocks go back at 03:00 CEST; a 23:59 Amsterdam deadline is 22:59 UTC.
    d = inst(deadlines=[dl("2026-10-25T23:59", tz="Europe/Amsterdam")])
    assert status_of(d, datetime(2026, 10, 25, 22, 58, tzinfo=UTC)) == "open"
    assert status_of(d, datetime(2026, 10, 25, 23, 0, tzinfo=UTC)) == "closed"
    # Opening day starts at midnight Brussels time: 29 March 2026 00:00 CET = 28 March 23:00 UTC.
    f = inst(opens_on=date(2026, 3, 29), deadlines=[dl("2026-06-01T17:00")])
    assert status_of(f, datetime(2026, 3, 28, 22, 59, tzinfo=UTC)) == "forthcoming"
    assert status_of(f, datetime(2026, 3, 28, 23, 0, tzinfo=UTC)) == "open"


def test_outdated_after_stale_after_or_when_gone_from_source():
    sixty = timedelta(days=60)
    assert not is_outdated(inst(last_checked=date(2026, 9, 26)), NOW, sixty)
    assert is_outdated(inst(last_checked=date(2026, 9, 25)), NOW, sixty)
    assert is_outdated(inst(last_checked=None), NOW, sixty)
    assert is_outdated(inst(stale=True), NOW, sixty)


# ------------------------------------------------------------------ record validation
def rec(**kw):
    base = {"id": "test-fund", "title": "Test fund", "level": "national", "url": "https://www.rvo.nl/x"}
    base.update(kw)
    return InstrumentRecord.model_validate(base)


def test_new_fields_defaults_and_round_trip():
    r = rec()
    assert (r.kind, r.origin, r.stale, r.dates_indicative) == ("grant", "import", False, False)
    r = rec(kind="procurement", checked_by="A. Checker", origin="eu-ft", external_id="HORIZON-X-1",
            external_status="open", last_seen_at="2026-11-25T03:00:00+00:00", stale="true",
            deadlines=[{"at": "2027-01-01T17:00", "tz": "Europe/Brussels", "indicative": True}])
    row = r.to_row()
    assert row["kind"] == "procurement" and row["stale"] is True and row["deadlines"][0]["indicative"] is True
    assert InstrumentRecord.model_validate(row).to_row() == row
    # CSV cells left empty get the defaults.
    assert rec(kind="", origin="", stale="", dates_indicative="").kind == "grant"


@pytest.mark.parametrize("field,value,needle", [
    ("kind", "subsidy", "kind"),
    ("origin", "somewhere", "origin"),
    ("external_status", "maybe", "external_status"),
    ("last_seen_at", "2026-11-25T03:00:00", "time zone"),
    ("checked_by", "x" * 300, "checked_by"),
    ("url", "https://grantalist.com/grant/X", "official page"),
])
def test_new_fields_are_validated(field, value, needle):
    with pytest.raises(ValidationError) as err:
        rec(**{field: value})
    assert needle in str(err.value)


def test_secondary_source_is_never_the_only_source():
    with pytest.raises(ValidationError, match="secondary source"):
        rec(url=None, source="https://grantalist.com/x ; https://www.euro-access.eu/y (dates)")
    assert rec(url=None, source="https://grantalist.com/x ; https://ec.europa.eu/y").source
    assert rec(url=None, source="Staatscourant 2026, 12345").source


def test_bundled_records_are_checked_and_official():
    records = load_bundled()
    assert len(records) >= 41
    for r in records:
        assert r.origin == "bundled" and r.url and r.last_checked and r.checked_by, r.id
        assert r.source and not r.source.startswith(("../", "/")) and "shared/" not in r.source, r.id
    kinds = {r.id: r.kind for r in records}
    assert kinds["sbir-innovatiecompetitie"] == kinds["startup-in-residence-intergov"] == "procurement"
    for needed in ("interreg-vlaanderen-nederland", "interreg-deutschland-nederland", "mit-regeling",
                   "nwo-nwa-orc", "zonmw-calls-gemeenten", "dumava-2026"):
        assert needed in kinds


def test_bundled_statuses_on_the_fact_check_day():
    rows = {r.id: FundingInstrument(**r.to_row()) for r in load_bundled()}
    st = {i: status_of(r, NOW) for i, r in rows.items()}
    assert st["life-strategic-integrated-projects-2026"] == "invitation_only"
    assert st["efro-kansen-voor-west-3"] == "unknown"
    assert st["limburg-leefbaarheidsfonds"] == "continuous"
    assert st["eui-innovative-actions-call-4"] == "closed"
    assert "municipality" not in rows["horizon-mission-adaptation-2026"].eligible_applicants
    assert rows["horizon-missions-urban-nature-2027"].cofinancing_rate == 1.0
    assert [d["label"] for d in rows["horizon-mission-soil-2027"].deadlines] == ["stage 1", "stage 2"]


# ------------------------------------------------------------------ what people see
@pytest.fixture
async def chat(tmp_path):
    services = await funding_services(tmp_path, now=NOW)
    yield FundingChat(services)
    await services.db.dispose()


async def test_list_shows_kind_indicative_unknown_and_continuous(chat):
    await chat.text("!lang en")   # Dutch-looking queries below; the saved choice keeps replies English
    md = await chat.text("!funding sbir")
    assert "procurement, not a grant" in md
    md = await chat.text("!funding dumava")
    # No source for a 2026 round (fact check 2026-12-05): unknown, not closed.
    assert "dumava-2026" in result_ids(md) and "status unknown (no dates known): check the source" in md
    md = await chat.text("!funding innovatiebudget-digitale-overheid")
    assert "(estimate)" in md and "no 2026 or 2027 round" in md
    md = await chat.text("!funding kansen voor west")
    assert "status unknown (no dates known): check the source" in md
    md = await chat.text("!funding rotterdam klimaatadaptatie")
    assert "continuous, until the budget runs out: check" in md
    md = await chat.text("!funding limburg leefbaarheidsfonds")
    assert "continuous (apply any time)" in md and "runs until 31 December 2026" in md and "(estimate)" not in md
    md = await chat.text("!subsidie sbir-innovatiecompetitie")
    assert "**Kind:** procurement, not a grant" in md
    await chat.text("!lang nl")
    assert "**Soort:** inkoop, geen subsidie" in await chat.text("!funding sbir-innovatiecompetitie")


async def test_outdated_records_say_so_in_list_record_and_deadlines(tmp_path):
    later = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)   # > 60 days after every bundled check
    services = await funding_services(tmp_path, now=later)
    try:
        chat = FundingChat(services)
        md = await chat.text("!funding life strategic integrated")
        assert "⚠ not checked since 25 November 2026: may be out of date" in md
        md = await chat.text("!subsidie life-strategic-integrated-projects-2026")
        assert "⚠ niet gecontroleerd sinds" in md
        md = await chat.text("!deadlines 30d")
        assert "⚠ niet gecontroleerd sinds" in md  # follows the last clear choice (Dutch, above)
        services.settings.funding.stale_after = timedelta(days=400)
        md = await chat.text("!funding life strategic integrated")
        assert "⚠" not in md
    finally:
        await services.db.dispose()


async def test_newer_bundled_data_reaches_an_existing_database_but_never_over_edits(tmp_path):
    from sqlalchemy import delete

    from storage.funding.dataset import load_sample_data
    services = await funding_services(tmp_path, now=NOW)
    try:
        async with services.db.transaction() as s:
            old = await s.get(FundingInstrument, "efro-kansen-voor-west-3")   # as shipped before the fact check
            old.deadline_model, old.checked_by = "continuous", None
            seen = await s.get(FundingInstrument, "horizon-mission-soil-2027")   # seen by a refresh since
            seen.external_status, seen.last_seen_at = "forthcoming", NOW
            edited = await s.get(FundingInstrument, "woningbouwimpuls")        # corrected in chat since
            edited.identifier, edited.last_checked, edited.updated_by = "Achtste tranche", date(2026, 1, 1), "@facil:test"
            await s.execute(delete(FundingInstrument).where(FundingInstrument.id == "mit-regeling"))
        async with services.db.transaction() as s:
            assert await load_sample_data(s) == 2
        async with services.db.session() as s:
            kvw = await s.get(FundingInstrument, "efro-kansen-voor-west-3")
            assert kvw.deadline_model == "multiple_cutoffs" and kvw.checked_by
            assert (await s.get(FundingInstrument, "horizon-mission-soil-2027")).external_status == "forthcoming"
            assert (await s.get(FundingInstrument, "woningbouwimpuls")).identifier == "Achtste tranche"
            assert await s.get(FundingInstrument, "mit-regeling") is not None
        async with services.db.transaction() as s:
            assert await load_sample_data(s) == 0     # nothing left to do
    finally:
        await services.db.dispose()


async def test_a_newer_bundled_file_at_start_stamps_only_the_records_it_changed(tmp_path):
    """The start-up merge of a newer bundled file into a filled table: only the records it
    changed or added look updated; stamping every row, as for an empty table, listed every
    instrument as updated in the next digests."""
    from sqlalchemy import delete, select, update

    from storage.funding.dataset import DATASET
    services = await funding_services(tmp_path, now=NOW)
    long_ago = NOW - timedelta(days=30)
    try:
        async with services.db.transaction() as s:
            await s.execute(update(FundingInstrument).values(updated_at=long_ago))
            old = await s.get(FundingInstrument, "efro-kansen-voor-west-3")   # as shipped before the fact check
            old.deadline_model, old.checked_by = "continuous", None
            await s.execute(delete(FundingInstrument).where(FundingInstrument.id == "mit-regeling"))
        await DATASET.start(services)
        async with services.db.session() as s:
            fresh = {r.id for r in (await s.scalars(select(FundingInstrument).where(
                FundingInstrument.updated_at > long_ago))).all()}
        assert fresh == {"efro-kansen-voor-west-3", "mit-regeling"}, fresh
    finally:
        await services.db.dispose()
