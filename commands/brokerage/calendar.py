"""`!calendar` (`!agenda`): a private calendar feed URL per person, served by the bot's HTTP
listener (the manifest's `http_routes`); `!calendar reset` revokes it and gives a new one.

Only the SHA-256 of the secret is stored; a request is looked up by the hash of the
token it presents and compared with `hmac.compare_digest`. The feed's entries come from
the capabilities' `calendar` contributions (sessions, funding), never from imports; each
lists only what that person may see. The ETag comes from each contribution's cheap
`version` (bot.framework.references.CalendarSource: a narrow query of the rows the entries
are built from) with the person, the token, what they follow, their language and zone: a
conditional GET with the current ETag answers 304 without building a single entry. A
contribution without a version makes the ETag fall back to hashing the built entries.
A small per-token rate limit, 404 for anything unknown."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collections import OrderedDict
from datetime import date
from functools import lru_cache

from icalendar import Calendar, Event, Timezone
from sqlalchemy import delete, select

from bot.framework.errors import CheckFailure
from bot.framework.http import HttpRequest, HttpResponse, HttpRoute
from bot.framework.i18n import N_, Translator
from bot.framework.references import CalendarSource
from commands.brokerage.commands import cog
from storage.brokerage.models import CalendarToken, Interest
from storage.models.core import UserPrefs

PRODID = "-//Dutch Societal Innovation Hub//dsih-bot calendar feed//EN"
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")   # token_urlsafe(32)
FEED_PATH = "/calendar/{token}.ics"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored.encode(), presented.encode())


def base_url(settings) -> str | None:
    if settings.http.public_url:
        return settings.http.public_url.rstrip("/")
    if settings.metrics.listen:
        from_listen = settings.metrics.listen
        return f"http://{from_listen}" if ":" in from_listen else f"http://127.0.0.1:{from_listen}"
    return None


def feed_url(settings, token: str) -> str:
    return base_url(settings) + FEED_PATH.replace("{token}", token)


@cog.command("calendar", dutch=("agenda",))
async def calendar_cmd(ctx):
    """Your private calendar feed: sessions, deadlines you follow, action items."""
    await _give(ctx, reset=False)


@calendar_cmd.subcommand("reset", aliases=("new", "revoke"), dutch=("nieuw", "intrekken"))
async def calendar_reset(ctx):
    """Revoke your calendar feed address and get a new one."""
    await _give(ctx, reset=True)


@calendar_cmd.subcommand("stop", aliases=("off",), dutch=("uit",))
async def calendar_stop(ctx):
    """Switch your calendar feed off (its address stops working)."""
    await ctx.db.execute(delete(CalendarToken).where(CalendarToken.user_id == ctx.sender))
    await ctx.reply(ctx.t("Your calendar feed is off; its address no longer works."))


async def _give(ctx, *, reset: bool) -> None:
    if base_url(ctx.settings) is None:
        raise CheckFailure("The calendar feed is not switched on here (an admin sets `metrics.listen` and "
                           "`http.public_url`).")
    current = await ctx.db.get(CalendarToken, ctx.sender)
    if current is not None and not reset:
        await ctx.reply(ctx.t("You have had a calendar feed since {date}. I keep only a fingerprint of its address, "
                              "so I cannot show it again: `{command}` gives a new one (the old one stops working).",
                              date=ctx.t.short_date(current.created_at), command=ctx.command_name("calendar reset")))
        return
    token = new_token()
    if current is not None:
        await ctx.db.delete(current)
        await ctx.db.flush()
    ctx.db.add(CalendarToken(user_id=ctx.sender, token_hash=token_hash(token), created_at=ctx.now))
    url = feed_url(ctx.settings, token)
    t2 = await ctx.translator_for(ctx.sender)
    ctx.send_to_user(ctx.sender, "\n\n".join([
        "📅 " + (t2("Your new calendar feed (the old address no longer works):") if reset else
                 t2("Your private calendar feed:")),
        f"`{url}`",
        t2("Subscribe to it in Outlook, Google Calendar or Apple Calendar (\"add calendar from URL\"). It shows your "
           "sessions, the deadlines of calls you registered interest in and your action items. Keep it to yourself: "
           "anyone with the address sees your calendar. `{command}` revokes it.",
           command=ctx.services.command_name("calendar reset", t2.lang))]))
    if ctx.incoming.is_direct:
        await ctx.reply(ctx.t("Done: see the address above."))
    else:
        await ctx.reply(ctx.t("I sent you the address in a direct message (it is private)."))


# --------------------------------------------------------------------------- the feed
class RateLimit:
    """At most `per_minute` requests per token hash in any 60 s (memory only)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.seen: dict[str, deque] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        q = self.seen.setdefault(key, deque())
        while q and q[0] <= now - 60:
            q.popleft()
        if len(q) >= self.per_minute:
            return False
        q.append(now)
        if len(self.seen) > 10_000:
            self.seen = {k: v for k, v in self.seen.items() if v and v[-1] > now - 60}
        return True


def _not_found() -> HttpResponse:
    return HttpResponse(404, b"not found\n")


# Bumped when what the feed shows for the same rows changes (its layout, the words of an entry).
FEED_FORMAT = "2"


async def followed_by(session, user_id: str) -> frozenset:
    return frozenset((await session.execute(select(Interest.ref_kind, Interest.ref_id)
                                             .where(Interest.user_id == user_id))).all())


