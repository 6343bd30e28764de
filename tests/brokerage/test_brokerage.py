"""Brokerage through the real dispatcher (interest, partners, consented introductions, a
decline that tells nobody) and the calendar feed over real HTTP on the bot's listener
(ETag + conditional GET, a moved and a cancelled session, revoked token -> 404), with
property tests for tokens and feed isolation, and the feed's time against a static file."""
from __future__ import annotations

import asyncio
import socket
import statistics
import time
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from icalendar import Calendar

from bot.framework.effects import OPEN_ROOM
from bot.framework.http import HttpResponse, HttpRoute
from bot.metrics import MetricsServer
from commands.brokerage import calendar as feed
from storage.brokerage.models import CalendarToken
from storage.sessions.models import Participant, ReviewSession
from support.chat import Chat, make_services

ALICE, BOB, CAROL = "@alice:test", "@bob:test", "@carol:test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def env(tmp_path):
    port = free_port()
    services = await make_services(tmp_path, load_sample_data=True, rate_limit_count=10**6)
    services.settings.metrics.listen = f"127.0.0.1:{port}"
    chat = Chat(services)
    yield chat, services, port
    await services.db.dispose()


def texts(outs):
    return [o.markdown for o in outs]


async def test_interest_partners_introduction_accept_opens_room(env):
    chat, services, _ = env
    await chat.send("!organisation Gemeente Zwolle, municipality, Overijssel", sender=ALICE)
    await chat.send("!organisation Waterschap Drents Overijsselse Delta, waterschap, Drenthe", sender=BOB)
    out = await chat.text('!interest dumava-2026 "renovate our town hall"', sender=ALICE)
    assert "Registered #1" in out
    out = await chat.text("!interesse dumava-2026 klimaatbestendig gemaal", sender=BOB)
    assert "#2" in out
    # Carol registered nothing: she sees nobody.
    out = await chat.text("!partners dumava-2026", sender=CAROL)
    assert "Gemeente Zwolle" not in out and "Waterschap" not in out
    out = await chat.text("!partners dumava-2026", sender=ALICE)
    assert "Waterschap Drents Overijsselse Delta" in out and "klimaatbestendig gemaal" in out
    outs = await chat.send("!introduce 2", sender=ALICE)
    dm = [o for o in outs if o.to_user == BOB]
    assert len(dm) == 1 and "Gemeente Zwolle" in dm[0].markdown
    number = int(dm[0].markdown.split("introduce yes ")[1].split("`")[0])
    # Only Bob may answer.
    assert "Nobody asked you" in await chat.text(f"!introduce yes {number}", sender=ALICE)
    outs = await chat.send(f"!introduce yes {number}", sender=BOB)
    rooms = [o for o in outs if o.event_type == OPEN_ROOM]
    assert len(rooms) == 1
    spec = rooms[0].extra_content[OPEN_ROOM]
    assert set(spec["invite"]) == {ALICE, BOB}
    assert "renovate our town hall" in rooms[0].markdown and "klimaatbestendig gemaal" in rooms[0].markdown
    assert "Sustainable Public Buildings" in rooms[0].markdown
    again = await chat.text(f"!introduce yes {number}", sender=BOB)   # Bob wrote Dutch: answered in Dutch
    assert "al beantwoord" in again and not [o for o in await chat.send("!introduce yes 1", sender=BOB)
                                               if o.event_type == OPEN_ROOM]


async def test_decline_tells_nobody(env):
    chat, services, _ = env
    await chat.send("!interest dumava-2026 \"a\"", sender=ALICE)
    await chat.send("!interest dumava-2026 \"b\"", sender=BOB)
    outs = await chat.send("!introduce 2", sender=ALICE)
    number = int([o for o in outs if o.to_user == BOB][0].markdown.split("introduce yes ")[1].split("`")[0])
    outs = await chat.send(f"!introduce no {number}", sender=BOB)
    assert all(o.to_user in (None, BOB) and o.room_id != ALICE for o in outs)
    assert not [o for o in outs if o.to_user == ALICE or o.event_type == OPEN_ROOM]
    again = await chat.text("!introduce 2", sender=ALICE)
    assert "already asked" in again and "declin" not in again.lower()


async def test_bad_input_is_friendly(env):
    chat, _, _ = env
    out = await chat.text("!interest <script>nonsense-zzz</script>", sender=ALICE)
    assert "know no call" in out and "<script>" not in out
    assert "no interest #9" in await chat.text("!interest drop 9", sender=ALICE)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
