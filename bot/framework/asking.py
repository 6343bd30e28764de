"""Phrases shared by the capabilities' question handlers: asking about one named thing
("vertel me meer over DUMAVA", "tell me more about The Green Village", "wat is SBIR?"), and
the greetings and thanks that are small talk, not search words."""
from __future__ import annotations

import re

MORE_ABOUT = re.compile(
    r"^\s*(?:(?:kun je |can you |could you )?(?:vertel|tell)\s+(?:me\s+|mij\s+)?(?:meer|more|iets|something)\s+"
    r"(?:over|about)|meer\s+(?:info\s+|informatie\s+)?over|more\s+(?:info\s+|information\s+)?(?:on|about)"
    r"|wat\s+is|what\s+is|what's)\s+(.{2,120}?)\s*[?.!]*\s*$", re.I)


def named_in(text: str) -> str | None:
    """The name asked about, or None when the text does not ask about one thing."""
    m = MORE_ABOUT.match((text or "")[:300])
    return m.group(1) if m else None


GREETINGS = frozenset("hoi hallo hey hi hello hee heey hai hoihoi goedemorgen goedemiddag goedenavond morgen "
                      "dag yo howdy greetings".split())
THANKS = frozenset("bedankt dank dankjewel dankje dankuwel thanks thank thx ty merci top super fijn great".split())
