"""A deadline moved earlier is an alert of its own, in a real Synapse (issue 17, section 4).

bob follows a record's topic with a monthly digest far off. (1) A facilitator moves the
deadline earlier with `!funding set`; the bot is killed with SIGKILL right after its reply
and again a moment after the restart: bob gets the alert by direct message exactly once,
long before his digest. (2) A refresh's change is committed while the bot is down (the
nightly CLI refresh runs in a process of its own; here the same two calls it makes,
storage.funding.changes.snapshot/record, are made on the bot's database between a kill
and the start): bob gets that alert once too. (3) His next digest lists both under "Changed",
marked as alerted, not as alerts again (that a digest with nothing but alerted changes is
not sent is shown in test_change_alert_delivery.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.digests.models import ChangeAlert, DigestSubscription
from storage.funding import changes
from storage.funding.models import FundingChange, FundingInstrument
from support.e2e_helpers import body_of
from support.quiesce import wait_delivered
from support.quiescence import until

pytestmark = pytest.mark.e2e

FAST = {"digests": {"run_every": "1s"}}
AMS = ZoneInfo("Europe/Amsterdam")


def _db(bot):
    return create_engine(f"sqlite:///{bot.workdir / 'data' / 'dsih-bot.sqlite3'}", connect_args={"timeout": 15})


def _day(days: int) -> datetime:
    return (datetime.now(AMS) + timedelta(days=days)).replace(hour=17, minute=0, second=0, microsecond=0, tzinfo=None)


def _follow_record(engine, topic: str, days: int) -> str:
    with Session(engine) as s, s.begin():
        row = s.scalars(select(FundingInstrument).order_by(FundingInstrument.id)).first()
        row.themes = [topic]
        row.deadline_model, row.opens_on, row.stale = "single", None, False
        row.deadlines = [{"at": _day(days).isoformat(), "tz": "Europe/Amsterdam", "label": "deadline"}]
        row.updated_at = datetime.now(timezone.utc) - timedelta(days=30)
        return row.id


def _refresh_moves_deadline(engine, fid: str, days: int) -> None:
    """What a refresh does when the portal moves a deadline: snapshot, write, record."""
    now = datetime.now(timezone.utc)
    with Session(engine) as s, s.begin():
        row = s.get(FundingInstrument, fid)
        before = changes.snapshot(row, now)
        row.deadlines = [{"at": _day(days).isoformat(), "tz": "Europe/Amsterdam", "label": "deadline"}]
        row.updated_at = now
        s.flush()
        assert [c.kind for c in changes.record(s, row, before, now, source="eu-ft", by=None)] == ["earlier"]


def _alerts_of(bot_id, room):
    def check(ev):
        return (getattr(ev, "sender", None) == bot_id and getattr(ev, "room_id", None) != room
                and "deadline moved earlier" in body_of(ev).lower())
    return check


def _told(engine):
    with Session(engine) as s:
        return [(a.subscriber, a.via) for a in s.scalars(select(ChangeAlert).order_by(ChangeAlert.id))]


@pytest.mark.parametrize("bot_options", [FAST])
async def test_an_earlier_deadline_reaches_a_follower_once_across_kill_9(alice, bob, bot, room, ask, bot_options):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    engine = _db(bot)
    fid = _follow_record(engine, "climate-adaptation", 90)
    await ask(bob, room, "!subscribe climate adaptation monthly --day 28", bot_id=bot.user_id)
    await asyncio.sleep(1.1)   # the change comes after the subscription's watermark
    is_alert = _alerts_of(bot.user_id, room)
    mark = bob.mark()

    # (1) A facilitator's change, and SIGKILL right after the reply, twice.
    done = await ask(alice, room, f"!funding set {fid} deadlines {_day(40):%Y-%m-%d} 17:00 Europe/Amsterdam",
                     bot_id=bot.user_id)
    assert "Updated" in body_of(done), body_of(done)
    await bot.akill()
    told_at_kill = _told(engine)
    await bot.astart()
    await asyncio.sleep(0.3)
    await bot.akill()
    await bot.astart()
    await until(lambda: len(_told(engine)) == 1, 30, "the change alert")
    state = await bot.quiescent(timeout=60)
    await wait_delivered(bob, state, room)
    alerts = [e for e in bob.events[mark:] if is_alert(e)]
    assert len(alerts) == 1, ([body_of(e) for e in alerts], told_at_kill)
    text = body_of(alerts[0])
    assert f"!funding {fid}" in text and "source: a facilitator" in text, text
    assert _told(engine) == [(bob.user_id, "alert")]

    # (2) A refresh's change committed while the bot is down, then one more kill.
    await bot.akill()
    _refresh_moves_deadline(engine, fid, 30)
    await bot.astart()
    await asyncio.sleep(0.5)
    await bot.akill()
    await bot.astart()
    await until(lambda: len(_told(engine)) == 2, 30, "the second change alert")
    state = await bot.quiescent(timeout=60)
    await wait_delivered(bob, state, room)
    alerts = [e for e in bob.events[mark:] if is_alert(e)]
    assert len(alerts) == 2, [body_of(e) for e in alerts]
    assert "source: the EU portal" in body_of(alerts[1]), body_of(alerts[1])
    with Session(engine) as s:
        assert [c.kind for c in s.scalars(select(FundingChange).order_by(FundingChange.id))] == ["earlier", "earlier"]

    # (3) His next digest (the bot's start-up data load gives it other news here): both
    # changes are listed under "Changed" marked as alerted, not again as an alert.
    await asyncio.sleep(11)   # past the digest's settle time
    with Session(engine) as s, s.begin():
        for sub in s.scalars(select(DigestSubscription)).all():
            sub.next_due_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    is_digest = lambda e: "knowledge digest" in body_of(e).lower()  # noqa: E731
    await until(lambda: any(is_digest(e) for e in bob.events[mark:]), 30, "the digest")
    state = await bot.quiescent(timeout=60)
    await wait_delivered(bob, state, room)
    digests = [body_of(e) for e in bob.events[mark:] if is_digest(e)]
    assert len(digests) == 1, digests
    assert "Deadline moved earlier" not in digests[0] and digests[0].count("alerted on") == 2, digests[0]
    assert len([e for e in bob.events[mark:] if is_alert(e)]) == 2
