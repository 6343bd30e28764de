"""A small chain in front of every command handler (aiogram style):
language -> flood guard -> permission -> handler. Each link is one small class."""
from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Awaitable, Callable

from bot.framework.context import Context
from bot.framework.errors import MissingRole, RateLimited
from bot.framework.roles import Role
from bot.framework.i18n import SHARED, language_signal
from storage.models.core import KeyValue, UserPrefs
from storage.privacy import language_memory_key

Next = Callable[[Context], Awaitable[None]]


class Middleware:
    async def __call__(self, handler: Next, ctx: Context) -> None:  # pragma: no cover - interface
        await handler(ctx)


class LanguageMiddleware(Middleware):
    """Reply language, first that applies: the user's saved choice (`!lang`) > the language
    of the message (words after the command; the hub's vocabulary counts, so "climate
    adaptation" is English) or a Dutch command alias (`!hulp`) > the language the user last
    wrote in clearly > an English command name that has a Dutch alias (`!help`, not `!hulp`)
    > bot.language. Zone: saved choice > bot.timezone.

    The last clear language is kept per user in the kv table (restart-safe, no schema
    change), so "!funding sbir" after a Dutch question stays Dutch."""

    async def __call__(self, handler, ctx):
        prefs = await ctx.db.get(UserPrefs, ctx.sender)
        lang = prefs.language if prefs and prefs.language else None
        if lang is None:
            cmd = ctx.command
            english_name, clear = False, True
            text = ctx.incoming.body
            top = cmd.parent if cmd is not None and cmd.parent is not None else cmd
            if ctx.invoked_as:
                # Command words are English by design: judge only what follows them
                # (`!about` alone says little; `!funding klimaat voor gemeenten` does),
                # and not a subcommand's word either (`!subsidie set …`).
                text = text.split(ctx.invoked_as, 1)[-1]
                if ctx.invoked_sub:
                    text = text.split(ctx.invoked_sub, 1)[-1]
            # A Dutch alias English shares (`subsidies`) does not say Dutch.
            if cmd is not None and ((ctx.invoked_as and ctx.invoked_as.lower() in top.dutch
                                     and ctx.invoked_as.lower() not in SHARED) or
                                    (ctx.invoked_sub and ctx.invoked_sub.lower() in cmd.dutch)):
                lang = "nl"
            else:
                english_name = cmd is not None and bool(top.dutch or cmd.dutch)
                lang, clear = language_signal(text)
            key = _last_key(ctx.sender)
            if lang is not None and clear:
                await _remember(ctx, key, lang)
            if lang is None or not clear:
                weak = lang
                row = await ctx.db.get(KeyValue, key)
                lang = row.value if row is not None and row.value in ("nl", "en") else weak
                if lang is None and english_name:
                    lang = "en"
        ctx.set_language(lang or ctx.settings.bot.language, prefs.timezone if prefs and prefs.timezone else None)
        await handler(ctx)


def _last_key(user_id: str) -> str:
    # Defined with the privacy registry, which must find (and forget) this key.
    return language_memory_key(user_id)


async def _remember(ctx, key: str, lang: str) -> None:
    row = await ctx.db.get(KeyValue, key)
    if row is None:
        ctx.db.add(KeyValue(key=key, value=lang))
    elif row.value != lang:
        row.value = lang


class DialogueMiddleware(Middleware):
    """Answers to a dialogue the bot started (`@cog.question(first=True)`: the guided review
    in a direct chat) go to that dialogue before the flood guard: a person doing what the
    bot asked is not flooding, and such an answer is not a command to throttle or to check
    a command's role for. Only text without the prefix can be an answer (`ctx.dialogue_text`,
    set by the dispatcher)."""

    def __init__(self, handlers: Callable[[], list]):
        self.handlers = handlers

    async def __call__(self, handler, ctx):
        text = getattr(ctx, "dialogue_text", None)
        if text is not None and not ctx.dialogue_tried:
            ctx.dialogue_tried = True
            for answer in self.handlers():
                if await answer(ctx, text):
                    return
        await handler(ctx)


class RateLimitMiddleware(Middleware):
    """Per-user sliding window. Nothing refused is dropped in silence: every refused message
    is answered (the dispatcher quotes what was not handled); the first refusal in a window
    explains, the next ones are one line each, and after `notices` of them one last line says
    that nothing sent before the window ends is handled, so a flood is not echoed message
    for message. Admins (the operators, also the console user) are not limited."""

    def __init__(self, count: int, window_seconds: float, clock=time.monotonic, notices: int = 10):
        self.count, self.window, self.clock, self.notices = count, window_seconds, clock, notices
        self.hits: dict[str, deque[float]] = defaultdict(deque)
        self.warned_until: dict[str, float] = {}
        self.refused: dict[str, int] = {}

    async def __call__(self, handler, ctx):
        if (ctx.command is not None and not ctx.command.rate_limited) or ctx.role >= Role.ADMIN:
            return await handler(ctx)
        now = self.clock()
        hits = self.hits[ctx.sender]
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if len(hits) >= self.count:
            retry = self.window - (now - hits[0])
            first = self.warned_until.get(ctx.sender, 0) <= now
            if first:
                self.refused[ctx.sender] = 0
            self.refused[ctx.sender] = n = self.refused.get(ctx.sender, 0) + 1
            self.warned_until[ctx.sender] = now + retry
            raise RateLimited(retry, first, quiet=n > self.notices + 1, last=n == self.notices + 1)
        hits.append(now)
        await handler(ctx)


class PermissionMiddleware(Middleware):
    async def __call__(self, handler, ctx):
        if ctx.command is not None and ctx.role < ctx.command.role:
            raise MissingRole(ctx.command.role)
        await handler(ctx)


def chain(middlewares: list[Middleware], endpoint: Next) -> Next:
    handler = endpoint
    for mw in reversed(middlewares):
        handler = (lambda m, h: (lambda ctx: m(h, ctx)))(mw, handler)
    return handler
