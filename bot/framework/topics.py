"""The one topic converter, for every command that takes a topic.

People name a topic by its label, any alias (storage/data/topics.yaml) or an everyday word
in Dutch or English: `klimaatadaptatie`, `#hittestress`, `heat stress`, `climate-adaptation`,
`klimaat adaptatie`, `water`, `klimaat`. This module turns what they typed into topics:

    match("hittestress")    -> TopicMatch(topics=(climate-adaptation,))
    match("klimaat")        -> TopicMatch(topics=(climate-neutral-cities, climate-adaptation))  a choice
    match("klimaatadaptie") -> TopicMatch(topics=(), close=(climate-adaptation,))                a typo

and the converters raise, where a word is not exactly one topic, a reply that lists the
candidates, each with the exact command to run (the person's own command with the word
replaced): never a silent pick, never a bare refusal.

    TopicArg()      one topic (an option such as --theme, a #tag): the topic id
    TopicList(...)  one or more topics in free words (`!subscribe klimaat energie weekly`),
                    with extra words the command itself reads (frequency, `all`)
    topic_name(id, lang)  the name to show a reader (never the id, unless it is unknown)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from rapidfuzz import fuzz

from bot.framework.arguments import Converter
from bot.framework.errors import BadArgument, NeedsChoice
from bot.framework.i18n import N_
from storage import topics as catalogue
from storage.search.text import STOPWORDS, stems, tokens

if TYPE_CHECKING:
    from bot.framework.context import Context
    from storage.topics import Topic

# Words that begin many names and say nothing about a topic alone ("duurzaam", "digital" does).
GENERIC = catalogue._GENERIC_HEADS - {"digitale", "digitaal", "digital"}
MAX_SPAN = 4          # words a topic name may have in a list (`missie klimaatneutrale steden`)
MAX_COMMAND = 300     # a longer command is not repeated in a reply: the word alone is shown


@dataclass(frozen=True)
class TopicMatch:
    typed: str
    topics: tuple["Topic", ...] = ()      # one: that topic; several: the person chooses
    close: tuple["Topic", ...] = ()       # none fit: topics whose names are spelt nearly so

    @property
    def topic(self) -> "Topic | None":
        return self.topics[0] if len(self.topics) == 1 else None


def _exact(word: str) -> "Topic | None":
    low = word.strip().lower()
    return (catalogue.get(low) or catalogue.lookup(low) or catalogue.lookup(low.replace("_", " "))
            or (catalogue.lookup("".join(low.split())) if " " in low else None))


def _strict(word: str) -> list[str]:
    """Topics a single word stands for in search (label/alias, compound head, first word)."""
    named = [t.id for t in catalogue.find_in_text(word)]
    return list(dict.fromkeys([*named, *catalogue.query_topics(word)]))


@lru_cache(maxsize=1)
def _term_words() -> tuple[tuple[str, frozenset[str], str], ...]:
    """Every word of every topic's names, with its stems and the topic (built once)."""
    return tuple((tok, frozenset(stems(tok)), t.id)
                 for t in catalogue.all_topics() for term in t.terms for tok in tokens(term)
                 if tok not in STOPWORDS and len(tok) >= 3)


def _loose(word: str) -> list[str]:
    """Topics with a name word of the same stem or that begins with `word` (`digitaal` ->
    digitale inclusie, digitale tweeling, digitale overheid)."""
    if len(word) < 4 or word in GENERIC:
        return []
    own = frozenset(stems(word))
    out: list[str] = []
    for tok, tok_stems, tid in _term_words():
        if tid not in out and tok not in GENERIC and (own & tok_stems or tok.startswith(word)):
            out.append(tid)
    return out


def _near(word: str) -> list[str]:
    """Topics with a name word spelt almost as `word` (`duurzaam` -> duurzame energie,
    `klimaatadaptie` -> klimaatadaptatie): never taken without asking."""
    if len(word) < 5:
        return []
    out: list[str] = []
    for tok, _, tid in _term_words():
        if tid not in out and fuzz.ratio(tok, word) >= 85:
            out.append(tid)
    return out


