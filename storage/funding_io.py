"""`dsih-bot import funding FILE` / `dsih-bot export funding --format csv|json|yaml`.

Import: CSV, JSON or YAML by extension; every record validated (pydantic); errors name
the record number (1-based, in file order) and the field; all-or-nothing: one bad record
rejects the whole file and changes nothing; upsert by `id`. CSV encodes lists as
`|`-joined values and `deadlines` as a JSON string column."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from storage.datafile import DataFile, json_list_codec
from storage.funding_data import FIELDS, InstrumentRecord, record_of, reindex
from storage.models.core import AuditLog
from storage.models.funding import FundingInstrument

FILE = DataFile("instruments", InstrumentRecord, tuple(FIELDS), list_fields=("themes", "eligible_applicants"),
                codecs={"deadlines": json_list_codec()})


async def upsert_records(db_session, records: list[InstrumentRecord], actor: str) -> tuple[int, int]:
    existing = {r.id: r for r in (await db_session.scalars(
        select(FundingInstrument).where(FundingInstrument.id.in_([r.id for r in records])))).all()}
    created = updated = 0
    now = datetime.now(timezone.utc)
    for rec in records:
        row_data = rec.to_row()
        row = existing.get(rec.id)
        if row is None:
            db_session.add(FundingInstrument(**row_data, updated_at=now, updated_by=actor))
            created += 1
        else:
            for k, v in row_data.items():
                setattr(row, k, v)
            row.updated_at, row.updated_by = now, actor
            updated += 1
    await db_session.flush()
    return created, updated


async def import_file(db, path, actor: str) -> str:
    """Validate and upsert a CSV/JSON/YAML file in one transaction; returns a report line."""
    path = Path(path)
    records = FILE.read(path)
    async with db.transaction() as session:
        created, updated = await upsert_records(session, records, actor)
        await reindex(session)
        session.add(AuditLog(actor=actor, action="funding.import", target=path.name,
                             detail={"created": created, "updated": updated}))
    return f"imported {len(records)} funding instruments from {path.name}: {created} new, {updated} updated"


async def export_text(db, fmt: str) -> str:
    async with db.session() as session:
        rows = (await session.scalars(select(FundingInstrument).order_by(FundingInstrument.id))).all()
        return FILE.dump([record_of(r) for r in rows], fmt)
