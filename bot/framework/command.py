"""Commands, grouped per capability in a Cog, collected in a Registry.

    cog = Cog("reminders", N_("Reminders"))

    @cog.command("remindme", dutch=("herinner",))
    @argument("delay", Duration(), help=N_("when, e.g. 10m or 2h"))
    @argument("text", Text(), rest=True)
    async def remindme(ctx, delay, text):
        \"\"\"Remind you of something after a while.\"\"\"
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from bot.framework.arguments import Argument, Converter, Option
from bot.framework.roles import Role

Handler = Callable[..., Awaitable[Any]]


def _pending(fn) -> dict:
    return fn.__dict__.setdefault("__dsih_decl__", {"arguments": [], "options": []})


def argument(name: str, converter: Converter, *, required: bool = True, rest: bool = False,
             help: str = "", default: Any = None):
    """Declare a positional argument (decorators apply bottom-up, so we prepend)."""
    def deco(fn):
        _pending(fn)["arguments"].insert(0, Argument(name, converter, required, rest, help, default))
        return fn
    return deco


def option(name: str, converter: Converter | None = None, *, aliases: tuple[str, ...] = (),
           help: str = "", default: Any = None, multiple: bool = False):
    """Declare `--name value` (or a boolean `--name` flag when converter is None)."""
    def deco(fn):
        _pending(fn)["options"].insert(0, Option(name, converter, tuple(aliases), help,
                                                 default if converter else (default or False), multiple))
        return fn
    return deco


@dataclass
class Command:
    name: str
    callback: Handler
    cog: "Cog"
    aliases: tuple[str, ...] = ()
    dutch: tuple[str, ...] = ()  # aliases that also tell us the user writes Dutch
    role: Role = Role.MEMBER
    arguments: list[Argument] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    subcommands: dict[str, "Command"] = field(default_factory=dict)
    parent: "Command | None" = None
    hidden: bool = False
    rate_limited: bool = True
    direct_only: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases, *self.dutch)

    @property
    def qualified_name(self) -> str:
        return f"{self.parent.qualified_name} {self.name}" if self.parent else self.name

    @property
    def summary(self) -> str:
        """First paragraph of the docstring: an English msgid, translated where shown."""
        doc = inspect.getdoc(self.callback) or ""
        return " ".join(doc.split("\n\n", 1)[0].split())

    @property
    def details(self) -> str:
        doc = inspect.getdoc(self.callback) or ""
        parts = doc.split("\n\n", 1)
        return " ".join(parts[1].split()) if len(parts) > 1 else ""

    def option_for(self, name: str) -> Option | None:
        for opt in self.options:
            if name in opt.names:
                return opt
        return None

    def subcommand(self, name: str, *, aliases: tuple[str, ...] = (), dutch: tuple[str, ...] = (),
                   role: Role | None = None, hidden: bool = False):
        def deco(fn):
            decl = _pending(fn)
            sub = Command(name, fn, self.cog, tuple(aliases), tuple(dutch), role or self.role,
                          decl["arguments"], decl["options"], parent=self, hidden=hidden)
            for n in sub.names:
                clash = self.subcommands.get(n.lower())
                if clash is not None:
                    # Checked while the capability loads: a silent overwrite would start a bot
                    # without one of the two subcommands.
                    raise ValueError(f"subcommand name {n!r} of {self.qualified_name!r} is used twice "
                                     f"({clash.callback.__qualname__} and {fn.__qualname__})")
                self.subcommands[n.lower()] = sub
            return sub
        return deco


QuestionHandler = Callable[..., Awaitable[bool]]


class Cog:
    """One capability: its commands, scheduled-job handlers, plain-language question
    handler and start-up hook, in one module."""

    def __init__(self, name: str, title: str):
        self.name = name
        self.title = title  # English msgid
        self.commands: list[Command] = []
        self.jobs: dict[str, Handler] = {}
        self.questions: list[QuestionHandler] = []
        self.startup_hooks: list[Handler] = []
        self.events: dict[str, list[Handler]] = {}  # event type -> handlers (ctx, RoomEvent)

    def command(self, name: str, *, aliases: tuple[str, ...] = (), dutch: tuple[str, ...] = (),
                role: Role = Role.MEMBER, hidden: bool = False, rate_limited: bool = True):
        def deco(fn):
            decl = _pending(fn)
            cmd = Command(name, fn, self, tuple(aliases), tuple(dutch), role,
                          decl["arguments"], decl["options"], hidden=hidden, rate_limited=rate_limited)
            self.commands.append(cmd)
            return cmd
        return deco

    def job(self, kind: str):
        """Register the handler for scheduled jobs of `kind` (see bot.scheduler)."""
        def deco(fn):
            self.jobs[kind] = fn
            return fn
        return deco

    def event(self, *types: str):
        """Handle room events of these types (e.g. poll responses), exactly once each,
        with the same transaction and outbox guarantees as commands."""
        def deco(fn):
            for event_type in types:
                self.events.setdefault(event_type, []).append(fn)
            return fn
        return deco

    def question(self, fn: QuestionHandler | None = None, *, first: bool = False):
        """A handler for plain-language text addressed to the bot. It returns True
        when it answered; the dispatcher tries handlers in cog order. `first=True` (as
        `@cog.question(first=True)`) is for a dialogue waiting for this user's answer:
        such handlers are tried before every other cog's, so an answer like "4, goed
        idee maar subsidie nodig" is not taken for a funding question."""
        def deco(f: QuestionHandler) -> QuestionHandler:
            f.__dict__["__dsih_first__"] = first
            self.questions.append(f)
            return f
        return deco(fn) if fn is not None else deco

    def on_startup(self, fn: Handler) -> Handler:
        self.startup_hooks.append(fn)
        return fn


