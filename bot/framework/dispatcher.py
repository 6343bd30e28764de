"""From an incoming chat message to outgoing replies, exactly once.

The handler, the record that the command was handled and the outbox rows of its replies
are committed in one database transaction; on any error the handler's work is rolled back
and the error reply is committed instead. This is the only place that decides what a
user sees for an error."""
from __future__ import annotations

import html
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, Callable

from rapidfuzz import process

from bot.framework.command import Command, Registry
from bot.framework.context import Context, Services
from bot.framework.errors import (
    BadArgument, CheckFailure, CommandError, CommandNotFound, MissingArgument, MissingRole, RateLimited,
    TooManyArguments, UserInputError, NeedsChoice,
)
from bot.framework.help import escape_params, placeholder, spoken_name, usage
from bot.framework.messages import Incoming, Outgoing, RoomEvent
from bot.framework.middleware import (
    DialogueMiddleware, LanguageMiddleware, Middleware, PermissionMiddleware, RateLimitMiddleware, chain,
)
from bot.framework.tokens import Token, option_name, split
from bot.framework.logs import command_context
from bot.framework.render import md_code, md_escape
from storage.db import DatabaseUnavailable
from storage.models.core import HandledEvent, UserPrefs
from bot.framework import effects

log = logging.getLogger(__name__)

MAX_INPUT = 10_000  # characters of a message we look at; the rest is ignored (and said so)


@dataclass
class Addressed:
    text: str
    explicit_command: bool  # prefix used: unknown words are unknown commands


