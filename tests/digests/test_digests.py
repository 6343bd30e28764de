"""Digests without Matrix: schedule maths (property tests over zones, DST and month
ends), subscriptions through the real dispatcher, composition from a fixed number of
queries, watermarks, exactly-once delivery across a crash or an overlapping run, pause,
preview, room subscriptions, deadline alerts once per deadline."""
from __future__ import annotations

import asyncio
import calendar
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import event, select

from bot.framework.effects import txn_id
from commands.digests import delivery
from storage.digests.schedule import next_due
from storage.models.core import OutboxMessage, ScheduledJob, UserPrefs
from storage.digests.models import DeadlineAlert, DigestRecord, DigestSubscription
from storage.funding.models import FundingInstrument
from storage.knowledge.models import KnowledgeItem
from storage.sessions.models import ReviewSession
from support.chat import Clock, Chat, make_services
from support.html_safety import internal_errors, outgoing_problems

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)  # a Wednesday, 09:00 in Amsterdam
ZONES = ["Europe/Amsterdam", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "Pacific/Chatham"]


# ----------------------------------------------------------------------------- schedule maths
@settings(max_examples=400, deadline=None)
@given(after=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31),
                          timezones=st.just(timezone.utc)),
       frequency=st.sampled_from(["daily", "weekly", "monthly"]), hour=st.integers(0, 23),
       minute=st.sampled_from([0, 15, 30, 59]), tz=st.sampled_from(ZONES), weekday=st.integers(0, 6),
       dom=st.sampled_from([1, 15, 28, -1]))
def test_next_due_is_the_first_matching_local_wall_time_after(after, frequency, hour, minute, tz, weekday, dom):
    at = f"{hour:02d}:{minute:02d}"
    due = next_due(after, frequency, at, tz, weekday=weekday, day_of_month=dom)
    zone = ZoneInfo(tz)
    local = due.astimezone(zone)
    assert due > after
    assert due - after <= {"daily": timedelta(days=1, hours=1), "weekly": timedelta(days=7, hours=1),
                           "monthly": timedelta(days=31, hours=1)}[frequency]
    if (local.hour, local.minute) != (hour, minute):
        # Only a wall time that does not exist that day (a DST gap) may move, and then forward.
        naive = local.replace(tzinfo=None, hour=hour, minute=minute)
        assert naive.replace(tzinfo=zone).astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != naive
        assert local.replace(tzinfo=None) > naive
    if frequency == "weekly":
        assert local.weekday() == weekday or (local.hour, local.minute) != (hour, minute)
    if frequency == "monthly":
        last = calendar.monthrange(local.year, local.month)[1]
        assert local.day == (last if dom == -1 else dom)
    # Minimal: walking the schedule from well before lands exactly on it (nothing skipped).
    walk = next_due(after - timedelta(days=40), frequency, at, tz, weekday=weekday, day_of_month=dom)
    while walk <= after:
        walk = next_due(walk, frequency, at, tz, weekday=weekday, day_of_month=dom)
    assert walk == due


def test_dst_keeps_local_time_and_month_ends():
    # Weekly Monday 09:00 Amsterdam across the end of summer time: 07:00 UTC then 08:00 UTC.
    first = next_due(datetime(2026, 10, 13, tzinfo=timezone.utc), "weekly", "09:00", "Europe/Amsterdam", weekday=0)
    second = next_due(first, "weekly", "09:00", "Europe/Amsterdam", weekday=0)
    assert (first.hour, second.hour) == (7, 8) and second - first == timedelta(days=7, hours=1)
    # 02:30 does not exist on 29 March 2026 in Amsterdam: 03:30 summer time.
    gap = next_due(datetime(2026, 3, 28, 12, tzinfo=timezone.utc), "daily", "02:30", "Europe/Amsterdam")
    assert gap.astimezone(AMS).strftime("%d %H:%M") == "29 03:30"
    # Monthly "last": 28 February 2027, then 31 March.
    feb = next_due(datetime(2027, 2, 1, tzinfo=timezone.utc), "monthly", "09:00", "UTC", day_of_month=-1)
    assert (feb.month, feb.day) == (2, 28)
    assert next_due(feb, "monthly", "09:00", "UTC", day_of_month=-1).day == 31


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "funding", "labs", "sessions", "knowledge", "digests"],
                                   rate_limit_count=10**6)
    clock = Clock(NOW)
    services.clock = clock
    yield services, Chat(services), clock
    await services.db.dispose()