def _combine(per_word: list[list[str]]) -> list[str]:
    """The topics all words share; where they share none, every topic any word names."""
    shared = [x for x in per_word[0] if all(x in other for other in per_word[1:])]
    if shared:
        return shared
    return list(dict.fromkeys(x for ids in per_word for x in ids))


def match(raw: str) -> TopicMatch:
    """What `raw` (a tag, an option value, a phrase of up to a few words) names."""
    typed = (raw or "").strip()[:200]
    word = typed.lstrip("#").strip()
    if not word:
        return TopicMatch(typed)
    exact = _exact(word)
    if exact is not None:
        return TopicMatch(typed, (exact,))
    words = [w for w in tokens(word) if w not in STOPWORDS]
    if not words or len(words) > MAX_SPAN:
        return TopicMatch(typed, close=_close(word))
    for find in (_strict, _loose):
        per_word = [find(w) for w in words]
        if all(per_word):
            ids = _combine(per_word)
            return TopicMatch(typed, tuple(catalogue.get(x) for x in ids))
    return TopicMatch(typed, close=_close(word, words))


def _close(word: str, words: list[str] = ()) -> tuple["Topic", ...]:
    per_word = [_loose(w) or _near(w) for w in words]
    out: list = [catalogue.get(x) for x in _combine(per_word)] if per_word and all(per_word) else []
    for term in catalogue.suggest(word):
        t = catalogue.lookup(term)
        if t is not None and t not in out:
            out.append(t)
    return tuple(out)


# --------------------------------------------------------------------------- naming
def topic_name(topic_id: str, lang: str) -> str:
    """The name to show a reader of `lang`: the topic's label, never its id (an unknown id,
    from old data, is shown as it is)."""
    t = catalogue.get(topic_id)
    return t.label(lang) if t is not None else topic_id


def command_word(topic: "Topic", lang: str, *, one_token: bool = True, typed: str = "") -> str:
    """How to type `topic` in a command in `lang`: a label or alias of at most two words that
    names `topic` again: the ones that share a word with what the person typed first
    (`klimaat` -> `klimaatneutraal`, `climate` -> `climate neutral`), then the label, then the
    aliases in the order the topic list gives them; joined by a hyphen where one token is
    needed; else its id."""
    own = [frozenset(stems(w)) for w in tokens(typed.lstrip("#")) if w not in STOPWORDS]

    def related(name: str) -> bool:
        return any(w & frozenset(stems(tok)) or any(tok.startswith(x) for x in w if len(x) >= 4)
                   or any(fuzz.ratio(tok, x) >= 85 for x in w) for tok in tokens(name) for w in own)

    other = "en" if lang == "nl" else "nl"
    names = [(lang, topic.label(lang)), *((lang, a) for a in (topic.aliases_nl if lang == "nl" else topic.aliases_en)),
             (other, topic.label(other)), *((other, a) for a in (topic.aliases_nl if other == "nl" else topic.aliases_en))]
    # The other language's names only where the person typed one of them (`klimaatadaptie` in English).
    fitting = [(not related(n), in_lang != lang, k > 0, k, n) for k, (in_lang, n) in enumerate(names)
               if len(tokens(n)) <= 2 and _exact(n) == topic and (in_lang == lang or related(n))]
    if not fitting:
        return topic.id
    name = min(fitting)[-1].lower()
    return "-".join(name.split()) if one_token else name


# --------------------------------------------------------------------------- replies
def command_line(ctx: "Context") -> str | None:
    """The command the person typed (from the command word on, with the prefix), on one line."""
    body = " ".join((ctx.incoming.body or "").split())
    word = ctx.invoked_as
    if not word or not body:
        return None
    prefix = ctx.settings.bot.command_prefix
    m = re.search(rf"(?:^|\s){re.escape(prefix)}?{re.escape(word)}(?=\s|$)", body, re.I)
    if m is None:
        return None
    line = body[m.start():].strip()
    return line if line.startswith(prefix) else prefix + line


