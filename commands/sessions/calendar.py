"""`!session ics <id>`: a session as an iCalendar file for Outlook, Google and Apple
calendars, and `ics_for()` for the other parts (a closed poll sends it to every voter).

One UID per session and a SEQUENCE that grows with every change of time, place, title
or status (storage/sessions/models.py), so importing a newer file updates the event
instead of adding a second one; a cancelled session comes as STATUS:CANCELLED."""
from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vText

from bot.framework import argument
from bot.framework.help import spoken_name
from bot.framework.messages import Attachment
from bot.framework.i18n import N_, Translator
from commands.sessions.base import SessionId, get_session, session, title_of, topic_label, when_of
from storage.sessions.models import ReviewSession

PRODID = "-//Dutch Societal Innovation Hub//dsih-bot//EN"
MIMETYPE = "text/calendar"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@session.subcommand("ics", dutch=("agenda",))
@argument("number", SessionId(), help=N_("the session number, e.g. 12"))
async def session_ics(ctx, number):
    """Get a session as a calendar file (.ics) for Outlook and other calendars."""
    s = await get_session(ctx, number)
    text = ctx.t("📅 Session {title}, {when}: open the file to add it to your calendar.",
                 title=title_of(s), when=when_of(ctx.t, s))
    if s.status == "cancelled":
        text += " " + ctx.t("The session is cancelled: importing the file removes it from your calendar.")
    await ctx.reply(text, attachment=ics_attachment(s, ctx.t, ctx.services.bot_user_id,
                                                    now=ctx.now, prefix=ctx.settings.bot.command_prefix))


def ics_attachment(s: ReviewSession, t: Translator, bot_user_id: str, **kw) -> Attachment:
    return Attachment(f"session-{s.id}.ics", MIMETYPE, ics_for(s, t, bot_user_id, **kw))