async def add_item(services, title, topics, *, at, url=None, kind="lesson", status="published", event_date=None):
    async with services.db.transaction() as s:
        s.add(KnowledgeItem(title=title, url=url or f"https://example.org/{abs(hash((title, url))) }",
                            url_key=(url or f"example.org/{abs(hash((title, url)))}"), kind=kind, topics=topics,
                            status=status, shared_at=at, event_date=event_date, organisation="Gemeente Zwolle"))


async def outbox_rows(services, origin_prefix="digest "):
    async with services.db.session() as s:
        return [r for r in (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
                if r.origin.startswith(origin_prefix)]


async def sub_of(services, who):
    async with services.db.session() as s:
        return await s.scalar(select(DigestSubscription).where(DigestSubscription.subscriber == who))


# ----------------------------------------------------------------------------- commands
async def test_subscribe_defaults_weekly_monday_nine_in_the_members_zone(env):
    services, chat, _ = env
    reply = await chat.text("!subscribe climate adaptation, energie")
    assert "Climate adaptation" in reply and "Energy transition" in reply
    assert "weekly on Monday at 09:00" in reply and "Monday 30 November 2026 09:00 CET" in reply
    sub = await sub_of(services, "@alice:test")
    assert sub.next_due_at == datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
    # Another zone: Monday 09:00 in New York.
    async with services.db.transaction() as s:
        s.add(UserPrefs(user_id="@bob:test", timezone="America/New_York"))
    await chat.text("!subscribe mobility", sender="@bob:test")
    assert (await sub_of(services, "@bob:test")).next_due_at == datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)
    topics_reply = await chat.text("!topics")
    assert "Climate adaptation** (`climate-adaptation`) — 1 follower" in topics_reply
    assert "Sustainable mobility** (`mobility`) — 1 follower" in topics_reply


async def test_dutch_monthly_last_day_and_clear_errors(env):
    services, chat, _ = env
    reply = await chat.text("!abonneer klimaatadaptatie maandelijks --dag laatste --om 7:30")
    assert "Je volgt: **Klimaatadaptatie**" in reply and "maandelijks op de laatste dag om 07:30" in reply
    assert "maandag 30 november 2026 07:30 CET" in reply
    assert "geen thema" in await chat.text("!abonneer klimaatadaptatie onzinwoord")
    assert "Energietransitie" in await chat.text("!abonneer energie transitie")  # sloppy spacing
    assert "1 tot en met 28" in await chat.text("!abonneer klimaatadaptatie --dag 31")
    # Still Dutch (the last clear language), also for the English command name.
    assert "geen weekdag" in await chat.text("!subscribe mobility --day friday")  # monthly takes a day of month
    status = await chat.text("!abonnementen")
    assert "Volgende" in status and "nog geen" in status
    assert "Klaar" in await chat.text("!opzeggen alle")
    assert "Je volgt geen thema's" in await chat.text("!subscriptions")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60))
async def test_no_subscribe_input_crashes_or_injects_html(env, text):
    services, chat, _ = env
    for command in (f"!subscribe {text}", f"!unsubscribe {text}", f"!subscribe energy --at {text}",
                    f"!digest pause {text}"):
        out = await chat.send(command.strip())
        assert not outgoing_problems(out), (command, out)
    assert internal_errors(services) == 0, text  # any language


async def test_room_subscription_needs_the_rooms_facilitator(env):
    services, chat, _ = env
    assert "Only a facilitator" in await chat.text("!subscribe energy --room", room_grants_roles=True)
    assert "direct chat" in await chat.text("!subscribe energy --room", direct=True, power_level=100)
    reply = await chat.text("!subscribe energy --room", power_level=50, room_grants_roles=True)
    assert "in this room" in reply
    sub = await sub_of(services, "!room:test")
    assert sub.is_room and sub.language == "en"


