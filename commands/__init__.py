"""The bot's capabilities, one package each (`commands/<name>/` with its `manifest.py`,
and `storage/<name>/` for its tables). They never import the runtime or each other: the
console, the tests and the Matrix runtime all call them through the same dispatcher.

ENABLED is the one list of capabilities; bot.framework.capability.load checks each
manifest when the bot starts. See CONTRIBUTING.md for what a capability holds."""
from __future__ import annotations

from bot.framework.capability import Capability, CapabilityError, load
from bot.framework.command import Registry

# Order = order in `!help` and in which plain-language question handlers are tried.
ENABLED = ["core", "funding", "labs", "sessions", "knowledge", "digests", "reminders", "brokerage", "admin",
           "overview"]  # last: its question handler answers only what no other claimed
MODULES = ENABLED  # the name older tests and benches use


def load_capabilities(names: list[str] | tuple[str, ...] | None = None) -> list[Capability]:
    return load(list(names or ENABLED), package=__name__)


def build_registry(names: list[str] | tuple[str, ...] | None = None) -> Registry:
    return Registry(load_capabilities(names))


def settings_problems(registry: Registry, settings) -> list[str]:
    """What the enabled capabilities find wrong with their settings (manifest
    `extras["check_settings"]`); they normalise what they accept (topic aliases to ids)."""
    return [problem for check in registry.contributions("check_settings") for problem in check(settings)]


__all__ = ["ENABLED", "MODULES", "CapabilityError", "build_registry", "load_capabilities", "settings_problems"]
