"""Knowledge items in a real Synapse: share -> search finds it -> the same link again is
merged, not added; moderation: a member's share waits, the member cannot approve, a
facilitator approves, the sharer is told by direct message and the item is found; and a
feed served by a local HTTP server (127.0.0.1) is polled by the bot's scheduled job and its
entry found by `!knowledge`, with `!feeds` showing the broken feed's error."""
from __future__ import annotations

import asyncio
import re

import pytest

from support.e2e_helpers import body_of, html_of
from support.feed_server import FeedServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


@pytest.fixture
def bot_options(feeds):
    # alice is the bot's admin (conftest), so her shares need no approval; bob is a member.
    return {"knowledge": {"moderation": True, "poll_interval": "3s",
                          # A partner's feed is trusted (no moderation); the broken one follows the global flag.
                          "feeds": [{"url": f"{feeds.url}/rss.xml", "topics": ["healthy-living"], "moderation": False},
                                    {"url": f"{feeds.url}/broken.xml"}]}}


def _from_bot(bot_id, needle):
    return lambda ev: getattr(ev, "sender", None) == bot_id and needle in body_of(ev)


async def test_share_search_merge_and_moderation(alice, bob, bot, room, ask):
    shared = await ask(alice, room, '!share https://www.zwolle.example.nl/groene-daken?utm_source=nb '
                       '"Groene daken op scholen" #klimaatadaptatie --kind case Wat we leerden over subsidie en onderhoud',
                       bot_id=bot.user_id)
    assert "Gedeeld als item #" in body_of(shared) and "Klimaatadaptatie" in body_of(shared)
    first = re.search(r"item #(\d+)", body_of(shared)).group(1)   # feed entries may have come in first
    found = await ask(alice, room, "!kennis groene daken scholen", bot_id=bot.user_id)
    assert "1. Groene daken op scholen" in body_of(found) and "casus" in body_of(found)
    assert '<a href="https://www.zwolle.example.nl/groene-daken?utm_source=nb">' in html_of(found)

    again = await ask(alice, room, '!share http://zwolle.example.nl/groene-daken/#top "Groene daken" #energie',
                      bot_id=bot.user_id)
    # The reply's language follows the text (Dutch titles) unless the user chose one.
    assert f"al eerder gedeeld, als item #{first}" in body_of(again) and "Energietransitie" in body_of(again), \
        body_of(again)
    listing = await ask(alice, room, "!knowledge groene daken", bot_id=bot.user_id)
    assert body_of(listing).count("Groene daken op scholen") == 1 and "Groene daken (" not in body_of(listing)

    # Moderation: bob (a member) shares; it waits and is not found.
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    waiting = await ask(bob, room, '!share https://testdam.example.nl/warmtenet "Warmtenet in de wijk" #energie',
                        bot_id=bot.user_id)
    assert "facilitator" in body_of(waiting)
    pending = re.search(r"item #(\d+)", body_of(waiting)).group(1)
    assert "Warmtenet in de wijk" not in body_of(await ask(bob, room, "!kennis warmtenet", bot_id=bot.user_id))
    refused = await ask(bob, room, f"!goedkeuren {pending}", bot_id=bot.user_id)
    assert "🔒" in body_of(refused)

    bob_mark = bob.mark()
    approved = await ask(alice, room, f"!approve {pending}", bot_id=bot.user_id)
    assert f"#{pending}" in body_of(approved)
    dm = await bob.wait_for(lambda ev: _from_bot(bot.user_id, "Warmtenet in de wijk")(ev) and ev.room_id != room,
                            since=bob_mark, timeout=40)
    assert "approved" in body_of(dm)   # in bob's language: he chose none, so the bot's (en)
    assert "Warmtenet in de wijk" in body_of(await ask(bob, room, "!kennis warmtenet", bot_id=bot.user_id))


async def test_feed_entries_become_items_and_failures_are_listed(alice, bot, room, ask, feeds):
    # The poll job runs at start-up and every 3 s; the first poll brings the RSS entries in.
    body = ""
    for _ in range(20):
        body = body_of(await ask(alice, room, "!knowledge snuffelfiets fietsroutes", bot_id=bot.user_id))
        if "Snuffelfiets-data voor fietsroutes" in body:
            break
        await asyncio.sleep(1.5)
    assert "Snuffelfiets-data voor fietsroutes" in body and "Gemeente Testdam nieuws" in body, bot.log()[-3000:]
    # Polled again with the ETag it got: the server answers 304 and nothing is doubled.
    for _ in range(20):
        if any(h.get("if-none-match") == '"rss-v1"' for h in feeds.headers_for("/rss.xml")):
            break
        await asyncio.sleep(0.5)
    assert any(h.get("if-none-match") == '"rss-v1"' for h in feeds.headers_for("/rss.xml"))
    hot = body_of(await ask(alice, room, "!knowledge hittestress wijk", bot_id=bot.user_id))
    assert hot.count("Hittestress aanpakken in de wijk") == 1 and "<script" not in hot
    status = await ask(alice, room, "!feeds", bot_id=bot.user_id)
    assert "broken.xml" in body_of(status) and ("not a valid RSS or Atom feed" in body_of(status))
    assert "Gemeente Testdam nieuws" in body_of(status)
    assert "broken.xml failed (1 in a row" in bot.log() and "Traceback" not in bot.log()
