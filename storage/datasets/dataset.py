"""A capability's data set: its table, search index, bundled sample file and its file
format for `import`/`export`, declared once (storage/<name>/dataset.py) and named in the
capability's manifest. Start-up (load the sample into an empty table,
rebuild a stale index) and the count in `!about` are the same for every data set."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.search import SearchIndex

if TYPE_CHECKING:
    from storage.datasets.file import DataFile


@dataclass(frozen=True)
class DataSet:
    name: str                                          # `dsih-bot import|export <name>`
    model: Any                                         # the ORM class of one record
    index: SearchIndex
    load_sample: Callable[[AsyncSession], Awaitable[int]]  # fills an empty table from the bundled file
    reindex: Callable[[AsyncSession], Awaitable[int]]
    label: str                                         # English msgid for the count, e.g. "living labs"
    # Columns set to the bot's clock on the rows a sample load adds (when they became known
    # or changed): under bot.pretend_now the real time of the run must not leak into them.
    stamped: tuple[str, ...] = ()
    file: "DataFile | None" = None                     # its file format (import, export, reload)
    load_bundled: Callable[[], list] | None = None     # the bundled file's records (`!admin data reload`)
    # Columns a refresh from the source maintains: a newer bundled file does not reset them.
    keep: tuple[str, ...] = ()
    # `updated_by` of rows the bundled file wrote; rows edited here are kept on a reload.
    bundled_by: str | None = None
    # (file, list key, English field, Dutch field): texts in both languages, the language signal.
    bilingual: tuple[tuple[str, str, str], ...] = ()
    bundled_path: Any = None
    # `(session, now, ids, source, by) -> async context manager`: records what a reload changes
    # in the existing records `ids` (funding: storage.funding.changes.tracking, for change alerts).
    track_changes: Callable[..., Any] | None = None

    async def count(self, session: AsyncSession) -> int:
        return (await session.scalar(select(func.count()).select_from(self.model))) or 0

    async def start(self, services) -> None:
        async with services.db.transaction() as session:
            if services.settings.storage.load_sample_data:
                was_empty = self.stamped and not await self.count(session)
                if await self.load_sample(session) and was_empty:
                    # The table was empty, so every row is the sample's. In a filled one the
                    # merge of a newer bundled file stamps only what it changed: stamping all
                    # would list every record as updated in the next digests.
                    now = services.clock()
                    await session.execute(update(self.model).values({c: now for c in self.stamped}))
            # Rebuild when rows and index disagree, or the index was built by another version
            # of the analysis or of this data set's documents (SearchIndex.version).
            if (await self.count(session) != await self.index.count(session)
                    or await self.index.needs_rebuild(session)):
                await self.reindex(session)

    async def stats(self, session: AsyncSession) -> list[tuple[str, int]]:
        return [(self.label, await self.count(session))]


def fill_empty_table(model, load_bundled: Callable[[], list], reindex) -> Callable[[AsyncSession], Awaitable[int]]:
    """The usual `load_sample`: fill an empty table from the bundled records (a no-op when
    it has rows) and index what was added. Returns how many rows were added."""
    async def load_sample(session: AsyncSession) -> int:
        if (await session.scalar(select(func.count()).select_from(model))) or 0:
            return 0
        rows = [model(**rec.to_row()) for rec in load_bundled()]
        session.add_all(rows)
        await session.flush()
        await reindex(session, rows)
        return len(rows)
    return load_sample
