"""`dsih-bot export all DIR` writes every data set in the format `import` reads, and
`import all DIR` loads it into a fresh database (either engine) with nothing lost: exporting
the copy gives the same files; search works on the copy; a bad file changes nothing."""
from __future__ import annotations

import itertools
import json

import pytest
import yaml

from bot.cli import main
from commands import build_registry
from storage.db import Database
from storage.datasets.export import MANIFEST, export_all, import_all
from storage.validation import ImportError_

_n = itertools.count()
DATASETS = build_registry().datasets


async def _fresh(db: Database, tmp_path, request) -> Database:
    """Another empty database of the same engine as `db`."""
    if db.is_sqlite:
        url = f"sqlite+aiosqlite:///{tmp_path / f'copy{next(_n)}.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database(f"exportcopy{next(_n)}")
    copy = Database(url)
    await copy.upgrade()
    return copy


async def _counts(db: Database) -> dict[str, tuple[int, int]]:
    async with db.session() as s:
        return {name: (await d.count(s), await d.index.count(s)) for name, d in DATASETS.items()}


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
async def test_export_all_then_import_all_round_trips(db, tmp_path, request, fmt):
    async with db.transaction() as s:
        for dataset in DATASETS.values():
            assert await dataset.load_sample(s) > 0
    names = sorted(DATASETS)
    chosen = {name: DATASETS[name] for name in names}
    manifest = await export_all(db, chosen, tmp_path / "out", fmt)
    assert [e["name"] for e in manifest["data_sets"]] == names
    on_disk = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert on_disk["schema_revision"] and on_disk["data_sets"] == manifest["data_sets"]
    original = await _counts(db)
    assert {e["name"]: e["records"] for e in manifest["data_sets"]} == {k: v[0] for k, v in original.items()}

    copy = await _fresh(db, tmp_path, request)
    try:
        lines = await import_all(copy, tmp_path / "out", chosen)
        assert len(lines) == len(names) and all(" new, 0 updated" in line for line in lines)
        assert await _counts(copy) == original          # every record, and its search index entry
        await export_all(copy, chosen, tmp_path / "again", fmt)
        for entry in manifest["data_sets"]:               # the copy exports byte for byte the same
            assert (tmp_path / "again" / entry["file"]).read_text() == (tmp_path / "out" / entry["file"]).read_text()
        # A second import of the same folder changes nothing and says so.
        lines = await import_all(copy, tmp_path / "out", chosen)
        assert all(" 0 new, 0 updated, " in line and line.endswith(" unchanged") for line in lines), lines
        assert await _counts(copy) == original
    finally:
        await copy.dispose()


async def test_import_all_with_one_bad_file_changes_nothing(db, tmp_path, request):
    async with db.transaction() as s:
        for dataset in DATASETS.values():
            await dataset.load_sample(s)
    await export_all(db, DATASETS, tmp_path / "out")
    labs = tmp_path / "out" / "labs.yaml"
    data = yaml.safe_load(labs.read_text())
    data["labs"][3]["latitude"] = "somewhere"
    labs.write_text(yaml.safe_dump(data))
    copy = await _fresh(db, tmp_path, request)
    try:
        with pytest.raises(ImportError_, match="record 4, field latitude"):
            await import_all(copy, tmp_path / "out", DATASETS)
        assert all(n == (0, 0) for n in (await _counts(copy)).values())
        manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
        manifest["data_sets"][0]["file"] = "../elsewhere.yaml"
        (tmp_path / "out" / MANIFEST).write_text(json.dumps(manifest))
        with pytest.raises(ImportError_, match="must list"):
            await import_all(copy, tmp_path / "out", DATASETS)
        (tmp_path / "out" / MANIFEST).write_text("{}")
        with pytest.raises(ImportError_, match="not a dsih-bot export manifest"):
            await import_all(copy, tmp_path / "out", DATASETS)
    finally:
        await copy.dispose()


def test_cli_export_all_and_import_all(tmp_path, capsys):
    """As an operator types it: sample data in, `export all`, `import all` into another database."""
    src, dst = tmp_path / "src.yaml", tmp_path / "dst.yaml"
    src.write_text(yaml.safe_dump({"storage": {"data_dir": str(tmp_path / "a")}}))
    dst.write_text(yaml.safe_dump({"storage": {"data_dir": str(tmp_path / "b")}}))
    for name in sorted(DATASETS):
        assert main(["import", name, str(_bundled(name)), "-c", str(src)]) == 0
    capsys.readouterr()
    assert main(["export", "all", str(tmp_path / "dump"), "-c", str(src)]) == 0
    out = capsys.readouterr()
    assert "exported 41 funding, 26 knowledge, 26 labs" in out.out
    assert "import all" in out.out
    assert sorted(p.name for p in (tmp_path / "dump").iterdir()) == sorted(
        [MANIFEST, *(f"{n}.yaml" for n in DATASETS)])
    assert main(["import", "all", str(tmp_path / "dump"), "-c", str(dst)]) == 0
    assert capsys.readouterr().out.count(" new, 0 updated") == len(DATASETS)
    assert main(["export", "all", str(tmp_path / "no" / "such" / "dir"), "-c", str(src)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "labs", str(tmp_path / "x"), "-c", str(src)]) == 1
    assert main(["import", "all", str(tmp_path), "-c", str(dst)]) == 1
    assert "manifest.json not found" in capsys.readouterr().err


def _bundled(name: str):
    return DATASETS[name].bundled_path
