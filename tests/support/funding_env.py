"""Helpers for Funding Lane tests: a bot with core+funding, the bundled data and a fixed clock."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from support.chat import Chat, make_services

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


async def funding_services(tmp_path, *, language="en", modules=("core", "funding"), now=NOW, database_url=None):
    return await make_services(tmp_path / "data", modules=modules, now=now, language=language,
                               database_url=database_url, load_sample_data=True, rate_limit_count=100_000)


class FundingChat(Chat):
    direct = True
    prefix = "$f"


_ID = re.compile(r"· `([a-z0-9-]+)`\s*$", re.M)


def result_ids(markdown: str) -> list[str]:
    """Instrument ids in the order a result list shows them."""
    return _ID.findall(markdown)


async def all_result_ids(chat, query: str, pages: int = 20) -> list[str]:
    """Every instrument id a query lists, following `!more` to the end."""
    ids = result_ids(await chat.text(query))
    for _ in range(pages):
        more = result_ids(await chat.text("!more"))
        if not more:
            break
        ids += more
    return ids
