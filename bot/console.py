"""`dsih-bot console`: the same dispatcher, database, scheduler and outbox as the Matrix
runtime, with the terminal as the transport. For trying commands without a homeserver."""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from bot.app import build_dispatcher, build_services
from bot.framework.paging import forget_all, stop_retries
from bot.framework.messages import Incoming
from bot.outbox import OutboxSender, SendResult
from bot.scheduler import Scheduler
from config.settings import Settings, user_data_dir
from storage.models.core import OutboxMessage

CONSOLE_ROOM = "!console:local"
STOP_WITHIN = 3.0   # seconds Ctrl-C waits for the scheduler and the database to close


class ConsoleTransport:
    """Prints what the bot sends. A file (a session's .ics, the report's .md and .png) is
    written to `files_dir` when one is given, and its path printed, so it can be opened."""

    def __init__(self, out=None, files_dir: Path | None = None):
        self.out = out if out is not None else sys.stdout
        self.files_dir = files_dir

    async def send(self, row: OutboxMessage) -> SendResult:
        target = row.room_id or row.to_user
        head = "" if target == CONSOLE_ROOM else f"[→ {target}] "
        if row.attachment is not None:
            size = len(row.attachment)
            name = row.content.get("body", "")
            where = ""
            if self.files_dir is not None:
                path = save_file(self.files_dir, name, row.attachment)
                where = f" → {path}"
            self.out.write(f"{head}[file: {name} "
                           f"({row.content.get('info', {}).get('mimetype', '')}, {size} bytes){where}]\n\n")
        elif row.event_type != "m.room.message":
            self.out.write(f"{head}[{row.event_type}] {row.content.get('body', '')}\n\n")
        else:
            self.out.write(f"{head}{row.content.get('body', '')}\n\n")
        self.out.flush()
        return SendResult(event_id=f"$console-{row.txn_id}")


class Console:
    """The bot with the terminal (or any text stream) as transport: `say` one line as the
    user and get back everything the bot sent because of it. `run_console` and the guide
    tests (tests/runtime/test_guides.py) share it, so a guide's examples run the same path."""

    def __init__(self, settings: Settings, *, out=None, files_dir: Path | None = None):
        self.settings = settings
        self.out = out if out is not None else sys.stdout
        self.files_dir = files_dir
        self.services = None

    async def start(self) -> None:
        services = await build_services(self.settings, bot_user_id="@dsih-bot:console")
        await forget_all(services.db)
        # The person at the terminal chooses their role (set_role); the config's own role
        # lists do not apply to them here.
        self.dispatcher = build_dispatcher(services)
        self.sender = OutboxSender(services.db, ConsoleTransport(self.out, self.files_dir))
        self.scheduler = Scheduler(services, self.sender.wake)
        services.timers = self.scheduler
        self.services = services
        self.sender.start()
        await self.scheduler.start()

    def set_role(self, user_id: str, role: str) -> None:
        access = self.services.access
        access.admins.discard(user_id)
        access.facilitators.discard(user_id)
        if role == "admin":
            access.admins.add(user_id)
        elif role == "facilitator":
            access.facilitators.add(user_id)

    async def say(self, line: str, *, user_id: str) -> None:
        msg = Incoming(sender=user_id, room_id=CONSOLE_ROOM, event_id=f"$console-{uuid.uuid4().hex}",
                       body=line.rstrip("\n"), is_direct=True,
                       timestamp_ms=int(datetime.now(timezone.utc).timestamp() * 1000))
        await self.dispatcher.handle(msg)
        await self.sender.drain(timeout=10)

    async def stop(self, *, drain: bool = True) -> None:
        # Ctrl-C does not wait for sending: what is still pending stays in the outbox.
        if drain:
            await self.sender.drain(timeout=5)
        await self.sender.stop()
        await self.scheduler.shutdown()
        stop_retries()
        await self.services.db.dispose()


