"""The calendar feed's ETag comes from cheap version queries (issue 20 polish), so a
conditional GET with the current ETag answers 304 without building a single entry; and it
is still right: every change the feed would show (a moved, cancelled or new session, a new
role, an action item added or changed, a followed call's deadline moved or added, a new
interest, the reader's language) gives a new ETag, and a feed served under an ETag is the
feed the entries give. In-process (the route's handler); the HTTP round trip is in
test_brokerage.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, update

from bot.framework.http import HttpRequest
from commands.brokerage import calendar as feed
from storage.brokerage.models import CalendarToken, Interest
from storage.funding.models import FundingInstrument
from storage.models.core import UserPrefs
from storage.sessions.models import Participant, ReviewSession, SessionAction
from support.chat import make_services

ALICE, BOB = "@alice:test", "@bob:test"
START = datetime(2027, 3, 1, 13, 0, tzinfo=timezone.utc)


@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path, modules=("core", "funding", "sessions", "brokerage"),
                                   load_sample_data=False, rate_limit_count=10**6)
    token = feed.new_token()
    async with services.db.transaction() as s:
        s.add(CalendarToken(user_id=ALICE, token_hash=feed.token_hash(token), created_at=START))
        s.add(FundingInstrument(id="call-1", title="Call one", level="eu",
                                deadlines=[{"at": "2027-04-01T17:00:00", "tz": "Europe/Brussels"}]))
        s.add(FundingInstrument(id="call-2", title="Call two", level="eu",
                                deadlines=[{"at": "2027-05-01T17:00:00", "tz": "Europe/Brussels"}]))
        s.add(Interest(user_id=ALICE, ref_kind="instrument", ref_id="call-1", title="Call one"))
        row = ReviewSession(title="Heat plan", facilitator="@facil:test", starts_at=START,
                            ends_at=START + timedelta(hours=1), room_id="!room:test")
        s.add(row)
        await s.flush()
        s.add(Participant(session_id=row.id, user_id=ALICE, role="reviewer"))
    yield services, token, row.id
    await services.db.dispose()


class Counting:
    """Counts the entries built (the dear part a 304 must skip)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = feed.entries_for

        async def counted(*args, **kwargs):
            self.calls += 1
            return await real(*args, **kwargs)
        monkeypatch.setattr(feed, "entries_for", counted)


async def _get(services, route, token, etag=None):
    headers = {"If-None-Match": etag} if etag else {}
    resp = await route.handler(services, HttpRequest("GET", f"/calendar/{token}.ics", {"token": token}, headers))
    return resp.status, resp.headers.get("ETag"), resp.body


async def test_a_conditional_get_with_the_current_etag_builds_nothing(env, monkeypatch):
    services, token, _ = env
    route = feed.make_route(feed.RateLimit(10**6))
    counting = Counting(monkeypatch)
    status, etag, body = await _get(services, route, token)
    assert status == 200 and b"Heat plan" in body and counting.calls == 1
    for _ in range(5):
        status, again, body = await _get(services, route, token, etag)
        assert (status, again, body) == (304, etag, b"")
    assert counting.calls == 1
    # A client without If-None-Match gets the rendered body from the cache: nothing built either.
    status, again, body2 = await _get(services, route, token)
    assert status == 200 and again == etag and b"Heat plan" in body2 and counting.calls == 1


async def _session_row(s, sid):
    return await s.get(ReviewSession, sid)


async def test_every_change_the_feed_would_show_changes_the_etag(env):
    services, token, sid = env
    route = feed.make_route(feed.RateLimit(10**6))
    seen = []

    async def etag_now():
        status, etag, _ = await _get(services, route, token)
        assert status == 200
        return etag

    async def changed(what):
        etag = await etag_now()
        assert etag not in seen, f"{what}: the ETag did not change"
        seen.append(etag)
        status, _, _ = await _get(services, route, token, etag)
        assert status == 304, what

    await changed("start")
    assert await etag_now() == seen[-1]               # nothing changed: the same ETag
    async with services.db.transaction() as s:
        row = await s.get(ReviewSession, sid)
        row.starts_at, row.ends_at = START + timedelta(days=1), START + timedelta(days=1, hours=1)
    await changed("session moved")
    async with services.db.transaction() as s:
        (await s.get(ReviewSession, sid)).status = "cancelled"
    await changed("session cancelled")
    async with services.db.transaction() as s:      # written without the ORM: no sequence bump
        await s.execute(update(ReviewSession).where(ReviewSession.id == sid).values(cancel_reason="ill"))
    await changed("cancel reason")
    async with services.db.transaction() as s:
        new = ReviewSession(title="Second", facilitator=ALICE, starts_at=START, ends_at=START + timedelta(hours=1),
                            room_id="!room:test")
        s.add(new)
    await changed("new session she facilitates")
    async with services.db.transaction() as s:
        await s.execute(update(Participant).where(Participant.session_id == sid).values(role="observer"))
    await changed("role")
    async with services.db.transaction() as s:
        s.add(SessionAction(session_id=sid, text="Send the map", owner=ALICE, due=START, created_by="@facil:test"))
    await changed("action added")
    async with services.db.transaction() as s:
        await s.execute(update(SessionAction).values(due=START + timedelta(days=2)))
    await changed("action moved")
    async with services.db.transaction() as s:
        row = await s.get(FundingInstrument, "call-1")
        row.deadlines = [{"at": "2027-03-20T17:00:00", "tz": "Europe/Brussels"}]
    await changed("deadline moved earlier")
    async with services.db.transaction() as s:
        row = await s.get(FundingInstrument, "call-1")
        row.deadlines = row.deadlines + [{"at": "2027-09-20T17:00:00", "tz": "Europe/Brussels"}]
    await changed("new deadline")
    async with services.db.transaction() as s:
        await s.execute(update(FundingInstrument).where(FundingInstrument.id == "call-1").values(dates_indicative=True))
    await changed("deadline now an estimate")
    async with services.db.transaction() as s:
        s.add(Interest(user_id=ALICE, ref_kind="instrument", ref_id="call-2", title="Call two"))
    await changed("a new followed call")
    async with services.db.transaction() as s:
        s.add(UserPrefs(user_id=ALICE, language="nl"))
    await changed("language")
    # Someone else's changes leave her ETag alone.
    before = await etag_now()
    async with services.db.transaction() as s:
        s.add(Interest(user_id=BOB, ref_kind="instrument", ref_id="call-1", title="Call one"))
        s.add(SessionAction(session_id=sid, text="Bob's", owner=BOB, due=START, created_by="@facil:test"))
    assert await etag_now() == before


