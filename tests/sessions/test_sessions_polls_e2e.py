"""Time-slot polls in a real room: a member may not open one; the facilitator's poll is a
native poll event; two people answer it with real poll responses (one changes their mind)
and one votes with `!vote`; closing plans the session, ends the poll, and every voter gets
a direct message with an .ics file that downloads and parses back to the right time;
`!session ics` gives the same file in the room."""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from icalendar import Calendar

from support.e2e_helpers import body_of, html_of
from support.matrix_user import MatrixUser, content_of, type_of
from support.polls import POLL_END, POLL_START, download_file, send_poll_response

pytestmark = pytest.mark.e2e

SLOTS = "2027-03-02 14:00 | 2027-03-03 10:00 | 2027-03-04 14:00"


async def _user(synapse, tmp_path, name):
    user_id = synapse.register(f"{name}{uuid.uuid4().hex[:8]}", "user-password")
    return await MatrixUser.create(synapse.url, user_id, "user-password", tmp_path / name)


@pytest.fixture
async def carol(synapse, tmp_path):
    user = await _user(synapse, tmp_path, "carol")
    yield user
    await user.close()


@pytest.fixture
async def dave(synapse, tmp_path):
    user = await _user(synapse, tmp_path, "dave")
    yield user
    await user.close()


def _is_file_from(bot_id, room_id=None):
    def check(ev):
        return (getattr(ev, "sender", None) == bot_id and content_of(ev).get("msgtype") == "m.file"
                and (room_id is None or getattr(ev, "room_id", None) == room_id))
    return check


def _event_of(data: bytes):
    event = Calendar.from_ical(data).walk("VEVENT")[0]
    return event, event.decoded("DTSTART").replace(tzinfo=None)