def save_file(folder: Path, name: str, data: bytes) -> Path:
    """Write a file the bot sent under `folder` (its own name, made safe); returns the path."""
    safe = re.sub(r"[^\w.\-]+", "_", Path(name or "file").name).strip("._") or "file"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe
    path.write_bytes(data)
    return path.resolve()


def console_settings(settings: Settings) -> Settings:
    """The console keeps its data in the user's data directory unless the configuration
    names one (storage.data_dir, or DSIH_BOT__STORAGE__DATA_DIR): started from another
    folder it still finds the same database."""
    if "storage" not in settings.model_fields_set or "data_dir" not in settings.storage.model_fields_set:
        settings.storage.data_dir = user_data_dir()
    return settings


async def run_console(settings: Settings, *, user_id: str, role: str = "admin",
                      commands: list[str] | None = None, files_dir: Path | None = None) -> int:
    settings = console_settings(settings)
    data_dir = settings.storage.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    files_dir = (files_dir or data_dir / "files").expanduser().resolve()
    console = Console(settings, files_dir=files_dir)
    await console.start()
    # The person at the terminal operates the bot (admin), unless they ask to see what a
    # member or facilitator sees.
    console.set_role(user_id, role)
    interactive = not commands and sys.stdin.isatty()
    where = sys.stdout if interactive else sys.stderr
    print(f"dsih-bot console: data in {data_dir}; files the bot sends are saved in {files_dir}", file=where,
          flush=True)
    if not commands:
        p = settings.bot.command_prefix
        print(f"dsih-bot console — you are {user_id} ({role}), in a direct chat with the bot.\n"
              f"Try: {p}help · {p}funding klimaatadaptatie · {p}labs --near Zwolle · "
              f"welke proeftuinen zijn er in Limburg? (Ctrl-D or Ctrl-C to quit)\n",
              file=where, flush=True)
    drain = True
    _on_ctrl_c_cancel(asyncio.current_task())
    try:
        lines = commands or None
        while True:
            if lines is not None:
                if not lines:
                    break
                line = lines.pop(0)
            else:
                line = await read_line("> " if interactive else "")
                if line is None:
                    break
            if not line.strip():
                continue
            await console.say(line, user_id=user_id)
    except asyncio.CancelledError:
        drain = False  # Ctrl-C: quit at once
        raise
    finally:
        await console.stop(drain=drain)
    return 0


def _on_ctrl_c_cancel(main: asyncio.Task) -> None:
    """Ctrl-C cancels `main` and, whatever happens next, leaves STOP_WITHIN seconds later.
    asyncio.run's own handler only cancels, and a cancellation can be lost: Python 3.11's
    wait_for swallows one that meets the awaited result (the console then went back to
    reading stdin and ran on; CI saw it 15 s after Ctrl-C). In the main thread only
    (add_signal_handler); elsewhere asyncio's default stays."""
    def on_ctrl_c() -> None:
        _quit_if_still_running_in(STOP_WITHIN)
        main.cancel()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, on_ctrl_c)


def _quit_if_still_running_in(seconds: float) -> None:
    """Ctrl-C quits at once, even on a busy machine or with a cancellation lost: what was
    answered is committed, pending sends stay in the outbox, and SQLite's journal makes a
    connection left open safe; so after `seconds` the process leaves without waiting."""
    def leave() -> None:
        sys.stdout.flush()
        print("\ndsih-bot console stopped.", file=sys.stderr, flush=True)
        os._exit(130)
    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()


async def read_line(prompt: str) -> str | None:
    """One line from stdin, read in a daemon thread: a thread of the default executor
    (asyncio.to_thread) blocked in input() kept asyncio.run from returning after Ctrl-C
    until Enter was pressed, because asyncio.run waits for that executor at the end."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def work() -> None:
        try:
            result = _read_line(prompt)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
            loop.call_soon_threadsafe(lambda: done.done() or done.set_exception(exc))
            return
        try:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(result))
        except RuntimeError:
            pass  # the loop is closed: we are quitting

    threading.Thread(target=work, name="console stdin", daemon=True).start()
    return await done


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
