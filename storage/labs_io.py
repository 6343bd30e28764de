"""`dsih-bot import labs FILE` / `dsih-bot export labs --format csv|json|yaml`.

Import: CSV, JSON or YAML by extension; every record validated (pydantic, see
storage.labs_data.LabRecord); errors name the record number (1-based, in file order) and
the field; all-or-nothing: one bad record rejects the whole file and changes nothing;
upsert by `id`. CSV encodes lists (themes, facilities, target_users, services) as
`|`-joined values and enoll_member as true/false (also ja/nee, yes/no, 1/0)."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select

from storage.labs_data import FIELDS, LIST_FIELDS, LabRecord, record_of, reindex
from storage.models.core import AuditLog
from storage.models.labs import Lab
from storage.validation import ImportError_

MAX_ERRORS_SHOWN = 20
_BOOL = {"true": True, "yes": True, "ja": True, "1": True, "y": True, "j": True,
         "false": False, "no": False, "nee": False, "0": False, "n": False, "": False}


def _read(path: Path) -> list[Any]:
    ext = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"cannot read {path}: {exc}") from None
    return parse_text(text, ext, path.name)


def parse_text(text: str, ext: str, name: str = "file") -> list[Any]:
    ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
    try:
        if ext == ".csv":
            return _from_csv(text)
        if ext == ".json":
            data = json.loads(text)
        elif ext in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise ImportError_(f"unknown file type {ext or '(none)'}: use .csv, .json, .yaml or .yml")
    except (json.JSONDecodeError, yaml.YAMLError, csv.Error) as exc:
        raise ImportError_(f"{name} is not valid {ext.lstrip('.').upper()}: {exc}") from None
    if isinstance(data, dict):
        data = data.get("labs")
    if not isinstance(data, list):
        raise ImportError_("expected a list of labs (or a mapping with a `labs` list)")
    return data


def _from_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise ImportError_("the CSV file needs a header row with at least an `id` column")
    records = []
    for n, raw in enumerate(reader, 1):
        rec: dict[str, Any] = {}
        for key, value in raw.items():
            if key is None:
                raise ImportError_(f"record {n}: more values than header columns")
            value = (value or "").strip() if isinstance(value, str) else ""
            if key in LIST_FIELDS:
                rec[key] = [v.strip() for v in value.split("|") if v.strip()]
            elif key == "enoll_member":
                if value.lower() not in _BOOL:
                    raise ImportError_(f"record {n}, field enoll_member: expected true or false, got {value[:40]!r}")
                rec[key] = _BOOL[value.lower()]
            else:
                rec[key] = value or None
        records.append(rec)
    return records


def _field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(record)"


def validate_records(data: list[Any]) -> list[LabRecord]:
    errors: list[str] = []
    records: list[LabRecord] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(data, 1):
        if not isinstance(raw, dict):
            errors.append(f"record {n}: expected a mapping of fields, got {type(raw).__name__}")
            continue
        try:
            rec = LabRecord.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                msg = e["msg"].removeprefix("Value error, ")
                field = _field(e["loc"])
                m = re.match(r"^([a-z_/]+): (.*)$", msg, re.S)
                if not e["loc"] and m:   # record-level checks name their field first
                    field, msg = m.group(1), m.group(2)
                errors.append(f"record {n}, field {field}: {msg}")
            continue
        if rec.id in seen:
            errors.append(f"record {n}, field id: duplicate of record {seen[rec.id]} ({rec.id})")
            continue
        seen[rec.id] = n
        records.append(rec)
    if errors:
        more = len(errors) - MAX_ERRORS_SHOWN
        shown = errors[:MAX_ERRORS_SHOWN] + ([f"... and {more} more"] if more > 0 else [])
        raise ImportError_("nothing imported; fix these problems:\n" + "\n".join(shown))
    return records


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
    records = validate_records(_read(path))
    async with db.transaction() as session:
        created, updated = await upsert_records(session, records)
        await reindex(session)
        session.add(AuditLog(actor=actor, action="labs.import", target=path.name,
                             detail={"created": created, "updated": updated}))
    return f"imported {len(records)} living labs from {path.name}: {created} new, {updated} updated"


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


async def export_text(db, fmt: str) -> str:
    async with db.session() as session:
        rows = (await session.scalars(select(Lab).order_by(Lab.id))).all()
        records = [{k: _plain(v) for k, v in record_of(r).items()} for r in rows]
    fmt = fmt.lower()
    if fmt == "json":
        return json.dumps({"labs": records}, ensure_ascii=False, indent=2) + "\n"
    if fmt in ("yaml", "yml"):
        return yaml.safe_dump({"labs": records}, allow_unicode=True, sort_keys=False, width=120)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\n")
        writer.writeheader()
        for rec in records:
            row = dict(rec)
            for f in LIST_FIELDS:
                row[f] = "|".join(row[f] or [])
            row["enoll_member"] = "true" if row["enoll_member"] else "false"
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return out.getvalue()
    raise ImportError_(f"unknown export format {fmt!r}: use csv, json or yaml")
