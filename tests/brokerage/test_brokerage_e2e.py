"""Brokerage in a real Synapse: two people register interest in the same call, one asks
for an introduction, the other accepts in the direct message the bot sent, and both land
in a new room with the introduction (who, what, which call and its deadline); a decline
tells nobody anything. The calendar feed is fetched from the bot's own HTTP listener as a
calendar client would (ETag, conditional GET), and a revoked address answers 404."""
from __future__ import annotations

import asyncio
import re
import socket

import aiohttp
import pytest
from icalendar import Calendar

from support.e2e_helpers import body_of
from support.matrix_user import content_of, type_of

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = _free_port()


@pytest.fixture
def bot_options():
    return {"metrics": {"listen": f"127.0.0.1:{PORT}"}, "http": {"public_url": f"http://127.0.0.1:{PORT}"}}


def _from(bot_id: str, needle: str, *, not_in: tuple[str, ...] = ()):
    def check(ev) -> bool:
        return (getattr(ev, "sender", None) == bot_id and type_of(ev) == "m.room.message"
                and needle in content_of(ev).get("body", "") and getattr(ev, "room_id", None) not in not_in)
    return check


async def _shared_room(alice, bob, bot):
    room = await alice.create_room(invite=[bot.user_id, bob.user_id], name="brokerage e2e")
    await alice.wait_joined(room, bot.user_id, timeout=30)
    await alice.wait_joined(room, bob.user_id, timeout=30)
    return room


async def _two_interests_and_a_request(alice, bob, bot, room, ask) -> tuple[int, str, int, int]:
    await ask(alice, room, "!organisation Gemeente Zwolle, municipality, Overijssel", bot_id=bot.user_id)
    await ask(bob, room, "!organisation Provincie Gelderland, province, Gelderland", bot_id=bot.user_id)
    r = await ask(alice, room, '!interest dumava-2026 "renovate our town hall"', bot_id=bot.user_id)
    assert "Registered #" in body_of(r)
    r = await ask(bob, room, '!interest dumava-2026 "heat pumps in twelve schools"', bot_id=bot.user_id)
    bobs = int(re.search(r"#(\d+)", body_of(r)).group(1))
    r = await ask(alice, room, "!partners dumava-2026", bot_id=bot.user_id)
    assert "Provincie Gelderland" in body_of(r) and "heat pumps in twelve schools" in body_of(r)
    bob_mark, alice_mark = bob.mark(), alice.mark()
    r = await ask(alice, room, f"!introduce {bobs}", bot_id=bot.user_id)
    assert "asked them privately" in body_of(r)
    note = await bob.wait_for(_from(bot.user_id, "would like to be introduced", not_in=(room,)),
                              since=bob_mark, timeout=40)
    assert "Gemeente Zwolle" in body_of(note) and "renovate our town hall" in body_of(note)
    number = int(re.search(r"introduce yes (\d+)", body_of(note)).group(1))
    return number, note.room_id, bob_mark, alice_mark


async def test_accepted_introduction_opens_a_room_with_both(alice, bob, bot, room, ask):
    shared = await _shared_room(alice, bob, bot)
    number, dm, _, alice_mark = await _two_interests_and_a_request(alice, bob, bot, shared, ask)
    bob_mark = bob.mark()
    r = await ask(bob, dm, f"!introduce yes {number}", bot_id=bot.user_id, timeout=40)
    assert "opening a room" in body_of(r)
    skip = (shared, dm, room)
    for user, mark in ((alice, alice_mark), (bob, bob_mark)):
        intro = await user.wait_for(_from(bot.user_id, "Introduction", not_in=skip), since=mark, timeout=60)
        text = body_of(intro)
        assert "renovate our town hall" in text and "heat pumps in twelve schools" in text
        assert "Sustainable Public Buildings" in text and "deadline" in text.lower()
        assert alice.user_id in text and bob.user_id in text
    # Exactly once: one introduction room, one message in it.
    await bot.quiescent()
    intros = [e for e in alice.events[alice_mark:] if _from(bot.user_id, "Introduction", not_in=skip)(e)]
    assert len(intros) == 1


