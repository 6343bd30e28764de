"""Planning sessions through the real dispatcher and scheduler (no Matrix): roles and
room scope, capacity and the waiting list, move/cancel re-planning reminders, reminders
sent once or skipped with a reason, series at the same wall time across DST."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from bot.scheduler import Scheduler
from storage.models.core import ScheduledJob
from storage.sessions.models import Participant, ReviewSession
from support.chat import Chat, make_services
from support.html_safety import internal_errors, outgoing_problems

AMS = ZoneInfo("Europe/Amsterdam")
FACIL = "@facil:test"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "sessions", "reminders"],
                                   rate_limit_count=10**6, now=NOW)
    services.settings.sessions.reminders = [timedelta(hours=24), timedelta(hours=1)]
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    await sched.start()
    yield services, Chat(services)
    await sched.shutdown()
    await services.db.dispose()


async def _jobs(services, session_id):
    async with services.db.session() as s:
        # Only the reminders: the report and format rounds (commands/sessions/report.py, formats.py) share the group.
        return list((await s.scalars(select(ScheduledJob).where(ScheduledJob.group_key == f"session:{session_id}",
                                                                ScheduledJob.kind == "session-reminder")
                                     .order_by(ScheduledJob.run_at))).all())


async def _new(chat, when="in 3 days", extra="", sender=FACIL):
    out = await chat.send(f'!session new "Klimaatadaptatie Zwolle" {when} {extra}'.strip(), sender=sender)
    return out[0].markdown


async def test_new_session_echoes_time_and_plans_reminders(env):
    services, chat = env
    reply = await _new(chat, "2026-12-01 14:00", "--project 'Groene daken' --capacity 3 --where 'Stadhuis, zaal 2'")
    assert "Planned session 1" in reply and "Tuesday 1 December 2026 14:00–15:30 CET" in reply
    jobs = await _jobs(services, 1)
    assert [j.status for j in jobs] == ["pending", "pending"]
    assert [round((datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc) - j.run_at).total_seconds() / 3600)
            for j in jobs] == [24, 1]
    shown = await chat.text("!session 1", sender=FACIL)
    assert "Groene daken" in shown and "planned for" in shown and "Coming (0/3)" in shown


@pytest.mark.parametrize("body", ['!session new "x" morgen 9:00', "!session move 1 morgen 10:00",
                                  "!session cancel 1", "!session assign 1 @bob:test reviewer"])
async def test_members_are_refused_every_facilitator_command(env, body):
    services, chat = env
    await _new(chat, "2026-12-01 14:00")
    # An ordinary member, also with power 100 in a direct chat or a room of only them and the bot.
    for grants, pl, direct in ((False, 0, False), (False, 100, True), (False, 100, False)):
        reply = (await chat.send(body, sender="@mallory:test", power_level=pl, room_grants_roles=grants,
                                 direct=direct))[0].markdown
        assert "🔒" in reply, reply
    async with services.db.session() as s:
        assert (await s.get(ReviewSession, 1)).status == "planned"
        assert await s.scalar(select(ReviewSession).where(ReviewSession.id == 2)) is None


async def test_room_moderator_plans_in_their_room_but_cannot_touch_others_sessions(env):
    services, chat = env
    await _new(chat, "2026-12-01 14:00")  # session 1, by the configured facilitator
    reply = (await chat.send('!session new "Buurtlab" 2026-12-02 10:00', sender="@mod:test", power_level=50,
                             room_grants_roles=True))[0].markdown
    assert "Planned session 2" in reply
    assert "moved" in (await chat.send("!session move 2 2026-12-03 10:00", sender="@mod:test", power_level=50,
                                       room_grants_roles=True))[0].markdown
    refused = (await chat.send("!session cancel 1", sender="@mod:test", power_level=50,
                               room_grants_roles=True))[0].markdown
    assert "Only the facilitator of session 1" in refused


async def test_capacity_waiting_list_moves_up_and_tells(env):
    services, chat = env
    await _new(chat, "2026-12-01 14:00", "--capacity 2")
    for user in ("@a:test", "@b:test"):
        assert "You take part" in await chat.text("!session join 1", sender=user)
    assert "number 1 on the waiting list" in await chat.text("!session join 1", sender="@c:test")
    assert "number 2 on the waiting list" in await chat.text("!session join 1 --as observer", sender="@d:test")
    out = await chat.send("!session leave 1", sender="@a:test")
    dm = [o for o in out if o.to_user == "@c:test"]
    assert len(dm) == 1 and "place came free" in dm[0].markdown
    async with services.db.session() as s:
        states = {p.user_id: p.state for p in (await s.scalars(select(Participant))).all()}
    assert states == {"@b:test": "going", "@c:test": "going", "@d:test": "waiting"}
    assert "Coming (2/2)" in await chat.text("!session 1")


async def test_move_replans_reminders_and_tells_everyone(env):
    services, chat = env
    await _new(chat, "2026-12-01 14:00")
    await chat.text("!session join 1", sender="@a:test")
    out = await chat.send("!session move 1 2026-12-08 10:00", sender=FACIL)
    assert "Tuesday 8 December 2026 10:00–11:30 CET" in out[0].markdown
    assert [o.to_user for o in out[1:]] == ["@a:test"] and "has moved" in out[1].markdown
    jobs = await _jobs(services, 1)
    assert sorted(j.status for j in jobs) == ["cancelled", "cancelled", "pending", "pending"]
    assert all(j.run_at > datetime(2026, 12, 7, tzinfo=timezone.utc) for j in jobs if j.status == "pending")
    out = await chat.send("!session cancel 1 de inbrenger is ziek", sender=FACIL)
    assert [o.to_user for o in out[1:]] == ["@a:test"] and "ziek" in out[1].markdown
    assert {j.status for j in await _jobs(services, 1)} == {"cancelled"}
    # The facilitator last wrote Dutch ("de inbrenger is ziek"): a language-neutral command follows that.
    assert "(geannuleerd)" in await chat.text("!session 1", sender=FACIL)


async def test_reminder_sends_once_then_skips_after_start(env):
    services, chat = env
    await _new(chat, "in 2 days")
    for user in ("@a:test", "@b:test"):
        await chat.text("!session join 1", sender=user)
    first = (await _jobs(services, 1))[0]
    await services.timers.run(first.id)  # due or not: run() re-arms a job that is not due yet
    assert (await _jobs(services, 1))[0].status == "pending"
    async with services.db.transaction() as s:
        (await s.get(ScheduledJob, first.id)).run_at = NOW - timedelta(seconds=1)
    await services.timers.run(first.id)
    await services.timers.run(first.id)
    async with services.db.session() as s:
        from storage.models.core import OutboxMessage
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.origin.like("job session-reminder%")))).all()
    assert sorted(r.to_user or r.room_id for r in rows) == ["!room:test", "@a:test", "@b:test"]
    assert all("Reminder" in r.content["body"] and "starts in 1d" in r.content["body"] for r in rows)
    # The session "started while the bot was down": the second reminder is skipped, with the reason.
    async with services.db.transaction() as s:
        sess = await s.get(ReviewSession, 1)
        sess.starts_at = NOW - timedelta(minutes=5)
        second = (await s.scalars(select(ScheduledJob).where(ScheduledJob.status == "pending",
                                                             ScheduledJob.kind == "session-reminder"))).one()
        second.run_at = NOW - timedelta(minutes=10)
    await services.timers.run(second.id)
    shown = await chat.text("!session 1", sender=FACIL)
    assert "sent" in shown and "to 2 participants" in shown
    assert "skipped: the session had already started" in shown


async def test_series_keeps_wall_time_across_dst(env):
    services, chat = env
    reply = await _new(chat, "2027-03-16 14:00", "--every 1w --until 2027-04-07")
    assert "A series of 4 sessions: #1, #2, #3, #4" in reply
    async with services.db.session() as s:
        rows = (await s.scalars(select(ReviewSession).order_by(ReviewSession.id))).all()
    assert [r.starts_at.astimezone(AMS).hour for r in rows] == [14, 14, 14, 14]
    assert {r.starts_at.astimezone(AMS).utcoffset() for r in rows} == {timedelta(hours=1), timedelta(hours=2)}
    assert {r.series_id for r in rows} == {1}


async def test_dutch_phrases_and_errors(env):
    services, chat = env
    reply = (await chat.send('!sessie nieuw "Intervisie energie" dinsdag 14 uur --duur 2u', sender=FACIL))[0].markdown
    assert "Sessie 1 gepland" in reply and "dinsdag" in reply and "16:00" in reply
    bad = (await chat.send('!sessie nieuw "x" gisteren 9:00', sender=FACIL))[0].markdown
    assert "verleden" in bad and "Voorbeeld" in bad
    assert "Er is geen sessie 99" in (await chat.send("!sessie aanmelden 99"))[0].markdown


async def test_pills_become_user_ids(env):
    services, chat = env
    await _new(chat, "2026-12-01 14:00")
    out = await chat.send("!session assign 1 Bob Smith reviewer", sender=FACIL,
                          formatted_body='!session assign 1 <a href="https://matrix.to/#/@bob:test">Bob Smith</a> reviewer')
    assert "takes part" in out[0].markdown and out[1].to_user == "@bob:test"


@given(st.text(max_size=120))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_any_session_input_is_answered_safely(env, text):
    services, chat = env
    for prefix in ("!session new ", "!session join ", "!session move 1 ", "!sessions ", "!session "):
        out = await chat.send(prefix + text, sender=FACIL)
        assert out and not outgoing_problems(out), out
    assert internal_errors(services) == 0, text  # in any language (a Dutch apology has other words)


@given(st.lists(st.tuples(st.sampled_from(["join", "leave"]), st.integers(0, 5)), max_size=25))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_capacity_and_waiting_list_invariants(env, steps):
    services, chat = env
    reply = await _new(chat, "2026-12-01 14:00", "--capacity 3")
    number = int(reply.split("session ")[1].split(":")[0])
    order: list[str] = []  # who is in, in joining order (the model of the waiting list)
    for action, who in steps:
        user = f"@u{who}:test"
        await chat.send(f"!session {action} {number}", sender=user)
        if action == "join" and user not in order:
            order.append(user)
        elif action == "leave" and user in order:
            order.remove(user)
        async with services.db.session() as s:
            rows = (await s.scalars(select(Participant).where(Participant.session_id == number))).all()
        going = {p.user_id for p in rows if p.state == "going"}
        waiting = {p.user_id for p in rows if p.state == "waiting"}
        # The first three still in are going, the rest wait: nobody skips the queue.
        assert going == set(order[:3]) and waiting == set(order[3:])


async def test_people_are_shown_by_display_name_escaped(env):
    services, chat = env
    names = {"@b:test": "Bea <b>Bakker</b>"}
    services.extras["display_name_of"] = names.get
    await _new(chat, "2026-12-01 14:00")
    await chat.text("!session join 1", sender="@b:test")
    shown = await chat.text("!session 1")
    assert "Bea \\<b\\>Bakker\\</b\\>" in shown and "(https://matrix.to/#/@b:test)" in shown


async def test_assigning_the_same_role_again_says_already_and_sends_no_second_message(env):
    services, chat = env
    await chat.send('!session new "Dubbel" 2026-12-01 14:00', sender=FACIL)
    first = await chat.send("!session assign 1 @pim:test presenter", sender=FACIL)
    assert [o for o in first if o.to_user == "@pim:test"]
    again = await chat.send("!session assign 1 @pim:test presenter", sender=FACIL)
    assert "already takes part" in again[0].markdown and not [o for o in again if o.to_user == "@pim:test"]
    # Another role is a change: told again.
    other = await chat.send("!session assign 1 @pim:test reviewer", sender=FACIL)
    assert [o for o in other if o.to_user == "@pim:test"] and "already" not in other[0].markdown
