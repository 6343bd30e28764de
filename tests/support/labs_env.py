"""Helpers for Living labs tests: a bot with core+labs, the bundled data, a fixed clock,
and a chat driver that goes through the real dispatcher."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from support.chat import Chat, make_services

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


async def labs_services(tmp_path, *, language="en", modules=("core", "labs"), now=NOW, database_url=None,
                        facilitators=("@facil:test",), facilitators_room=None, load_sample_data=True):
    return await make_services(tmp_path / "data", modules=modules, now=now, language=language,
                               database_url=database_url, facilitators=facilitators,
                               facilitators_room=facilitators_room, load_sample_data=load_sample_data,
                               rate_limit_count=100_000)


class LabsChat(Chat):
    prefix = "$l"

    async def text(self, body: str, **kw) -> str:
        """The replies as a person reads them (plain-text body of the rendered message)."""
        return "\n\n".join(plain(o.markdown) for o in await self.send(body, **kw))


def plain(markdown: str) -> str:
    from bot.framework.render import message_content
    return message_content(markdown)["body"]


_ID = re.compile(r"!(?:lab|proeftuin) ([a-z0-9-]+)\s*$", re.M)   # Dutch replies name `!proeftuin`


def lab_ids(markdown: str) -> list[str]:
    """Lab ids in the order a result list shows them."""
    return _ID.findall(markdown)


_KM = re.compile(r"· ([\d.,]+) km")


def distances(markdown: str) -> list[float]:
    return [float(x.replace(",", "")) for x in _KM.findall(markdown)]
