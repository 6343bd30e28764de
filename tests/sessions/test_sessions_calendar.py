"""The .ics file: parsed back with icalendar, its VTIMEZONE gives the same offsets as
zoneinfo (also across a DST change), the event keeps 14:00 local time, UID is stable and
SEQUENCE grows with each move, cancelled sessions say so; English and Dutch."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.framework.i18n import Translator
from commands.sessions.calendar import ics_for, vtimezone
from storage.sessions.models import ReviewSession
from support.chat import Chat, make_services

FACIL = "@facil:test"
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=timezone.utc)  # two and a half weeks before summer time


@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "sessions"], rate_limit_count=10**6, now=NOW)
    yield services, Chat(services)
    await services.db.dispose()


def _parse(data: bytes):
    cal = Calendar.from_ical(data)
    return cal, cal.walk("VEVENT")[0], cal.walk("VTIMEZONE")


async def _ics(chat, body="!session ics 1", **kw):
    out = await chat.send(body, **kw)
    files = [o.attachment for o in out if o.attachment]
    assert len(files) == 1, [o.markdown for o in out]
    assert files[0].filename == "session-1.ics" and files[0].mimetype == "text/calendar"
    return out[0].markdown, files[0].data


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Europe/London", "Europe/Dublin", "America/New_York",
                                  "Australia/Sydney", "America/Santiago", "Asia/Tokyo", "UTC", "Africa/Casablanca"])
def test_vtimezone_gives_zoneinfo_offsets_all_year(zone):
    data = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n" + vtimezone(zone, 2027).to_ical() + b"END:VCALENDAR\r\n"
    parsed = Calendar.from_ical(data).walk("VTIMEZONE")[0]
    assert str(parsed["TZID"]) == zone
    tz, real = parsed.to_tz(), ZoneInfo(zone)
    moment, wrong = datetime(2027, 1, 1, tzinfo=timezone.utc), []
    while moment.year == 2027:
        local = moment.astimezone(real)
        if not _near_a_change(real, moment):
            mine = local.replace(tzinfo=None).replace(tzinfo=tz).utcoffset()
            if mine != local.utcoffset():
                wrong.append((local, mine))
        moment += timedelta(hours=5)
    assert not wrong, wrong[:3]


def _near_a_change(zone, moment) -> bool:
    """Local wall times within an hour of a change are ambiguous or missing by nature."""
    return (moment - timedelta(hours=2)).astimezone(zone).utcoffset() != (moment + timedelta(hours=2)).astimezone(zone).utcoffset()


def test_vtimezone_uses_yearly_rules_with_byday_for_outlook():
    text = vtimezone("Europe/Amsterdam", 2027).to_ical().decode()
    assert "RDATE" not in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text and "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text
    assert "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200" in text
    # Summer time starts at 02:00 local winter time (RFC 5545: onset in the offset before the change).
    assert "DTSTART:20260329T020000" in text and "DTSTART:20261025T030000" in text


async def test_ics_of_a_session_holds_what_outlook_needs(env):
    services, chat = env
    await chat.send('!session new "Hittestress <b>Zwolle</b>" 2027-03-30 14:00 --duration 2h '
                    '--project "Groene daken; 12 gemeenten" --question "Schaalbaar?" --where "Stadhuis, zaal 2" '
                    '--topic klimaatadaptatie', sender=FACIL)
    text, data = await _ics(chat, sender="@bob:test")
    assert "Session #1 Hittestress \\<b\\>Zwolle\\</b\\>" in text and "Tuesday 30 March 2027 14:00–16:00 CEST" in text
    cal, event, zones = _parse(data)
    assert str(cal["METHOD"]) == "PUBLISH" and str(cal["VERSION"]) == "2.0" and "dsih-bot" in str(cal["PRODID"])
    assert [str(z["TZID"]) for z in zones] == ["Europe/Amsterdam"]
    assert str(event["UID"]) == "session-1@test" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTAMP") == NOW
    assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam" and event["DTEND"].params["TZID"] == "Europe/Amsterdam"
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 3, 30, 14, 0)
    assert event.decoded("DTEND").replace(tzinfo=None) == datetime(2027, 3, 30, 16, 0)
    # The file's own VTIMEZONE (not only the zone name) puts it at 12:00 UTC: summer time.
    start = event.decoded("DTSTART").replace(tzinfo=zones[0].to_tz())
    assert start.astimezone(timezone.utc) == datetime(2027, 3, 30, 12, 0, tzinfo=timezone.utc)
    assert str(event["SUMMARY"]) == "Hittestress <b>Zwolle</b>"  # a plain text field: no Markdown escapes
    assert str(event["LOCATION"]) == "Stadhuis, zaal 2" and str(event["STATUS"]) == "CONFIRMED"
    description = str(event["DESCRIPTION"])
    for part in ("Peer-review session 1", "Project: Groene daken; 12 gemeenten", "Question for the reviewers: Schaalbaar?",
                 "Topic: ", "!session join 1", "@bot:test", "https://matrix.to/#/!room:test"):
        assert part in description, part
    # No e-mail known: no ORGANIZER (a matrix.to link is no calendar address).
    assert "ORGANIZER" not in event and b"matrix.to/#/@facil" not in data
    assert str(event["URL"]) == "https://matrix.to/#/!room:test"


async def test_a_dutch_invitation_names_the_dutch_commands(env):
    services, chat = env
    await chat.send('!session new "Hittestress" 2027-03-30 14:00', sender=FACIL)
    async with services.db.session() as s:
        session = await s.get(ReviewSession, 1)
    _, event, _ = _parse(ics_for(session, Translator("nl"), "@bot:test"))
    description = str(event["DESCRIPTION"])
    assert '"!sessie 1"' in description and '"!sessie aanmelden 1"' in description, description
    assert "!session" not in description


async def test_14_00_stays_14_00_on_both_sides_of_the_dst_change(env):
    services, chat = env
    await chat.send('!session new "Reeks" 2027-03-23 14:00 --every 1w --until 2027-04-01', sender=FACIL)
    starts = []
    for number in (1, 2):
        async with services.db.session() as s:
            session = await s.get(ReviewSession, number)
        _, event, zones = _parse(ics_for(session, Translator("en"), "@bot:test"))
        local = event.decoded("DTSTART")
        assert (local.hour, local.minute) == (14, 0) and event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
        starts.append(local.replace(tzinfo=None).replace(tzinfo=zones[0].to_tz()).astimezone(timezone.utc))
    assert [s.hour for s in starts] == [13, 12]  # CET before 28 March, CEST after


async def test_sequence_grows_with_each_move_and_a_cancelled_session_says_so(env):
    services, chat = env
    await chat.send('!session new "Verplaatst" 2027-03-30 14:00', sender=FACIL)
    await chat.send("!session move 1 2027-04-06 10:00", sender=FACIL)
    _, event, _ = _parse((await _ics(chat, sender=FACIL))[1])
    assert int(event["SEQUENCE"]) == 1 and event.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 4, 6, 10, 0)
    await chat.send("!session cancel 1 te weinig aanmeldingen", sender=FACIL)
    text, data = await _ics(chat, "!sessie agenda 1", sender="@bob:test")
    assert "De sessie gaat niet door" in text
    _, event, _ = _parse(data)
    assert int(event["SEQUENCE"]) == 2 and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "session-1@test"
    assert "Gaat niet door: te weinig aanmeldingen" in str(event["DESCRIPTION"])
    assert "Peer-reviewsessie 1" in str(event["DESCRIPTION"]) and event["DESCRIPTION"].params["LANGUAGE"] == "nl"


async def test_unknown_session(env):
    services, chat = env
    assert "There is no session 7" in "".join(o.markdown for o in await chat.send("!session ics 7"))


def _sent_files(out, user):
    return [o for o in out if o.to_user == user and o.attachment is not None]


async def test_moving_and_cancelling_sends_every_participant_an_updated_ics(env):
    services, chat = env
    services.settings.sessions.organizer_emails = {FACIL: "facil@gemeente.example"}
    await chat.send('!session new "Verplaatst" 2027-03-30 14:00 --capacity 1', sender=FACIL)
    await chat.send("!session join 1", sender="@bob:test")
    await chat.send("!session join 1", sender="@carol:test")  # the waiting list
    await chat.send("!taal nl", sender="@carol:test")
    out = await chat.send("!session move 1 2027-04-06 10:00", sender=FACIL)
    seen = {}
    for user in ("@bob:test", "@carol:test"):
        [msg] = _sent_files(out, user)
        cal, event, _ = _parse(msg.attachment.data)
        assert msg.attachment.filename == "session-1.ics"
        assert str(cal["METHOD"]) == "REQUEST" and str(event["UID"]) == "session-1@test"
        assert int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 4, 6, 10, 0)
        assert str(event["ORGANIZER"]) == "mailto:facil@gemeente.example"
        seen[user] = (str(event["STATUS"]), msg.markdown)
    assert seen["@bob:test"][0] == "CONFIRMED" and "update your calendar" in seen["@bob:test"][1]
    assert seen["@carol:test"][0] == "TENTATIVE" and "agenda bij te werken" in seen["@carol:test"][1]
    out = await chat.send("!session cancel 1 te weinig aanmeldingen", sender=FACIL)
    for user in ("@bob:test", "@carol:test"):
        [msg] = _sent_files(out, user)
        cal, event, _ = _parse(msg.attachment.data)
        assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == "session-1@test" and int(event["SEQUENCE"]) == 2
    # Asked for afterwards, a cancelled session's file removes it too.
    _, data = await _ics(chat, sender="@bob:test")
    assert b"METHOD:CANCEL" in data


async def test_waiting_list_gets_tentative_and_the_hub_address_is_the_fallback_organizer(env):
    services, chat = env
    services.settings.sessions.organizer_email = "hub@dsih.example"
    await chat.send('!session new "Vol" 2027-03-30 14:00 --capacity 1', sender=FACIL)
    await chat.send("!session join 1", sender="@bob:test")
    await chat.send("!session join 1", sender="@carol:test")
    text, data = await _ics(chat, sender="@carol:test")
    _, event, _ = _parse(data)
    assert str(event["STATUS"]) == "TENTATIVE" and "waiting list" in text
    assert str(event["ORGANIZER"]) == "mailto:hub@dsih.example"
    _, event, _ = _parse((await _ics(chat, sender="@bob:test"))[1])
    assert str(event["STATUS"]) == "CONFIRMED"


async def test_a_series_exports_as_one_recurring_event(env):
    services, chat = env
    await chat.send('!session new "Reeks" 2027-03-23 14:00 --every 2w --until 2027-05-31', sender=FACIL)
    await chat.send("!session move 3 2027-04-21 09:00", sender=FACIL)  # was 20 April 14:00
    await chat.send("!session cancel 4", sender=FACIL)  # 4 May
    out = await chat.send("!session ics 2 --series", sender="@bob:test")
    [file] = [o.attachment for o in out if o.attachment]
    assert file.filename == "series-1.ics" and "5 sessions" in out[0].markdown
    cal = Calendar.from_ical(file.data)
    master, override = cal.walk("VEVENT")
    assert str(master["UID"]) == str(override["UID"]) == "series-1@test"
    rule = master["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["INTERVAL"] == [2] and rule["COUNT"] == [5]
    assert master.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 3, 23, 14, 0)
    assert [d.dt.replace(tzinfo=None) for d in master["EXDATE"].dts] == [datetime(2027, 5, 4, 14, 0)]
    assert override.decoded("RECURRENCE-ID").replace(tzinfo=None) == datetime(2027, 4, 20, 14, 0)
    assert override.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 4, 21, 9, 0)
    assert "not part of a series" in (await chat.send('!session new "Los" 2027-06-01 10:00', sender=FACIL) and
                                      "".join(o.markdown for o in await chat.send("!session ics 6 --reeks")))
