"""Dutch compounds split against a lexicon (issue 18).

Dutch glues words together: "klimaatstresstest" is klimaat + stresstest, "funderingsschade"
is fundering(s) + schade. A civil servant types the tail ("stresstest", "adaptatie") as
often as the whole word. Prefix matching (storage.search.text.prefixes) finds compounds
by their head; splitting finds them by their tail.

The lexicon is wordfreq's Dutch word list (a well-kept frequency list from many corpora;
https://github.com/rspeer/wordfreq), words of at least MIN_PART letters with a Zipf
frequency of at least MIN_ZIPF, together with the hub's own vocabulary (topic aliases and
the curated bilingual list). Without wordfreq installed the hub's vocabulary alone is used.

Not every split against a lexicon is a compound ("community" is comm + unity, "integraal"
inte + graal, and their junk tails matched one-word translations inside them). So a word
is split only when it is no word in its own right (a common English word, a common Dutch
word, a listed lexicalised compound), every part is a frequent enough Dutch word (a short
part more so, and none far rarer than the whole word), and of the possible splits the one
with the fewest parts, then the most frequent parts, wins. Linking sounds (s, e, en) sit
between parts and are dropped from them.

`split(word)` -> the parts of a compound (head first), or () when the word is not one.
At index time every compound also adds its tails (storage.search.text.analyze); at query
time a compound may match its parts side by side (storage.search.index.SearchIndex.plan).

The mode (environment DSIH_SEARCH_COMPOUNDS, read once): "both" (default: prefixes and
splitting), "prefix" (prefix matching only, as before issue 18) or "split" (splitting only),
for the comparison reported in tests/funding/test_funding_relevance_fresh.py."""
from __future__ import annotations

import math
import os
from functools import lru_cache
from typing import Iterator

MIN_PART = 4       # letters of the shortest part ("test" in stresstest is not split off)
MIN_TAIL = 5       # a tail added to the index has at least this many letters
MIN_WORD = 8       # shorter words are not split
MIN_ZIPF = 2.3     # wordfreq Zipf frequency: about once per 5 million words (the lexicon)
SHORT_ZIPF = 3.0   # a part of MIN_PART letters must be a frequent Dutch word (about once
                   # per million words): short fragments are where junk comes from ("inte",
                   # "comm", "aang", "verb" are rarer); a longer part needs MIN_ZIPF
COMMON_NL = 4.5    # a Dutch word this frequent is a word in its own right, not split
                   # (samenwerking is not samen + werking, onderzoek not onder + zoek)
EN_ZIPF = 3.0      # a word at least this frequent in English, and more English than Dutch,
                   # is an English word and not split (community is not comm + unity)
PART_GAP = 1.5     # no part is more than 30 times rarer than the whole word: a part far
                   # rarer than the compound is a fragment (financiering is not financi + ring)
LINKS = ("s", "e", "en")   # Dutch linking sounds: funderingSschade, pannEkoek, bessENsap

# Compounds whose meaning is not their parts (lexicalised): frequency cannot tell them from
# zonnepanelen, so they are listed, as stop words are. The -stof chemical elements
# (Van Dale: waterstof "hydrogen", not water + dust) and a few textbook cases.
LEXICALISED = frozenset("""
waterstof zuurstof stikstof koolstof koolzuur aardappel aardappelen aardbeien
""".split())

MODE = os.environ.get("DSIH_SEARCH_COMPOUNDS", "both")
if MODE not in ("both", "prefix", "split"):
    MODE = "both"


def use_prefixes() -> bool:
    return MODE in ("both", "prefix")


def use_split() -> bool:
    return MODE in ("both", "split")


def _zipf(frequency: float) -> float:
    return math.log10(frequency) + 9 if frequency > 0 else 0.0   # Zipf = log10(per billion words)


def _frequent(lang: str, min_zipf: float) -> Iterator[tuple[str, float]]:
    """(word, Zipf) for wordfreq's words of `lang` at or above `min_zipf`, read bucket by
    bucket from its data file (the cBpack format wordfreq.read_cBpack documents: a header,
    then one list of words per centibel, most frequent first) and stopped at the first
    rarer bucket: the whole list would cost the process tens of MiB at its peak, for words
    no threshold here can use. Any surprise in the file: wordfreq's own reader."""
    import gzip

    import msgpack
    import wordfreq

    try:
        path = wordfreq.available_languages("best")[lang]
        with gzip.open(path, "rb") as infile:
            unpacker = msgpack.Unpacker(infile, raw=False)
            count = unpacker.read_array_header()
            header = unpacker.unpack()
            if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
                raise ValueError(f"unexpected wordfreq header {header!r}")
            for index in range(count - 1):
                zipf = _zipf(wordfreq.cB_to_freq(-index))
                if zipf < min_zipf:
                    return
                for word in unpacker.unpack():
                    yield word, zipf
    except (KeyError, ValueError, OSError, msgpack.UnpackException):   # pragma: no cover - a changed format
        for word, f in wordfreq.get_frequency_dict(lang).items():
            if _zipf(f) >= min_zipf:
                yield word, _zipf(f)
        wordfreq.get_frequency_dict.cache_clear()
        wordfreq.get_frequency_list.cache_clear()


