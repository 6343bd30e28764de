"""`dsih-bot console`: the same dispatcher, database, scheduler and outbox as the Matrix
runtime, with the terminal as the transport. For trying commands without a homeserver."""
from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime, timezone

from bot.app import build_dispatcher, build_services
from bot.framework.messages import Incoming
from bot.outbox import OutboxSender, SendResult
from bot.scheduler import Scheduler
from config.settings import Settings
from storage.models.core import OutboxMessage

CONSOLE_ROOM = "!console:local"


class ConsoleTransport:
    def __init__(self, out=None):
        self.out = out if out is not None else sys.stdout

    async def send(self, row: OutboxMessage) -> SendResult:
        target = row.room_id or row.to_user
        head = "" if target == CONSOLE_ROOM else f"[→ {target}] "
        if row.attachment is not None:
            size = len(row.attachment)
            self.out.write(f"{head}[file: {row.content.get('body', '')} "
                           f"({row.content.get('info', {}).get('mimetype', '')}, {size} bytes)]\n\n")
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

    def __init__(self, settings: Settings, *, out=None):
        self.settings = settings
        self.out = out if out is not None else sys.stdout
        self.services = None

    async def start(self) -> None:
        services = await build_services(self.settings, bot_user_id="@dsih-bot:console")
        # The person at the terminal chooses their role (set_role); the config's own role
        # lists do not apply to them here.
        self.dispatcher = build_dispatcher(services)
        self.sender = OutboxSender(services.db, ConsoleTransport(self.out))
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

    async def stop(self) -> None:
        await self.sender.drain(timeout=5)
        await self.sender.stop()
        await self.scheduler.shutdown()
        await self.services.db.dispose()


async def run_console(settings: Settings, *, user_id: str, role: str = "admin",
                      commands: list[str] | None = None) -> int:
    console = Console(settings)
    await console.start()
    # The person at the terminal operates the bot (admin), unless they ask to see what a
    # member or facilitator sees.
    console.set_role(user_id, role)
    interactive = not commands and sys.stdin.isatty()
    if not commands:
        p = settings.bot.command_prefix
        print(f"dsih-bot console — you are {user_id} ({role}), in a direct chat with the bot.\n"
              f"Try: {p}help · {p}funding klimaatadaptatie · {p}labs --near Zwolle · "
              f"welke proeftuinen zijn er in Limburg? (Ctrl-D to quit)\n",
              file=sys.stdout if interactive else sys.stderr, flush=True)
    try:
        lines = commands or None
        while True:
            if lines is not None:
                if not lines:
                    break
                line = lines.pop(0)
            else:
                line = await asyncio.to_thread(_read_line, "> " if interactive else "")
                if line is None:
                    break
            if not line.strip():
                continue
            await console.say(line, user_id=user_id)
    finally:
        await console.stop()
    return 0


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
