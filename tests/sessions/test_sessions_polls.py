"""Time-slot polls through the real dispatcher (no Matrix): slot parsing in both languages,
the poll start event and its fallback, votes from poll responses and `!vote` (the latest
counts, closed polls ignore votes), closing into a session with the voters and their
.ics, rights, and that no poll input crashes or injects HTML."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from icalendar import Calendar
from sqlalchemy import select, update

from bot.framework.messages import RoomEvent
from bot.framework.render import message_content
from commands.sessions.polls import POLL_END, POLL_START, answer_indexes, parse_choices, response_answers
from bot.framework.errors import BadArgument
from storage.models.core import OutboxMessage
from storage.sessions.models import Participant, PollVote, ReviewSession, SessionPoll
from support.chat import Chat, make_services
from support.html_safety import html_problems, internal_errors

FACIL = "@facil:test"  # a configured facilitator (support.chat)
ROOM = "!room:test"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)  # a Wednesday
_events = itertools.count()


@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "sessions"], rate_limit_count=10**6, now=NOW)
    yield services, Chat(services)
    await services.db.dispose()


async def _open(services, chat, body='!session poll "Hittestress Zwolle" dinsdag 14:00 | woensdag 10:00 | '
                                     '3 december 14:00 --duration 2h --project "Groene daken" --capacity 2',
                start_event="$start", **kw):
    kw.setdefault("sender", FACIL)
    out = await chat.send(body, **kw)
    # What the outbox sender does once the homeserver accepted the poll start.
    async with services.db.transaction() as s:
        await s.execute(update(OutboxMessage).where(OutboxMessage.event_type == POLL_START,
                                                    OutboxMessage.event_id.is_(None))
                        .values(event_id=start_event, status="sent"))
    return out


async def _respond(chat, sender, answers, *, start="$start", at_ms=None, room=ROOM,
                   event_type="org.matrix.msc3381.poll.response"):
    key = event_type if event_type != "m.poll.response" else "m.poll.response"
    content = {"m.relates_to": {"rel_type": "m.reference", "event_id": start}, key: {"answers": answers}}
    n = next(_events)
    await chat.dispatcher.handle_event(RoomEvent(event_type, sender, room, f"$resp{n}", content,
                                                 timestamp_ms=at_ms if at_ms is not None else 1_000_000 + n))


async def _votes(services, poll_id=1):
    async with services.db.session() as s:
        return {v.user_id: v.slots for v in (await s.scalars(select(PollVote).where(PollVote.poll_id == poll_id))).all()}


# ----------------------------------------------------------------------------- opening
async def test_poll_start_event_has_every_slot_with_weekday_time_and_zone(env):
    services, chat = env
    out = await _open(services, chat)
    start, reply = out[0], out[1]
    assert start.event_type == POLL_START and start.room_id == ROOM
    poll = start.extra_content[POLL_START]
    assert poll["kind"] == "org.matrix.msc3381.poll.disclosed" and poll["max_selections"] == 3
    assert poll["question"]["org.matrix.msc1767.text"] == "Hittestress Zwolle"
    assert [a["id"] for a in poll["answers"]] == ["a1", "a2", "a3"]
    assert [a["org.matrix.msc1767.text"] for a in poll["answers"]] == [
        "Tuesday 1 December 2026 14:00–16:00 CET", "Wednesday 2 December 2026 10:00–12:00 CET",
        "Thursday 3 December 2026 14:00–16:00 CET"]
    # The fallback lists the slots by number and says how to vote by reply.
    assert "1. Tuesday 1 December 2026 14:00–16:00 CET" in start.markdown and "!vote 1 1 3" in start.markdown
    assert "Poll 1 is open with 3 times" in reply.markdown
    async with services.db.session() as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.event_type == POLL_START))
        stored = await s.get(SessionPoll, 1)
    # The poll knows its start event's outbox row: that is how votes find it.
    assert stored.txn_id == row.txn_id and row.content["body"].startswith("📊 Poll 1")
    assert stored.options["duration"] == 7200 and stored.options["project"] == "Groene daken"


async def test_dutch_slots_and_dutch_poll(env):
    services, chat = env
    out = await _open(services, chat, '!sessie peiling "Datagedreven werken" dinsdag 14 uur | morgen 9:30', )
    answers = [a["org.matrix.msc1767.text"] for a in out[0].extra_content[POLL_START]["answers"]]
    assert answers == ["dinsdag 1 december 2026 14:00–15:30 CET", "donderdag 26 november 2026 09:30–11:00 CET"]
    # A poll of two times suggests numbers it has (issue 19: "!vote 1 1 3" in a 2-slot poll).
    assert "op welke tijden kun je" in out[0].markdown and "`!stem 1 1 2`" in out[0].markdown
    assert "1 1 3" not in out[0].markdown


@pytest.mark.parametrize("slots, expected", [
    ("dinsdag 14:00", "at least 2 times"),
    (" | ".join(f"2027-01-{d:02d} 14:00" for d in range(1, 22)), "at most 20 times"),
    ("dinsdag 14:00 | gisteren 10:00", "in the past"),
    ("dinsdag 14:00 | 2026-01-01 10:00", "in the past"),
    ("dinsdag 14:00 | morgen", "has no time of day"),
    ("dinsdag 14:00 | 2026-12-01 14:00", "in the poll twice"),
    ("dinsdag 14:00 | banaan", "could not read"),
    ("Zwolle dinsdag 14:00 | woensdag 10:00", "A title with spaces goes in quotes"),
])
async def test_bad_slots_are_refused_with_a_reason(env, slots, expected):
    services, chat = env
    text = await chat.text(f'!session poll "Titel" {slots}', sender=FACIL)
    assert expected in text and "Usage" in text
    async with services.db.session() as s:
        assert await s.scalar(select(SessionPoll)) is None


async def test_a_member_may_not_open_or_close_a_poll(env):
    services, chat = env
    refused = await chat.text('!session poll "x" dinsdag 14:00 | woensdag 10:00', sender="@member:test")
    assert "Only a hub facilitator can use `!session poll` here." in refused  # a room that grants no roles
    await _open(services, chat)
    assert "Only a hub facilitator can use `!session poll` here." in await chat.text("!session poll close 1",
                                                                                   sender="@member:test")
    # A moderator of the room (power 50) may open polls there, but not close another's poll.
    moderator = dict(sender="@mod:test", power_level=50, room_grants_roles=True)
    await _respond(chat, "@bob:test", ["a1"])
    assert "Only the facilitator who opened poll 1" in await chat.text("!session poll close 1", **moderator)
    assert "Poll 2 is open" in (await chat.send('!session poll "y" dinsdag 14:00 | woensdag 10:00', **moderator))[1].markdown


# ----------------------------------------------------------------------------- votes
def test_answer_ids_and_choices():
    assert answer_indexes(["a3", "a1", "x", "a1", "a9", "a0"], 3) == [2, 0]
    assert response_answers({"org.matrix.msc3381.poll.response": {"answers": ["a1", 5]}}) == ["a1"]
    assert response_answers({"m.poll.response": {"answers": ["a2"]}}) == ["a2"]
    assert response_answers({"m.selections": ["a2"]}) == ["a2"]
    assert response_answers({"body": "x"}) is None
    assert parse_choices("1 3", 3, 1) == [0, 2] and parse_choices("1,3;2", 3, 1) == [0, 2, 1]
    assert parse_choices("1-3", 3, 1) == [0, 1, 2] and parse_choices("geen", 3, 1) == []
    for bad in ("0", "4", "2-1", "x", "1 banaan"):
        with pytest.raises(BadArgument):
            parse_choices(bad, 3, 1)


async def test_latest_response_replaces_the_earlier_and_late_arrivals_do_not(env):
    services, chat = env
    await _open(services, chat)
    await _respond(chat, "@bob:test", ["a1", "a3"], at_ms=2000)
    await _respond(chat, "@carol:test", ["a3"], at_ms=2100, event_type="m.poll.response")
    await _respond(chat, "@bob:test", ["a2"], at_ms=3000)
    await _respond(chat, "@bob:test", ["a1"], at_ms=2500)  # cast before the last one, delivered after it
    assert await _votes(services) == {"@bob:test": [1], "@carol:test": [2]}
    # Responses to another event, from another room, or without a reference do not count.
    await _respond(chat, "@dave:test", ["a1"], start="$other")
    await _respond(chat, "@dave:test", ["a1"], room="!elsewhere:test")
    await chat.dispatcher.handle_event(RoomEvent("org.matrix.msc3381.poll.response", "@dave:test", ROOM, "$x",
                                                 {"org.matrix.msc3381.poll.response": {"answers": ["a1"]}}))
    assert "@dave:test" not in await _votes(services)


async def test_vote_by_reply_shows_and_replaces(env):
    services, chat = env
    await _open(services, chat)
    reply = await chat.text("!vote 1 1 3", sender="@bob:test")
    # As the reader sees it: the poll's own numbers 1 and 3, not a Markdown list renumbered 1, 2.
    shown_body, html = message_content(reply)["body"], message_content(reply)["formatted_body"]
    assert "Your vote in poll 1" in shown_body and "3. Thursday 3 December 2026" in shown_body
    assert "1. Tuesday 1 December" in shown_body and "2. Thursday" not in shown_body and "<ol" not in html
    await _respond(chat, "@carol:test", ["a3"])
    shown = await chat.text("!stem 1", sender="@bob:test")
    assert "3. donderdag 3 december 2026 14:00–16:00 CET — 2 stemmen" in shown and "Je stem: 1, 3." in shown
    # bob wrote "!stem" above: replies follow his last clear language (Dutch).
    assert "ingetrokken" in await chat.text("!vote 1 none", sender="@bob:test")
    assert await _votes(services) == {"@bob:test": [], "@carol:test": [2]}
    await chat.text("!lang en", sender="@bob:test")
    assert "not a time of poll 1" in await chat.text("!vote 1 7", sender="@bob:test")
    assert "Vote in the room where poll 1" in await chat.text("!vote 1 1", sender="@bob:test", room="!other:test")
    assert "There is no poll 9" in await chat.text("!vote 9 1", sender="@bob:test")


# ----------------------------------------------------------------------------- closing
async def test_close_plans_the_most_voted_slot_adds_voters_and_sends_them_the_ics(env):
    services, chat = env
    await _open(services, chat)
    await _respond(chat, "@bob:test", ["a1", "a3"])
    await _respond(chat, "@carol:test", ["a3"])
    await _respond(chat, "@dave:test", ["a2", "a3"])
    await _respond(chat, "@erin:test", ["a1"])
    await chat.text("!lang nl", sender="@carol:test")
    out = await chat.send("!session poll close 1", sender=FACIL)
    dms = {o.to_user: o for o in out if o.to_user}
    assert set(dms) == {"@bob:test", "@carol:test", "@dave:test"}
    reply = next(o for o in out if o.room_id == ROOM and o.event_type == "m.room.message")
    assert "Most votes: **Thursday 3 December 2026 14:00–16:00 CET**" in reply.markdown
    assert "1. Tuesday 1 December 2026 14:00–16:00 CET — 2 votes" in reply.markdown
    assert "3. Thursday 3 December 2026 14:00–16:00 CET — 3 votes" in reply.markdown
    # Capacity 2: the third voter (in voting order) waits.
    assert "@dave\\:test" in reply.markdown.split("waiting list")[1]
    assert "Je stemde in peiling 1" in dms["@carol:test"].markdown and "beoordelaar" in dms["@carol:test"].markdown
    assert "waiting list" in dms["@dave:test"].markdown
    for dm in dms.values():
        assert dm.attachment.filename == "session-1.ics" and dm.attachment.mimetype == "text/calendar"
    event = Calendar.from_ical(dms["@carol:test"].attachment.data).walk("VEVENT")[0]
    assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 12, 3, 14, 0)
    assert str(event["SUMMARY"]) == "Hittestress Zwolle" and "Groene daken" in str(event["DESCRIPTION"])
    assert "Peer-reviewsessie 1" in str(event["DESCRIPTION"])  # Carol reads Dutch
    end = next(o for o in out if o.event_type == POLL_END)
    assert end.extra_content["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$start"}
    async with services.db.session() as s:
        session = await s.get(ReviewSession, 1)
        people = {p.user_id: (p.role, p.state) for p in (await s.scalars(select(Participant))).all()}
        poll = await s.get(SessionPoll, 1)
    assert session.facilitator == FACIL and session.capacity == 2 and session.project == "Groene daken"
    assert session.ends_at - session.starts_at == timedelta(hours=2)
    assert people == {"@bob:test": ("reviewer", "going"), "@carol:test": ("reviewer", "going"),
                      "@dave:test": ("reviewer", "waiting")}
    assert (poll.status, poll.session_id) == ("closed", 1)
    # Closed: late votes do not count, and it cannot be closed twice.
    await _respond(chat, "@frank:test", ["a1"])
    assert "@frank:test" not in await _votes(services)
    assert "Poll 1 is closed" in await chat.text("!vote 1 1", sender="@frank:test")
    assert "Poll 1 is closed" in await chat.text("!session poll close 1", sender=FACIL)
    assert "(closed: session 1)" in await chat.text("!session poll 1", sender=FACIL)


async def test_a_tie_goes_to_the_earliest_slot_and_an_empty_poll_is_not_closed(env):
    services, chat = env
    await _open(services, chat, '!session poll "Tie" 3 december 14:00 | dinsdag 14:00 | woensdag 10:00')
    assert "Nobody has voted in poll 1" in await chat.text("!session poll close 1", sender=FACIL)
    assert "Which poll?" in await chat.text("!session poll close", sender=FACIL)
    await _respond(chat, "@bob:test", ["a1"])
    await _respond(chat, "@carol:test", ["a2"])
    reply = (await chat.send("!sessie peiling sluit 1", sender=FACIL))
    assert any("De meeste stemmen: **dinsdag 1 december 2026" in o.markdown for o in reply)


async def test_the_poll_creator_closes_from_another_room_and_the_poll_room_hears(env):
    services, chat = env
    moderator = dict(sender="@mod:test", power_level=50, room_grants_roles=True)
    await _open(services, chat, '!session poll "Mod" dinsdag 14:00 | woensdag 10:00', **moderator)
    await _respond(chat, "@bob:test", ["a2"])
    out = await chat.send("!session poll close 1", room="!elsewhere:test", **moderator)
    rooms = [o.room_id for o in out if o.event_type == "m.room.message" and not o.to_user]
    assert rooms == ["!elsewhere:test", ROOM]
    async with services.db.session() as s:
        assert (await s.get(ReviewSession, 1)).room_id == ROOM


# ----------------------------------------------------------------------------- safety
PIECES = st.sampled_from(['"', "'", "<script>alert(1)</script>", "<img src=x onerror=y>", "|", "||", "--",
                          "--duration", "--topic", "[x](javascript:alert(1))", "**", "`", "\\", "\n", "{0}",
                          "{prefix}", "dinsdag 14:00", "morgen", "9:00", "close", "sluit", "1", "#2", "99999999999",
                          "2026-12-01 14:00", "\u202e", "\x00", "none", "1-3"])
POLL_TEXT = st.builds(lambda head, parts: head + " ".join(parts),
                      st.sampled_from(["!session poll ", '!session poll "<b>x</b>" ', "!sessie peiling ", "!vote ",
                                       "!stem 1 ", "!session poll close "]),
                      st.lists(st.one_of(st.text(max_size=25), PIECES), max_size=8))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=POLL_TEXT)
async def test_no_poll_input_crashes_or_injects_html(env, text):
    services, chat = env
    for out in await chat.send(text, sender=FACIL):
        content = message_content(out.markdown)
        assert not html_problems(content["formatted_body"]), (text, content["formatted_body"])
        assert internal_errors(services) == 0, text
        if out.event_type == POLL_START:
            # The poll's own texts are plain text fields, never HTML.
            assert "formatted_body" not in out.extra_content


async def test_slots_that_have_passed_are_not_chosen(env):
    services, chat = env
    await _open(services, chat, '!session poll "Laat" 2026-11-26 14:00 | 2026-12-10 10:00 | 2026-11-27 10:00')
    await _respond(chat, "@bob:test", ["a1", "a2"])
    await _respond(chat, "@carol:test", ["a1", "a3"])
    await _respond(chat, "@dave:test", ["a1"])
    services.clock = lambda: datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)
    # Slot 1 (3 votes) and slot 3 have passed: slot 2 wins with its single vote.
    out = await chat.send("!session poll close 1", sender=FACIL)
    assert any("Most votes: **Thursday 10 December 2026 10:00–11:30 CET**" in o.markdown for o in out)
    await _open(services, chat, '!session poll "Te laat" 2026-11-29 14:00 | 2026-11-30 10:00', start_event="$s2")
    await _respond(chat, "@bob:test", ["a1"], start="$s2")
    services.clock = lambda: datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert "has passed; open a new poll" in await chat.text("!session poll close 2", sender=FACIL)
