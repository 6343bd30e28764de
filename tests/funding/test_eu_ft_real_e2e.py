"""A call from a REAL recorded portal answer (tests/data/eu_ft/real/), brought in by
`dsih-bot refresh funding --source eu-ft` as the nightly timer runs it, answers `!funding`
in a real Synapse room with its words."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from support.e2e_helpers import body_of
from support.eu_ft_replay import RealPortal, recorded_rows

pytestmark = pytest.mark.e2e

PRETEND_NOW = "2026-11-25T12:00:00+00:00"


@pytest.fixture
def bot_options():
    return {"bot": {"pretend_now": PRETEND_NOW}}


async def _refresh(bot, url: str, now: str) -> str:
    import bot as bot_pkg
    env = {**os.environ, "PYTHONPATH": str(Path(bot_pkg.__file__).resolve().parents[1]),
           "DSIH_BOT__FUNDING__EU_FT_URL": url, "DSIH_BOT__FUNDING__EU_FT_PAGE_SIZE": "4",
           "DSIH_BOT__BOT__PRETEND_NOW": now}
    proc = await asyncio.create_subprocess_exec(bot.executable(), "refresh", "funding", "--source", "eu-ft",
                                                "--config", str(bot.config_path), env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_a_replayed_real_call_answers_funding(alice, bot, room, ask):
    rows = recorded_rows("aarhusai_portal_search_page_TRIMMED_2026.json", "fundhunt_sedia_search_TRIMMED_2026.json",
                         "fundhunt_sedia_cascade_TRIMMED_2025.json")
    with RealPortal(rows=rows) as portal:
        out = await _refresh(bot, portal.url, "2026-11-25T03:00:00+00:00")
    assert "new (added)" in out and "3 archived copy" in out, out
    reply = await ask(alice, room, "!funding soil health living labs Pannonian Steppic", bot_id=bot.user_id,
                      timeout=60)
    body = body_of(reply)
    assert "euft-horizon-miss-2027-05-soil-01-two-stage" in body and "forthcoming" in body, body[:1500]
    record = await ask(alice, room, "!funding euft-horizon-miss-2027-05-soil-01-two-stage", bot_id=bot.user_id)
    text = body_of(record)
    assert "Living labs to enhance soil health in Continental, Black Sea, Pannonian" in text
    assert "Status at the source: forthcoming" in text and "stage 2" in text and "17:00" in text, text
