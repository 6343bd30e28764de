"""Issue 19, in a real Synapse: a participant's calendar follows a moved and a cancelled
session. The facilitator plans, a member joins; the move and the cancellation each reach
the member by direct message with a .ics file, downloaded from the media repository and
parsed back with icalendar: same UID, higher SEQUENCE, METHOD:REQUEST for the move,
METHOD:CANCEL with STATUS:CANCELLED for the cancellation."""
from __future__ import annotations

import pytest
from icalendar import Calendar

from support.e2e_helpers import body_of
from support.matrix_user import content_of
from support.media import download_media

pytestmark = pytest.mark.e2e


async def say(user, room_id, text, bot_id, needle, timeout=60):
    mark = user.mark()
    await user.send_text(room_id, text)
    return await user.wait_for_reply(room_id, bot_id, since=mark, timeout=timeout,
                                     predicate=lambda ev: needle in body_of(ev))


def _ics_file(bot_id, room):
    return lambda ev: (getattr(ev, "sender", None) == bot_id and ev.room_id != room
                       and content_of(ev).get("body") == "session-1.ics")


async def _next_ics(user, bot_id, room, mark):
    event = await user.wait_for(_ics_file(bot_id, room), since=mark, timeout=60)
    assert content_of(event)["info"]["mimetype"] == "text/calendar"
    cal = Calendar.from_ical(await download_media(user, event))
    return cal, cal.walk("VEVENT")[0]


@pytest.mark.parametrize("bot_options", [{"bot": {"rate_limit_count": 1000},
                                          "sessions": {"organizer_email": "hub@dsih.example"}}])
async def test_a_moved_and_a_cancelled_session_update_the_calendar(alice, bob, bot, room, bot_options):
    b = bot.user_id
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    await say(alice, room, "!lang en", b, "English")
    await say(bob, room, "!lang en", b, "English")
    await say(alice, room, '!session new "Agenda volgt" tomorrow 14:00', b, "Planned session 1")
    await say(bob, room, "!session join 1", b, "")

    mark = bob.mark()
    await say(alice, room, "!session move 1 tomorrow 10:00", b, "moved")
    cal, event = await _next_ics(bob, b, room, mark)
    assert str(cal["METHOD"]) == "REQUEST" and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]) == f"session-1@{b.split(':', 1)[1]}" and int(event["SEQUENCE"]) == 1
    assert (event.decoded("DTSTART").hour, event.decoded("DTSTART").minute) == (10, 0)
    assert str(event["ORGANIZER"]) == "mailto:hub@dsih.example"
    uid = str(event["UID"])

    mark = bob.mark()
    await say(alice, room, "!session cancel 1 te weinig aanmeldingen", b, "cancelled")
    cal, event = await _next_ics(bob, b, room, mark)
    assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2