async def test_the_body_under_an_etag_is_the_one_the_entries_give(env):
    services, token, sid = env
    route = feed.make_route(feed.RateLimit(10**6))
    _, etag, body = await _get(services, route, token)
    async with services.db.transaction() as s:
        row = await s.get(FundingInstrument, "call-1")
        row.deadlines = [{"at": "2027-03-20T17:00:00", "tz": "Europe/Brussels"}]
    _, etag2, body2 = await _get(services, route, token)
    assert etag2 != etag and b"20270320T170000" in body2 and b"20270401T170000" not in body2
    async with services.db.transaction() as s:
        await s.execute(delete(Interest))
    _, etag3, body3 = await _get(services, route, token)
    assert etag3 not in (etag, etag2) and b"Call one" not in body3 and b"Heat plan" in body3


async def test_a_contribution_without_a_version_falls_back_to_hashing_the_entries(env, monkeypatch):
    services, token, sid = env
    from bot.framework.references import CalendarSource
    registry = services.registry
    real = registry.contributions

    def plain_only(kind):
        found = real(kind)
        return [c.entries if isinstance(c, CalendarSource) else c for c in found] if kind == "calendar" else found
    monkeypatch.setattr(registry, "contributions", plain_only)
    route = feed.make_route(feed.RateLimit(10**6))
    status, etag, body = await _get(services, route, token)
    assert status == 200 and b"Heat plan" in body and etag
    assert (await _get(services, route, token, etag))[0] == 304
    async with services.db.transaction() as s:
        (await s.get(ReviewSession, sid)).status = "cancelled"
    status, etag2, body = await _get(services, route, token, etag)
    assert status == 200 and etag2 != etag and b"CANCELLED" in body


async def test_the_versions_are_stable_and_move_on_sqlite_and_postgresql(db):
    """The fingerprint query (group_concat / string_agg) on both databases: the same rows give
    the same version twice; a moved session, a changed role, a new action, a moved deadline
    each give a new one."""
    from storage.funding.lookup import calendar_version
    from storage.sessions.calendar_feed import version
    followed = frozenset({("instrument", "call-1")})
    async with db.transaction() as s:
        s.add(FundingInstrument(id="call-1", title="Call one", level="eu",
                                deadlines=[{"at": "2027-04-01T17:00:00", "tz": "Europe/Brussels"}]))
        row = ReviewSession(title="Heat plan", facilitator="@facil:test", starts_at=START,
                            ends_at=START + timedelta(hours=1), room_id="!room:test")
        s.add(row)
        await s.flush()
        s.add(Participant(session_id=row.id, user_id=ALICE, role="reviewer"))
        sid = row.id

    async def both():
        async with db.session() as s:
            return await version(s, ALICE, followed), await calendar_version(s, ALICE, followed)
    seen = [await both()]
    assert await both() == seen[0]
    async with db.transaction() as s:
        await s.execute(update(ReviewSession).where(ReviewSession.id == sid).values(starts_at=START + timedelta(days=1)))
    seen.append(await both())
    async with db.transaction() as s:
        await s.execute(update(Participant).values(role="observer"))
    seen.append(await both())
    async with db.transaction() as s:
        s.add(SessionAction(session_id=sid, text="Map", owner=ALICE, due=START, created_by="@facil:test"))
    seen.append(await both())
    async with db.transaction() as s:
        (await s.get(FundingInstrument, "call-1")).deadlines = [{"at": "2027-03-01T17:00:00", "tz": "Europe/Brussels"}]
    seen.append(await both())
    assert len({v[0] for v in seen}) == 4 and len({v[1] for v in seen}) == 2, seen
    assert await both() == seen[-1]
