"""Ranking of search hits, shared by funding, labs and knowledge (issue 18): one place
for how relevance, topics, openness and distance combine.

Relevance bands ("open first without losing relevance"): hits are ordered by relevance;
a band is a run of hits whose relevance is within BAND of the band's best; inside a band
what one can act on (open, forthcoming, continuous; upcoming events) comes before what is
closed or passed, then relevance. A closed record that is clearly more relevant stays
above an open one; among comparable ones the open one leads.

Funding relevance (`funding_relevance`):
  + coverage   the idf-weighted share of the query's words the record matches (its words,
               their translations and compounds, or a topic they name), 0..1
  + strength   BM25 relative to the best candidate, 0..1
  + LITERAL x  the share matched by the words themselves, not only by the topic they name
               ("luchtkwaliteit" in the text beats a healthy-living theme alone)
  + TOPIC      when one of the record's (at most BROAD_THEMES) themes is a topic the words
               name: it is about what was asked; a broad scheme (more themes, e.g. a
               regional ERDF programme) gets it only in proportion to its focus.
"""
from __future__ import annotations

from typing import Callable, Hashable, Iterable, Sequence, TypeVar

T = TypeVar("T")

BAND = 0.45           # relevance within this of the band's best = comparable
LITERAL = 0.6
TOPIC = 0.6
BROAD_THEMES = 3
FULL = 0.99          # coverage this high = every word
STRONG, STRONG_BROAD, MEDIUM = 0.6, 0.9, 0.25   # BM25 relative to the best candidate
EPS = 1e-9
OPEN_BROAD = 0.45     # an open broad scheme on the topic with every word: this much BM25 (relative)
DECAY_KM = 40.0       # labs: a lab this far from the centre counts half
THEME_BOOST = 0.6     # labs: named themes a lab has, as a share of those named

# What one can act on first: open / forthcoming / continuous, then unknown, then closed.
OPENNESS = {"open": 0, "continuous": 0, "forthcoming": 0, "unknown": 1, "gone": 1, "invitation_only": 2,
            "closed": 2}


# Order inside a band, by (openness 0 open / 1 unknown / 2 closed, focus 0 on the topic / 1 not):
# open on the topic; unknown on the topic; open but broad; closed on the topic; the rest, where
# a broad scheme on the topic (focus 1) comes before a record not on it (focus 2), then openness.
TIERS = {(0, 0): 0, (1, 0): 1, (0, 1): 2, (2, 0): 3, (1, 1): 4, (2, 1): 4}
ABOUT, ON_TOPIC, OFF_TOPIC = 0, 1, 2   # focus: about the topic / a broad scheme on it / not on it


def funding_relevance(score: float, literal: float, themes: set[str], wanted: set[str]) -> float:
    """Order inside a band: the engine's score (coverage + strength), the share of the
    record's themes the words name, and LITERAL x the share of the words it has itself."""
    focus = len(themes & wanted) / len(themes) if themes else 0.0
    return score + focus + LITERAL * literal


def about(themes: set[str], wanted: set[str]) -> bool:
    """One of the record's (at most BROAD_THEMES) themes is a topic the words name."""
    return bool(wanted & themes) and len(themes) <= BROAD_THEMES


def focus_of(themes: set[str], wanted: set[str]) -> int:
    """ABOUT the topic the words name, ON_TOPIC (a broad scheme that has it among many
    themes) or OFF_TOPIC, for in_bands' `focus`."""
    return ABOUT if about(themes, wanted) else ON_TOPIC if wanted & themes else OFF_TOPIC


def funding_band(coverage: float, strength: float, literal: float, best_literal: float, themes: set[str],
                 wanted: set[str], label: bool = False, open_now: bool = False, about_literal: float = 1.0) -> int:
    """The relevance band of a funding hit:
    0  about what was asked: one of its (at most three) themes is a topic the words name
       (other words such as "gemeente" may be missing) -- unless other records have the words
       themselves and this one only the topic of a narrower word ("luchtkwaliteit" names
       healthy living; `label`: the words are a topic's own name, then the topic suffices);
       or it has every word, with weight in its text, or (not broad) every word in its own
       text at all where no record about the topic has them all (`about_literal`, the best
       share of them such a record has: "bodemdaling funderingsschade", the one record that
       names both, above records that only have the topic a word names);
    1  every word, with less weight (or only the topic, where others have the words);
    2  partial or incidental matches.
    A broad scheme (more than three themes) reaches band 0 only when the words are prominent
    in its own text, or when one can apply now and it has every word itself, on the topic
    (then it comes after the open instruments about the topic, see in_bands' `focus`)."""
    broad = len(themes) > BROAD_THEMES
    if wanted & themes and not broad:
        return 0 if label or best_literal < FULL or (literal > 0 and coverage >= FULL) else 1
    if coverage < FULL:
        return 2
    if strength >= (STRONG_BROAD if broad else STRONG):
        return 0
    if not broad and literal >= FULL and about_literal < FULL and strength >= MEDIUM:
        return 0   # every word in its own text, where no record about the topic has them all
    if broad and open_now and wanted & themes and literal >= FULL and strength >= OPEN_BROAD:
        return 0   # open now, on the topic, every word in its own text: comparable
    return 1 if strength >= MEDIUM else 2


