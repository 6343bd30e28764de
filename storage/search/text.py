"""Text analysis shared by documents and queries: normalisation, alnum tokens, stop
words, Dutch + English Snowball stems (PyStemmer)."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

MAX_QUERY_CHARS = 2000   # longer queries are cut (a 10,000-character paste still works)
MAX_QUERY_TERMS = 32     # at most this many distinct words become query groups
MAX_WORD = 40            # longer "words" are cut (no giant tokens in MATCH expressions)

_WORD = re.compile(r"[a-z0-9]+")
_EN = Stemmer.Stemmer("english")
_NL = Stemmer.Stemmer("dutch")

STOPWORDS = frozenset("""
a an and are as at be by can could do does for from had has have how i if in into is it its me my
no not of on or our please show so that the their them there these this those to us was we were
what when where which who why will with within would you your any some about find give tell me
de het een en is er zijn voor van welke wat hoe waar wanneer mijn ik jij je wij we niet wel ook
met naar bij op aan om dat dit deze die kan kun kunnen graag zoek zoeken geef toon laat zien heb
hebben moet moeten gaat of te al als dan door hun haar hem hij zij ze u uw onze ons nog maar was
werd wordt worden over tot uit zo zou zouden iets
""".split())


def trim_stopwords(text: str) -> str:
    """`text` without the stop words it starts or ends with, as typed ("for digital twin"
    -> "digital twin"): what a header repeats back; the search ignores them anyway."""
    words = text.split()
    def is_stop(word: str) -> bool:
        found = tokens(word)
        return bool(found) and all(w in STOPWORDS for w in found)
    start, end = 0, len(words)
    while start < end and is_stop(words[start]):
        start += 1
    while end > start and is_stop(words[end - 1]):
        end -= 1
    return " ".join(words[start:end] if start < end else words)


def normalize(text: str) -> str:
    """Lower case, accents removed (coördinatie -> coordinatie), ß/æ etc. folded."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """Alphanumeric words of `text` (normalised), each at most MAX_WORD characters."""
    return [w[:MAX_WORD] for w in _WORD.findall(normalize(text))]


@lru_cache(maxsize=50_000)
def stems(word: str) -> tuple[str, ...]:
    """The distinct English and Dutch stems of one (normalised) word, English first."""
    en = _EN.stemWord(word)
    nl = _NL.stemWord(word)
    return (en,) if en == nl else (en, nl)


def analyze(text: str) -> str:
    """The token string stored in an index field: every word replaced by its stems.
    Stop words are kept out of documents too (they would only add noise)."""
    out: list[str] = []
    for w in tokens(text or ""):
        if w not in STOPWORDS:
            out.extend(stems(w))
            # A Dutch compound also stands for its tails (klimaatstresstest -> stresstest),
            # side by side with its own stems so that it still counts as one occurrence.
            for tail in compound_tails(w):
                out.extend(s for s in stems(tail) if s not in out[-4:])
    return " ".join(out)


def compound_tails(word: str) -> tuple[str, ...]:
    from storage.search import compounds
    return compounds.tails(word)


# Dutch glues words together ("klimaat" + "adaptatie"): a query word of at least this many
# letters also matches index terms that start with it (klimaat -> klimaatadaptatie,
# klimaatbestendig; energie -> energietransitie). Measured against decompounding on the
# relevance set (see the report in tests/funding/test_funding_relevance.py).
MIN_PREFIX = 5


def prefixes(word: str) -> tuple[str, ...]:
    """Prefix terms of one query word: the word and its stems, each if long enough; a
    term already covered by a shorter prefix is left out."""
    from storage.search import compounds
    if len(word) < MIN_PREFIX or word.isdigit() or not compounds.use_prefixes():
        return ()
    out: list[str] = []
    for p in sorted({word, *stems(word)}, key=len):
        if len(p) >= MIN_PREFIX and not any(p.startswith(q) for q in out):
            out.append(p)
    return tuple(out)


def is_weak(word: str) -> bool:
    """Words that cannot make a document relevant on their own: short numbers and one- or
    two-letter tokens ('1', 'x3'); they still help ranking."""
    return len(word) <= 2 or (word.isdigit() and len(word) < 4)


_HYPHENATED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def content_words(text: str, *, max_terms: int = MAX_QUERY_TERMS) -> list[str]:
    """The distinct content words of a query (stop words dropped), in order. A hyphenated
    word stays one word ("self-sufficient", "co2-neutraal"): it is one idea."""
    out: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for w in _HYPHENATED.findall(normalize((text or "")[:MAX_QUERY_CHARS])):
        w = "-".join(p[:MAX_WORD] for p in w.split("-")[:4])
        if w in STOPWORDS:
            continue
        g = tuple(s for p in w.split("-") if p not in STOPWORDS for s in stems(p))
        if not g:
            continue
        if g not in seen:
            seen.add(g)
            out.append(w)
            if len(out) >= max_terms:
                break
    return out


def query_terms(text: str, *, max_terms: int = MAX_QUERY_TERMS) -> list[tuple[str, ...]]:
    """The query as groups of alternative stems, one group per distinct content word."""
    groups: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for w in tokens((text or "")[:MAX_QUERY_CHARS]):
        if w in STOPWORDS:
            continue
        g = stems(w)
        if g not in seen:
            seen.add(g)
            groups.append(g)
            if len(groups) >= max_terms:
                break
    return groups
