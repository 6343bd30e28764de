"""The command framework: declarations, parsing, middleware, errors, help."""
from bot.framework.arguments import (
    Choice, Converter, DelayOrMoment, Duration, Int, Language, Money, Text, TimeZoneName, UserId, When, Word,
)
from bot.framework.command import Cog, Command, Registry, argument, option
from bot.framework.context import Context, Services
from bot.framework.errors import BadArgument, CommandError
from bot.framework.roles import Role

__all__ = [
    "Choice", "Converter", "DelayOrMoment", "Duration", "Int", "Language", "Money", "Text", "TimeZoneName", "UserId", "When", "Word",
    "Cog", "Command", "Registry", "argument", "option", "Context", "Services", "BadArgument",
    "CommandError", "Role",
]
