"""The curation loop without Matrix: the facilitators' daily summary of new candidates
(each candidate once, across runs and restarts), corrections parsing (also for any input),
and who may curate."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import select

from bot.scheduler import Scheduler
from commands.funding.curation import SUMMARY_GROUP, next_summary, plan_summary
from storage.funding.curation import CorrectionError, check_kind, parse_corrections
from storage.funding.models import FundingCandidate, FundingInstrument
from storage.models.core import OutboxMessage, ScheduledJob
from support.chat import Chat, Clock, make_services
from support.funding_env import FundingChat

UTC = timezone.utc
NOW = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)          # 08:00 in Amsterdam: the summary is due at 09:00


def _candidate(n: int, found: datetime) -> FundingCandidate:
    return FundingCandidate(source="officiele-bekendmakingen", external_id=f"gmb-2026-{n}", title=f"Subsidieregeling {n}",
                            issuer="Zwolle", level="local", themes=["climate-adaptation"], status="new", found_at=found)


@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", modules=("core", "funding"), load_sample_data=True,
                                   facilitators_room="!facil:test", rate_limit_count=10**6)
    services.clock = Clock(NOW)
    yield services
    await services.db.dispose()


async def _pending(services) -> list[ScheduledJob]:
    async with services.db.session() as s:
        return list((await s.scalars(select(ScheduledJob).where(ScheduledJob.group_key == SUMMARY_GROUP,
                                                               ScheduledJob.status == "pending"))).all())


async def _to_room(services) -> list[str]:
    async with services.db.session() as s:
        return [m.content["body"] for m in (await s.scalars(select(OutboxMessage).where(
            OutboxMessage.room_id == "!facil:test").order_by(OutboxMessage.id))).all()]


async def test_daily_summary_names_each_new_candidate_once(env):
    services = env
    # The start (build_services) planned the first summary on the real clock: plan it again on the test's.
    async with services.db.transaction() as s:
        for job in (await s.scalars(select(ScheduledJob).where(ScheduledJob.group_key == SUMMARY_GROUP))).all():
            await s.delete(job)
    await plan_summary(services)
    await plan_summary(services)                      # a second start plans nothing more
    (job,) = await _pending(services)
    assert job.run_at.astimezone(UTC) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)   # 09:00 Amsterdam
    async with services.db.transaction() as s:
        s.add_all([_candidate(1, NOW), _candidate(2, NOW)])
    sched = Scheduler(services, lambda: None)
    services.clock.now = datetime(2026, 12, 5, 8, 0, 5, tzinfo=UTC)
    await sched.run(job.id)
    sent = await _to_room(services)
    assert len(sent) == 1 and "2 new funding candidates" in sent[0] and "#1 Subsidieregeling 1" in sent[0]
    (nxt,) = await _pending(services)
    assert nxt.run_at.astimezone(UTC) == datetime(2026, 12, 6, 8, 0, tzinfo=UTC) and nxt.id != job.id
    # The same run again (a timer firing twice, a restart) sends nothing: the row is done.
    await sched.run(job.id)
    # Next day: nothing new, nothing sent; then one new candidate the day after, named alone.
    services.clock.now = datetime(2026, 12, 6, 8, 0, 5, tzinfo=UTC)
    await sched.run(nxt.id)
    assert len(await _to_room(services)) == 1
    async with services.db.transaction() as s:
        s.add(_candidate(3, services.clock.now))
    (third,) = await _pending(services)
    services.clock.now = datetime(2026, 12, 7, 8, 0, 5, tzinfo=UTC)
    await sched.run(third.id)
    sent = await _to_room(services)
    assert len(sent) == 2 and "1 new funding candidate " in sent[1] and "#3" in sent[1] and "#1" not in sent[1]


def test_next_summary_keeps_local_wall_time_across_dst():
    before = datetime(2027, 3, 27, 9, 0, tzinfo=UTC)             # 10:00 CET, after today's 09:00
    assert next_summary(before, "09:00", "Europe/Amsterdam") == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # CEST


def test_corrections_are_read_as_field_value_pairs():
    fields = ("level", "deadlines", "grant_max_eur", "title", "id")
    assert parse_corrections('deadlines 2027-03-31 17:00 grant-max-eur 50000', fields) == [
        ("deadlines", "2027-03-31 17:00"), ("grant_max_eur", "50000")]
    assert parse_corrections('title "a level of care"', fields) == [("title", "a level of care")]
    with pytest.raises(CorrectionError):
        parse_corrections("colour blue", fields)
    with pytest.raises(CorrectionError):
        parse_corrections("level", fields)
    with pytest.raises(CorrectionError):
        parse_corrections('title "open', fields)


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_correction_text_parses_or_is_refused(raw):
    try:
        pairs = parse_corrections(raw, ("level", "title", "id"))
    except CorrectionError:
        return
    assert all(k in ("level", "title", "id") and v for k, v in pairs)


def test_check_kind():
    row = FundingInstrument(id="x", last_checked=date(2026, 12, 4), checked_by="eu-ft refresh (EU Funding & Tenders "
                                                                               "portal, automatic)")
    assert check_kind(row) == ("source", "eu-ft")
    row.checked_by = "@facil:test"
    assert check_kind(row) == ("hand", None)
    row.checked_by = "DSIH bot maintainers (desk research)"
    assert check_kind(row) == ("batch", None)
    row.last_checked = None
    assert check_kind(row) == ("never", None)


NASTY = ['', 'level', 'level "', "level <script>alert(1)</script>", "grant_max_eur -5", "grant_max_eur 1e99",
         "deadlines [{]", "deadlines 2027-02-30", "themes cosmic", "url javascript:alert(1)", "opens_on gisteren",
         "title " + "x" * 600, "summary \x00", "id other-id", "last_checked 2020-01-01", "stale true"]


async def test_verify_answers_every_odd_correction_without_a_traceback(env):
    chat = FundingChat(env)
    for text in NASTY:
        out = await chat.text(f"!funding verify dumava-2026 {text}", sender="@facil:test")
        assert out and "Traceback" not in out and "<script>" not in out, (text, out)
    # Nothing but the check itself changed through all of that.
    async with env.db.session() as s:
        row = await s.get(FundingInstrument, "dumava-2026")
    assert row.checked_by in ("@facil:test", "DSIH bot maintainers (fact check, 2026-12-05)")


async def test_members_cannot_curate(env):
    chat = Chat(env)
    for command in ("!funding candidates", "!funding verify dumava-2026", "!funding stale", "!funding accept 1",
                    "!funding dismiss 1"):
        out = await chat.text(command, sender="@someone:test")
        assert "facilitator" in out.lower(), (command, out)