# ----------------------------------------------------------------------------- composition and delivery
async def test_digest_once_with_items_deadline_session_then_nothing_new_no_digest(env):
    services, chat, clock = env
    await chat.text("!subscribe climate adaptation energy daily --at 10:00")
    await chat.text("!subscribe energy daily --at 10:00", sender="@bob:test")
    before = NOW - timedelta(hours=2)
    await add_item(services, "Hittestress aanpak Zwolle", ["climate-adaptation"], at=before, url="https://a.nl/1")
    await add_item(services, "Hittestress  aanpak  Zwolle!", ["climate-adaptation"], at=before, url="https://b.nl/1")
    await add_item(services, "Warmtenet lessen", ["energy-transition", "climate-adaptation"], at=before)
    await add_item(services, "Pending item", ["energy-transition"], at=before, status="pending")
    await add_item(services, "Very old item", ["energy-transition"], at=NOW - timedelta(days=9))
    await add_item(services, "Warmtedag", ["energy-transition"], at=before, kind="event",
                   event_date=NOW + timedelta(days=5))
    async with services.db.transaction() as s:
        s.add(FundingInstrument(id="klimaat-call", title="Climate call", title_nl="Klimaatregeling", level="national",
                                themes=["climate-adaptation"], updated_at=NOW - timedelta(days=60),
                                deadlines=[{"at": "2026-12-10T17:00:00", "tz": "Europe/Amsterdam"}]))
        s.add(ReviewSession(title="Warmtenet review", topic="energy-transition", facilitator="@facil:test",
                            starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=1),
                            room_id="!room:test", created_at=NOW - timedelta(hours=1)))
    clock.now = datetime(2026, 11, 25, 9, 1, tzinfo=timezone.utc)  # 10:01 Amsterdam
    report = await delivery.run_due(services, clock.now)
    assert (report.due, report.sent) == (2, 2)
    rows = await outbox_rows(services)
    alice = [r for r in rows if r.to_user == "@alice:test"]
    assert len(alice) == 1
    body = alice[0].content["body"]
    assert body.count("Hittestress") == 1 and body.count("Warmtenet lessen") == 1  # once, under its first topic
    assert "Pending item" not in body and "Very old item" not in body
    assert "Warmtedag" in body and "Climate call" in body and "!funding klimaat-call" in body
    assert "Warmtenet review" in body and "!session join 1" in body
    assert "<h3>Climate adaptation</h3>" in alice[0].content["formatted_body"]
    assert alice[0].txn_id == txn_id(f"digest:{(await sub_of(services, '@alice:test')).id}:"
                                     f"{datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc).isoformat()}", 0)
    # Running again at the same moment: nothing is due.
    assert (await delivery.run_due(services, clock.now)).due == 0
    # Next day, nothing new: no digest, but the period is recorded and the schedule moves on.
    clock.now = datetime(2026, 11, 26, 9, 1, tzinfo=timezone.utc)
    report = await delivery.run_due(services, clock.now)
    assert (report.due, report.sent, report.empty) == (2, 0, 2)
    assert len(await outbox_rows(services)) == 2
    sub = await sub_of(services, "@alice:test")
    assert sub.next_due_at == datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    assert sub.watermark > datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    async with services.db.session() as s:
        assert len((await s.scalars(select(DigestRecord))).all()) == 4
    status = await chat.text("!subscriptions")
    assert "Last digest**: Wednesday 25 November 2026 10:01" in status


async def test_at_most_n_items_then_and_k_more(env):
    services, chat, clock = env
    services.settings.digests.max_items = 3
    await chat.text("!subscribe mobility")
    for i in range(8):
        await add_item(services, f"Fietsstraat les {i} over iets anders {i * 7}", ["mobility"],
                       at=NOW - timedelta(hours=i + 1))
    preview = await chat.text("!digest preview")
    assert preview.count("Fietsstraat") == 3 and "…and 5 more: `!knowledge --topic mobility`" in preview
    assert "Fietsstraat les 0" in preview  # newest first


async def test_watermark_moves_only_with_a_committed_period_and_crash_resend_is_exactly_once(env, monkeypatch):
    services, chat, clock = env
    for n in range(5):
        await chat.text("!subscribe housing daily --at 10:00", sender=f"@u{n}:test")
    await add_item(services, "Woningbouw les", ["housing"], at=NOW - timedelta(hours=3))
    clock.now = datetime(2026, 11, 25, 9, 5, tzinfo=timezone.utc)
    real_write = delivery._write
    calls = {"n": 0}

    async def crashing_write(services_, chunk):
        calls["n"] += 1
        async with services_.db.transaction() as session:
            await session.execute(select(1))
            raise RuntimeError("killed mid-write")

    monkeypatch.setattr(delivery, "_write", crashing_write)
    with pytest.raises(RuntimeError):
        await delivery.run_due(services, clock.now)
    assert not await outbox_rows(services)  # rolled back: nothing recorded, nothing sent
    assert (await sub_of(services, "@u0:test")).watermark < NOW
    monkeypatch.setattr(delivery, "_write", real_write)
    # Two runs at once (an overlapping restart): still exactly one digest per subscriber.
    await asyncio.gather(delivery.run_due(services, clock.now), delivery.run_due(services, clock.now))
    rows = await outbox_rows(services)
    assert sorted(r.to_user for r in rows) == [f"@u{n}:test" for n in range(5)]
    for r in rows:
        sub = await sub_of(services, r.to_user)
        assert r.txn_id == txn_id(f"digest:{sub.id}:{datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc).isoformat()}", 0)


