"""Change alerts in a real Synapse (issue 17, section 4): a facilitator moves a followed
record's deadline earlier and changes its budget with `!funding set`; bob, who follows the
record's topic, gets the earlier deadline at once as an alert of its own (by direct message,
test_change_alert_delivery_e2e.py) and both in his next digest under "Changed", old -> new
with the source, the deadline marked as already alerted — and exactly once, although the
bot is killed with SIGKILL three times while the digest is due. The next period brings
nothing: the same change is never told twice.

The record's topic and first deadline and the forced due times are written straight into
the bot's SQLite database (the data dir of the BotProcess), as in tests/digests."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.digests.models import DigestRecord, DigestSubscription
from storage.funding.models import FundingChange, FundingInstrument
from support.e2e_helpers import body_of
from support.quiesce import wait_delivered
from support.quiescence import BotDatabase, until

pytestmark = pytest.mark.e2e

FAST = {"digests": {"run_every": "1s"}}
AMS = ZoneInfo("Europe/Amsterdam")


def _db(bot):
    return create_engine(f"sqlite:///{bot.workdir / 'data' / 'dsih-bot.sqlite3'}", connect_args={"timeout": 15})


def _digest(bot_id):
    return lambda ev: getattr(ev, "sender", None) == bot_id and "knowledge digest" in body_of(ev).lower()


def _follow_record(engine, topic: str, days: int) -> str:
    """One bundled record on `topic` with a single deadline `days` ahead, edited long ago."""
    at = (datetime.now(AMS) + timedelta(days=days)).replace(hour=17, minute=0, second=0, microsecond=0, tzinfo=None)
    with Session(engine) as s, s.begin():
        row = s.scalars(select(FundingInstrument).order_by(FundingInstrument.id)).first()
        row.themes = [topic]
        row.deadline_model, row.opens_on, row.stale = "single", None, False
        row.deadlines = [{"at": at.isoformat(), "tz": "Europe/Amsterdam", "label": "deadline"}]
        row.budget_total_eur = 2_000_000
        row.updated_at = datetime.now(timezone.utc) - timedelta(days=30)
        return row.id


def _make_due(engine):
    with Session(engine) as s, s.begin():
        for sub in s.scalars(select(DigestSubscription)).all():
            sub.next_due_at = datetime.now(timezone.utc) - timedelta(seconds=1)


def _records(engine):
    with Session(engine) as s:
        return [(r.period_key, r.items, r.outbox_key) for r in s.scalars(select(DigestRecord).order_by(DigestRecord.id))]


@pytest.mark.parametrize("bot_options", [FAST])
async def test_changed_deadline_and_budget_reach_a_follower_once_across_kill_9(alice, bob, bot, room, ask,
                                                                              bot_options):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    engine = _db(bot)
    fid = _follow_record(engine, "climate-adaptation", 90)
    # Far-off schedule: only the forced due times below make it due.
    await ask(bob, room, "!subscribe climate adaptation monthly --day 28", bot_id=bot.user_id)
    # Only changes after the subscription count: the subscriber's watermark is now.
    await asyncio.sleep(1.1)
    earlier = (datetime.now(AMS) + timedelta(days=40)).strftime("%Y-%m-%d")
    done = await ask(alice, room, f"!funding set {fid} deadlines {earlier} 17:00 Europe/Brussels", bot_id=bot.user_id)
    assert "Updated" in body_of(done), body_of(done)
    done = await ask(alice, room, f"!funding set {fid} budget_total_eur 5000000", bot_id=bot.user_id)
    assert "Updated" in body_of(done), body_of(done)
    with Session(engine) as s:
        logged = [(c.field, c.kind, c.source) for c in s.scalars(select(FundingChange).order_by(FundingChange.id))]
    assert logged == [("deadline", "earlier", "chat"), ("budget", "changed", "chat")]
    # The digest's watermark lags the clock by its settle time (storage/digests/compose.py SETTLE).
    await asyncio.sleep(11)

    mark = bob.mark()
    for attempt in range(3):
        _make_due(engine)
        await asyncio.sleep(0.2 + 0.6 * attempt)  # somewhere in, before or after the run
        await bot.akill()
        await bot.astart()
    state = await bot.quiescent(timeout=60)
    await wait_delivered(bob, state, room)
    digests = [e for e in bob.events[mark:] if _digest(bot.user_id)(e)]
    assert len(digests) == 1, [body_of(e) for e in digests]
    text = body_of(digests[0])
    # Alerted on its own already: listed under "Changed", marked, not as an alert again.
    assert "Deadline moved earlier" not in text and "Changed" in text and "alerted on" in text, text
    assert text.count(f"!funding {fid}") == 2, text       # one line per change, not twice
    assert "€5,000,000" in text.replace("\u00a0", " ") and "€2,000,000" in text.replace("\u00a0", " "), text
    assert "source: a facilitator" in text, text
    assert len([r for r in _records(engine) if r[2]]) == 1, _records(engine)

    # The next period: nothing new, so nothing is sent (the changes are not told twice).
    before = len(_records(engine))    # the kills may have left empty periods recorded too
    due_at = datetime.now(timezone.utc).replace(tzinfo=None)
    _make_due(engine)
    await until(lambda: (BotDatabase(bot).last_run("digest-run") or due_at) > due_at, 30, "a digest run")
    await until(lambda: len(_records(engine)) == before + 1, 30, "the next period's record")
    assert _records(engine)[-1][1:] == (0, None), _records(engine)
    state = await bot.quiescent(timeout=60)
    await wait_delivered(bob, state, room)
    assert len([e for e in bob.events[mark:] if _digest(bot.user_id)(e)]) == 1
