"""`dsih-bot export all DIR` / `dsih-bot import all DIR`: every data set in one folder, each
in the same file format `dsih-bot import <name> FILE` reads, plus `manifest.json` (what was
exported, when, from which schema, how many records, checksums).

Unlike a backup (every table, same schema, empty database only) this is the data an
operator curates, in files people can read, edit and load into any database of any later
version; chat history, sessions and personal data stay out."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text

from storage.validation import ImportError_

MANIFEST = "manifest.json"
FORMAT = "dsih-bot-export"
VERSION = 1


async def _revision(db) -> str | None:
    async with db.engine.connect() as conn:
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()


async def export_all(db, datasets: dict, folder: Path, fmt: str = "yaml", *, progress=None) -> dict:
    """Write `<name>.<fmt>` per data set (`datasets`: name -> DataSet) and the manifest into `folder` (created if its
    parent exists); returns the manifest. `progress(n, total)` (bot.progress) hears of each file."""
    from bot import __version__

    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    entries = []
    if progress:
        progress(0, len(datasets))
    for name, dataset in datasets.items():
        body = await dataset.file.export_text(db, fmt)
        path = folder / f"{name}.{fmt}"
        path.write_text(body, encoding="utf-8")
        entries.append({"name": name, "file": path.name, "records": len(dataset.file.parse(body, fmt)),
                        "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest()})
        if progress:
            progress(1)
    manifest = {"format": FORMAT, "version": VERSION, "created_at": datetime.now(timezone.utc).isoformat(),
                "dsih_bot": __version__, "schema_revision": await _revision(db), "data_sets": entries,
                "reimport": f"dsih-bot import all {folder}"}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportError_(f"{path} not found: is {folder} a folder written by `dsih-bot export all`?") from None
    except (OSError, ValueError) as exc:
        raise ImportError_(f"{path} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ImportError_(f"{path} is not a dsih-bot export manifest")
    if manifest.get("version") != VERSION:
        raise ImportError_(f"{path}: export format version {manifest.get('version')} is not supported")
    return manifest


async def import_all(db, folder: Path, datasets: dict, *, actor: str = "cli", progress=None) -> list[str]:
    """Import every data set the manifest lists (each file validated as a whole before
    anything is written, then one transaction per data set); returns one report line each.
    `progress(n, total)` (bot.progress) hears of each data set imported."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    entries = manifest.get("data_sets")
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("file"), str) and Path(e["file"]).name == e["file"]
            for e in entries):
        raise ImportError_(f"{folder / MANIFEST}: `data_sets` must list {{name, file}} with files in {folder}")
    unknown = [e.get("name") for e in entries if e.get("name") not in datasets]
    if unknown:
        raise ImportError_(f"{folder / MANIFEST} names data sets this version does not know: {unknown}")
    # Validate every file first, so a bad file stops the whole import before any change.
    for entry in entries:
        datasets[entry["name"]].file.read(folder / entry["file"])
    lines = []
    if progress:
        progress(0, len(entries))
    for entry in entries:
        lines.append(await datasets[entry["name"]].file.import_file(db, folder / entry["file"], actor=actor))
        if progress:
            progress(1)
    return lines
