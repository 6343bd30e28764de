"""The bot's capabilities, one module ("cog") each. They never import Matrix code: the
console and the tests call them through the same dispatcher."""
from __future__ import annotations

import importlib

from bot.framework.command import Cog, Registry

# Order = order in `!help` and in which plain-language question handlers are tried.
MODULES = ["core", "funding", "labs", "sessions", "knowledge", "digests", "reminders", "admin"]


class CapabilityError(RuntimeError):
    """A capability that is listed but cannot be loaded: the bot must not start half."""


def load_cogs(modules: list[str] | None = None) -> list[Cog]:
    """The one place capabilities are registered: each module in MODULES provides a
    `cog` carrying its commands, jobs, event and question handlers, start-up and stats
    hooks and its data set (models are registered in storage/models/_capabilities.py)."""
    cogs = []
    for name in modules or MODULES:
        try:
            module = importlib.import_module(f"commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"commands.{name}":
                raise CapabilityError(f"capability {name!r} is listed but commands/{name} does not exist "
                                      f"(known: {', '.join(MODULES)})") from None
            raise
        cog = getattr(module, "cog", None)
        if not isinstance(cog, Cog):
            raise CapabilityError(f"commands/{name} has no `cog`")
        cogs.append(cog)
    return cogs


def build_registry(modules: list[str] | None = None) -> Registry:
    return Registry(load_cogs(modules))
