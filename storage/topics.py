"""The shared list of twelve topics (storage/data/topics.yaml: our own list, drawn from the hub's
proposal and web page, not one the hub publishes), for every capability.

    from storage import topics

    topics.all_topics()                  # [Topic, ...] in file order
    topics.get("climate-adaptation")     # Topic or None
    t.label("nl")                        # "Klimaatadaptatie"
    topics.lookup("hittestress")         # Topic by id, label or alias (nl or en), exact after normalising
    topics.find_in_text("subsidie voor hittestress en fietsen")   # [Topic, ...] mentioned in free text
    topics.suggest("klimaatadaptie")     # ["klimaatadaptatie", ...] close labels/aliases (rapidfuzz)
    topics.index_text(["climate-adaptation", "mobility"])          # text to put in a search document
    topics.expand_query(text)            # SearchIndex(expand=...): tag tokens of topics in `text`

A topic's `tag` is a synthetic word (e.g. "zztopicclimateadaptation") that index_text puts in
documents and expand_query puts in queries, so any alias in either language finds the
documents of that topic even when they never use the alias themselves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from storage.search.text import STOPWORDS, normalize, stems, tokens

TOPICS_FILE = Path(__file__).parent / "data" / "topics.yaml"


@dataclass(frozen=True)
class Topic:
    id: str
    en: str
    nl: str
    aliases_en: tuple[str, ...] = ()
    aliases_nl: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.nl if lang == "nl" else self.en

    @property
    def terms(self) -> tuple[str, ...]:
        """Labels and aliases in both languages (and the id with spaces)."""
        return (self.en, self.nl, self.id.replace("-", " "), *self.aliases_en, *self.aliases_nl)

    @property
    def tag(self) -> str:
        return tag(self.id)


def tag(topic_id: str) -> str:
    return "zztopic" + re.sub(r"[^a-z0-9]", "", topic_id.lower())


@lru_cache(maxsize=1)
def all_topics() -> tuple[Topic, ...]:
    data = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    return tuple(Topic(t["id"], t["en"], t["nl"], tuple(t.get("aliases_en") or ()), tuple(t.get("aliases_nl") or ()))
                 for t in data["topics"])


def ids() -> list[str]:
    return [t.id for t in all_topics()]


def get(topic_id: str) -> Topic | None:
    return _by_id().get(topic_id)


@lru_cache(maxsize=1)
def _by_id() -> dict[str, Topic]:
    return {t.id: t for t in all_topics()}


def _key(text: str) -> str:
    return " ".join(tokens(text))


@lru_cache(maxsize=1)
def _by_term() -> dict[str, Topic]:
    out: dict[str, Topic] = {}
    for t in all_topics():
        for term in (t.id, *t.terms):
            out.setdefault(_key(term), t)
    return out


def lookup(text: str) -> Topic | None:
    """The topic whose id, label or alias (either language) equals `text` (case, accents
    and punctuation ignored), else None."""
    return _by_term().get(_key(text or ""))


def _content_stems(text: str) -> list[frozenset[str]]:
    return [frozenset(stems(w)) for w in tokens(text) if w not in STOPWORDS]


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[list[frozenset[str]], Topic]]:
    pats = []
    for t in all_topics():
        for term in t.terms:
            seq = _content_stems(term)
            if seq:
                pats.append((seq, t))
    pats.sort(key=lambda p: -len(p[0]))
    return pats


@lru_cache(maxsize=1)
def _by_first_stem() -> dict[str, tuple[int, ...]]:
    """Pattern numbers by the stems of their first word: a text is matched by looking up its
    own words, not by trying every alias at every position (it runs on every question)."""
    idx: dict[str, list[int]] = {}
    for n, (seq, _) in enumerate(_patterns()):
        for s in seq[0]:
            idx.setdefault(s, []).append(n)
    return {s: tuple(ns) for s, ns in idx.items()}


def _first_matches(text: str) -> dict[int, int]:
    """Pattern number -> the first content-word index where it matches."""
    words = _content_stems((text or "")[:4000])
    pats, idx = _patterns(), _by_first_stem()
    found: dict[int, int] = {}
    for i, w in enumerate(words):
        for s in w:
            for n in idx.get(s, ()):
                if n in found:
                    continue
                seq = pats[n][0]
                if i + len(seq) <= len(words) and all(words[i + k] & seq[k] for k in range(1, len(seq))):
                    found[n] = i
    return found


def find_in_text(text: str) -> list[Topic]:
    """Topics of which a label or alias occurs in `text` (word-aligned, stemmed, so
    "adapting to heat" and "hittestress" match). Ordered by first occurrence."""
    pats = _patterns()
    found: dict[str, tuple[int, Topic]] = {}
    for n, i in sorted(_first_matches(text).items()):
        t = pats[n][1]
        if t.id not in found or found[t.id][0] > i:
            found[t.id] = (i, t)
    return [t for _, t in sorted(found.values(), key=lambda p: p[0])]


def spans_in_text(text: str) -> list[tuple[Topic, list[int]]]:
    """Like find_in_text, with the indexes (into the content words) each match covers."""
    pats = _patterns()
    return [(pats[n][1], list(range(i, i + len(pats[n][0])))) for n, i in sorted(_first_matches(text).items())]


@lru_cache(maxsize=1)
def _vocabulary() -> list[str]:
    return sorted({normalize(term) for t in all_topics() for term in t.terms})


def suggest(text: str, limit: int = 3, cutoff: float = 75) -> list[str]:
    """Close topic labels/aliases for a (misspelt) term, best first."""
    key = normalize((text or "")[:100])
    if not key.strip():
        return []
    return [m[0] for m in process.extract(key, _vocabulary(), scorer=fuzz.WRatio, limit=limit, score_cutoff=cutoff)]


def index_text(topic_ids) -> str:
    """Labels, aliases and tag of the given topics, for a search document's topic field."""
    parts = []
    for tid in topic_ids or ():
        t = get(tid)
        if t:
            parts.append(" ".join((t.tag, *t.terms)))
    return " ".join(parts)