def funding_bands(hits: list[tuple[float, float, float, set[str], bool]], wanted: set[str],
                  label: bool = False) -> list[int]:
    """funding_band of each hit ((coverage, strength, literal, themes, open now)). Two ways an
    open record joins a better band, so that what one can act on is not put below a closed
    record it is comparable to:
    - when an open broad scheme reaches band 0, the open records about the topic join it: an
      open instrument about the topic never comes after an open broad scheme;
    - an open broad scheme on the topic joins the band of a record one cannot act on now
      that matches the query's words no better than it does (no more coverage, no more of
      them in its own text): all that separated them was the breadth of the scheme, and
      among comparable records the open one leads (in_bands puts it after those about the
      topic that are not closed). It must have words in its own text, not only the topic
      tag: every word of a query it matches whole ("biodiversity": Urban nature before the
      closed LIFE Nature call), some of a sentence it matches in part; a generic scheme with
      half of "digitale overheid" in its text stays below the instruments about it."""
    best = max((h[2] for h in hits), default=0.0)
    best_about = max((lit for _, _, lit, th, _ in hits if about(th, wanted)), default=0.0)
    bands = [funding_band(c, s, lit, best, th, wanted, label, o, best_about) for c, s, lit, th, o in hits]
    if any(b == 0 and o and len(th) > BROAD_THEMES for b, (_, _, _, th, o) in zip(bands, hits)):
        bands = [0 if o and about(th, wanted) else b for b, (_, _, _, th, o) in zip(bands, hits)]
    shut = [(b, c, lit) for b, (c, _, lit, _, o) in zip(bands, hits) if not o]
    for k, (c, _, lit, th, o) in enumerate(hits):
        if o and len(th) > BROAD_THEMES and wanted & th and lit > 0 and (lit >= FULL or c < FULL):
            better = [b for b, c2, lit2 in shut if b < bands[k] and c2 <= c + EPS and lit2 <= lit + EPS]
            if better:
                bands[k] = min(better)
    return bands


def in_bands(items: Iterable[T], relevance: Callable[[T], float], openness: Callable[[T], int],
             key: Callable[[T], Hashable] = lambda x: 0, band: Callable[[T], int] | None = None,
             focus: Callable[[T], int] = lambda x: 0) -> list[T]:
    """`items` in relevance bands (`band`, lower first; without it, runs of relevance within
    BAND of the run's best), each band ordered in TIERS of (openness, focus), then relevance,
    then `key` (stable ties). Nothing closed comes before something open in the same band,
    and nothing broad before something on the topic one can act on or may be able to."""
    scored = sorted(((relevance(i), i) for i in items), key=lambda p: (-p[0], key(p[1])))
    if band is None:
        labels, k, n = [], 0, 0
        while k < len(scored):
            top = scored[k][0]
            while k < len(scored) and scored[k][0] >= top - BAND:
                labels.append(n)
                k += 1
            n += 1
    else:
        labels = [band(i) for _, i in scored]

    def order(p):
        rel, i = p[1]
        o, f = openness(i), focus(i)
        return (p[0], TIERS.get((min(o, 2), min(f, 1)), 6), f, o, -rel, key(i))
    return [i for _, (_, i) in sorted(zip(labels, scored), key=order)]


def sink(items: Sequence[T], done: Callable[[T], bool]) -> list[T]:
    """Keep the order, but what is over (passed events) goes to the end."""
    return [i for i in items if not done(i)] + [i for i in items if done(i)]


def lab_score(base: float, themes: Iterable[str], boost: set[str], distance_km: float | None) -> float:
    """A lab's rank score: its text relevance, plus the share of the named themes it has,
    divided by distance decay when there is a centre."""
    score = base
    if boost:
        score += THEME_BOOST * len(boost.intersection(themes or ())) / len(boost)
    if distance_km is not None:
        score = score / (1.0 + distance_km / DECAY_KM)
    return score
