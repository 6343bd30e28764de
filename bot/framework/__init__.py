"""The command framework: declarations, parsing, middleware, errors, help."""
from bot.framework.arguments import (
    Choice, Converter, Duration, Int, Language, Money, Text, TimeZoneName, Word,
)
from bot.framework.command import Cog, Command, Registry, argument, option
from bot.framework.context import Context, Services
from bot.framework.errors import BadArgument, CommandError
from bot.framework.roles import Role

__all__ = [
    "Choice", "Converter", "Duration", "Int", "Language", "Money", "Text", "TimeZoneName", "Word",
    "Cog", "Command", "Registry", "argument", "option", "Context", "Services", "BadArgument",
    "CommandError", "Role",
]