async def test_a_decline_tells_nobody(alice, bob, bot, room, ask):
    shared = await _shared_room(alice, bob, bot)
    number, dm, _, alice_mark = await _two_interests_and_a_request(alice, bob, bot, shared, ask)
    invites_before = list(alice.invites)
    r = await ask(bob, dm, f"!introduce no {number}", bot_id=bot.user_id, timeout=40)
    assert "will not introduce" in body_of(r)
    await bot.quiescent()
    await asyncio.sleep(1)
    from_bot = [e for e in alice.events[alice_mark:] if getattr(e, "sender", None) == bot.user_id
                and getattr(e, "room_id", None) != shared and type_of(e) == "m.room.message"]
    assert from_bot == [] and alice.invites == invites_before
    # Asking again says nothing about the decline either.
    r = await ask(alice, shared, "!introduce 2", bot_id=bot.user_id)
    assert "declin" not in body_of(r).lower()


def _event(cal: Calendar, uid_prefix: str):
    found = [e for e in cal.walk("VEVENT") if str(e["uid"]).startswith(uid_prefix)]
    assert len(found) == 1, [str(e["uid"]) for e in cal.walk("VEVENT")]
    return found[0]


async def test_calendar_feed_over_the_listener(alice, bot, room, ask):
    r = await ask(alice, room, '!session new "Heat plan review" 2027-03-02 14:00', bot_id=bot.user_id)
    found = re.search(r"(?:#|[Ss]ession )(\d+)", body_of(r))
    assert found, body_of(r)
    number = int(found.group(1))
    mark = alice.mark()
    r = await ask(alice, room, "!calendar", bot_id=bot.user_id)
    assert "direct message" in body_of(r)
    dm = await alice.wait_for(_from(bot.user_id, "calendar feed", not_in=(room,)), since=mark, timeout=40)
    url = re.search(r"(http://\S+\.ics)", body_of(dm)).group(1)
    assert url.startswith(f"http://127.0.0.1:{PORT}/calendar/")
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/calendar")
            etag = resp.headers["ETag"]
            cal = Calendar.from_ical(await resp.read())
            assert str(cal["prodid"]).startswith("-//Dutch Societal Innovation Hub")
        first = _event(cal, f"session-{number}@")
        assert int(first["sequence"]) == 0 and "facilitator" in str(first["description"]) and cal.walk("VTIMEZONE")
        async with http.get(url, headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
        # Moved: a calendar client polling with its ETag gets the new version, same UID.
        await ask(alice, room, f"!session move {number} 2027-03-03 10:00", bot_id=bot.user_id)
        async with http.get(url, headers={"If-None-Match": etag}) as resp:
            assert resp.status == 200
            etag = resp.headers["ETag"]
            moved = _event(Calendar.from_ical(await resp.read()), f"session-{number}@")
        assert int(moved["sequence"]) == 1 and moved.decoded("dtstart").day == 3 and moved.decoded("dtstart").hour == 10
        # Cancelled: the same event, now STATUS:CANCELLED, a higher SEQUENCE.
        await ask(alice, room, f"!session cancel {number} the room is not available", bot_id=bot.user_id)
        async with http.get(url, headers={"If-None-Match": etag}) as resp:
            assert resp.status == 200
            cancelled = _event(Calendar.from_ical(await resp.read()), f"session-{number}@")
        assert str(cancelled["status"]) == "CANCELLED" and int(cancelled["sequence"]) == 2
        mark = alice.mark()
        await ask(alice, room, "!calendar reset", bot_id=bot.user_id)
        await alice.wait_for(_from(bot.user_id, "new calendar feed", not_in=(room,)), since=mark, timeout=40)
        async with http.get(url) as resp:
            assert resp.status == 404


async def test_a_dutch_speaker_picks_between_two_calls_by_their_dutch_titles(alice, bot, room, ask):
    """`!interesse dumava` fits the 2025 and the 2026 round: the choice names both by their
    Dutch titles, each with the exact command to send, and nothing is escaped twice."""
    r = await ask(alice, room, "!interesse dumava", bot_id=bot.user_id)
    text = body_of(r)
    assert "Welke bedoel je?" in text, text
    assert "Subsidieregeling duurzaam maatschappelijk vastgoed (DUMAVA) – openstelling 2026" in text, text
    assert "!interesse dumava-2026" in text and "!interesse dumava-2025" in text, text
    assert "\\(" not in text and "Sustainable Public Buildings" not in text, text
    r = await ask(alice, room, "!interesse dumava-2026", bot_id=bot.user_id)
    assert re.search(r"Genoteerd #\d+: je werkt aan Subsidieregeling duurzaam maatschappelijk vastgoed", body_of(r)), \
        body_of(r)
