"""Built-ins: help, language, time zone, ping, about, more, greetings."""
from bot.framework.capability import Capability
from commands.core.commands import cog

MANIFEST = Capability(
    name="core",
    cog=cog,
    summary="Built-in commands: help, language and time zone, ping, about, more",
    # The kernel's catalog (bot/framework/locale) holds the built-ins' messages too: they
    # are the same few strings every capability's errors and help use.
)