def retyped(ctx: "Context", typed: str, replacement: str) -> str | None:
    """The person's command with `typed` replaced by `replacement` (a #tag stays a #tag)."""
    line = command_line(ctx)
    typed = " ".join(typed.split())
    if line is None or not typed:
        return None
    found = re.search(rf"(?<![\w#-]){re.escape(typed)}(?![\w-])", line, re.I)
    if found is None and typed.startswith("#"):
        found = re.search(rf"(?<![\w#-]){re.escape(typed[1:])}(?![\w-])", line, re.I)
    if found is None:
        return None
    text = found.group(0)
    new = ("#" + replacement.lstrip("#")) if text.startswith("#") else replacement.lstrip("#")
    out = line[:found.start()] + new + line[found.end():]
    return out if len(out) <= MAX_COMMAND and "`" not in out else None


def options_for(ctx: "Context", typed: str, candidates: Iterable["Topic"], *, one_token: bool = True,
                command=None) -> list[tuple[str, str]]:
    """(label in the reader's language, the exact command to run) for each candidate; where the
    command cannot be rebuilt, the word to type instead."""
    out = []
    for t in candidates:
        word = command_word(t, ctx.lang, one_token=one_token, typed=typed)
        line = command(word) if command is not None else retyped(ctx, typed, word)
        out.append((t.label(ctx.lang), line or (("#" + word) if typed.startswith("#") else word)))
    return out


def choice_error(ctx: "Context", found: TopicMatch, *, one_token: bool = True, command=None) -> NeedsChoice:
    """The reply for a word that is not exactly one topic: which ones it may mean, how to say it."""
    typed = found.typed
    if len(found.topics) > 1:
        return NeedsChoice("“{value}” fits more than one topic. Which one do you mean?", value=typed[:60],
                           options=options_for(ctx, typed, found.topics, one_token=one_token, command=command))
    if found.close:
        return NeedsChoice("{value} is not a topic I know. Did you mean one of these?", value=typed[:60],
                           options=options_for(ctx, typed, found.close, one_token=one_token, command=command))
    return NeedsChoice("{value} is not a topic I know.", value=typed[:60],
                       options=[(ctx.t("The twelve topics"), ctx.command_name("topics"))])


class TopicArg(Converter):
    """One topic, by any of its names in either language: the topic id."""

    metavar = N_("topic")

    async def convert(self, raw, ctx):
        found = match(raw)
        if found.topic is not None:
            return found.topic.id
        raise choice_error(ctx, found)


@dataclass
class TopicWords:
    """What TopicList read: topic ids in the order named, and the command's own words."""
    ids: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)


class TopicList(Converter):
    """One or more topics in free words (`klimaat adaptatie, energie #mobiliteit`): names of up
    to four words are matched longest first; `extra` maps words the command reads itself
    (`weekly`, `wekelijks`, `all`) to their value."""

    metavar = N_("topics")

    def __init__(self, extra: dict[str, str] | None = None, max_length: int = 500):
        self.extra = {" ".join(k.lower().split()): v for k, v in (extra or {}).items()}
        self.max_length = max_length

    async def convert(self, raw, ctx) -> TopicWords:
        if len(raw) > self.max_length:
            raise BadArgument("That text is too long ({length} characters; at most {max}).",
                              length=len(raw), max=self.max_length)
        words = [w for w in re.split(r"[\s,;]+", raw) if w and w != "#"]
        out = TopicWords()
        i = 0
        while i < len(words):
            word = words[i].lower().lstrip("#")
            two = " ".join(w.lower() for w in words[i:i + 2])
            if two in self.extra and i + 1 < len(words):   # `elke dag`
                out.words.append(self.extra[two])
                i += 2
                continue
            if word in self.extra:
                out.words.append(self.extra[word])
                i += 1
                continue
            for span in range(min(MAX_SPAN, len(words) - i), 1, -1):
                phrase = " ".join(w.lstrip("#") for w in words[i:i + span])
                if (t := _exact(phrase)) is not None:
                    out.ids.append(t.id)
                    i += span
                    break
            else:
                found = match(words[i])
                if found.topic is None:
                    raise choice_error(ctx, found, one_token=False)
                out.ids.append(found.topic.id)
                i += 1
        out.ids = list(dict.fromkeys(out.ids))
        return out
