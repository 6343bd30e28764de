"""Logging set-up: human-readable lines by default, JSON lines with `--log-format json`.
While a command is handled, every log line carries its room, sender, command and (for
an internal error) reference id, from a context variable the dispatcher sets; message
content is never logged beyond the command name."""
from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import datetime, timezone

# {"room": …, "sender": …, "command": …, "event": …, "ref": …} of the command being handled.
command_context: contextvars.ContextVar[dict] = contextvars.ContextVar("command_context", default={})

_CONTEXT_KEYS = ("room", "sender", "command", "event", "ref")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = command_context.get()
        for key in _CONTEXT_KEYS:
            setattr(record, key, ctx.get(key))
        return True


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in _CONTEXT_KEYS if getattr(record, k, None)]
        return f"{line} [{' '.join(extras)}]" if extras else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value:
                data[key] = value
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
