"""Intents: what a plain sentence asks for, declared by the capability that serves it.

Each capability's manifest lists its intents (`Capability(intents=(Intent(...), ...))`);
the dispatcher tries every declared intent on plain text before the free-text search
handlers, so "remind me tomorrow at 9 to call the province" reaches the reminders and
"wanneer is de volgende sessie?" the sessions, not a funding search. An intent is a small
classifier (regular expressions, searched case-insensitively; `unless` ones veto) and a
handler `(ctx, text, match) -> bool` that answers (True) or leaves the text to the next
intent and the search handlers (False). Where a command has to be confirmed (planning a
session, subscribing, sharing, deleting data) the handler answers with the exact command
to run instead of acting.

Helpers for handlers: `find_when` locates a time phrase anywhere in a sentence."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

from bot.framework.timeparse import TimeParseError, parse_when

IntentHandler = Callable[..., Awaitable[bool]]


@dataclass(frozen=True)
class Intent:
    name: str                          # "<capability>.<what>", for logs and tests
    patterns: tuple[str, ...]          # any of these found in the text: the intent may apply
    handler: IntentHandler             # (ctx, text, match) -> answered?
    unless: tuple[str, ...] = ()       # any of these found: it does not apply
    _compiled: tuple = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_compiled", (
            tuple(re.compile(p, re.I) for p in self.patterns), tuple(re.compile(p, re.I) for p in self.unless)))

    def match(self, text: str) -> re.Match | None:
        patterns, unless = self._compiled
        if any(u.search(text) for u in unless):
            return None
        for p in patterns:
            m = p.search(text)
            if m:
                return m
        return None


# Words a time phrase can start with or consist of: a span without one is not tried.
_TIMEISH = re.compile(
    r"\d|\b(?:vandaag|morgen\w*|overmorgen|vanavond|vanmiddag|vanochtend|vanmorgen|vannacht|tonight|today|tomorrow"
    r"|noon|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|half|kwart|quarter|uur|hours?|minut\w*|weeks?|weken|dagen|days?|maand\w*|months?"
    r"|eind|begin|januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    r"|january|february|march|may|june|july|august|october)\b", re.I)
_EDGE = frozenset("about to the a an aan de het om at on op over for voor met with and en that dat of van "
                  "me mij je you i ik please graag".split())
_START = frozenset("in over binnen om at on op".split())   # may open a time phrase


@dataclass(frozen=True)
class Found:
    when: datetime
    had_time: bool
    start: int     # word index
    end: int       # word index after the phrase
    phrase: str


def find_when(words: list[str], *, lang: str, tz: str, now: datetime, max_words: int = 8) -> Found | None:
    """The longest run of words that reads as a future moment (the earliest of equal length)."""
    best: Found | None = None
    clean = [w.strip(",.;:!?()\"'") for w in words]
    for i in range(len(clean)):
        if not clean[i] or clean[i].lower() in _EDGE - _START:
            continue
        for j in range(min(len(clean), i + max_words), i, -1):
            if best is not None and j - i <= best.end - best.start:
                break
            if clean[j - 1].lower() in _EDGE or not clean[j - 1]:
                continue
            phrase = " ".join(clean[i:j])
            if not _TIMEISH.search(phrase):
                continue
            try:
                r = parse_when(phrase, lang=lang, tz=tz, now=now)
            except TimeParseError:
                continue
            best = Found(r.when, r.had_time, i, j, phrase)
            break
    return best


def without(words: list[str], start: int, end: int) -> list[str]:
    return words[:start] + words[end:]


def command_of(registry, qualified: str):
    """`mydata delete` -> its Command."""
    words = qualified.split()
    cmd = registry.get(words[0])
    for w in words[1:]:
        cmd = cmd.subcommands[w] if cmd is not None else None
    if cmd is None:
        raise KeyError(qualified)
    return cmd


async def run_command(ctx, qualified: str, **kwargs) -> None:
    """Run a command for an intent exactly as if it had been typed (role checked, the command
    recorded on the context for metrics and error replies). Unset options get their defaults."""
    from bot.framework.errors import MissingRole

    cmd = command_of(ctx.services.registry, qualified)
    if ctx.role < cmd.role:
        raise MissingRole(cmd.role)
    full = {o.name: ([] if o.multiple else o.default) for o in cmd.options}
    full.update({a.name: a.default for a in cmd.arguments if a.name not in kwargs})
    full.update(kwargs)
    ctx.command, ctx.invoked_as = cmd, qualified.split()[0]
    await cmd.callback(ctx, **full)


def proposal(ctx, qualified: str, args: str = "") -> str:
    """The exact command to run, in the reader's language, as inline code."""
    text = ctx.command_name(qualified) + (" " + args if args else "")
    return f"`{text.replace('`', chr(39))}`"
