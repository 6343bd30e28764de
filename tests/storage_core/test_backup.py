"""Backups: a consistent copy while the bot runs, restored into an empty database of
either engine (also SQLite -> PostgreSQL), with every row, bytes and times intact and
search working again; a non-empty target or a foreign file is refused cleanly."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from storage.backup import BackupError, backup, restore
from storage.db import Database
from storage.funding.dataset import load_sample_data as load_funding
from storage.funding.records import FUNDING_INDEX, reindex as reindex_funding
from storage.labs.records import load_sample_data as load_labs, reindex as reindex_labs
from storage.models import Base
from storage.models.core import OutboxMessage
from storage.sessions.models import Participant, ReviewSession

_n = itertools.count()


async def _fill(db: Database) -> None:
    async with db.transaction() as s:
        await load_funding(s)
        await load_labs(s)
        start = datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc)
        s.add(ReviewSession(title="Groene daken <b>", facilitator="@f:test", starts_at=start, ends_at=start,
                            capacity=8, room_id="!r:test", status="planned", timezone="Europe/Amsterdam",
                            language="nl"))
        await s.flush()
        s.add(Participant(session_id=1, user_id="@b:test", role="reviewer", state="going", joined_at=start))
        s.add(OutboxMessage(txn_id="t1", room_id="!r:test", content={"body": "ics"}, status="pending",
                            attachment=b"BEGIN:VCALENDAR\x00\xff", event_type="m.room.message"))


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as s:
        return {t.name: (await s.scalar(select(func.count()).select_from(t))) or 0 for t in Base.metadata.sorted_tables}


async def test_backup_and_restore_round_trip(db, tmp_path, request):
    await _fill(db)
    path = tmp_path / "backup.jsonl.gz"
    counts = await backup(db, path)
    assert counts["funding_instruments"] > 30 and counts["review_sessions"] == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # Restore into a fresh database of the OTHER engine too: SQLite <-> PostgreSQL.
    for target_kind in ("sqlite", "postgresql"):
        if target_kind == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / f'restored{next(_n)}.sqlite3'}"
        else:
            url = request.getfixturevalue("postgres_server").create_database(f"restore{next(_n)}")
        target = Database(url)
        try:
            restored = await restore(target, path, reindex=[reindex_funding, reindex_labs])
            assert restored == counts  # every table, empty ones too: the same count the backup gives
            assert await _counts(target) == await _counts(db)
            async with target.session() as s:
                row = await s.scalar(select(OutboxMessage))
                assert row.attachment == b"BEGIN:VCALENDAR\x00\xff" and row.content == {"body": "ics"}
                sess = await s.get(ReviewSession, 1)
                assert sess.title == "Groene daken <b>" and sess.starts_at == datetime(2026, 12, 1, 13, tzinfo=timezone.utc)
                assert await FUNDING_INDEX.count(s) == counts["funding_instruments"]
                # New rows get fresh numbers after the restored ones.
                s.add(ReviewSession(title="next", facilitator="@f:test", starts_at=sess.starts_at, ends_at=sess.ends_at,
                                    capacity=2, room_id="!r:test", status="planned", timezone="UTC", language="en"))
                await s.commit()
                assert await s.scalar(select(func.max(ReviewSession.id))) == 2
            with pytest.raises(BackupError, match="not empty"):
                await restore(target, path)
        finally:
            await target.dispose()


async def test_a_foreign_file_is_refused(db, tmp_path):
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"not gzip at all")
    with pytest.raises(BackupError, match="not a dsih-bot backup"):
        await restore(db, junk)
