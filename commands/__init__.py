"""The bot's capabilities, one module ("cog") each. They never import Matrix code: the
console and the tests call them through the same dispatcher."""
from __future__ import annotations

import importlib

from bot.framework.command import Cog, Registry

# Order = order in `!help` and in which plain-language question handlers are tried.
MODULES = ["core", "funding", "labs", "sessions", "reminders"]


def load_cogs(modules: list[str] | None = None) -> list[Cog]:
    cogs = []
    for name in modules or MODULES:
        try:
            module = importlib.import_module(f"commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"commands.{name}":
                continue  # capability not present in this build
            raise
        cogs.append(module.cog)
    return cogs


def build_registry(modules: list[str] | None = None) -> Registry:
    return Registry(load_cogs(modules))
