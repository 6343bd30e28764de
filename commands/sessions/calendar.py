"""`!session ics <id>`: a session as an iCalendar file for Outlook, Google and Apple
calendars, and `ics_for()` for the other parts (a closed poll sends it to every voter).

One UID per session and a SEQUENCE that grows with every change of time, place, title
or status (storage/sessions/models.py), so importing a newer file updates the event
instead of adding a second one. A file sent because the session moved is METHOD:REQUEST
(Outlook updates the entry it has); a cancelled session comes as METHOD:CANCEL with
STATUS:CANCELLED (Outlook removes it). Someone on the waiting list gets STATUS:TENTATIVE.
`--series` gives a whole series as one recurring event (RRULE, with EXDATE for cancelled
and an override for moved occurrences). ORGANIZER is a mailto: address where one is
configured (sessions.organizer_emails / organizer_email), else absent."""
from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vText

from sqlalchemy import select

from bot.framework import argument, option
from bot.framework.help import spoken_name
from bot.framework.messages import Attachment
from bot.framework.errors import BadArgument
from bot.framework.i18n import N_, Translator
from commands.sessions.base import SessionId, get_session, participants, session, title_of, topic_label, when_of
from storage.sessions.models import Participant, ReviewSession

PRODID = "-//Dutch Societal Innovation Hub//dsih-bot//EN"
MIMETYPE = "text/calendar"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@session.subcommand("ics", dutch=("agenda",))
@argument("number", SessionId(), help=N_("the session number, e.g. 12"))
@option("series", aliases=("reeks",), help=N_("the whole series as one recurring event"))
async def session_ics(ctx, number, series):
    """Get a session as a calendar file (.ics) for Outlook and other calendars."""
    s = await get_session(ctx, number)
    p = ctx.settings.bot.command_prefix
    me = await ctx.db.get(Participant, (s.id, ctx.sender))
    state = me.state if me is not None else None
    if series:
        members = await series_of(ctx.db, s)
        if len(members) < 2:
            raise BadArgument("Session {number} is not part of a series.", number=s.id)
        first = members[0]
        text = ctx.t("📅 The series {title}: {count} sessions in one calendar entry; open the file to add it.",
                     title=title_of(first), count=len(members))
        data = series_ics(members, ctx.t, ctx.services.bot_user_id, now=ctx.now, prefix=p,
                          organizer=organizer_of(ctx.settings, first))
        await ctx.reply(text, attachment=Attachment(f"series-{first.id}.ics", MIMETYPE, data))
        return
    text = ctx.t("📅 Session {title}, {when}: open the file to add it to your calendar.",
                 title=title_of(s), when=when_of(ctx.t, s))
    if s.status == "cancelled":
        text += " " + ctx.t("The session is cancelled: importing the file removes it from your calendar.")
    elif state == "waiting":
        text += " " + ctx.t("You are on the waiting list, so the entry is marked tentative.")
    await ctx.reply(text, attachment=ics_attachment(s, ctx.t, ctx.services.bot_user_id, now=ctx.now, prefix=p,
                                                    state=state, organizer=organizer_of(ctx.settings, s)))


def ics_attachment(s: ReviewSession, t: Translator, bot_user_id: str, **kw) -> Attachment:
    return Attachment(f"session-{s.id}.ics", MIMETYPE, ics_for(s, t, bot_user_id, **kw))


def organizer_of(settings, s: ReviewSession) -> str | None:
    """The e-mail address for ORGANIZER: the facilitator's, else the hub's, else None."""
    conf = settings.sessions
    return conf.organizer_emails.get(s.facilitator) or conf.organizer_email or None


async def send_calendar_update(ctx, s: ReviewSession, render) -> int:
    """Every participant (waiting list too) gets `render(t)` with the session's new .ics,
    in their own language: METHOD:REQUEST after a change, METHOD:CANCEL once cancelled,
    with the higher SEQUENCE, so a calendar updates or removes the entry it has."""
    await ctx.db.flush()  # the SEQUENCE grows on flush (storage/sessions/models.py)
    told = 0
    method = "CANCEL" if s.status == "cancelled" else "REQUEST"
    organizer = organizer_of(ctx.settings, s)
    for person in await participants(ctx.db, s.id, state=None):
        if person.user_id == ctx.services.bot_user_id:
            continue
        t = await ctx.translator_for(person.user_id)
        data = ics_for(s, t, ctx.services.bot_user_id, now=ctx.now, prefix=ctx.settings.bot.command_prefix,
                       method=method, state=person.state, organizer=organizer)
        ctx.send_to_user(person.user_id, render(t), attachment=Attachment(f"session-{s.id}.ics", MIMETYPE, data))
        told += 1
    return told


