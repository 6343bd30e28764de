"""Dutch compounds split against a lexicon (issue 18).

Dutch glues words together: "klimaatstresstest" is klimaat + stresstest, "funderingsschade"
is fundering(s) + schade. A civil servant types the tail ("stresstest", "adaptatie") as
often as the whole word. Prefix matching (storage.search.text.prefixes) finds compounds
by their head; splitting finds them by their tail.

The lexicon is wordfreq's Dutch word list (a well-kept frequency list from many corpora;
https://github.com/rspeer/wordfreq), words of at least MIN_PART letters with a Zipf
frequency of at least MIN_ZIPF, together with the hub's own vocabulary (topic aliases and
the curated bilingual list). Without wordfreq installed the hub's vocabulary alone is used.

`split(word)` -> the parts of a compound (head first), or () when the word is not one.
At index time every compound also adds its tails (storage.search.text.analyze); at query
time a compound may match its parts side by side (storage.search.index.SearchIndex.plan).

The mode (environment DSIH_SEARCH_COMPOUNDS, read once): "both" (default: prefixes and
splitting), "prefix" (prefix matching only, as before issue 18) or "split" (splitting only),
for the comparison reported in tests/funding/test_funding_relevance_fresh.py."""
from __future__ import annotations

import os
from functools import lru_cache

MIN_PART = 4       # letters of the shortest part ("test" in stresstest is not split off)
MIN_TAIL = 5       # a tail added to the index has at least this many letters
MIN_WORD = 8       # shorter words are not split
MIN_ZIPF = 2.3     # wordfreq Zipf frequency: about once per 5 million words
LINKS = ("s", "e", "en")   # Dutch linking sounds: funderingSschade, pannEkoek, bessENsap

MODE = os.environ.get("DSIH_SEARCH_COMPOUNDS", "both")
if MODE not in ("both", "prefix", "split"):
    MODE = "both"


def use_prefixes() -> bool:
    return MODE in ("both", "prefix")


def use_split() -> bool:
    return MODE in ("both", "split")


@lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    words: set[str] = set()
    try:
        from wordfreq import get_frequency_dict
        least = 10 ** (MIN_ZIPF - 9)   # Zipf = log10(frequency per billion words)
        words.update(w for w, f in get_frequency_dict("nl").items()
                     if f >= least and len(w) >= MIN_PART and w.isalpha() and w.isascii())
    except ImportError:   # pragma: no cover - wordfreq is a dependency; the hub's words still split
        pass
    words |= _hub_words()
    return frozenset(words)


def _hub_words() -> set[str]:
    from storage import topics
    from storage.search import bilingual
    from storage.search.text import tokens
    out: set[str] = set()
    for t in topics.all_topics():
        for term in (*t.terms, t.en, t.nl):
            out.update(w for w in tokens(term) if len(w) >= MIN_PART and w.isalpha())
    out.update(w for w in bilingual.vocabulary_words() if len(w) >= MIN_PART and w.isalpha())
    return out


def _known(part: str, lex: frozenset[str]) -> bool:
    return len(part) >= MIN_PART and part in lex


@lru_cache(maxsize=100_000)
def split(word: str) -> tuple[str, ...]:
    """The parts of a Dutch compound, head first ("klimaatstresstest" -> ("klimaat",
    "stresstest")); the tail may itself be split further by the caller. () when `word` is
    not a compound of known words. The longest known tail wins (klimaat|stresstest, not
    klimaatstress|test)."""
    if len(word) < MIN_WORD or not word.isalpha() or not use_split():
        return ()
    lex = lexicon()
    for i in range(MIN_PART, len(word) - MIN_PART + 1):
        head, tail = word[:i], word[i:]
        if not _known(tail, lex):
            continue
        if _known(head, lex):
            return (head, tail)
        for link in LINKS:
            if head.endswith(link) and _known(head[: -len(link)], lex):
                return (head[: -len(link)], tail)
        inner = split(head)
        if inner:
            return (*inner, tail)
    return ()


def tails(word: str) -> tuple[str, ...]:
    """The tails of a compound worth indexing: every suffix made of whole parts, of at
    least MIN_TAIL letters, longest first ("klimaatstresstest" -> ("stresstest",),
    "warmtenetten" -> ("netten",))."""
    parts = split(word)
    if not parts:
        return ()
    out = []
    for k in range(1, len(parts)):
        tail = "".join(parts[k:])
        if len(tail) >= MIN_TAIL:
            out.append(tail)
    return tuple(dict.fromkeys(out))
