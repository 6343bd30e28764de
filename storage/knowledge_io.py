"""`dsih-bot import knowledge FILE` / `dsih-bot export knowledge --format csv|json|yaml`.

Same rules as funding and labs (storage/datafile.py: validated per record, all-or-nothing),
but knowledge items are keyed by their normalised URL, not by a file id: the database
numbers items itself, and the same link in two files or shared in chat is one item.
CSV encodes `topics` as `|`-joined topic ids."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from storage.datafile import DataFile
from storage.knowledge_data import FIELDS, KnowledgeRecord, record_of, reindex
from storage.models.knowledge import KnowledgeItem


@dataclass(frozen=True)
class KnowledgeFile(DataFile):
    async def upsert(self, session, records: list[BaseModel], actor: str) -> tuple[int, int]:
        keys = [r.id for r in records]  # KnowledgeRecord.id is the normalised URL
        existing: dict[str, Any] = {}
        for i in range(0, len(keys), 500):  # stay under the databases' bound-parameter limits
            existing.update({r.url_key: r for r in (await session.scalars(
                select(KnowledgeItem).where(KnowledgeItem.url_key.in_(keys[i:i + 500])))).all()})
        created = updated = 0
        now = datetime.now(timezone.utc)
        for rec in records:
            values = rec.to_row()
            row = existing.get(rec.id)
            if row is None:
                values.setdefault("shared_at", now)
                values.setdefault("shared_by", None)
                session.add(KnowledgeItem(**values))
                created += 1
            else:
                for k, v in values.items():
                    setattr(row, k, v)
                updated += 1
        await session.flush()
        return created, updated

    async def export_text(self, db, fmt: str) -> str:
        async with db.session() as session:
            rows = (await session.scalars(select(KnowledgeItem).order_by(KnowledgeItem.id))).all()
            return self.dump([record_of(r) for r in rows], fmt)


FILE = KnowledgeFile("items", KnowledgeRecord, tuple(FIELDS), list_fields=("topics",), name="knowledge",
                     table=KnowledgeItem, noun="knowledge items", record_of=record_of, reindex=reindex,
                     key_column="url")

import_file = FILE.import_file
export_text = FILE.export_text
