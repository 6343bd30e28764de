"""dsih-bot: the Matrix runtime (client, sync, dispatch, rendering, scheduling)."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dsih-bot")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
