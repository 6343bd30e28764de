"""A bot without Matrix for unit tests: real settings, database, registry and dispatcher,
driven by sending text as a user. Capability helpers (funding_env, labs_env) build on it."""
from __future__ import annotations

import itertools
import os
from datetime import datetime

from bot.app import build_services
from bot.framework.context import Services
from bot.framework.dispatcher import Dispatcher
from bot.framework.messages import Incoming, Outgoing
from config.settings import Settings, load_settings

_ids = itertools.count()


def make_settings(data_dir, *, language: str = "en", admins=("@admin:test",), facilitators=("@facil:test",),
                  load_sample_data: bool = False, database_url: str | None = None, **bot) -> Settings:
    """Defaults plus the environment, with the data dir and test roles set; extra keyword
    arguments set `bot.*` keys (e.g. rate_limit_count=10**6, facilitators_room=...)."""
    os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = str(data_dir)
    try:
        settings = load_settings()
    finally:
        del os.environ["DSIH_BOT__STORAGE__DATA_DIR"]
    settings.bot.language = language
    settings.bot.admins = list(admins)
    settings.bot.facilitators = list(facilitators)
    settings.storage.load_sample_data = load_sample_data
    if database_url:
        settings.storage.database_url = database_url
    for key, value in bot.items():
        setattr(settings.bot, key, value)
    return settings


async def make_services(data_dir, *, modules=None, now: datetime | None = None, **settings_kw) -> Services:
    services = await build_services(make_settings(data_dir, **settings_kw), bot_user_id="@bot:test",
                                    modules=list(modules) if modules else None)
    if now is not None:
        services.clock = lambda: now
    return services


class Clock:
    """A settable clock for `services.clock` (tests move time by assigning `.now`)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Chat:
    """Send text as a user; get the bot's outgoing messages (or their markdown) back."""

    direct = False
    prefix = "$e"

    def __init__(self, services: Services):
        self.services = services
        self.dispatcher = Dispatcher(services)

    async def send(self, body: str, *, sender: str = "@alice:test", room: str = "!room:test",
                   direct: bool | None = None, **kw) -> list[Outgoing]:
        msg = Incoming(sender=sender, room_id=room, event_id=f"{self.prefix}{next(_ids)}", body=body,
                       is_direct=self.direct if direct is None else direct, **kw)
        return await self.dispatcher.handle(msg) or []

    async def text(self, body: str, **kw) -> str:
        return "\n\n".join(o.markdown for o in await self.send(body, **kw))
