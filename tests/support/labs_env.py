"""Helpers for Living labs tests: a bot with core+labs, the bundled data, a fixed clock,
and a chat driver that goes through the real dispatcher."""
from __future__ import annotations

import itertools
import os
import re
from datetime import datetime, timezone

from bot.app import build_services
from bot.framework.dispatcher import Dispatcher
from bot.framework.messages import Incoming
from config.settings import load_settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
_ids = itertools.count()


async def labs_services(tmp_path, *, language="en", modules=("core", "labs"), now=NOW, database_url=None,
                        facilitators=("@facil:test",), facilitators_room=None, load_sample_data=True):
    os.environ["DSIH_BOT__STORAGE__DATA_DIR"] = str(tmp_path / "data")
    try:
        settings = load_settings()
    finally:
        del os.environ["DSIH_BOT__STORAGE__DATA_DIR"]
    settings.bot.language = language
    settings.bot.admins = ["@admin:test"]
    settings.bot.facilitators = list(facilitators)
    settings.bot.facilitators_room = facilitators_room
    settings.bot.rate_limit_count = 100_000
    settings.storage.load_sample_data = load_sample_data
    if database_url:
        settings.storage.database_url = database_url
    services = await build_services(settings, bot_user_id="@bot:test", modules=list(modules))
    services.clock = lambda: now
    return services


class LabsChat:
    def __init__(self, services):
        self.services = services
        self.dispatcher = Dispatcher(services)

    async def send(self, body: str, *, sender="@alice:test", room="!room:test", direct=False, **kw):
        msg = Incoming(sender=sender, room_id=room, event_id=f"$l{next(_ids)}", body=body, is_direct=direct, **kw)
        return await self.dispatcher.handle(msg) or []

    async def text(self, body: str, **kw) -> str:
        """The replies as a person reads them (plain-text body of the rendered message)."""
        return "\n\n".join(plain(o.markdown) for o in await self.send(body, **kw))


def plain(markdown: str) -> str:
    from bot.render import message_content
    return message_content(markdown)["body"]


_ID = re.compile(r"!lab ([a-z0-9-]+)\s*$", re.M)


def lab_ids(markdown: str) -> list[str]:
    """Lab ids in the order a result list shows them."""
    return _ID.findall(markdown)


_KM = re.compile(r"· ([\d.,]+) km")


def distances(markdown: str) -> list[float]:
    return [float(x.replace(",", "")) for x in _KM.findall(markdown)]
