"""Reading, validating and writing a capability's data file (CSV, JSON or YAML), shared by
`dsih-bot import|export funding|labs`.

Import rules: the format follows the extension; every record is validated with the
capability's pydantic model; errors name the record number (1-based, file order) and the
field; one bad record rejects the whole file (the caller then changes nothing). CSV
encodes list fields as `|`-joined values; other columns may have their own codec."""
from __future__ import annotations

import csv
import io
import json
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from storage.models.core import AuditLog
from storage.validation import ImportError_

MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class CsvCodec:
    """How one non-text CSV column is read (`decode(value) -> python`, may raise
    ValueError with a message) and written (`encode(python) -> str`)."""
    decode: Callable[[str], Any]
    encode: Callable[[Any], str]


def json_list_codec() -> CsvCodec:
    def decode(value: str) -> Any:
        try:
            return json.loads(value) if value else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list ({exc.msg})") from None
    return CsvCodec(decode, lambda v: json.dumps(v or [], ensure_ascii=False))


_BOOL = {"true": True, "yes": True, "ja": True, "1": True, "y": True, "j": True,
         "false": False, "no": False, "nee": False, "0": False, "n": False, "": False}


def bool_codec() -> CsvCodec:
    def decode(value: str) -> bool:
        if value.lower() not in _BOOL:
            raise ValueError(f"expected true or false, got {value[:40]!r}")
        return _BOOL[value.lower()]
    return CsvCodec(decode, lambda v: "true" if v else "false")