def ics_for(s: ReviewSession, t: Translator, bot_user_id: str, *, now: datetime | None = None,
            prefix: str = "!") -> bytes:
    """The session as a VCALENDAR (METHOD:PUBLISH) with one VEVENT in the session's own
    zone and that zone's VTIMEZONE; texts in `t`'s language."""
    zone = _zone(s.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add_component(vtimezone(zone.key, s.starts_at.astimezone(zone).year))
    event = Event()
    event.add("uid", f"session-{s.id}@{server_of(bot_user_id)}")
    event.add("sequence", s.sequence or 0)
    event.add("dtstamp", (now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    if s.created_at:
        event.add("created", s.created_at.astimezone(timezone.utc))
    event.add("dtstart", s.starts_at.astimezone(zone))
    event.add("dtend", s.ends_at.astimezone(zone))
    event.add("summary", s.title, parameters={"LANGUAGE": t.lang})
    event.add("description", description(s, t, bot_user_id, prefix), parameters={"LANGUAGE": t.lang})
    event.add("location", s.location or room_link(s.room_id))
    event.add("url", room_link(s.room_id))
    organizer = vCalAddress(f"https://matrix.to/#/{s.facilitator}")
    organizer.params["CN"] = vText(s.facilitator)
    event.add("organizer", organizer)
    event.add("status", "CANCELLED" if s.status == "cancelled" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return cal.to_ical()


def description(s: ReviewSession, t: Translator, bot_user_id: str, prefix: str) -> str:
    lines = [t("Peer-review session {number} of the Dutch Societal Innovation Hub.", number=s.id)]
    if s.status == "cancelled":
        lines.append(t("Cancelled: {reason}", reason=s.cancel_reason) if s.cancel_reason
                     else t("This session is cancelled."))
    if s.project:
        lines.append(t("Project: {text}", text=s.project))
    if s.question:
        lines.append(t("Question for the reviewers: {text}", text=s.question))
    topic = topic_label(t, s.topic)
    if topic:
        lines.append(t("Topic: {topic}", topic=topic))
    lines.append(t("Facilitator: {user}", user=s.facilitator))
    lines.append(t('In Matrix, ask the DSIH bot ({bot}): "{show}" shows who is coming, "{join}" signs you up.',
                   bot=bot_user_id, show=f"{prefix}{spoken_name(session, t.lang)} {s.id}",
                   join=f"{prefix}{spoken_name(session.subcommands['join'], t.lang)} {s.id}"))
    lines.append(t("Room: {link}", link=room_link(s.room_id)))
    return "\n".join(lines)


def room_link(room_id: str) -> str:
    return f"https://matrix.to/#/{room_id}"


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else "dsih-bot"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# ----------------------------------------------------------------------------- VTIMEZONE
# Outlook misreads VTIMEZONEs that list each change as an RDATE (what icalendar's
# Timezone.from_tzid writes) and wants yearly rules with BYDAY, as tzurl.org's
# "zoneinfo-outlook" files have them. So we read the zone's changes around the
# session's year from zoneinfo and write them as rules (`last Sunday of March, 02:00`);
# a zone whose changes follow no such rule gets icalendar's exact RDATE form.
@lru_cache(maxsize=64)
def vtimezone(tzid: str, year: int) -> Timezone:
    zone = ZoneInfo(tzid)
    changes = _changes(zone, year - 1, year + 1)
    tz = Timezone()
    tz.add("tzid", tzid)
    tz.add("x-lic-location", tzid)
    if not changes:
        offset = datetime(year, 1, 1, tzinfo=zone).utcoffset()
        std = TimezoneStandard()
        std.add("dtstart", datetime(1970, 1, 1))
        std.add("tzoffsetfrom", offset)
        std.add("tzoffsetto", offset)
        std.add("tzname", datetime(year, 1, 1, tzinfo=zone).tzname() or tzid)
        tz.add_component(std)
        return tz
    groups: dict[tuple, list[datetime]] = {}
    for onset, before, after, name, dst in changes:
        groups.setdefault((dst, before, after, name), []).append(onset)
    for (dst, before, after, name), onsets in groups.items():
        rule = _yearly_rule(onsets)
        if rule is None:
            return Timezone.from_tzid(tzid, first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))
        part = TimezoneDaylight() if dst else TimezoneStandard()
        part.add("dtstart", onsets[0])
        part.add("tzoffsetfrom", before)
        part.add("tzoffsetto", after)
        part.add("tzname", name)
        if onsets[-1].year < year + 1:  # the rule stopped (the zone changed its law)
            rule["until"] = (onsets[-1] - before).replace(tzinfo=timezone.utc)
        part.add("rrule", rule)
        tz.add_component(part)
    return tz


def _changes(zone: ZoneInfo, first_year: int, last_year: int):
    """Every offset change from 1 January of first_year to 31 December of last_year:
    (onset as local wall time before the change, offset before, offset after, name after, is DST after)."""
    out = []
    moment = datetime(first_year, 1, 1, tzinfo=timezone.utc)
    end = datetime(last_year + 1, 1, 1, tzinfo=timezone.utc)
    step = timedelta(hours=12)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        nxt = moment + step
        new = nxt.astimezone(zone).utcoffset()
        if new != offset:
            lo, hi = moment, nxt  # the change lies in (lo, hi]: narrow it to the minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == offset:
                    lo = mid
                else:
                    hi = mid
            local_after = hi.astimezone(zone)
            onset = (hi + offset).replace(tzinfo=None, second=0, microsecond=0)
            # "Daylight" is the part of the year with the larger offset (Dublin's zoneinfo
            # calls winter its DST, which calendars would show as summer time).
            out.append((onset, offset, new, local_after.tzname() or "", new > offset))
            offset = new
        moment = nxt
    return out


def _yearly_rule(onsets: list[datetime]) -> dict | None:
    """`FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU` when every onset is the same weekday of the same
    month at the same time (last, or 1st-4th, of the month); else None."""
    first = onsets[0]
    if any((o.month, o.weekday(), o.hour, o.minute) != (first.month, first.weekday(), first.hour, first.minute)
           for o in onsets):
        return None
    weekday = _WEEKDAYS[first.weekday()]
    if all(o.day + 7 > _calendar.monthrange(o.year, o.month)[1] for o in onsets):
        position = -1
    else:
        nths = {(o.day - 1) // 7 + 1 for o in onsets}
        if len(nths) != 1:
            return None
        position = nths.pop()
    return {"freq": "yearly", "bymonth": first.month, "byday": f"{position}{weekday}"}