async def test_any_interest_text_gets_an_answer(env, text):
    chat, _, _ = env
    outs = await chat.send("!interest " + text, sender=CAROL)
    assert outs and all("Traceback" not in o.markdown for o in outs)


# --------------------------------------------------------------------------- tokens
@hsettings(max_examples=200)
@given(st.text(min_size=0, max_size=60))
def test_guessed_tokens_never_match(guess):
    real = feed.new_token()
    assert not feed.same_hash(feed.token_hash(real), feed.token_hash(guess)) or guess == real


def test_tokens_are_unguessable_and_compared_in_constant_time():
    tokens = {feed.new_token() for _ in range(2000)}
    assert len(tokens) == 2000 and all(feed.TOKEN_RE.fullmatch(t) for t in tokens)
    assert all(len(t) == 43 for t in tokens)   # 256 bits of secrets.token_urlsafe
    import inspect
    assert "compare_digest" in inspect.getsource(feed.same_hash)


# --------------------------------------------------------------------------- the feed over HTTP
async def _feed_url(chat, user) -> str:
    outs = await chat.send("!calendar", sender=user)
    return [o for o in outs if o.to_user == user][0].markdown.split("`")[1]


async def _server(services, port, extra=()):
    server = MetricsServer(services.metrics, f"127.0.0.1:{port}", lambda: asyncio.sleep(0, []),
                           routes=[feed.ROUTE, *extra], services=services)
    await server.start()
    return server


async def _session(services, title, start, participants, facilitator="@facil:test"):
    async with services.db.transaction() as s:
        row = ReviewSession(title=title, facilitator=facilitator, starts_at=start, ends_at=start + timedelta(hours=1),
                            room_id="!room:test", location="Zwolle, stadhuis")
        s.add(row)
        await s.flush()
        for user, role in participants:
            s.add(Participant(session_id=row.id, user_id=user, role=role))
        return row.id


async def test_feed_follows_moves_and_cancellations_with_etag(env):
    chat, services, port = env
    start = datetime(2027, 3, 1, 13, 0, tzinfo=timezone.utc)
    sid = await _session(services, "Heat plan review", start, [(ALICE, "presenter")])
    other = await _session(services, "Bob's private session", start, [(BOB, "reviewer")])
    # An instrument with dates (DUMAVA 2026 has none since the fact check: no 2026 round is known).
    await chat.send('!interest horizon-mission-soil-2027 "soil living lab"', sender=ALICE)
    url = await _feed_url(chat, ALICE)
    server = await _server(services, port)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/calendar")
                etag, body = r.headers["ETag"], await r.read()
            cal = Calendar.from_ical(body)
            events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
            assert f"session-{sid}@test" in events and f"session-{other}@test" not in events
            assert b"Bob's private session" not in body
            assert any(u.startswith("funding-horizon-mission-soil-2027") for u in events)
            assert cal.walk("VTIMEZONE")
            assert "presenter" in str(events[f"session-{sid}@test"]["description"])
            async with http.get(url, headers={"If-None-Match": etag}) as r:
                assert r.status == 304
            async with services.db.transaction() as s:
                row = await s.get(ReviewSession, sid)
                row.starts_at, row.ends_at = start + timedelta(days=1), start + timedelta(days=1, hours=1)
            async with http.get(url, headers={"If-None-Match": etag}) as r:
                assert r.status == 200
                etag2, cal = r.headers["ETag"], Calendar.from_ical(await r.read())
            ev = {str(e["uid"]): e for e in cal.walk("VEVENT")}[f"session-{sid}@test"]
            assert int(ev["sequence"]) == 1 and ev.decoded("dtstart").astimezone(timezone.utc) == start + timedelta(days=1)
            async with services.db.transaction() as s:
                row = await s.get(ReviewSession, sid)
                row.status = "cancelled"
            async with http.get(url, headers={"If-None-Match": etag2}) as r:
                cal = Calendar.from_ical(await r.read())
            ev = {str(e["uid"]): e for e in cal.walk("VEVENT")}[f"session-{sid}@test"]
            assert str(ev["status"]) == "CANCELLED" and int(ev["sequence"]) == 2
            # Revoked: the old address is gone, the new one works.
            new_url = (await chat.send("!calendar reset", sender=ALICE))
            new_url = [o for o in new_url if o.to_user == ALICE][0].markdown.split("`")[1]
            async with http.get(url) as r:
                assert r.status == 404
            async with http.get(new_url) as r:
                assert r.status == 200
            async with http.get(url.replace(".ics", "x.ics")) as r:
                assert r.status == 404
    finally:
        await server.stop()