# First words of multi-word labels/aliases that say nothing about a topic on their own.
_GENERIC_HEADS = frozenset("""duurzame duurzaam sustainable gezonde gezond healthy sociale social digitale digitaal
digital publieke public slimme smart local lokale urban stedelijke open extreem extreme groene green
betaalbare affordable""".split())


@lru_cache(maxsize=1)
def _heads() -> list[tuple[str, str, Topic]]:
    """(word, kind, topic): kind 'whole' = the first word of a multi-word term (climate ->
    "climate adaptation"), 'prefix' = a one-word term that a query word may begin
    (klimaat -> klimaatadaptatie, water -> wateroverlast) or that begins a query word
    (hittestressplan -> hittestress)."""
    out = []
    for t in all_topics():
        for term in t.terms:
            words = [w for w in tokens(term) if w not in STOPWORDS]
            if len(words) > 1 and len(words[0]) >= 5 and words[0] not in _GENERIC_HEADS:
                out.append((words[0], "whole", t))
            elif len(words) == 1 and len(words[0]) > 5:
                out.append((words[0], "prefix", t))
    return out


@lru_cache(maxsize=4096)
def _word_topics(word: str) -> tuple[str, ...]:
    found = [t.id for t in find_in_text(word)]
    if len(word) >= 5 and not word.isdigit():
        for head, kind, t in _heads():
            if t.id in found:
                continue
            if ((kind == "whole" and head == word) or (kind == "prefix" and head != word and (
                    head.startswith(word) or (len(head) >= 6 and word.startswith(head))))):
                found.append(t.id)
    return tuple(found)


def expand_words(words: list[str]) -> list[list[str]]:
    """For each content word of a query, the tags of the topics it belongs to: as part of a
    label/alias phrase ("climate adaptation"), alone ("hittestress"), as the head of a
    compound alias ("klimaat" -> klimaatadaptatie, klimaatneutraal) or as the first word
    of a multi-word term ("climate"). For storage.search.SearchIndex(synonyms=...)."""
    out: list[list[str]] = [[] for _ in words]
    owner: list[int] = []   # content token -> the (possibly hyphenated) query word it is part of
    for i, w in enumerate(words):
        owner.extend(i for tok in tokens(w) if tok not in STOPWORDS)
    in_phrase: set[int] = set()
    for t, span in spans_in_text(" ".join(words)):
        if len(span) > 1:
            for k in span:
                i = owner[k] if k < len(owner) else None
                if i is not None and t.tag not in out[i]:
                    out[i].append(t.tag)
                    in_phrase.add(i)
    for i, w in enumerate(words):
        if i not in in_phrase:   # inside a phrase, the phrase decides ("climate adaptation")
            out[i] = [tag(x) for x in _word_topics(w)]
    return out


def query_topics(text: str) -> list[str]:
    """Ids of the topics the words of a query stand for (see expand_words), in order."""
    from storage.search.text import content_words
    by_tag = {t.tag: t.id for t in all_topics()}
    out: list[str] = []
    for tags in expand_words(content_words(text or "")):
        out.extend(by_tag[x] for x in tags if by_tag[x] not in out)
    return out


def expand_query(text: str) -> list[str]:
    """Synonym expansion for storage.search.SearchIndex: the tags of topics mentioned."""
    return [t.tag for t in find_in_text(text)]


def name_for(topic: Topic, lang: str, typed: str = "") -> str:
    """How to name `topic` in a command in `lang`: the user's own words when they name it,
    else its label or the first alias of at most two words (!subscribe takes up to four)."""
    if typed and (found := lookup(typed)) is not None and found.id == topic.id:
        return typed
    aliases = topic.aliases_nl if lang == "nl" else topic.aliases_en
    for name in (topic.label(lang), *aliases):
        if len(tokens(name)) <= 2 and (found := lookup(name)) is not None and found.id == topic.id:
            return name.lower()
    return topic.id
