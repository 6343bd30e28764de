"""Issue 18 in a real Synapse room (default language nl, fixed clock): a long Dutch sentence
finds an instrument that exists only in English (its Dutch summary cleared with `!funding set`), a near miss (a typo, or one word found
nowhere) is answered with the closest instruments, labelled as such and naming what was read
or not found, and nonsense still gets "nothing found"."""
from __future__ import annotations

import re

import pytest

from storage.funding.records import load_bundled
from support.e2e_helpers import body_of

pytestmark = pytest.mark.e2e

PRETEND_NOW = "2026-11-25T12:00:00+00:00"   # the day the bundled data was checked
ENGLISH_ONLY = "life-nature-biodiversity-2026"


@pytest.fixture
def bot_options():
    return {"bot": {"language": "nl", "pretend_now": PRETEND_NOW}}


def ids_in(body: str) -> list[str]:
    return re.findall(r"· `?([a-z0-9-]+)`?\s*$", body, re.M)


async def test_dutch_sentence_english_record_and_closest_matches(alice, bot, room, ask):
    record = next(r for r in load_bundled() if r.id == ENGLISH_ONLY)
    assert not record.title_nl
    # Make it English-only, as live EU calls are: alice (an admin) clears its Dutch summary.
    cleared = body_of(await ask(alice, room, f"!funding set {ENGLISH_ONLY} summary_nl none", bot_id=bot.user_id))
    assert "summary_nl" in cleared, cleared[:300]

    sentence = "wij zoeken als provincie geld voor het herstel van leefgebieden van bedreigde soorten"
    mark = alice.mark()
    await alice.send_text(room, f"{bot.user_id}: {sentence}", mentions=[bot.user_id])
    reply = body_of(await alice.wait_for_reply(room, bot.user_id, since=mark, timeout=60))
    assert reply.startswith("Zo heb ik je vraag begrepen"), reply[:300]
    assert ENGLISH_ONLY in ids_in(reply)[:3], reply[:600]

    typo = body_of(await ask(alice, room, "!subsidie klimaatadaptaite", bot_id=bot.user_id))
    assert typo.startswith("Geen exacte treffer voor “klimaatadaptaite”; dit komt het dichtst in de buurt:"), typo[:300]
    assert "Ik las “klimaatadaptaite” als “klimaatadaptatie”." in typo
    themes = {r.id: set(r.themes) for r in load_bundled()}
    top = ids_in(typo)[:3]
    assert top and all("climate-adaptation" in themes[i] for i in top), top

    near = body_of(await ask(alice, room, "!subsidie zonnepanelen kwzrtq", bot_id=bot.user_id))
    assert near.startswith("Geen exacte treffer voor “zonnepanelen kwzrtq”"), near[:300]
    assert "Niet gevonden in de gegevens: “kwzrtq”." in near
    assert ids_in(near), near[:300]

    nonsense = body_of(await ask(alice, room, "!subsidie kwzrtq xqvbnm", bot_id=bot.user_id))
    assert ids_in(nonsense) == [] and nonsense.startswith("Geen subsidie-instrumenten gevonden"), nonsense[:300]