class Registry:
    """The enabled capabilities (bot.framework.capability), their commands and what they
    contribute, with every name checked for clashes once, at start-up."""

    def __init__(self, capabilities: list):
        from bot.framework.capability import Capability

        # A bare Cog (tests, benches) is a capability that declares nothing else.
        self.capabilities: list[Capability] = [
            c if isinstance(c, Capability) else Capability(name=c.name, cog=c, summary="", jobs=tuple(c.jobs))
            for c in capabilities]
        self.cogs = [c.cog for c in self.capabilities]
        self.by_name: dict[str, Command] = {}
        self.jobs: dict[str, Handler] = {}
        self.events: dict[str, list[Handler]] = {}
        for cog in self.cogs:
            for event_type, handlers in cog.events.items():
                self.events.setdefault(event_type, []).extend(handlers)
            for cmd in cog.commands:
                for n in cmd.names:
                    key = n.lower()
                    if key in self.by_name:
                        raise ValueError(f"command name {n!r} is used twice "
                                         f"({self.by_name[key].cog.name} and {cog.name})")
                    self.by_name[key] = cmd
            for kind, fn in cog.jobs.items():
                if kind in self.jobs:
                    raise ValueError(f"job kind {kind!r} is registered twice")
                self.jobs[kind] = fn
        self._privacy = None

    def get(self, name: str) -> Command | None:
        return self.by_name.get(name.lower())

    def capability(self, name: str):
        return next((c for c in self.capabilities if c.name == name), None)

    @property
    def commands(self) -> list[Command]:
        return [c for cog in self.cogs for c in cog.commands]

    @property
    def questions(self) -> list[QuestionHandler]:
        handlers = [q for cog in self.cogs for q in cog.questions]
        return ([q for q in handlers if getattr(q, "__dsih_first__", False)] +
                [q for q in handlers if not getattr(q, "__dsih_first__", False)])

    @property
    def intents(self) -> list:
        """Every capability's declared intents, in capability order (tried before the questions)."""
        return [i for cap in self.capabilities for i in cap.intents]

    @property
    def fallbacks(self) -> list:
        """Every capability's search fallback (bot.framework.capability.Fallback), in capability order."""
        return [cap.fallback for cap in self.capabilities if cap.fallback is not None]

    @property
    def datasets(self) -> dict:
        return {ds.name: ds for cap in self.capabilities for ds in cap.datasets}

    @property
    def first_questions(self) -> list[QuestionHandler]:
        """Handlers of waiting dialogues (`@cog.question(first=True)`)."""
        return [q for q in self.questions if getattr(q, "__dsih_first__", False)]

    @property
    def startup_hooks(self) -> list[Handler]:
        # Data sets first: a capability's own hook may read its data.
        return ([ds.start for cap in self.capabilities for ds in cap.datasets] +
                [h for cog in self.cogs for h in cog.startup_hooks])

    @property
    def stats(self) -> list[Handler]:
        """`!about` / `!admin stats` lines: every data set's count, then each capability's own."""
        return [f for cap in self.capabilities for f in (*(ds.stats for ds in cap.datasets), *cap.stats)]

    def contributions(self, kind: str) -> list:
        """What the enabled capabilities declare for `kind` ("overview", "digest", or a
        name in their manifest's `extras`), in capability order."""
        out = []
        for cap in self.capabilities:
            value = getattr(cap, kind, None) if kind in ("overview", "digest") else cap.extras.get(kind)
            if value is not None:
                out.append(value)
        return out

    @property
    def privacy(self):
        """The privacy engine over the core rules and every capability's (storage.privacy)."""
        if self._privacy is None:
            from storage.privacy import Privacy
            self._privacy = Privacy([c.privacy for c in self.capabilities if c.privacy is not None])
        return self._privacy
