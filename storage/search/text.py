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
    return " ".join(out)


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