async def series_of(db, s: ReviewSession) -> list[ReviewSession]:
    if not s.series_id:
        return [s]
    return list((await db.scalars(select(ReviewSession).where(ReviewSession.series_id == s.series_id)
                                  .order_by(ReviewSession.id))).all())


def _vcalendar(method: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    return cal


def _event(s: ReviewSession, t: Translator, bot_user_id: str, *, uid: str, sequence: int, now: datetime | None,
           prefix: str, status: str, organizer: str | None) -> Event:
    zone = _zone(s.timezone)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", (now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    if s.created_at:
        event.add("created", s.created_at.astimezone(timezone.utc))
    event.add("dtstart", s.starts_at.astimezone(zone))
    event.add("dtend", s.ends_at.astimezone(zone))
    event.add("summary", s.title, parameters={"LANGUAGE": t.lang})
    event.add("description", description(s, t, bot_user_id, prefix), parameters={"LANGUAGE": t.lang})
    event.add("location", s.location or room_link(s.room_id))
    event.add("url", room_link(s.room_id))
    if organizer:
        address = vCalAddress(f"mailto:{organizer}")
        address.params["CN"] = vText(s.facilitator)
        event.add("organizer", address)
    event.add("status", status)
    event.add("transp", "OPAQUE")
    return event


def _status(s: ReviewSession, state: str | None) -> str:
    if s.status == "cancelled":
        return "CANCELLED"
    return "TENTATIVE" if state == "waiting" else "CONFIRMED"


def ics_for(s: ReviewSession, t: Translator, bot_user_id: str, *, now: datetime | None = None,
            prefix: str = "!", method: str | None = None, state: str | None = None,
            organizer: str | None = None) -> bytes:
    """The session as a VCALENDAR with one VEVENT in the session's own zone and that zone's
    VTIMEZONE; texts in `t`'s language. METHOD: PUBLISH (CANCEL once cancelled) unless given;
    `state` is the receiver's place ("waiting": TENTATIVE)."""
    zone = _zone(s.timezone)
    cal = _vcalendar(method or ("CANCEL" if s.status == "cancelled" else "PUBLISH"))
    cal.add_component(vtimezone(zone.key, s.starts_at.astimezone(zone).year))
    cal.add_component(_event(s, t, bot_user_id, uid=f"session-{s.id}@{server_of(bot_user_id)}",
                             sequence=s.sequence or 0, now=now, prefix=prefix, status=_status(s, state),
                             organizer=organizer))
    return cal.to_ical()


def series_ics(members: list[ReviewSession], t: Translator, bot_user_id: str, *, now: datetime | None = None,
               prefix: str = "!", organizer: str | None = None) -> bytes:
    """A series as one recurring event: an RRULE at the first session's local time with the
    series' usual spacing; a cancelled occurrence is an EXDATE, a moved one an override
    (RECURRENCE-ID) with its own time. The k-th session is the k-th occurrence."""
    first = members[0]
    zone = _zone(first.timezone)
    local = first.starts_at.astimezone(zone)
    gaps = [(b.starts_at.astimezone(zone).date() - a.starts_at.astimezone(zone).date()).days
            for a, b in zip(members, members[1:])]
    days = max(set(gaps), key=gaps.count) if gaps else 7
    days = max(days, 1)
    expected = []
    for k in range(len(members)):
        day = local.date() + timedelta(days=days * k)
        expected.append(datetime(day.year, day.month, day.day, local.hour, local.minute, tzinfo=zone))
    uid = f"series-{first.id}@{server_of(bot_user_id)}"
    sequence = max(m.sequence or 0 for m in members)
    cal = _vcalendar("PUBLISH")
    cal.add_component(vtimezone(zone.key, local.year))
    master = _event(first, t, bot_user_id, uid=uid, sequence=sequence, now=now, prefix=prefix,
                    status="CONFIRMED", organizer=organizer)
    del master["dtstart"], master["dtend"]
    master.add("dtstart", expected[0])  # the rule's first occurrence, even if session 1 itself moved
    master.add("duration", first.ends_at - first.starts_at)
    rule = ({"freq": "weekly", "interval": days // 7} if days % 7 == 0 else {"freq": "daily", "interval": days})
    rule["count"] = len(members)
    master.add("rrule", rule)
    cancelled = [expected[k] for k, m in enumerate(members) if m.status == "cancelled"]
    if cancelled:
        master.add("exdate", cancelled)
    cal.add_component(master)
    for k, m in enumerate(members):
        if m.status != "cancelled" and m.starts_at != expected[k]:
            override = _event(m, t, bot_user_id, uid=uid, sequence=sequence, now=now, prefix=prefix,
                              status="CONFIRMED", organizer=organizer)
            override.add("recurrence-id", expected[k])
            cal.add_component(override)
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
