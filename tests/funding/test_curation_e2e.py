"""The curation loop in a real Synapse room (issue 17, sections 2-3): the nightly
`dsih-bot refresh funding --source officiele-bekendmakingen` (the real recorded SRU answer, then
hand-made records in its documented shape) brings candidates; a facilitator lists them,
accepts one with corrections and dismisses another; `!funding verify` makes "last checked" a
check by hand; `!funding stale` lists the oldest checks; estimates say so; an ended lab is
history and takes no requests; `!admin stats` shows freshness per source."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from support.e2e_helpers import body_of
from support.sru_replay import REAL, SruReplay, documented_record, envelope

pytestmark = pytest.mark.e2e

PRETEND_NOW = "2026-12-05T12:00:00+00:00"


@pytest.fixture
def bot_options():
    return {"bot": {"pretend_now": PRETEND_NOW}}


async def _refresh(bot, url: str) -> str:
    import bot as bot_pkg
    env = {**os.environ, "PYTHONPATH": str(Path(bot_pkg.__file__).resolve().parents[1]),
           "DSIH_BOT__FUNDING__BEKENDMAKINGEN_URL": url, "DSIH_BOT__BOT__PRETEND_NOW": PRETEND_NOW}
    proc = await asyncio.create_subprocess_exec(bot.executable(), "refresh", "funding", "--source",
                                                "officiele-bekendmakingen", "--config", str(bot.config_path), env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()
    return out.decode()


# HAND-MADE in the documented shape (support/sru_replay.documented_record): no public recording
# of a journal record exists.
GELDERLAND = documented_record(
    "prb-2026-20123", "Subsidieregeling klimaatadaptatie Gelderland 2027", journal="Provinciaal blad",
    creator="Gelderland", organisation_type="Provincie", available="2026-12-01",
    abstract="Aanvragen kunnen worden ingediend van 1 februari 2027 tot en met 31 maart 2027. "
             "Het subsidieplafond bedraagt € 2,5 miljoen voor maatregelen tegen hittestress.")
ZWOLLE = documented_record(
    "gmb-2026-50100", "Uitvoeringsregeling subsidie energiebesparing maatschappelijk vastgoed Zwolle",
    journal="Gemeenteblad", creator="Zwolle", organisation_type="Gemeente", available="2026-11-28",
    abstract="Subsidie voor isolatie en warmtepompen.")


async def test_candidates_accept_dismiss_verify_stale(alice, bot, room, ask):
    with SruReplay(files=[REAL]) as sru:
        out = await _refresh(bot, sru.url)
    assert "1 publications read" in out and "0 new candidates" in out, out
    reply = await ask(alice, room, "!funding candidates", bot_id=bot.user_id)
    assert "No candidates are waiting" in body_of(reply)

    with SruReplay(pages=[envelope([GELDERLAND, ZWOLLE], 2)]) as sru:
        out = await _refresh(bot, sru.url)
    assert "2 new candidates" in out, out

    listed = body_of(await ask(alice, room, "!funding candidates", bot_id=bot.user_id))
    assert "2 candidates waiting" in listed and "#1 Subsidieregeling klimaatadaptatie Gelderland 2027" in listed
    assert "published 1 December 2026" in listed and "closes 31 March 2027" in listed and "€2,500,000" in listed
    assert "Climate adaptation" in listed and "#2 Uitvoeringsregeling" in listed

    bad = body_of(await ask(alice, room, "!funding accept 1 level cosmic", bot_id=bot.user_id))
    assert "not valid for level" in bad and "Traceback" not in bad
    accepted = body_of(await ask(alice, room, "!funding accept 1 id gelderland-klimaatadaptatie-2027 "
                                              "grant_max_eur 50000 eligible_applicants municipality",
                                 bot_id=bot.user_id))
    assert "Candidate #1 is now the funding record gelderland-klimaatadaptatie-2027" in accepted, accepted
    assert "checked by hand on 5 December 2026" in accepted
    record = body_of(await ask(alice, room, "!funding gelderland-klimaatadaptatie-2027", bot_id=bot.user_id))
    assert "Last checked: checked by hand on 5 December 2026" in record and "31 March 2027" in record
    assert "up to €50,000" in record and "zoek.officielebekendmakingen.nl/prb-2026-20123" in record

    dismissed = body_of(await ask(alice, room, "!funding dismiss 2 not for municipalities", bot_id=bot.user_id))
    assert "Candidate #2 is dismissed" in dismissed
    again = body_of(await ask(alice, room, "!funding accept 2", bot_id=bot.user_id))
    assert "already decided: dismissed" in again

    # A bundled record nobody verified; then a check by hand with a correction.
    before = body_of(await ask(alice, room, "!funding dumava-2026", bot_id=bot.user_id))
    assert "Last checked: not checked since 5 December 2026" in before and "status unknown" in before
    verified = body_of(await ask(alice, room, '!funding verify amersfoort-toekomstfonds deadline_note '
                                              '"Checked on amersfoort.nl: yearly rounds"', bot_id=bot.user_id))
    assert "amersfoort-toekomstfonds is now checked by hand on 5 December 2026" in verified, verified
    assert "1 field corrected: deadline_note" in verified
    stale = body_of(await ask(alice, room, "!funding stale", bot_id=bot.user_id))
    assert "Funding records to check first (0 no longer in their source" in stale
    assert "not checked since 23 November 2026" in stale.split("2.")[0] and "amersfoort-toekomstfonds" not in \
        stale.split("More:")[0]

    # Estimates say so, in the record and in lists.
    estimate = body_of(await ask(alice, room, "!funding innovatiebudget-digitale-overheid", bot_id=bot.user_id))
    assert "(estimate)" in estimate
    listed = body_of(await ask(alice, room, "!funding digital government innovation", bot_id=bot.user_id))
    item = "\n\n".join(listed.split("innovatiebudget-digitale-overheid")[0].rsplit("\n\n", 2)[-2:])
    assert "Digital Government Innovation Budget" in item and "(estimate)" in item, listed[:1500]

    # In Dutch too.
    nl = body_of(await ask(alice, room, "!subsidie controleer limburg-leefbaarheidsfonds", bot_id=bot.user_id))
    assert "met de hand gecontroleerd op 5 december 2026" in nl, nl

    await ask(alice, room, "!lang en", bot_id=bot.user_id)   # the Dutch command above made Dutch her choice
    stats = body_of(await ask(alice, room, "!admin stats", bot_id=bot.user_id))
    assert "Funding from bundled file: 41; 0 checked in their source by a refresh, 2 checked by hand" in stats, stats
    assert "Funding from added in chat: 1" in stats and "Funding candidates waiting for a facilitator: 0" in stats


async def test_an_ended_lab_is_history(alice, bot, room, ask):
    profile = body_of(await ask(alice, room, "!lab living-lab-assen-sensor-city", bot_id=bot.user_id))
    assert "ended in 2017" in profile and "rtvdrenthe.nl" in profile and "listed as history" in profile
    assert "lab request living-lab-assen-sensor-city" not in profile
    refused = body_of(await ask(alice, room, "!lab request living-lab-assen-sensor-city test sensors in town",
                                bot_id=bot.user_id))
    assert "has stopped (ended in 2017): it cannot take requests" in refused
    found = body_of(await ask(alice, room, "!labs climate adaptation --near Zwolle", bot_id=bot.user_id))
    assert "Living Lab Ruimtelijke Adaptatie Overijssel" in found and "ended in 2018" in found
    ceuvel = body_of(await ask(alice, room, "!lab de-ceuvel", bot_id=bot.user_id))
    assert "temporary site, until about 2027" in ceuvel and "lab request de-ceuvel" in ceuvel
