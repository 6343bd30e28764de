"""A capability's data set: its table, search index, bundled sample file and the
`import`/`export` module, declared once. Start-up (load the sample into an empty table,
rebuild a stale index) and the count in `!about` are the same for every data set."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.search import SearchIndex


@dataclass(frozen=True)
class DataSet:
    name: str                                          # `dsih-bot import|export <name>`; storage.<name>_io
    model: Any                                         # the ORM class of one record
    index: SearchIndex
    load_sample: Callable[[AsyncSession], Awaitable[int]]  # fills an empty table from the bundled file
    reindex: Callable[[AsyncSession], Awaitable[int]]
    label: str                                         # English msgid for the count, e.g. "living labs"
    # Columns set to the bot's clock on the rows a sample load adds (when they became known
    # or changed): under bot.pretend_now the real time of the run must not leak into them.
    stamped: tuple[str, ...] = ()

    async def count(self, session: AsyncSession) -> int:
        return (await session.scalar(select(func.count()).select_from(self.model))) or 0

    async def start(self, services) -> None:
        async with services.db.transaction() as session:
            if services.settings.storage.load_sample_data:
                if await self.load_sample(session) and self.stamped:
                    # The table was empty, so every row is the sample's.
                    now = services.clock()
                    await session.execute(update(self.model).values({c: now for c in self.stamped}))
            # Rebuild when rows and index disagree, or the index was built by another version
            # of the analysis or of this data set's documents (SearchIndex.version).
            if (await self.count(session) != await self.index.count(session)
                    or await self.index.needs_rebuild(session)):
                await self.reindex(session)

    async def stats(self, session: AsyncSession) -> list[tuple[str, int]]:
        return [(self.label, await self.count(session))]