@lru_cache(maxsize=1)
def _dutch() -> dict[str, float]:
    """Dutch words of at least MIN_PART ASCII letters and Zipf >= MIN_ZIPF -> their Zipf
    frequency. Rarer words are left out: every threshold here is MIN_ZIPF or higher, so a
    rarer word (read as 0) would decide nothing differently."""
    try:
        return {w: z for w, z in _frequent("nl", MIN_ZIPF) if len(w) >= MIN_PART and w.isalpha() and w.isascii()}
    except ImportError:   # pragma: no cover - wordfreq is a dependency; the hub's words still split
        return {}


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    """Words that are common English words and more English than Dutch: never split."""
    try:
        nl = _dutch()
        return frozenset(w for w, z in _frequent("en", EN_ZIPF)
                         if len(w) >= MIN_WORD and w.isalpha() and w.isascii() and z > nl.get(w, 0.0))
    except ImportError:   # pragma: no cover
        return frozenset()


@lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    """Known Dutch words: wordfreq's of Zipf >= MIN_ZIPF and the hub's own vocabulary."""
    return frozenset({w for w, z in _dutch().items() if z >= MIN_ZIPF} | _hub_words())


@lru_cache(maxsize=1)
def _parts() -> dict[str, float]:
    """Words that may be a part of a compound -> their Zipf frequency: Dutch words of the
    lexicon (a part of MIN_PART letters at least SHORT_ZIPF) and the hub's own vocabulary
    (counted as frequent)."""
    out = {w: z for w, z in _dutch().items()
           if z >= (SHORT_ZIPF if len(w) == MIN_PART else MIN_ZIPF)}
    for w in _hub_words():
        out[w] = max(out.get(w, 0.0), SHORT_ZIPF)
    return out


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


def is_known_word(word: str) -> bool:
    """A word of the Dutch lexicon or a common English one: spelled right, whatever the data holds."""
    return word in lexicon() or word in _english()


def is_word_in_own_right(word: str) -> bool:
    """A common English word, or a Dutch word common enough to mean itself (not its parts)."""
    return (word in LEXICALISED or word in _english()
            or _dutch().get(word, 0.0) >= COMMON_NL)


@lru_cache(maxsize=100_000)
def split(word: str) -> tuple[str, ...]:
    """The parts of a Dutch compound, head first ("funderingsschade" -> ("fundering",
    "schade"), the linking sound dropped). () when `word` is not a compound of frequent
    words, or is a word in its own right (is_word_in_own_right). Every part has at least
    MIN_PART letters; between two parts there may be one linking sound (LINKS). Of the
    possible splits the one with the fewest parts wins, then the one whose parts are the
    most frequent (highest mean Zipf): klimaat|stresstest, volk|huisvesting."""
    if len(word) < MIN_WORD or not word.isalpha() or not use_split() or is_word_in_own_right(word):
        return ()
    best = _segment(word, _parts())
    if len(best) < 2:
        return ()
    least = _dutch().get(word, 0.0) - PART_GAP
    if any(_parts()[p] < least for p in best):
        return ()
    return best


def _segment(word: str, parts: dict[str, float]) -> tuple[str, ...]:
    # best[i]: (number of parts, -sum of Zipf, parts) of the best split of word[i:]
    n = len(word)
    best: list[tuple[int, float, tuple[str, ...]] | None] = [None] * (n + 1)
    for i in range(n - MIN_PART, -1, -1):
        found = []
        for j in range(i + MIN_PART, n + 1):
            z = parts.get(word[i:j])
            if z is None:
                continue
            if j == n:
                if i > 0:   # the whole word is no split of itself
                    found.append((1, -z, (word[i:j],)))
                continue
            for link in ("", *LINKS):
                k = j + len(link)
                if word.startswith(link, j) and k < n and best[k] is not None:
                    count, score, rest = best[k]
                    found.append((count + 1, score - z, (word[i:j], *rest)))
        if found:
            # fewest parts, then the most frequent ones (mean Zipf, compared as sums at
            # equal counts), then the longest first part: deterministic
            best[i] = min(found, key=lambda f: (f[0], f[1], -len(f[2][0])))
    return best[0][2] if best[0] is not None else ()


def tails(word: str) -> tuple[str, ...]:
    """The tails of a compound worth indexing: every suffix made of whole parts, of at
    least MIN_TAIL letters, longest first ("klimaatstresstest" -> ("stresstest",),
    "warmtenetten" -> ("netten",))."""
    parts = split(word)
    if not parts:
        return ()
    out = []
    for start in _starts(word, parts)[1:]:
        tail = word[start:]   # as written: linking sounds inside the tail stay
        if len(tail) >= MIN_TAIL:
            out.append(tail)
    return tuple(dict.fromkeys(out))


def _starts(word: str, parts: tuple[str, ...]) -> list[int]:
    """Where each part begins in `word` (a linking sound may sit before it)."""
    out, at = [], 0
    for part in parts:
        at = next(at + len(link) for link in ("", *LINKS)
                  if word.startswith(link + part, at))
        out.append(at)
        at += len(part)
    return out
