"""The bilingual domain vocabulary (issue 18): Dutch <-> English terms of funding, public
administration and the hub's topics, applied when querying so that a Dutch word also
matches English records and the other way round.

Three sources, all kept as data:
- storage/data/bilingual.yaml: the curated list (hand-written; its header names the sources);
- storage/data/bilingual_records.yaml: pairs learned from the records that exist in both
  languages (title/title_nl, summary/summary_nl), built by storage/data/build_bilingual.py;
- storage/data/topics.yaml: each topic's Dutch and English label.

An entry is a set of equivalent terms (Dutch and English, one or more words each). A query
word (or a run of query words that forms a term, "district heating") stands for every other
term of its entries. Matching is on stems, so inflections find the entry too.

    translations(["openbaar", "vervoer"]) -> [[("public", "transport")], [("public", "transport")]]
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from storage.search.text import STOPWORDS, stems, tokens

DATA = Path(__file__).resolve().parents[1] / "data"
CURATED = DATA / "bilingual.yaml"
LEARNED = DATA / "bilingual_records.yaml"
MAX_PHRASE = 3      # longest term, in content words
MAX_ALTS = 12       # translations kept per query word


def _words(term: str) -> tuple[str, ...]:
    return tuple(w for w in tokens(term) if w not in STOPWORDS)


@lru_cache(maxsize=1)
def entries() -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Every entry as a tuple of terms, each term a tuple of content words."""
    raw: list[list[str]] = []
    for path in (CURATED, LEARNED):
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for e in data.get("entries", []):
                raw.append([*e.get("nl", []), *e.get("en", [])])
    from storage import topics
    for t in topics.all_topics():
        raw.append([t.nl, t.en])
    out = []
    for terms in raw:
        ts = tuple(dict.fromkeys(w for w in (_words(str(x)) for x in terms) if w and len(w) <= MAX_PHRASE))
        if len(ts) > 1:
            out.append(ts)
    return tuple(out)


@lru_cache(maxsize=1)
def _table() -> dict[tuple[str, ...], list[int]]:
    """Term key (stems) -> the entries it belongs to; a word is looked up by each of its
    stems (en and nl)."""
    table: dict[tuple[str, ...], list[int]] = {}
    for i, terms in enumerate(entries()):
        for term in terms:
            for key in _keys(term):
                table.setdefault(key, [])
                if i not in table[key]:
                    table[key].append(i)
    return table


def _keys(words: tuple[str, ...]) -> set[tuple[str, ...]]:
    keys: set[tuple[str, ...]] = {()}
    for w in words:
        keys = {(*k, s) for k in keys for s in stems(w)}
    return keys


def vocabulary_words() -> set[str]:
    return {w for terms in entries() for term in terms for w in term}


def translations(words: list[str]) -> list[list[tuple[str, ...]]]:
    """For each query word, the terms (as word tuples) it may be read as: the other terms of
    every entry that the word, or a run of up to MAX_PHRASE words it is part of, belongs to.
    A hyphenated query word ("cross-border") is looked up whole. A word inside a longer
    term is not looked up alone ("district" in "district heating" is no neighbourhood)."""
    table = _table()
    out: list[list[tuple[str, ...]]] = [[] for _ in words]
    parts = [tuple(p for p in w.split("-") if p and p not in STOPWORDS) for w in words]
    covered: set[int] = set()   # words read as part of a longer term ("district heating")
    for n in range(MAX_PHRASE, 0, -1):
        for i in range(len(words)):
            if i + n > len(words) or covered.intersection(range(i, i + n)) and n == 1:
                continue
            run = tuple(p for k in range(i, i + n) for p in parts[k])
            if not run or len(run) > MAX_PHRASE:
                continue
            found: list[int] = []
            for key in _keys(run):
                found.extend(e for e in table.get(key, ()) if e not in found)
            if not found:
                continue
            if n > 1:
                covered.update(range(i, i + n))
            mine = _keys(run)
            for e in found:
                for term in entries()[e]:
                    if _keys(term) & mine:
                        continue
                    for k in range(i, i + n):
                        if term not in out[k] and len(out[k]) < MAX_ALTS:
                            out[k].append(term)
    return out
