"""Questions about where to try something out ("where can I test a digital inclusion app with
elderly residents?", "waar kan ik slimme lantaarnpalen uitproberen?") are lab searches, even
without the word "lab"."""
from __future__ import annotations

import re

from bot.framework.intents import Intent, run_command

_FILL = re.compile(
    r"\b(?:waar|kan|kun|ik|we|wij|een|de|het|mijn|onze|testen|uittesten|uitproberen|proberen|beproeven|"
    r"where|can|could|i|we|a|an|the|my|our|test|try|out|pilot|do|that|want|to|in|real|is|there|somewhere|"
    r"place|plek|plaats|locatie|ergens)\b|[?!.,]", re.I)


async def where_to_test(ctx, text: str, match) -> bool:
    words = " ".join(_FILL.sub(" ", text).split())
    await run_command(ctx, "labs", words=words or None)
    return True


INTENTS = (
    Intent("labs.where-to-test", (
        r"\bwaar\b.*\b(?:testen|uittesten|uitproberen|proberen|beproeven|experimenteren|pilot\w*)\b",
        r"\b(?:testlocatie|testomgeving|test\s*site|test\s*bed|testbed|test\s+facilit\w+)",
        r"\bwhere\b.*\b(?:test|try(?:\s+out)?|pilot|trial|experiment)\b",
        r"\b(?:test|try\s+out|pilot)\b.*\bwhere\b"),
        where_to_test, unless=(r"https?://", r"\bremind|herinner", r"\b(?:subsid\w*|funding|grants?)\b")),
)