async def test_a_run_uses_a_fixed_number_of_queries_whatever_the_subscribers(env):
    services, chat, clock = env
    counts = []
    for n in (3, 30):
        for i in range(n):
            await chat.text(f"!subscribe housing energy mobility daily --at 10:00", sender=f"@q{n}-{i}:test")
        await add_item(services, f"Nieuw {n}", ["housing"], at=NOW - timedelta(hours=1))
        statements = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(services.db.engine.sync_engine, "before_cursor_execute", listener)
        clock.now = datetime(2026, 11, 25, 9, 5, tzinfo=timezone.utc) + timedelta(days=len(counts))
        report = await delivery.run_due(services, clock.now)
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", listener)
        assert report.sent >= n
        counts.append(len(statements))
    assert counts[1] <= counts[0] + 2, counts  # 10x the subscribers, (almost) the same number of queries


async def test_pause_skips_periods_and_resume_catches_up(env):
    services, chat, clock = env
    await chat.text("!subscribe housing daily --at 10:00")
    assert "Paused until" in await chat.text("!digest pause 2d")
    await add_item(services, "Tijdens de pauze", ["housing"], at=NOW - timedelta(hours=1))
    clock.now = datetime(2026, 11, 25, 9, 5, tzinfo=timezone.utc)
    report = await delivery.run_due(services, clock.now)
    assert (report.paused, report.sent) == (1, 0)
    assert "Paused until" in await chat.text("!subscriptions")
    assert "Resumed" in await chat.text("!digest resume")
    clock.now = datetime(2026, 11, 26, 9, 5, tzinfo=timezone.utc)
    assert (await delivery.run_due(services, clock.now)).sent == 1
    assert "Tijdens de pauze" in (await outbox_rows(services))[0].content["body"]


async def test_preview_with_nothing_new_says_so(env):
    services, chat, _ = env
    await chat.text("!subscribe digital-inclusion")
    assert "Nothing new on your topics" in await chat.text("!digest preview")
    assert "You follow no topics yet" in await chat.text("!digest preview", sender="@nobody:test")


async def test_room_digest_goes_to_the_room(env):
    services, chat, clock = env
    await chat.text("!subscribe housing daily --at 10:00 --room", power_level=50, room_grants_roles=True)
    await add_item(services, "Voor de kamer", ["housing"], at=NOW - timedelta(hours=1))
    clock.now = datetime(2026, 11, 25, 9, 5, tzinfo=timezone.utc)
    await delivery.run_due(services, clock.now)
    rows = await outbox_rows(services)
    assert [r.room_id for r in rows] == ["!room:test"] and "Knowledge digest for this room" in rows[0].content["body"]