class Dispatcher:
    def __init__(self, services: Services, middlewares: list[Middleware] | None = None):
        self.services = services
        self.registry: Registry = services.registry
        bot = services.settings.bot
        self.prefix = bot.command_prefix
        self.middlewares = middlewares if middlewares is not None else [
            LanguageMiddleware(),
            DialogueMiddleware(lambda: self.registry.first_questions),
            RateLimitMiddleware(bot.rate_limit_count, bot.rate_limit_window.total_seconds()),
            PermissionMiddleware(),
        ]
        # Called with a command's outbox rows right after they are committed (the runtime's
        # sender starts them at once instead of finding them with a query).
        self.on_committed: Callable[[list], None] | None = None

    def _committed(self, rows: list) -> None:
        if rows and self.on_committed is not None:
            try:
                self.on_committed(rows)
            except Exception:  # noqa: BLE001 - the rows are committed; the sender's query finds them
                log.exception("could not hand new outbox rows to the sender")

    # -- recognition --------------------------------------------------------
    def addressed(self, msg: Incoming) -> Addressed | None:
        """The command text if the message is meant for the bot, else None."""
        body = msg.body.strip()
        if body.startswith(self.prefix) and len(body) > len(self.prefix):
            return Addressed(body[len(self.prefix):].lstrip(), True)
        stripped = self._strip_mention(msg)
        if stripped is not None:
            stripped = stripped.strip()
            if stripped.startswith(self.prefix):
                return Addressed(stripped[len(self.prefix):].lstrip(), True)
            return Addressed(stripped, False)
        if msg.is_direct and body:
            return Addressed(body, False)
        return None

    def _strip_mention(self, msg: Incoming) -> str | None:
        bot_id = self.services.bot_user_id
        names = {bot_id, bot_id.split(":")[0].lstrip("@")}
        display = self.services.extras.get("display_name")
        if display:
            names.add(display)
        body = msg.body.lstrip()
        for name in sorted(names, key=len, reverse=True):
            for lead in (name, "@" + name.lstrip("@")):
                if body.lower().startswith(lead.lower()):
                    after = body[len(lead):]
                    if not after or after[0] in ":, \t\n":
                        return after.lstrip(":,").strip()
        if msg.formatted_body and re.match(
            r'^\s*<a href="https://matrix\.to/#/' + re.escape(bot_id) + r'"', msg.formatted_body
        ):
            # Pill: plain body starts with the display name we may not know yet.
            return body.split(":", 1)[1] if ":" in body[:80] else body
        if bot_id in msg.mentions:
            return body
        return None

    # -- the whole path -------------------------------------------------------
    async def handle(self, msg: Incoming) -> list[Outgoing] | None:
        """Handle one message exactly once. Returns the replies (already in the outbox),
        or None when the message is not for the bot."""
        addressed = self.addressed(msg)
        if addressed is None:
            return None
        # Log lines written while this command is handled say which command it was.
        token = command_context.set({"room": msg.room_id, "sender": msg.sender, "event": msg.event_id})
        try:
            return await self._handle(msg, addressed)
        finally:
            command_context.reset(token)

    async def _handle(self, msg: Incoming, addressed: Addressed) -> list[Outgoing]:
        db = self.services.db
        ctx: Context | None = None
        async with db.sessionmaker() as session:
            try:
                async with session.begin():
                    if await session.get(HandledEvent, msg.event_id):
                        return []  # answered before (e.g. redelivered after a crash)
                    ctx = Context(msg, self.services, session)
                    await self._run(ctx, addressed)
                    out = list(ctx.outgoing)
                    rows = await effects.enqueue(session, out, origin=self._origin(ctx, msg), key=msg.event_id)
                    session.add(HandledEvent(event_id=msg.event_id, room_id=msg.room_id))
                self._committed(rows)
                for callback in ctx.after_commit:
                    await callback()
                self.services.metrics.command(self._metric_name(ctx), "ok", msg.timestamp_ms)
                return out
            except Exception as exc:  # noqa: BLE001 - every error ends here, by design
                if await db.unavailable(exc):
                    # Locked or restarting: nothing was committed; the runtime hands the
                    # message in again, so the user gets the real answer, once.
                    raise DatabaseUnavailable(str(exc)[:200]) from exc
                err_ctx = Context(msg, self.services, session)
                if ctx is not None:
                    err_ctx.command, err_ctx.invoked_as = ctx.command, ctx.invoked_as
                    err_ctx.set_language(ctx.lang, ctx.tz)
                async with session.begin():
                    if await session.get(HandledEvent, msg.event_id):
                        return []
                    await self._on_error(err_ctx, exc)
                    out = list(err_ctx.outgoing)
                    rows = await effects.enqueue(session, out, origin=self._origin(err_ctx, msg), key=msg.event_id)
                    session.add(HandledEvent(event_id=msg.event_id, room_id=msg.room_id))
                self._committed(rows)
                self.services.metrics.command(self._metric_name(err_ctx), _outcome(exc), msg.timestamp_ms)
                return out

    async def handle_event(self, event: RoomEvent) -> list[Outgoing]:
        """A non-text room event for the capabilities that listen to its type, exactly
        once. Errors are logged, never shown: nobody typed a command to be answered."""
        handlers = self.registry.events.get(event.type)
        if not handlers:
            return []
        incoming = Incoming(sender=event.sender, room_id=event.room_id, event_id=event.event_id, body="",
                            timestamp_ms=event.timestamp_ms)
        try:
            async with self.services.db.transaction() as session:
                if await session.get(HandledEvent, event.event_id):
                    return []
                ctx = Context(incoming, self.services, session)
                prefs = await session.get(UserPrefs, event.sender)
                if prefs and (prefs.language or prefs.timezone):
                    ctx.set_language(prefs.language or ctx.lang, prefs.timezone)
                for handler in handlers:
                    await handler(ctx, event)
                out = list(ctx.outgoing)
                rows = await effects.enqueue(session, out, origin=f"event {event.type} ({event.event_id})",
                                            key=event.event_id)
                session.add(HandledEvent(event_id=event.event_id, room_id=event.room_id))
            self._committed(rows)
            for callback in ctx.after_commit:
                await callback()
            return out
        except Exception as exc:  # noqa: BLE001 - one odd event must never stop the bot
            if await self.services.db.unavailable(exc):
                raise DatabaseUnavailable(str(exc)[:200]) from exc
            log.exception("error while handling %s event %s from %s", event.type, event.event_id, event.sender)
            return []

    @staticmethod
    def _metric_name(ctx: Context) -> str:
        # Only declared names: free text must not become a label (unbounded cardinality).
        return ctx.command.qualified_name if ctx.command else ("question" if not ctx.invoked_as else "unknown")

    @staticmethod
    def _origin(ctx: Context, msg: Incoming) -> str:
        name = ctx.command.qualified_name if ctx.command else "?"
        return f"command {name} ({msg.event_id})"

    async def _run(self, ctx: Context, addressed: Addressed) -> None:
        text = pills_to_ids(addressed.text[:MAX_INPUT], ctx.incoming.formatted_body, self.services.bot_user_id)
        if not addressed.explicit_command:
            ctx.dialogue_text = text
        tokens = split(text)
        first = tokens[0].text if tokens else ""
        cmd = self.registry.get(first) if first and not tokens[0].quoted else None
        if cmd is None:
            if addressed.explicit_command:
                ctx.invoked_as = first
                await chain(self.middlewares, lambda c: self._not_found(first))(ctx)
                return
            await chain(self.middlewares, lambda c: self._question(c, text))(ctx)
            return
        rest = tokens[1:]
        sub_word = None
        if cmd.subcommands and rest and not rest[0].quoted and rest[0].text.lower() in cmd.subcommands:
            sub_word = rest[0].text
            cmd = cmd.subcommands[sub_word.lower()]
            rest = rest[1:]
        ctx.command, ctx.invoked_as, ctx.invoked_sub = cmd, first, sub_word
        command_context.set({**command_context.get(), "command": cmd.qualified_name})

        async def endpoint(c: Context) -> None:
            # A dialogue waiting for this user's answer (a review question in a direct chat)
            # takes unprefixed text before command words: there "lab access is great" is an answer.
            if not addressed.explicit_command:
                if not c.dialogue_tried:   # the dialogue middleware already asked them
                    for handler in self.registry.first_questions:
                        if await handler(c, text):
                            return
                # "subscribe me to digital twins, monthly please": a sentence that starts with a
                # command word is first checked against the declared intents.
                if await self._intent(c, text):
                    return
            try:
                kwargs = await parse_arguments(cmd, rest, c)
            except UserInputError:
                # Without a prefix, "proeftuin energie bij groningen" is as likely a question
                # that starts with a command word: the question handlers get it first.
                if addressed.explicit_command or not await self._as_question(c, text):
                    raise
                return
            await cmd.callback(c, **kwargs)

        await chain(self.middlewares, endpoint)(ctx)

    async def _as_question(self, ctx: Context, text: str) -> bool:
        """Whether a question handler answers `text` (then it is counted as a question)."""
        command, invoked_as, sub = ctx.command, ctx.invoked_as, ctx.invoked_sub
        ctx.command = ctx.invoked_as = ctx.invoked_sub = None
        for handler in self.registry.questions:
            if not getattr(handler, "__dsih_first__", False) and await handler(ctx, text):
                return True
        ctx.command, ctx.invoked_as, ctx.invoked_sub = command, invoked_as, sub
        return False

    async def _intent(self, ctx: Context, text: str) -> bool:
        """The first declared intent (bot.framework.intents) that matches `text` and answers it."""
        command, invoked_as, sub = ctx.command, ctx.invoked_as, ctx.invoked_sub
        for intent in self.registry.intents:
            match = intent.match(text)
            if match is None:
                continue
            ctx.command = ctx.invoked_as = ctx.invoked_sub = None
            if await intent.handler(ctx, text, match):
                log.debug("intent %s answered", intent.name)
                return True
            ctx.command, ctx.invoked_as, ctx.invoked_sub = command, invoked_as, sub
        return False

    async def _fallback(self, ctx: Context, text: str) -> bool:
        """A plain question nothing else answered, searched where it clearly matches records
        (the capability whose Fallback.probe is highest); False when none matches."""
        best, chosen = 0.0, None
        for fallback in self.registry.fallbacks:
            score = await fallback.probe(ctx, text)
            if score > best:
                best, chosen = score, fallback
        if chosen is None:
            return False
        log.debug("fallback search answered (probe %.2f)", best)
        await chosen.answer(ctx, text)
        return True

    async def _not_found(self, name: str) -> None:
        raise CommandNotFound(name[:50], suggest_commands(self.registry, name))

    async def _question(self, ctx: Context, text: str) -> None:
        if not text.strip():
            await ctx.reply(ctx.t("Hello! Type `{prefix}help` to see what I can do.", prefix=self.prefix))
            return
        for handler in self.registry.first_questions:
            if await handler(ctx, text):
                return
        if await self._intent(ctx, text):
            return
        for handler in self.registry.questions:
            if not getattr(handler, "__dsih_first__", False) and await handler(ctx, text):
                return
        if await self._fallback(ctx, text):
            return
        await ctx.reply(ctx.t("I did not understand that. Type `{prefix}help` to see what I can do, "
                              "or ask about funding or living labs.", prefix=self.prefix))

    # -- errors -----------------------------------------------------------------
    async def _on_error(self, ctx: Context, exc: Exception) -> None:
        t, p = ctx.t, self.prefix
        cmd = ctx.command
        if isinstance(exc, NeedsChoice):
            lines = ["❓ " + t(exc.message, **escape_params(exc.params))]
            lines += [f"- **{md_escape(label)}**: {md_code(command)}" for label, command in exc.options]
            await ctx.reply("\n".join(lines))
        elif isinstance(exc, UserInputError):
            params = escape_params(exc.params)
            if isinstance(exc, MissingArgument) and exc.describe:
                params["name"] = f"{md_escape(t(exc.describe))} (`{placeholder(exc.params['name'], t)}`)"
            lines = ["⚠️ " + t(exc.message, **params)]
            suggestions = exc.params.get("suggestions") if isinstance(exc, BadArgument) else None
            if suggestions:
                lines.append(t("Did you mean: {names}?", names=", ".join(md_escape(s) for s in suggestions)))
            if cmd is not None:
                lines.append(t("Usage: {usage}", usage=f"`{usage(cmd, p, t)}`") + " — " +
                             t("more: `{prefix}help {name}`", prefix=p, name=spoken_name(cmd, t.lang)))
            await ctx.reply("\n\n".join(lines))
        elif isinstance(exc, CommandNotFound):
            msg = t("I don't know the command {name}.", name=md_escape(p + exc.name))
            if exc.suggestions:
                msg += " " + t("Did you mean: {names}?", names=", ".join(f"`{p}{s}`" for s in exc.suggestions))
            msg += " " + t("Type `{prefix}help` for all commands.", prefix=p)
            await ctx.reply(msg)
        elif isinstance(exc, MissingRole):
            await ctx.reply("🔒 " + t(exc.role.refusal(ctx.incoming.room_grants_roles),
                                      command=f"`{p}{spoken_name(cmd, t.lang) if cmd else '?'}`"))
        elif isinstance(exc, RateLimited):
            # Never dropped in silence: say what was not handled, quoted, and when to resend.
            # After the last notice of a window the person knows that nothing more is handled.
            if not exc.quiet:
                seconds = max(1, round(exc.retry_after))
                quoted = "“" + md_escape(_shorten(ctx.incoming.body)) + "”"
                if exc.first:
                    msg = t("You are sending commands quickly, so I did not handle {message}. "
                            "Please send it again in {seconds} seconds.", message=quoted, seconds=seconds)
                else:
                    msg = "⏳ " + t("Not handled (too many messages in a minute): {message}. "
                                   "Send it again in {seconds} seconds.", message=quoted, seconds=seconds)
                if exc.last:
                    msg += " " + t("Until then I will not answer anything else you send: "
                                   "after {seconds} seconds, send again what you still need.", seconds=seconds)
                await ctx.reply(msg)
        elif isinstance(exc, CheckFailure):
            await ctx.reply("🔒 " + t(exc.message, **escape_params(exc.params)))
        elif isinstance(exc, CommandError):
            await ctx.reply("⚠️ " + t(exc.message, **escape_params(exc.params)))
        else:
            ref = secrets.token_hex(4)
            self.services.metrics.internal_errors.inc()
            command_context.set({**command_context.get(), "ref": ref})
            log.error("internal error %s in %s from %s in %s", ref, cmd.qualified_name if cmd else "?",
                      ctx.sender, ctx.incoming.room_id, exc_info=exc)
            await ctx.reply(t("Sorry, something went wrong on my side (reference {ref}). "
                              "The team can look it up with that reference.", ref=ref))


