"""`dsih-bot import labs FILE` / `dsih-bot export labs --format csv|json|yaml`.

Import: CSV, JSON or YAML by extension; every record validated (pydantic, see
storage.labs_data.LabRecord); errors name the record number (1-based, in file order) and
the field; all-or-nothing: one bad record rejects the whole file and changes nothing;
upsert by `id`. CSV encodes lists (themes, facilities, target_users, services) as
`|`-joined values and enoll_member as true/false (also ja/nee, yes/no, 1/0)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from storage.datafile import DataFile, bool_codec
from storage.labs_data import FIELDS, LIST_FIELDS, LabRecord, record_of, reindex
from storage.models.core import AuditLog
from storage.models.labs import Lab

FILE = DataFile("labs", LabRecord, tuple(FIELDS), list_fields=tuple(LIST_FIELDS),
                codecs={"enoll_member": bool_codec()})


async def upsert_records(db_session, records: list[LabRecord]) -> tuple[int, int]:
    existing: dict[str, Lab] = {}
    ids = [r.id for r in records]
    for i in range(0, len(ids), 500):
        existing.update({r.id: r for r in (await db_session.scalars(
            select(Lab).where(Lab.id.in_(ids[i:i + 500])))).all()})
    created = updated = 0
    now = datetime.now(timezone.utc)
    for rec in records:
        row_data = rec.to_row()
        row = existing.get(rec.id)
        if row is None:
            db_session.add(Lab(**row_data, updated_at=now))
            created += 1
        else:
            for k, v in row_data.items():
                setattr(row, k, v)
            row.updated_at = now
            updated += 1
    await db_session.flush()
    return created, updated


async def import_file(db, path, actor: str) -> str:
    """Validate and upsert a CSV/JSON/YAML file in one transaction; returns a report line."""
    path = Path(path)
    records = FILE.read(path)
    async with db.transaction() as session:
        created, updated = await upsert_records(session, records)
        await reindex(session)
        session.add(AuditLog(actor=actor, action="labs.import", target=path.name,
                             detail={"created": created, "updated": updated}))
    return f"imported {len(records)} living labs from {path.name}: {created} new, {updated} updated"


async def export_text(db, fmt: str) -> str:
    async with db.session() as session:
        rows = (await session.scalars(select(Lab).order_by(Lab.id))).all()
        return FILE.dump([record_of(r) for r in rows], fmt)
