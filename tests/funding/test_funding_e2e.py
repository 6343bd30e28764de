"""Funding Lane in a real Synapse room: !funding, !deadlines, a plain-language question,
a zero-hit query, an injection-like query, and what makes the data trustworthy (kind,
out-of-date records). The bot runs with a fixed clock (bot.pretend_now), so the answers do
not change when the bundled deadlines pass."""
from __future__ import annotations

import pytest

from support.e2e_helpers import body_of, html_of

pytestmark = pytest.mark.e2e

PRETEND_NOW = "2026-11-25T12:00:00+00:00"


@pytest.fixture
def bot_options():
    return {"bot": {"pretend_now": PRETEND_NOW}}


async def test_funding_search_and_record(alice, bot, room, ask):
    reply = await ask(alice, room, "!funding circular economy --level eu", bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    assert "life-circular-economy-2026" in body and "Filters: level EU" in body
    assert '<a href="https://ec.europa.eu' in html_of(reply)
    record = await ask(alice, room, "!subsidie life-circular-economy-2026", bot_id=bot.user_id)
    assert "Wie mag aanvragen" in body_of(record) and "€" in body_of(record)


async def test_deadlines(alice, bot, room, ask):
    reply = await ask(alice, room, "!deadlines 1000d", bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    # Fixed clock (25 Nov 2026): the Cities Mission's 8 Oct 2026 deadline has passed, LIFE SIP's
    # stage 2 (4 Mar 2027) is 99 days ahead, shown as by invitation.
    assert "funding deadline" in body and "days left" in body and "horizon-mission-cities-2026" not in body
    assert "99 days left" in body and "closed to new applicants (stage 2 by invitation)" in body
    soon = await ask(alice, room, "!deadlines 1d --theme housing", bot_id=bot.user_id)
    assert "No funding deadlines in the next day." in body_of(soon)


async def test_plain_language_question(alice, bot, room, ask):
    reply = await ask(alice, room, f"{bot.user_id}: which EU funding is there for biodiversity in provinces?",
                      bot_id=bot.user_id, timeout=60, mentions=[bot.user_id])
    body = body_of(reply)
    assert "I understood your question" in body and "level EU" in body


async def test_one_topic_word_gets_the_overview(alice, bot, room, ask):
    # The first thing people type: a topic word alone, answered with funding, labs, knowledge
    # and the digest in one message (commands/overview/commands.py), not "I did not understand".
    reply = await ask(alice, room, f"{bot.user_id}: klimaat", bot_id=bot.user_id, timeout=60,
                      mentions=[bot.user_id])
    body, html = body_of(reply), html_of(reply)
    assert body.startswith("Klimaatadaptatie") and "<h3>Klimaatadaptatie</h3>" in html
    assert "!subsidie klimaat" in body and "!proeftuinen klimaat" in body and "!kennis klimaat" in body
    assert "Gemeente Rotterdam – Subsidie klimaatadaptatie" in body
    assert "!abonneer klimaatadaptatie wekelijks" in body


async def test_zero_hits_says_why_and_suggests(alice, bot, room, ask):
    reply = await ask(alice, room, "!funding klimaatadaptie --level local --applicant water_board",
                      bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    assert "No funding instruments" in body and "klimaatadaptatie" in body


async def test_injection_like_query_is_harmless(alice, bot, room, ask):
    reply = await ask(alice, room, '!funding "NEAR(* -x) OR 1=1; DROP TABLE funding_instruments; -- <script>x</script>',
                      bot_id=bot.user_id, timeout=60)
    assert "<script" not in html_of(reply).lower()
    assert body_of(reply).startswith("No funding instruments found for"), body_of(reply)[:300]
    again = await ask(alice, room, "!funding sbir", bot_id=bot.user_id)
    assert "sbir-innovatiecompetitie" in body_of(again)


@pytest.mark.parametrize("bot_options", [{"bot": {"pretend_now": PRETEND_NOW},
                                          "env": {"DSIH_BOT__FUNDING__STALE_AFTER": "1d"}}])
async def test_procurement_kind_and_out_of_date_records_are_shown(alice, bot, room, ask):
    reply = await ask(alice, room, "!funding sbir", bot_id=bot.user_id, timeout=60)
    body = body_of(reply)
    assert "sbir-innovatiecompetitie" in body and "procurement, not a grant" in body
    # Checked on 25 Nov 2026 (today): not flagged.
    assert "⚠" not in body.split("sbir-innovatiecompetitie")[0].rsplit("\n\n", 1)[-1]
    record = await ask(alice, room, "!funding horizon-mission-cities-2026", bot_id=bot.user_id)
    # Checked on 23 Nov 2026, two days ago, with stale_after 1d: the record says so.
    assert "⚠ not checked since 23 November 2026: may be out of date" in body_of(record)
    listing = await ask(alice, room, "!funding climate neutral smart cities mission", bot_id=bot.user_id)
    assert "⚠ not checked since 23 November 2026" in body_of(listing)


async def _refresh(bot, stub_url: str, now: str) -> str:
    """`dsih-bot refresh funding --source eu-ft` against the running bot's config and database,
    as the nightly timer runs it."""
    import asyncio
    import os
    from pathlib import Path

    import bot as bot_pkg
    env = {**os.environ, "PYTHONPATH": str(Path(bot_pkg.__file__).resolve().parents[1]),
           "DSIH_BOT__FUNDING__EU_FT_URL": stub_url, "DSIH_BOT__FUNDING__EU_FT_PAGE_SIZE": "3",
           "DSIH_BOT__BOT__PRETEND_NOW": now}
    proc = await asyncio.create_subprocess_exec(bot.executable(), "refresh", "funding", "--source", "eu-ft",
                                                "--config", str(bot.config_path), env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_nightly_refresh_adds_eu_calls_and_flags_stale_ones(alice, bot, room, ask):
    from support.eu_ft_server import PortalStub
    with PortalStub() as stub:
        assert "4 new" in await _refresh(bot, stub.url, "2026-11-25T03:00:00+00:00")
        reply = await ask(alice, room, "!funding positive clean energy districts", bot_id=bot.user_id, timeout=60)
        assert "euft-horizon-miss-2027-03-cit-02" in body_of(reply) and "⚠" not in body_of(reply).split("euft-")[0]
        stub.snapshot = "2026-12-20"     # 25 days later the topic is no longer listed
        assert "2 marked stale" in await _refresh(bot, stub.url, "2026-12-20T03:00:00+00:00")
    reply = await ask(alice, room, "!funding positive clean energy districts", bot_id=bot.user_id)
    assert "⚠ no longer listed at its source (last seen 25 November 2026): may be out of date" in body_of(reply)