_PILL = re.compile(r'<a href="https://matrix\.to/#/(@[^"<>\s]+?)"\s*>(.*?)</a>', re.S)


def pills_to_ids(text: str, formatted_body: str | None, bot_id: str) -> str:
    """A pill shows a display name in the plain body ("Bob Smith"); commands need the
    Matrix ID it links to, so each pill's label becomes its ID (first occurrence)."""
    if not formatted_body or "matrix.to" not in formatted_body:
        return text
    for user_id, label in _PILL.findall(formatted_body[:MAX_INPUT]):
        user_id = html.unescape(user_id)
        label = html.unescape(re.sub(r"<[^>]+>", "", label)).strip()
        if user_id == bot_id or not label or label == user_id:
            continue
        for candidate in (label, "@" + label):
            pos = text.find(candidate)
            if pos != -1:
                text = text[:pos] + user_id + text[pos + len(candidate):]
                break
    return text


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _outcome(exc: Exception) -> str:
    if isinstance(exc, MissingRole) or isinstance(exc, CheckFailure):
        return "denied"
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, (UserInputError, CommandNotFound)):
        return "bad_input"
    if isinstance(exc, CommandError):
        return "refused"
    return "internal_error"


def suggest_commands(registry: Registry, name: str, limit: int = 3) -> list[str]:
    """Closest command names, one per command (the spelling that matched best)."""
    names = [n for n, c in registry.by_name.items() if not c.hidden and len(n) > 1]
    seen, out = set(), []
    for match, _score, _ in process.extract(name.lower()[:50], names, limit=10, score_cutoff=55):
        cmd = registry.by_name[match]
        if id(cmd) not in seen:
            seen.add(id(cmd))
            out.append(match)
    return out[:limit]