async def entries_for(services, session, user_id: str, t: Translator, followed: frozenset | None = None) -> list:
    if followed is None:
        followed = await followed_by(session, user_id)
    entries = []
    for contribution in services.registry.contributions("calendar"):
        build = contribution.entries if isinstance(contribution, CalendarSource) else contribution
        entries.extend(await build(session, user_id, followed, t))
    return sorted(entries, key=lambda e: (e.start, e.uid))


def etag_of(entries, lang: str, tz: str) -> str:
    """The ETag over built entries (the fallback when a contribution has no version)."""
    h = hashlib.sha256(f"{lang}|{tz}".encode())
    for e in entries:
        h.update(repr(e).encode())
    return '"' + h.hexdigest()[:32] + '"'


async def version_etag(services, session, user_id: str, scope: str, followed: frozenset,
                       lang: str, tz: str) -> str | None:
    """The ETag from the contributions' versions and the token's scope (who, which token,
    what they follow, language, zone); None when a contribution has no version."""
    h = hashlib.sha256(f"v|{FEED_FORMAT}|{user_id}|{scope}|{lang}|{tz}|{sorted(followed)!r}".encode())
    for contribution in services.registry.contributions("calendar"):
        if not isinstance(contribution, CalendarSource):
            return None
        h.update(b"|" + (await contribution.version(session, user_id, followed)).encode())
    return '"' + h.hexdigest()[:32] + '"'


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Amsterdam")


@lru_cache(maxsize=64)
def vtimezone(zone: str, first_year: int, last_year: int) -> Timezone:
    """A zone's VTIMEZONE for the years the feed spans, built once per process (the
    library's add_missing_timezones scans every event each time: half the render)."""
    return Timezone.from_tzid(zone, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1))


def render(entries, *, domain: str, name: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for e in entries:
        zone = _zone(e.tz)
        ev = Event()
        ev.add("uid", f"{e.uid}@{domain}")
        ev.add("sequence", e.sequence)
        ev.add("dtstamp", now)
        ev.add("dtstart", e.start.astimezone(zone))
        ev.add("dtend", (e.end or e.start + timedelta(minutes=30)).astimezone(zone))
        ev.add("summary", e.summary)
        ev.add("status", e.status)
        if e.description:
            ev.add("description", e.description)
        if e.location:
            ev.add("location", e.location)
        if e.url:
            ev.add("url", e.url)
        if e.categories:
            ev.add("categories", list(e.categories))
        cal.add_component(ev)
    years = [e.start.year for e in entries] or [now.year]
    for zone in sorted({_zone(e.tz).key for e in entries}):
        cal.add_component(vtimezone(zone, min(years), max(years)))
    return cal.to_ical()


class BodyCache:
    """Rendered feeds by ETag (the ETag covers every row the entries come from, the person,
    the language and the zone), so
    a client that polls without If-None-Match does not pay for rendering again."""

    def __init__(self, size: int = 256):
        self.size, self.items = size, OrderedDict()

    def get(self, etag: str) -> bytes | None:
        body = self.items.get(etag)
        if body is not None:
            self.items.move_to_end(etag)
        return body

    def put(self, etag: str, body: bytes) -> None:
        self.items[etag] = body
        while len(self.items) > self.size:
            self.items.popitem(last=False)


def make_route(limiter: RateLimit | None = None) -> HttpRoute:
    state = {"limiter": limiter}
    cache = BodyCache()

    async def serve(services, request: HttpRequest) -> HttpResponse:
        token = request.match.get("token", "")
        if not TOKEN_RE.fullmatch(token):
            return _not_found()
        presented = token_hash(token)
        limiter = state["limiter"] or RateLimit(services.settings.brokerage.feed_requests_per_minute)
        state["limiter"] = limiter
        if not limiter.allow(presented):
            return HttpResponse(429, b"too many requests\n", headers={"Retry-After": "60"})
        async with services.db.session() as session:
            row = await session.scalar(select(CalendarToken).where(CalendarToken.token_hash == presented))
            if row is None or not same_hash(row.token_hash, presented):
                return _not_found()
            prefs = await session.get(UserPrefs, row.user_id)
            t = Translator((prefs and prefs.language) or services.settings.bot.language,
                           (prefs and prefs.timezone) or services.settings.bot.timezone)
            followed = await followed_by(session, row.user_id)
            # The version is read before the entries: a write in between leaves a body newer
            # than its ETag, never older (the next request reads the new version).
            etag = await version_etag(services, session, row.user_id, presented[:16], followed, t.lang, str(t.tz))
            wanted = [x.strip() for x in (request.headers.get("If-None-Match") or "").split(",")]
            headers = {"ETag": etag or "", "Cache-Control": "private, max-age=300"}
            if etag is not None and (etag in wanted or "*" in wanted):
                return HttpResponse(304, b"", headers=headers)
            body = cache.get(etag) if etag is not None else None
            entries = None
            if body is None:
                entries = await entries_for(services, session, row.user_id, t, followed)
        if etag is None:
            etag = headers["ETag"] = etag_of(entries, t.lang, str(t.tz))
            if etag in wanted or "*" in wanted:
                return HttpResponse(304, b"", headers=headers)
            body = cache.get(etag)
        domain = services.bot_user_id.partition(":")[2] or "dsih-bot"
        if body is None:   # entries were built above whenever no body was cached
            body = render(entries, domain=domain, name=t("DSIH calendar"), now=services.clock().astimezone(timezone.utc))
            cache.put(etag, body)
        return HttpResponse(200, body, content_type="text/calendar; charset=utf-8", headers=headers)

    return HttpRoute(FEED_PATH, serve)


ROUTE = make_route()
_LABELS = (N_("DSIH calendar"),)