async def test_deadline_alert_once_per_deadline(env):
    services, chat, clock = env
    await chat.text("!subscribe climate adaptation")
    await chat.text("!abonneer klimaatadaptatie", sender="@bob:test")
    async with services.db.transaction() as s:
        s.add(UserPrefs(user_id="@bob:test", language="nl"))
        s.add(FundingInstrument(id="soon", title="Soon call", level="eu", themes=["climate-adaptation"],
                                deadlines=[{"at": "2026-12-05T17:00:00", "tz": "Europe/Brussels"}]))
        s.add(FundingInstrument(id="later", title="Later call", level="eu", themes=["climate-adaptation"],
                                deadlines=[{"at": "2027-02-05T17:00:00", "tz": "Europe/Brussels"}]))
    assert await delivery.run_alerts(services, NOW) == 2
    assert await delivery.run_alerts(services, NOW + timedelta(hours=1)) == 0
    alerts = await outbox_rows(services, "deadline alert")
    assert len(alerts) == 2 and "Soon call" in alerts[0].content["body"] and "Later" not in alerts[0].content["body"]
    assert any("Sluitingsdatum" in a.content["body"] for a in alerts)
    # The deadline moves: that is a new deadline, one new alert each.
    async with services.db.transaction() as s:
        (await s.get(FundingInstrument, "soon")).deadlines = [{"at": "2026-12-06T17:00:00", "tz": "Europe/Brussels"}]
    assert await delivery.run_alerts(services, NOW + timedelta(hours=2)) == 2
    async with services.db.session() as s:
        assert len((await s.scalars(select(DeadlineAlert))).all()) == 4


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_an_item_kind_has_one_name_in_search_results_and_digests(lang):
    """A search said "geleerde les" and "dataset" where the digest said "les" and
    "gegevensset": the same item must carry the same kind name everywhere."""
    from datetime import datetime, timezone
    from bot.framework.i18n import Translator
    from commands.digests.render import _item_line
    from commands.knowledge.commands import list_item
    from storage.knowledge.digest import _item
    from storage.knowledge.models import KINDS, KnowledgeItem

    t, now = Translator(lang), datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    for kind in KINDS:
        row = KnowledgeItem(id=1, title="T", url="https://x.nl/a", kind=kind, topics=[], organisation=None,
                            event_date=None, shared_at=now)
        item = _item(row)   # as knowledge's digest contribution makes it
        in_digest = _item_line(t, item).split(" · ")[1]
        in_search = list_item(t, row, 1, now).split("\n")[1].split(" · ")[0]
        assert in_digest == in_search, (kind, in_digest, in_search)


async def test_preview_shows_what_was_shared_a_moment_ago_but_a_run_waits_for_it(env):
    """The settle window protects a run's watermark; a preview moves none and hides nothing."""
    services, chat, clock = env
    await chat.text("!subscribe mobility")
    await add_item(services, "Deelfietsen in Deventer", ["mobility"], at=clock.now - timedelta(seconds=2))
    preview = await chat.text("!digest preview")
    assert "Deelfietsen in Deventer" in preview
    # A run at the same moment leaves it for the next digest (it is within the settle window).
    async with services.db.transaction() as s:
        sub = (await s.scalars(select(DigestSubscription))).one()
        sub.next_due_at = clock.now - timedelta(seconds=1)
    assert (await delivery.run_due(services, clock.now)).empty == 1


async def test_a_digest_ends_with_how_to_pause_or_stop_it_in_one_line(env):
    services, chat, clock = env
    await chat.text("!subscribe mobility")
    await add_item(services, "Fietsstraat Zwolle", ["mobility"], at=clock.now - timedelta(hours=1))
    async with services.db.transaction() as s:
        sub = (await s.scalars(select(DigestSubscription))).one()
        sub.next_due_at = clock.now - timedelta(seconds=1)
    assert (await delivery.run_due(services, clock.now)).sent == 1
    body = (await outbox_rows(services))[-1].content["body"]
    last = body.strip().splitlines()[-1]
    assert "!digest pause 2w" in last and "!unsubscribe all" in last
    await chat.text("!lang nl")
    async with services.db.transaction() as s:
        sub = (await s.scalars(select(DigestSubscription))).one()
        sub.next_due_at = clock.now + timedelta(seconds=1)
    clock.now += timedelta(minutes=1)
    await add_item(services, "Fietsstraat Kampen", ["mobility"], at=clock.now - timedelta(seconds=30))
    assert (await delivery.run_due(services, clock.now)).sent == 1
    last = (await outbox_rows(services))[-1].content["body"].strip().splitlines()[-1]
    assert "Pauzeren: !digest pauze 2w" in last and "stoppen: !opzeggen" in last


async def test_the_due_timer_is_armed_at_the_earliest_due_time(env):
    services, chat, clock = env
    await chat.text("!subscribe mobility daily --at 09:00")
    async with services.db.session() as s:
        sub = (await s.scalars(select(DigestSubscription))).one()
        due = (await s.scalars(select(ScheduledJob).where(ScheduledJob.kind == delivery.DUE_KIND))).all()
    assert [j.run_at.replace(tzinfo=timezone.utc) for j in due] == [sub.next_due_at.replace(tzinfo=timezone.utc)]
    assert due[0].id == delivery.due_job_id(sub.next_due_at.replace(tzinfo=timezone.utc))
    # A second subscriber due at the same moment shares the timer.
    await chat.text("!subscribe mobility daily --at 09:00", sender="@bob:test")
    async with services.db.session() as s:
        assert len((await s.scalars(select(ScheduledJob).where(ScheduledJob.kind == delivery.DUE_KIND))).all()) == 1