async def test_no_feed_lists_another_users_data(env):
    chat, services, port = env
    start = datetime(2027, 4, 1, 9, 0, tzinfo=timezone.utc)
    users = [f"@u{i}:test" for i in range(5)]
    ids = {u: await _session(services, f"secret-of-{u}", start, [(u, "reviewer")]) for u in users}
    server = await _server(services, port)
    try:
        async with aiohttp.ClientSession() as http:
            for u in users:
                async with http.get(await _feed_url(chat, u)) as r:
                    body = (await r.read()).decode()
                for v in users:
                    assert (f"secret-of-{v}" in body) == (v == u)
                    assert (f"session-{ids[v]}@" in body) == (v == u)
    finally:
        await server.stop()


async def test_feed_time_against_static_file(env, tmp_path, capsys):
    """200 sessions and 500 deadlines in one feed vs a static file on the same listener."""
    chat, services, port = env
    start = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)
    for i in range(200):
        await _session(services, f"Session {i}", start + timedelta(days=i), [(ALICE, "reviewer")])
    from storage.funding.models import FundingInstrument
    async with services.db.transaction() as s:
        for i in range(25):   # 25 followed calls (at most 30 interests each) x 20 deadlines = 500
            s.add(FundingInstrument(id=f"bench-{i}", title=f"Bench call {i}", level="eu",
                                    deadlines=[{"at": f"2027-{1 + j % 12:02d}-{1 + j:02d}T17:00:00", "tz": "Europe/Brussels"}
                                               for j in range(20)]))
    for i in range(25):
        await chat.send(f"!interest bench-{i}", sender=ALICE)
    url = await _feed_url(chat, ALICE)
    static = tmp_path / "static.ics"
    static.write_bytes(b"x" * 200_000)

    async def serve_static(_services, _request):
        return HttpResponse(200, static.read_bytes(), content_type="text/calendar")

    route = feed.make_route(feed.RateLimit(10_000))   # the benchmark is not rate limited
    server = MetricsServer(services.metrics, f"127.0.0.1:{port}", lambda: asyncio.sleep(0, []),
                           routes=[route, HttpRoute("/static.ics", serve_static)], services=services)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async def timed(u, headers=None):
                samples = []
                for _ in range(15):
                    t0 = time.perf_counter()
                    async with http.get(u, headers=headers or {}) as r:
                        body = await r.read()
                        status = r.status
                    samples.append(time.perf_counter() - t0)
                return statistics.median(samples), status, body
            feed_t, status, body = await timed(url)
            cal = Calendar.from_ical(body)
            assert status == 200 and len(cal.walk("VEVENT")) == 700
            async with http.get(url) as r:
                etag = r.headers["ETag"]
            cond_t, status304, _ = await timed(url, {"If-None-Match": etag})
            assert status304 == 304
            static_t, _, _ = await timed(f"http://127.0.0.1:{port}/static.ics")
        with capsys.disabled():
            print(f"\nfeed 200 sessions + 500 deadlines ({len(body)} bytes): median {feed_t * 1000:.1f} ms; "
                  f"conditional GET 304: {cond_t * 1000:.1f} ms; static 200 kB file: {static_t * 1000:.1f} ms")
    finally:
        await server.stop()


async def test_digest_who_else_counts_without_names_unless_opted_in(env):
    chat, services, _ = env
    from support.chat import Clock
    clock = Clock(datetime.now(timezone.utc))
    services.clock = clock
    await chat.send("!subscribe energy-transition weekly", sender=CAROL)
    clock.now += timedelta(hours=1)
    await chat.send("!organisation Gemeente Zwolle, municipality, Overijssel", sender=ALICE)
    await chat.send("!organisation Gemeente Deventer, municipality, Overijssel", sender="@dave:test")
    await chat.send("!organisation Provincie Gelderland, province, Gelderland --named", sender=BOB)
    for user in (ALICE, "@dave:test", BOB):
        await chat.send('!interest dumava-2026 "plans"', sender=user)
    clock.now += timedelta(hours=2)
    out = await chat.text("!digest preview", sender=CAROL)
    assert "Who else" in out, out
    print(out[out.index("Who else"):])
    assert "2 municipalities and 1 province registered interest in" in out
    assert "Provincie Gelderland" in out                         # opted in to be named
    assert "Zwolle" not in out and "Deventer" not in out        # counted only
    assert ALICE not in out and "@dave" not in out