async def test_poll_votes_close_plans_the_session_and_voters_get_the_ics(alice, bob, carol, dave, bot, room, ask):
    for user in (bob, carol, dave):
        await alice.client.room_invite(room, user.user_id)
        await alice.wait_joined(room, user.user_id, timeout=30)

    # A member without power or a configured role may not open a poll.
    refused = await ask(bob, room, f'!session poll "Not mine" {SLOTS}', bot_id=bot.user_id)
    assert "facilitator of this room" in body_of(refused)

    mark = alice.mark()
    opened = await ask(alice, room, f'!session poll "E2E peer review" {SLOTS} --duration 1h '
                                    f'--project "Groene daken"', bot_id=bot.user_id)
    assert "Poll 1 is open with 3 times" in body_of(opened)
    start = await alice.wait_for(lambda e: type_of(e) == POLL_START and getattr(e, "sender", None) == bot.user_id,
                                 since=mark, what="the poll start")
    poll = content_of(start)[POLL_START]
    assert poll["max_selections"] == 3 and poll["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert [a["org.matrix.msc1767.text"] for a in poll["answers"]][2] == "Thursday 4 March 2027 14:00–15:00 CET"
    assert "3. Thursday 4 March 2027 14:00–15:00 CET" in body_of(start) and "!vote 1 1 3" in body_of(start)

    await send_poll_response(bob, room, start.event_id, ["a1", "a3"])
    await send_poll_response(carol, room, start.event_id, ["a1"])
    await send_poll_response(carol, room, start.event_id, ["a3"], event_type="m.poll.response")  # replaces a1
    voted = await ask(dave, room, "!vote 1 3", bot_id=bot.user_id)
    assert "Your vote in poll 1" in body_of(voted)
    tally = body_of(await ask(alice, room, "!session poll 1", bot_id=bot.user_id))
    assert "1. Tuesday 2 March 2027 14:00–15:00 CET — 1 vote" in tally
    assert "3. Thursday 4 March 2027 14:00–15:00 CET — 3 votes" in tally

    marks = {user.user_id: user.mark() for user in (bob, carol, dave)}
    mark = alice.mark()
    closed = body_of(await ask(alice, room, "!session poll close 1", bot_id=bot.user_id))
    assert "Most votes: Thursday 4 March 2027 14:00–15:00 CET" in closed and "Planned session 1" in closed
    end = await alice.wait_for(lambda e: type_of(e) == POLL_END, since=mark, what="the poll end")
    assert content_of(end)["m.relates_to"] == {"rel_type": "m.reference", "event_id": start.event_id}

    for user in (bob, carol, dave):
        file_event = await user.wait_for(_is_file_from(bot.user_id), since=marks[user.user_id], timeout=40,
                                         what="the .ics by direct message")
        assert file_event.room_id != room
        content = content_of(file_event)
        assert content["body"] == "session-1.ics" and content["info"]["mimetype"] == "text/calendar"
        event, local_start = _event_of(await download_file(user, file_event))
        assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam" and local_start == datetime(2027, 3, 4, 14, 0)
        assert str(event["SUMMARY"]) == "E2E peer review" and "Groene daken" in str(event["DESCRIPTION"])
        told = user.messages(file_event.room_id, bot.user_id, since=marks[user.user_id])
        assert any("You voted for this time in poll 1" in body_of(m) for m in told)

    shown = html_of(await ask(alice, room, "!session 1", bot_id=bot.user_id))
    for user in (bob, carol, dave):  # shown by display name, linked to their ID
        assert f"https://matrix.to/#/{user.user_id}" in shown

    # Votes after the end do not count; the room can still fetch the calendar file.
    await send_poll_response(bob, room, start.event_id, ["a2"])
    assert "Poll 1 is closed" in body_of(await ask(bob, room, "!vote 1 2", bot_id=bot.user_id))
    mark = bob.mark()
    await bob.send_text(room, "!session ics 1")
    file_event = await bob.wait_for(_is_file_from(bot.user_id, room), since=mark, timeout=30, what="the .ics in the room")
    event, local_start = _event_of(await download_file(bob, file_event))
    assert local_start == datetime(2027, 3, 4, 14, 0) and str(event["UID"]).startswith("session-1@")
    text = bob.messages(room, bot.user_id, since=mark)
    assert any("open the file to add it to your calendar" in body_of(m) for m in text)


async def test_poll_in_an_encrypted_room(alice, bob, carol, bot):
    """Encrypted poll start, encrypted responses (decrypted by the bot), an encrypted .ics."""
    room = await alice.create_room(invite=[bot.user_id, bob.user_id, carol.user_id], encrypted=True)
    for user in (bot.user_id, bob.user_id, carol.user_id):
        await alice.wait_joined(room, user, timeout=30)
    mark = alice.mark()
    await alice.send_text(room, '!session poll "Versleuteld" 2027-05-11 14:00 | 2027-05-12 14:00')
    start = await alice.wait_for(lambda e: type_of(e) == POLL_START and getattr(e, "sender", None) == bot.user_id,
                                 since=mark, timeout=40, what="the decrypted poll start")
    await bob.wait_for(lambda e: getattr(e, "event_id", None) == start.event_id, timeout=30, what="bob sees the poll")
    await send_poll_response(bob, room, start.event_id, ["a2"])
    await send_poll_response(carol, room, start.event_id, ["a1", "a2"])
    mark = alice.mark()
    await alice.send_text(room, "!session poll close 1")
    closed = await alice.wait_for_reply(room, bot.user_id, since=mark, timeout=40,
                                        predicate=lambda e: "Poll 1 is closed" in body_of(e))
    assert "Most votes: Wednesday 12 May 2027 14:00–15:30 CEST" in body_of(closed)
    mark = bob.mark()
    await bob.send_text(room, "!session ics 1")
    file_event = await bob.wait_for(_is_file_from(bot.user_id, room), since=mark, timeout=40, what="the encrypted .ics")
    assert "file" in content_of(file_event) and "url" not in content_of(file_event)  # encrypted attachment
    event, local_start = _event_of(await download_file(bob, file_event))
    assert local_start == datetime(2027, 5, 12, 14, 0) and event["DTSTART"].params["TZID"] == "Europe/Amsterdam"


async def test_a_member_cannot_borrow_power_for_polls_in_a_dm_or_own_room(alice, bob, bot, room, ask):
    """Power level 100 in a direct chat or a room of only bob and the bot grants nothing."""
    await ask(alice, room, f'!session poll "Van alice" {SLOTS}', bot_id=bot.user_id)
    dm = await bob.create_room(invite=[bot.user_id], is_direct=True)
    own = await bob.create_room(invite=[bot.user_id], name="bob's own room")
    for room_id in (dm, own):
        await bob.wait_joined(room_id, bot.user_id, timeout=30)
        for command in (f'!session poll "Van bob" {SLOTS}', "!session poll close 1", "!sessie peiling 1"):
            reply = await ask(bob, room_id, command, bot_id=bot.user_id, timeout=30)
            assert "🔒" in body_of(reply), (command, body_of(reply))
    # Everyone may see a poll's votes through !vote.
    assert "Poll 1: Van alice" in body_of(await ask(bob, dm, "!vote 1", bot_id=bot.user_id))
