"""Knowledge items: URL normalisation and topic inference (examples and properties),
!share / !knowledge / moderation through the real dispatcher, and feeds polled from a
local HTTP server (RSS, Atom, a broken feed, a changing feed, 304 answers, a failing one)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from bot.framework.render import message_content
from commands.knowledge.feeds import backoff, poll_feeds
from config.settings import KnowledgeSettings
from storage.knowledge.records import BadURL, clean_url, html_to_text, infer_topics, url_key
from storage.knowledge.models import KnowledgeFeed, KnowledgeItem
from support.chat import Chat, make_services
from support.html_safety import html_problems, internal_errors
from support.feed_server import FeedServer

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- URLs
@pytest.mark.parametrize("a,b", [
    ("https://www.vng.nl/artikelen/x/", "http://vng.nl/artikelen/x"),
    ("https://VNG.nl:443/a?b=2&a=1", "https://vng.nl/a?a=1&b=2"),
    ("http://vng.nl:80/a#section", "https://vng.nl/a"),
    ("https://vng.nl/a?utm_source=nb&utm_medium=mail&fbclid=1&gclid=2&mc_cid=3&mc_eid=4&id=7", "https://vng.nl/a?id=7"),
    ("www.vng.nl/a", "https://vng.nl/a"),
    ("https://vng.nl/a%7Eb", "https://vng.nl/a~b"),
])
def test_same_resource_same_key(a, b):
    assert url_key(a) == url_key(b)


@pytest.mark.parametrize("a,b", [
    ("https://vng.nl/a", "https://vng.nl/b"),
    ("https://vng.nl/a?id=1", "https://vng.nl/a?id=2"),
    ("https://vng.nl:8080/a", "https://vng.nl/a"),
    ("https://vng.nl/A", "https://vng.nl/a"),          # paths are case-sensitive on most servers
    ("https://ipo.nl/a", "https://vng.nl/a"),
])
def test_different_resources_differ(a, b):
    assert url_key(a) != url_key(b)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "ftp://x.nl/a", "mailto:a@b.nl", "https://exa mple.nl",
                                 "", "https://", "http://<script>/", "https://nodot/x", "data:text/html,hi",
                                 "https://x.nl:99999/", "x" * 3000])
def test_bad_links_are_refused(bad):
    with pytest.raises(BadURL):
        clean_url(bad)


HOSTS = st.from_regex(r"[a-z](?:[a-z0-9-]{0,8}[a-z0-9])?\.(nl|eu|org)", fullmatch=True)
PATHS = st.lists(st.from_regex(r"[A-Za-z0-9_.~-]{1,8}", fullmatch=True), max_size=4).map(lambda p: "/".join(p))
PARAMS = st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True).filter(lambda k: k not in ("si", "spm", "trk")),
                         st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True), max_size=3)


@given(host=HOSTS, path=PATHS, params=PARAMS, scheme=st.sampled_from(["http", "https"]), www=st.booleans(),
       slash=st.booleans(), tracking=st.lists(st.sampled_from(["utm_source", "utm_campaign", "fbclid", "gclid",
                                                               "mc_cid", "mc_eid"]), max_size=3),
       fragment=st.from_regex(r"[a-z0-9]{0,6}", fullmatch=True), shuffle=st.randoms())
def test_noise_never_changes_the_key(host, path, params, scheme, www, slash, tracking, fragment, shuffle):
    base = f"https://{host}/{path}" + (("?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))) if params else "")
    pairs = [*params.items(), *((t, "x") for t in tracking)]
    shuffle.shuffle(pairs)
    noisy = (f"{scheme}://{'www.' if www else ''}{host.upper()}/{path}{'/' if slash and path else ''}"
             + ("?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else "") + (f"#{fragment}" if fragment else ""))
    assert url_key(noisy) == url_key(base)
    assert url_key(url_key(base)) == url_key(base)    # the key is itself a link to the same resource


@given(st.text(max_size=300))
def test_any_text_is_a_link_or_a_clear_refusal(text):
    try:
        link = clean_url(text)
    except BadURL as exc:
        assert str(exc) and "{" not in str(exc)
        return
    assert link.startswith(("http://", "https://")) and len(url_key(link)) <= 500


# --------------------------------------------------------------------------- topics and text
@pytest.mark.parametrize("text,expected", [
    ("Hittestress aanpakken in de wijk", "climate-adaptation"),
    ("Lessons from our local digital twin", "data-digital-twins"),
    ("Circulair aanbesteden in de GWW", "circular-economy"),
    ("Laadpalen en deelmobiliteit in kleine kernen", "mobility"),
    ("Warmtepomp en isolatie voor corporatiewoningen", "energy-transition"),
    ("Digitale vaardigheden van ouderen", "digital-inclusion"),
])
def test_topics_are_inferred_from_the_text(text, expected):
    assert infer_topics(text)[0] == expected


def test_no_topic_for_unrelated_text():
    assert infer_topics("Verslag van de vergadering van dinsdag") == []


def test_html_to_text_strips_markup_and_scripts():
    assert html_to_text("<p>Wat wij <b>leerden</b> &amp; deden</p><script>alert(1)</script>") == "Wat wij leerden & deden"
    assert len(html_to_text("woord " * 1000, limit=100)) <= 100


# --------------------------------------------------------------------------- chat
@pytest.fixture
async def chat(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "knowledge"], now=NOW,
                                   load_sample_data=True, rate_limit_count=10**6, facilitators=("@facil:test",))
    yield Chat(services)
    await services.db.dispose()


def plain(outs) -> str:
    return "\n\n".join(message_content(o.markdown)["body"] for o in outs)


async def test_share_then_search_finds_it_with_topics_shown(chat):
    reply = plain(await chat.send('!share https://www.testdam.nl/hitte?utm_source=nb "Cool spots for the hot summer" '
                                  '#hittestress --kind case What we learned about shade and green roofs'))
    assert "Shared as item #27" in reply and "Climate adaptation" in reply
    found = plain(await chat.send("!knowledge cool spots"))
    assert "1. Cool spots for the hot summer" in found and "case" in found and "#27" in found
    dutch = plain(await chat.send("!kennis klimaatadaptatie --soort casus"))
    assert "Cool spots for the hot summer" in dutch and "casus" in dutch and "kennisitem voor" in dutch


async def test_unquoted_title_and_inferred_topics(chat):
    reply = plain(await chat.send("!deel testdam.nl/laadpalen Laadpalen in kleine kernen"))
    assert "Laadpalen in kleine kernen" in reply and "Duurzame mobiliteit" in reply and "herkende" in reply
    row = await _item(chat, "testdam.nl/laadpalen")
    assert row.title == "Laadpalen in kleine kernen" and row.topics == ["mobility"] and row.url.startswith("https://")


async def test_duplicate_link_is_merged_not_added(chat):
    await chat.send('!share https://testdam.nl/hitte/ "Koele plekken in de wijk" #hittestress')
    reply = plain(await chat.send('!share http://www.testdam.nl/hitte?fbclid=abc#x "Other title" #wonen '
                                  'A summary the first share lacked', sender="@bob:test"))
    assert "already shared, as item #27" in reply and "topics, summary" in reply
    async with chat.services.db.session() as s:
        rows = list((await s.scalars(select(KnowledgeItem).where(KnowledgeItem.url_key == "testdam.nl/hitte"))).all())
    assert len(rows) == 1 and rows[0].topics == ["climate-adaptation", "housing"]
    assert rows[0].title == "Koele plekken in de wijk" and rows[0].summary == "A summary the first share lacked"
    again = plain(await chat.send('!share https://testdam.nl/hitte "x y z" #hittestress'))
    assert "Niets nieuws om toe te voegen" in again   # Dutch: the user wrote Dutch (#hittestress, their last share)


async def test_bad_input_gets_a_clear_error(chat):
    assert "Only web links" in plain(await chat.send('!share javascript:alert(1) "Mooie titel"'))
    assert "not a topic I know" in plain(await chat.send('!share https://a.nl "Mooie titel" #klimaatadaptie'))
    assert "Only events and trainings" in plain(await chat.send('!share https://a.nl "Titel" --kind tool '
                                                                '--date "3 december 2027 14:00"'))
    assert "at least 3 characters" in plain(await chat.send('!share https://a.nl "x"'))
    assert "is not one of" in plain(await chat.send('!share https://a.nl "Titel" --kind poem'))


async def test_events_show_their_date_and_passed_ones_sink(chat):
    reply = plain(await chat.send('!share https://a.nl/bijeenkomst "Bijeenkomst klimaatadaptatie" --kind evenement '
                                  '--date "3 december 2026 14:00"'))
    assert "Thursday 3 December 2026 14:00" in reply
    listing = plain(await chat.send("!knowledge klimaatadaptatie --kind event"))
    assert "Bijeenkomst klimaatadaptatie" in listing
    snuffel = plain(await chat.send("!knowledge snuffelfiets"))
    first, passed = snuffel.index("Snuffelfiets: fietsers"), snuffel.index("Online evenement")
    assert first < passed and "(passed)" in snuffel[passed:]


async def test_moderation_pending_until_a_facilitator_approves(chat):
    chat.services.settings.knowledge.moderation = True
    for user in ("@alice:test", "@bob:test", "@facil:test"):
        await chat.send("!lang en", sender=user)   # the replies' language would otherwise follow the (Dutch) text
    reply = plain(await chat.send('!share https://testdam.nl/warmte "Warmtenet in de wijk" #energie', sender="@bob:test"))
    assert "A facilitator looks at it first" in reply
    assert "No knowledge items found" in plain(await chat.send("!knowledge warmtenet"))
    refused = plain(await chat.send("!approve 27", sender="@bob:test", room="!community:test", power_level=100,
                                    room_grants_roles=True))
    assert "Only a hub facilitator or an admin can use" in refused
    waiting = plain(await chat.send("!goedkeuren", sender="@facil:test"))
    assert "Warmtenet in de wijk" in waiting and "@bob:test" in waiting
    outs = await chat.send("!approve 27", sender="@facil:test")
    dm = [o for o in outs if o.to_user == "@bob:test"]
    assert len(dm) == 1 and "approved" in dm[0].markdown
    assert "Warmtenet in de wijk" in plain(await chat.send("!knowledge warmtenet"))
    assert (await _item(chat, "testdam.nl/warmte")).shared_at == NOW
    assert "not waiting for approval" in plain(await chat.send("!reject 27", sender="@facil:test"))


async def test_reject_tells_the_sharer_with_the_reason(chat):
    chat.services.settings.knowledge.moderation = True
    await chat.send('!share https://testdam.nl/reclame "Koop onze sensoren" #data', sender="@bob:test")
    outs = await chat.send("!afwijzen 27 reclame hoort hier niet", sender="@facil:test")
    dm = [o for o in outs if o.to_user == "@bob:test"]
    assert len(dm) == 1 and "reclame hoort hier niet" in dm[0].markdown
    assert (await _item(chat, "testdam.nl/reclame")).status == "hidden"
    assert "There is no knowledge item #27" in plain(await chat.send("!knowledge 27", sender="@carol:test"))


async def _item(chat, key):
    async with chat.services.db.session() as s:
        return await s.scalar(select(KnowledgeItem).where(KnowledgeItem.url_key == key))


SHARE_FRAGMENTS = st.sampled_from(['"', "'", "<script>alert(1)</script>", "<img src=x onerror=y>", "--kind",
                                   "--date", "--topic", "#", "#hittestress", "#<b>x</b>", "[x](javascript:alert(1))",
                                   "**", "`", "\\", "https://a.nl/<script>", "javascript:x", "www.vng.nl/a",
                                   "{id}", "{0}", "\u202e", "\x00", "x" * 2500, "evenement", "morgen 9:00"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cmd=st.sampled_from(["!share", "!deel", "!knowledge", "!kennis", "!approve", "!reject"]),
       parts=st.lists(st.one_of(st.text(max_size=30), SHARE_FRAGMENTS), max_size=8),
       sender=st.sampled_from(["@alice:test", "@facil:test"]))
async def test_share_and_search_never_crash_or_inject_html(chat, cmd, parts, sender):
    for reply in await chat.send(cmd + " " + " ".join(parts), sender=sender):
        content = message_content(reply.markdown)
        assert not html_problems(content["formatted_body"]), content["formatted_body"]
    assert internal_errors(chat.services) == 0, parts


# --------------------------------------------------------------------------- feeds
def feed(url, **kw):
    return KnowledgeSettings.Feed(url=url, **kw)


async def test_feeds_conditional_requests_backoff_and_dedup(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "knowledge"], now=NOW, rate_limit_count=10**6)
    with FeedServer() as server:
        services.settings.knowledge.feeds = [
            feed(f"{server.url}/rss.xml", topics=["healthy-living"], organisation="Gemeente Testdam"),
            feed(f"{server.url}/atom.xml", kind="tool"),
            feed(f"{server.url}/broken.xml"),
            feed(f"{server.url}/changing.xml", kind="publicatie"),
            feed(f"{server.url}/conditional.xml", moderation=True),
            feed(f"{server.url}/down.xml"),
            feed(f"{server.url}/rss.xml"),                       # listed twice by mistake: polled once
        ]
        async with services.db.transaction() as s:
            first = await poll_feeds(services, s, NOW)
        assert first[f"{server.url}/rss.xml"] == 2 and first[f"{server.url}/atom.xml"] == 1   # 2nd Atom entry = RSS item
        assert first[f"{server.url}/changing.xml"] == 1 and first[f"{server.url}/conditional.xml"] == 1
        assert "not a valid RSS or Atom feed" in first[f"{server.url}/broken.xml"]
        assert "HTTP 500" in first[f"{server.url}/down.xml"]

        async with services.db.session() as s:
            hot = await s.scalar(select(KnowledgeItem).where(KnowledgeItem.url_key == "testdam.example.nl/nieuws/hitte"))
            assert hot.summary == "Wat wij leerden over hitte en groene daken." and "<" not in hot.summary
            assert hot.topics[0] == "healthy-living" and "climate-adaptation" in hot.topics
            assert hot.organisation == "Gemeente Testdam" and hot.language == "nl" and hot.entry_id.endswith("testdam-1")
            twin = await s.scalar(select(KnowledgeItem).where(KnowledgeItem.entry_id == "urn:test:atom:1"))
            assert twin.title == "Digitale tweeling voor waterberging" and twin.kind == "tool"
            assert twin.organisation == "Kennisportaal Test"
            cond = await s.scalar(select(KnowledgeItem).where(KnowledgeItem.url_key == "cond.example.org/energy"))
            assert cond.status == "pending"      # this feed is moderated

        # Nothing is due before the interval has passed (the failing feeds back off further).
        async with services.db.transaction() as s:
            assert await poll_feeds(services, s, NOW + timedelta(minutes=5)) == {}
        server.change()
        later = NOW + timedelta(hours=1)
        async with services.db.transaction() as s:
            second = await poll_feeds(services, s, later)
        assert second[f"{server.url}/rss.xml"] == 0 and second[f"{server.url}/atom.xml"] == 0
        assert second[f"{server.url}/changing.xml"] == 1 and second[f"{server.url}/conditional.xml"] == 0
        assert "not a valid" in second[f"{server.url}/broken.xml"]   # 2nd failure: the next try waits 2 h
        assert server.headers_for("/rss.xml")[-1]["if-none-match"] == '"rss-v1"'
        assert server.headers_for("/atom.xml")[-1]["if-modified-since"] == "Fri, 20 Nov 2026 10:00:00 GMT"
        cond_headers = server.headers_for("/conditional.xml")
        assert "if-none-match" not in cond_headers[0]
        assert cond_headers[-1]["if-none-match"] == 'W/"cond-1"' and "if-modified-since" in cond_headers[-1]

        async with services.db.transaction() as s:
            third = await poll_feeds(services, s, NOW + timedelta(hours=2))
        assert f"{server.url}/broken.xml" not in third and third[f"{server.url}/rss.xml"] == 0
        async with services.db.session() as s:
            broken = await s.get(KnowledgeFeed, f"{server.url}/broken.xml")
            rss = await s.get(KnowledgeFeed, f"{server.url}/rss.xml")
            total = len((await s.scalars(select(KnowledgeItem))).all())
        assert broken.failures == 2 and broken.last_ok is None
        assert broken.next_attempt == later + timedelta(hours=2)
        assert rss.failures == 0 and rss.items == 2 and rss.title == "Gemeente Testdam nieuws"
        assert total == 6

        listing = plain(await Chat(services).send("!feeds", sender="@facil:test"))
        assert "Gemeente Testdam nieuws" in listing and "2 items brought in" in listing
        assert "failed 2 times in a row: not a valid RSS or Atom feed" in listing and "HTTP 500" in listing
        refused = plain(await Chat(services).send("!feeds", sender="@alice:test"))
        assert "Only a hub facilitator or an admin can use" in refused
        found = plain(await Chat(services).send("!knowledge circulair aanbesteden"))
        assert "Second guide on circular tendering" in found
    await services.db.dispose()


def test_backoff_doubles_up_to_a_day():
    hour = timedelta(hours=1)
    assert [backoff(hour, n) for n in (1, 2, 3, 6, 10)] == [hour, 2 * hour, 4 * hour, 24 * hour, 24 * hour]


@pytest.mark.parametrize("title,kind", [
    ("Leergang datagedreven werken", "training"), ("Webinar digitale tweelingen", "event"),
    ("Handreiking hittestress", "tool"), ("Rapport over netcongestie", "publication"),
    ("Pilot laadpalen in Zwolle", "case"), ("Wat we leerden over groene daken", "lesson"),
])
def test_kind_is_inferred_from_the_title(title, kind):
    from storage.knowledge.records import infer_kind
    assert infer_kind(title) == kind


async def test_a_day_without_time_shows_as_a_date(chat):
    listing = plain(await chat.send("!knowledge jaarevent cb23"))
    assert "Thursday 29 June 2023 (passed)" in listing and "00:00" not in listing
    reply = plain(await chat.send('!share https://a.nl/w "Webinar digitale tweelingen" --date "3 december 2026 15:00"'))
    assert "(event)" in reply


async def test_one_pending_poll_job_that_plans_the_next_and_forgets_old_runs(tmp_path):
    from bot.scheduler import Scheduler
    from commands.knowledge.feeds import POLL_GROUP, plan_polling
    from storage.models.core import ScheduledJob

    services = await make_services(tmp_path / "data", modules=["core", "knowledge"], now=NOW)
    clock = [NOW]
    services.clock = lambda: clock[0]

    async def jobs():
        async with services.db.session() as s:
            return list((await s.scalars(select(ScheduledJob).where(ScheduledJob.group_key == POLL_GROUP)
                                         .order_by(ScheduledJob.run_at))).all())

    assert await jobs() == []                        # no feeds: nothing planned
    with FeedServer() as server:
        services.settings.knowledge.feeds = [feed(f"{server.url}/rss.xml")]
        await plan_polling(services)
        await plan_polling(services)                 # a restart does not plan a second one
        [first] = await jobs()
        assert first.status == "pending" and first.run_at == NOW
        scheduler = Scheduler(services, lambda: None)
        services.timers = scheduler
        await scheduler.run(first.id)
        done, nxt = await jobs()
        assert (done.id, done.status) == (first.id, "done")
        assert nxt.status == "pending" and nxt.run_at == NOW + timedelta(hours=1)
        clock[0] = NOW + timedelta(hours=1)
        await scheduler.run(nxt.id)
        rows = await jobs()
        assert [r.status for r in rows] == ["done", "pending"] and first.id not in [r.id for r in rows]
        assert len(server.headers_for("/rss.xml")) == 2
        await scheduler.shutdown()
    services.settings.knowledge.feeds = []
    await plan_polling(services)
    assert [r.status for r in await jobs()][-1] == "cancelled"
    await services.db.dispose()


async def test_plain_questions_search_the_shared_knowledge(chat):
    reply = plain(await chat.send("welke ervaringen zijn er met stresstest?", direct=True))
    assert "!kennis stresstest" in reply and "Help! De stresstest en wat moet ik nu?" in reply
    reply = plain(await chat.send("are there any examples of a digital twin?", direct=True))
    assert "--kind case" in reply and "Rotterdam" in reply
    assert "searched the shared knowledge" not in plain(await chat.send("hoe laat is het?", direct=True))


async def test_a_pending_item_is_announced_in_the_facilitators_room(chat):
    chat.services.settings.knowledge.moderation = True
    chat.services.settings.bot.facilitators_room = "!facil:test"
    outs = await chat.send('!share https://testdam.nl/x "Iets nieuws over laadpalen"', sender="@bob:test")
    note = [o for o in outs if o.room_id == "!facil:test"]
    assert len(note) == 1 and "!approve 27" in note[0].markdown and "@bob" in note[0].markdown


def test_feed_settings_are_checked(tmp_path):
    """The URL is checked when the config loads; topics and kinds by the knowledge
    capability that knows them (at start-up and by `dsih-bot check-config`)."""
    import yaml as _yaml
    from commands import build_registry, settings_problems
    from config.settings import ConfigError, load_settings
    registry = build_registry(["core", "knowledge"])
    for bad, needle in [({"url": "ftp://x.nl/f"}, "knowledge.feeds.0.url"),
                        ({"url": "https://x.nl/" + "a" * 1000}, "at most 1000 characters")]:
        path = tmp_path / "config.yaml"
        path.write_text(_yaml.safe_dump({"knowledge": {"feeds": [bad]}}), encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(needle)):
            load_settings(path)
    for bad, needle in [({"url": "https://x.nl/f", "topics": ["poetry"]}, "unknown topic 'poetry'"),
                        ({"url": "https://x.nl/f", "kind": "poem"}, "unknown kind 'poem'")]:
        path = tmp_path / "config.yaml"
        path.write_text(_yaml.safe_dump({"knowledge": {"feeds": [bad]}}), encoding="utf-8")
        problems = settings_problems(registry, load_settings(path))
        assert any(needle in p for p in problems), problems
    ok = KnowledgeSettings.model_validate({"feeds": [{"url": "https://x.nl/f", "topics": ["hittestress"],
                                                     "kind": "evenement"}], "poll_interval": "15m"})
    assert settings_problems(registry, type("S", (), {"knowledge": ok})()) == []
    assert ok.feeds[0].topics == ["climate-adaptation"] and ok.feeds[0].kind == "event"
    assert ok.poll_interval == timedelta(minutes=15)