async def test_mydata_shows_interests_and_introductions(env):
    chat, _, _ = env
    await chat.send('!interest dumava-2026 "a plan"', sender=ALICE)
    await chat.send('!interest dumava-2026 "b plan"', sender=BOB)
    await chat.send("!introduce 2", sender=ALICE)
    out = await chat.text("!mydata", sender=ALICE)
    assert "interests you registered" in out and "introductions you asked for" in out and "a plan" in out
    out = await chat.text("!mydata", sender=BOB)
    assert "introductions asked of you" in out and "waiting for an answer" in out


async def test_lab_contact_sees_interest_and_answers_with_an_offer(env):
    chat, services, _ = env
    from storage.labs.models import Lab
    async with services.db.transaction() as s:
        lab = await s.get(Lab, "the-green-village")
        lab.contact = CAROL
    outs = await chat.send('!interest the-green-village "test heat-stress sensors on a square"', sender=ALICE)
    to_contact = [o for o in outs if o.to_user == CAROL]
    assert len(to_contact) == 1 and "sensors on a square" in to_contact[0].markdown
    number = int(to_contact[0].markdown.split("offer ")[1].split(" ")[0])
    # The contact sees who is interested without registering interest herself.
    assert "sensors on a square" in await chat.text("!partners the-green-village", sender=CAROL)
    # Someone else cannot answer for the lab.
    assert "no interest" in await chat.text(f"!offer {number} free use", sender=BOB)
    outs = await chat.send(f"!offer {number} Come on Tuesday, the square is free in March", sender=CAROL)
    told = [o for o in outs if o.to_user == ALICE]
    assert len(told) == 1 and "square is free in March" in told[0].markdown


async def test_feed_is_rate_limited_and_unknown_tokens_are_404(env):
    chat, services, port = env
    url = await _feed_url(chat, ALICE)
    route = feed.make_route(feed.RateLimit(3))
    server = MetricsServer(services.metrics, f"127.0.0.1:{port}", lambda: asyncio.sleep(0, []),
                           routes=[route], services=services)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(5):
                async with http.get(url) as r:
                    statuses.append(r.status)
            assert statuses == [200, 200, 200, 429, 429]
            for bad in ("x" * 43, feed.new_token(), "../../etc/passwd", "%00"):
                async with http.get(f"http://127.0.0.1:{port}/calendar/{bad}.ics") as r:
                    assert r.status == 404
    finally:
        await server.stop()


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["presenter", "reviewer", "observer", "note_taker"])),
                min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["dumava-2025", "dumava-2026"])), max_size=6))
async def test_property_no_feed_lists_what_its_owner_may_not_see(env, seats, interests):
    """Whatever sessions people are in and whatever calls they follow, a person's feed holds
    exactly their own sessions and the deadlines of the calls they follow."""
    chat, services, _ = env
    from bot.framework.i18n import Translator
    from sqlalchemy import delete
    from storage.brokerage.models import Interest
    users = [f"@p{i}:test" for i in range(4)]
    async with services.db.transaction() as s:
        await s.execute(delete(Participant))
        await s.execute(delete(ReviewSession))
        await s.execute(delete(Interest))
        for n, (who, role) in enumerate(seats):
            row = ReviewSession(title=f"s{n}", facilitator="@facil:test", room_id="!r:test",
                                starts_at=datetime(2027, 1, 1, tzinfo=timezone.utc) + timedelta(days=n),
                                ends_at=datetime(2027, 1, 1, 1, tzinfo=timezone.utc) + timedelta(days=n))
            s.add(row)
            await s.flush()
            s.add(Participant(session_id=row.id, user_id=users[who], role=role))
        for who, call in set(interests):
            s.add(Interest(user_id=users[who], ref_kind="instrument", ref_id=call, title=call, intent="", themes=[]))
    async with services.db.session() as s:
        for i, user in enumerate(users):
            entries = await feed.entries_for(services, s, user, Translator("en"))
            sessions = {e.summary.split(": ", 1)[1] for e in entries if e.uid.startswith("session-")}
            assert sessions == {f"s{n}" for n, (who, _) in enumerate(seats) if who == i}
            calls = {e.uid.split("-20")[0].removeprefix("funding-") for e in entries if e.uid.startswith("funding-")}
            assert calls <= {c.split("-20")[0] for who, c in interests if who == i}
            followed = {c for who, c in interests if who == i}
            assert all(any(e.uid.startswith(f"funding-{c}-") for c in followed) for e in entries
                       if e.uid.startswith("funding-"))