async def parse_arguments(cmd: Command, tokens: list[Token], ctx: Context) -> dict[str, Any]:
    kwargs: dict[str, Any] = {o.name: ([] if o.multiple else o.default) for o in cmd.options}
    positional: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        opt = option_name(tok)
        if opt is None:
            positional.append(tok.text)
            i += 1
            continue
        name, inline = opt
        decl = cmd.option_for(name)
        if decl is None:
            known = [n for o in cmd.options for n in o.names]
            close = [f"--{m[0]}" for m in process.extract(name[:40], known, limit=2, score_cutoff=60)]
            raise BadArgument("Unknown option: --{option}.", option=name[:40], suggestions=close)
        i += 1
        if decl.is_flag:
            if inline is not None:
                raise BadArgument("The option --{option} takes no value.", option=decl.name)
            kwargs[decl.name] = True
            continue
        if inline is None:
            if i >= len(tokens) or option_name(tokens[i]) is not None:
                raise BadArgument("The option --{option} needs a value.", option=decl.name)
            inline = tokens[i].text
            i += 1
            joins = getattr(decl.converter, "joins_next", None)
            if joins is not None and i < len(tokens) and option_name(tokens[i]) is None and joins(tokens[i].text):
                inline += " " + tokens[i].text   # `--min-budget 1 miljoen`
                i += 1
        try:
            value = await decl.converter.convert(inline, ctx)
        except BadArgument as exc:
            exc.argument = decl.name
            raise
        if decl.multiple:
            kwargs[decl.name].append(value)
        else:
            kwargs[decl.name] = value
    cursor = 0
    for n, arg in enumerate(cmd.arguments):
        remaining = positional[cursor:]
        consume = getattr(arg.converter, "consume", None)
        if consume is not None and remaining:
            # A greedy converter takes as many leading words as it can read (`morgen 9:00 …`).
            try:
                kwargs[arg.name], used = await consume(remaining, ctx)
            except BadArgument as exc:
                exc.argument = arg.name
                raise
            cursor += used
            continue
        if arg.rest:
            raw = " ".join(remaining)
            cursor = len(positional)
        elif remaining:
            raw = remaining[0]
            cursor += 1
        else:
            raw = ""
        if not raw:
            if arg.required:
                raise MissingArgument(arg.name, arg.help or getattr(arg.converter, "metavar", None))
            kwargs[arg.name] = arg.default
            continue
        try:
            kwargs[arg.name] = await arg.converter.convert(raw, ctx)
        except BadArgument as exc:
            exc.argument = arg.name
            raise
    if cursor < len(positional):
        raise TooManyArguments(" ".join(positional[cursor:])[:200])
    return kwargs