@dataclass(frozen=True)
class DataFile:
    key: str                          # top-level key in JSON/YAML: {"labs": [...]}
    model: type[BaseModel]            # validates one record (has .id and .to_row())
    fields: tuple[str, ...]           # CSV column order on export
    list_fields: tuple[str, ...] = ()
    codecs: dict[str, CsvCodec] = field(default_factory=dict)
    # The table side (used by import_file / export_text):
    name: str = ""                    # the data set as the CLI names it: funding, labs
    table: Any = None                 # the SQLAlchemy model the records go into
    noun: str = "records"             # for the report line, e.g. "living labs"
    record_of: Callable[[Any], dict[str, Any]] | None = None   # row -> exportable record
    reindex: Callable[[Any], Awaitable[None]] | None = None    # refresh the search index
    stamp: Callable[[str], dict[str, Any]] = lambda actor: {}  # extra columns set on every upsert
    key_column: str = "id"            # the column a CSV file must have (knowledge items are keyed by url)
    match_column: str = "id"          # the table column a record's id is matched against on upsert
    on_create: Callable[[], dict[str, Any]] = lambda: {}       # defaults for rows the import adds
    # `(session, now, ids, source, by) -> async context manager` recording what the import
    # changes (funding: storage.funding.changes, for change alerts and digests).
    track_changes: Callable[..., Any] | None = None

    # -- database -------------------------------------------------------------------
    async def import_file(self, db, path, actor: str, progress=None) -> str:
        """Validate the whole file, then upsert by id in one transaction (all-or-nothing).
        `progress(n, total)` (bot.progress) hears of every record written."""
        path = Path(path)
        records = self.read(path)
        async with db.transaction() as session:
            tracked = (self.track_changes(session, datetime.now(timezone.utc), [r.id for r in records], "import",
                                          actor) if self.track_changes is not None else nullcontext())
            async with tracked:
                created, updated, unchanged = await self.upsert(session, records, actor, progress)
            if self.reindex and (created or updated):
                await self.reindex(session)
            session.add(AuditLog(actor=actor, action=f"{self.name}.import", target=path.name,
                                 detail={"created": created, "updated": updated, "unchanged": unchanged}))
        return (f"imported {len(records)} {self.noun} from {path.name}: "
                f"{created} new, {updated} updated, {unchanged} unchanged")

    async def upsert(self, session, records: list[BaseModel], actor: str, progress=None) -> tuple[int, int, int]:
        """(created, updated, unchanged): a record equal to its row is left alone, stamp
        included, so re-importing an export reports (and audits) no changes."""
        if progress:
            progress(0, len(records))
        ids = [r.id for r in records]
        column = getattr(self.table, self.match_column)
        existing: dict[str, Any] = {}
        for i in range(0, len(ids), 500):  # stay under the databases' bound-parameter limits
            existing.update({getattr(r, self.match_column): r for r in (await session.scalars(
                select(self.table).where(column.in_(ids[i:i + 500])))).all()})
        created = updated = unchanged = 0
        stamp = dict(self.stamp(actor))
        if "updated_at" in self.table.__table__.columns:
            stamp["updated_at"] = datetime.now(timezone.utc)
        for rec in records:
            fields = rec.to_row()
            values = {**fields, **stamp}
            row = existing.get(rec.id)
            if row is None:
                session.add(self.table(**{**self.on_create(), **values}))
                created += 1
            elif not any(differs(getattr(row, k), v) for k, v in fields.items()):
                unchanged += 1
            else:
                for k, v in values.items():
                    setattr(row, k, v)
                updated += 1
            if progress:
                progress(1)
        await session.flush()
        return created, updated, unchanged

    async def export_text(self, db, fmt: str) -> str:
        async with db.session() as session:
            rows = (await session.scalars(select(self.table).order_by(self.table.id))).all()
            return self.dump([self.record_of(r) for r in rows], fmt)

    # -- reading ------------------------------------------------------------------
    def read(self, path: Path) -> list[BaseModel]:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportError_(f"cannot read {path}: {exc}") from None
        return self.validate(self.parse(text, path.suffix, path.name))

    def parse(self, text: str, ext: str, name: str = "file") -> list[Any]:
        ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
        try:
            if ext == ".csv":
                return self._from_csv(text)
            if ext == ".json":
                data = json.loads(text)
            elif ext in (".yaml", ".yml"):
                data = yaml.safe_load(text)
            else:
                raise ImportError_(f"unknown file type {ext or '(none)'}: use .csv, .json, .yaml or .yml")
        except (json.JSONDecodeError, yaml.YAMLError, csv.Error) as exc:
            raise ImportError_(f"{name} is not valid {ext.lstrip('.').upper()}: {exc}") from None
        if isinstance(data, dict):
            data = data.get(self.key)
        if not isinstance(data, list):
            raise ImportError_(f"expected a list of {self.key} (or a mapping with a `{self.key}` list)")
        return data

    def _from_csv(self, text: str) -> list[dict[str, Any]]:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or self.key_column not in reader.fieldnames:
            raise ImportError_(f"the CSV file needs a header row with at least the `{self.key_column}` column")
        records = []
        for n, raw in enumerate(reader, 1):
            rec: dict[str, Any] = {}
            for key, value in raw.items():
                if key is None:
                    raise ImportError_(f"record {n}: more values than header columns")
                value = value.strip() if isinstance(value, str) else ""
                if key in self.list_fields:
                    rec[key] = [v.strip() for v in value.split("|") if v.strip()]
                elif key in self.codecs:
                    try:
                        rec[key] = self.codecs[key].decode(value)
                    except ValueError as exc:
                        raise ImportError_(f"record {n}, field {key}: {exc}") from None
                else:
                    rec[key] = value or None
            records.append(rec)
        return records

    def validate(self, data: list[Any]) -> list[BaseModel]:
        errors: list[str] = []
        records: list[BaseModel] = []
        seen: dict[str, int] = {}
        for n, raw in enumerate(data, 1):
            if not isinstance(raw, dict):
                errors.append(f"record {n}: expected a mapping of fields, got {type(raw).__name__}")
                continue
            try:
                rec = self.model.model_validate(raw)
            except ValidationError as exc:
                errors.extend(f"record {n}, field {f}: {m}" for f, m in _explain(exc))
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

    # -- writing ------------------------------------------------------------------
    def dump(self, records: list[dict[str, Any]], fmt: str) -> str:
        records = [{k: _plain(v) for k, v in r.items()} for r in records]
        fmt = fmt.lower()
        if fmt == "json":
            return json.dumps({self.key: records}, ensure_ascii=False, indent=2) + "\n"
        if fmt in ("yaml", "yml"):
            return yaml.safe_dump({self.key: records}, allow_unicode=True, sort_keys=False, width=120)
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(self.fields), lineterminator="\n")
            writer.writeheader()
            for rec in records:
                row = dict(rec)
                for f in self.list_fields:
                    row[f] = "|".join(row.get(f) or [])
                for f, codec in self.codecs.items():
                    row[f] = codec.encode(row.get(f))
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
            return out.getvalue()
        raise ImportError_(f"unknown export format {fmt!r}: use csv, json or yaml")


def differs(current: Any, new: Any) -> bool:
    """Whether a column's stored value and a record's value differ (SQLite hands back naive
    datetimes for aware ones, so compare instants)."""
    if isinstance(current, datetime) and isinstance(new, datetime):
        if not new.tzinfo:
            return current.replace(tzinfo=None) != new
        return (current if current.tzinfo else current.replace(tzinfo=timezone.utc)) != new
    return current != new


def _explain(exc: ValidationError):
    """(field, message) per error; record-level checks may name their field as 'field: msg'."""
    for e in exc.errors():
        msg = e["msg"].removeprefix("Value error, ")
        where = ".".join(str(p) for p in e["loc"]) or "(record)"
        m = re.match(r"^([a-z_/]+): (.*)$", msg, re.S)
        if not e["loc"] and m:
            where, msg = m.group(1), m.group(2)
        yield where, msg


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value
