"""The typed error tree. Handlers raise; the dispatcher alone decides what the user sees.

CommandError
├── UserInputError           -> the message + usage of that command
│   ├── BadArgument
│   │   └── NeedsChoice      -> the question + each option with the exact command to run
│   ├── MissingArgument
│   └── TooManyArguments
├── CommandNotFound          -> "did you mean ..."
├── CheckFailure
│   └── MissingRole          -> which role is needed
└── RateLimited              -> polite "slow down", quoting what was not handled
Anything else is an internal error: apology + reference id, traceback only in the log.

JobSkipped is a scheduled job's way to say that this run no longer makes sense.
"""
from __future__ import annotations


class CommandError(Exception):
    """Base of every error a user may be told about. `message` is an English msgid."""

    def __init__(self, message: str = "", **params):
        super().__init__(message)
        self.message = message
        self.params = params


class UserInputError(CommandError):
    pass


class BadArgument(UserInputError):
    def __init__(self, message: str, *, argument: str | None = None, **params):
        super().__init__(message, **params)
        self.argument = argument


class NeedsChoice(BadArgument):
    """A value that fits several things (or none exactly, but some closely): the reply asks
    the question and lists `options`, each (label, exact command to run), already in the
    reader's language; never a silent pick, never a bare refusal."""

    def __init__(self, message: str, *, options: list[tuple[str, str]], **params):
        super().__init__(message, **params)
        self.options = list(options)


class MissingArgument(UserInputError):
    """`describe` is the argument's help (an English msgid, translated when shown), so the
    user reads "the instrument id", not the internal name `id`."""

    def __init__(self, argument: str, describe: str | None = None):
        super().__init__("Missing argument: {name}.", name=argument)
        self.describe = describe
        self.argument = argument


class TooManyArguments(UserInputError):
    def __init__(self, extra: str):
        super().__init__("I did not understand this part: {extra}", extra=extra)


class CommandNotFound(CommandError):
    def __init__(self, name: str, suggestions: list[str]):
        super().__init__("Unknown command: {name}.", name=name)
        self.name = name
        self.suggestions = suggestions


class CheckFailure(CommandError):
    pass


class MissingRole(CheckFailure):
    """`role` is the bot.framework.roles.Role needed; the dispatcher words the refusal."""

    def __init__(self, role):
        super().__init__("This command needs the {role} role.", role=role.label)
        self.role = role


class RateLimited(CommandError):
    def __init__(self, retry_after: float, first: bool, *, quiet: bool = False, last: bool = False):
        super().__init__()
        self.retry_after = retry_after
        self.first = first  # the first refusal in this window: the full explanation
        self.last = last    # the last one answered: "nothing until the window ends is handled"
        self.quiet = quiet  # after that last notice: the person has been told


class JobSkipped(Exception):
    """Raised by a job handler: this run no longer makes sense (e.g. a reminder for a
    session that has started). The reason is kept on the row and logged."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
