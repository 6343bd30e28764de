"""Knowledge digests in a real Synapse: subscribe with a schedule a minute ahead -> the
digest arrives once by direct message with the new items (a duplicate dropped), an
upcoming deadline and an upcoming session (and one deadline alert) -> nothing new, no
digest -> unsubscribe stops delivery; kill -9 while digests are due -> after the restart
every subscriber (two people and a room) has exactly one digest for that period.

Items are shared with `!share`; a feed's copy, the funding deadline and forced due times
are written straight into the bot's SQLite database (the data dir of the BotProcess)."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from storage.digests.models import DigestRecord, DigestSubscription
from storage.funding.models import FundingInstrument
from storage.knowledge.models import KnowledgeItem
from storage.labs.models import Lab
from support.e2e_helpers import body_of
from support.quiesce import wait_delivered
from support.quiescence import BotDatabase, quiescent, until

pytestmark = pytest.mark.e2e

FAST = {"digests": {"run_every": "1s"}}
AMS = ZoneInfo("Europe/Amsterdam")


def _db(bot):
    return create_engine(f"sqlite:///{bot.workdir / 'data' / 'dsih-bot.sqlite3'}", connect_args={"timeout": 15})


def _digest_from(bot_id, room_id=None):
    def check(ev):
        return (getattr(ev, "sender", None) == bot_id and "knowledge digest" in body_of(ev).lower()
                and (room_id is None or ev.room_id == room_id))
    return check


def _count(user, mark, predicate):
    return len([e for e in user.events[mark:] if predicate(e)])


def _share(engine, title, topics, url, *, kind="lesson", event_date=None):
    with Session(engine) as s, s.begin():
        s.add(KnowledgeItem(title=title, url=url, url_key=url.split("://", 1)[1], kind=kind, topics=topics,
                            status="published", shared_at=datetime.now(timezone.utc) - timedelta(seconds=30),
                            event_date=event_date, organisation="Gemeente Zwolle", shared_by="@e2e:localhost"))


def _deadline_in_10_days(engine, topic):
    """Give one bundled instrument a deadline ten days ahead on `topic`."""
    at = (datetime.now(AMS) + timedelta(days=10)).replace(hour=17, minute=0, second=0, microsecond=0, tzinfo=None)
    with Session(engine) as s, s.begin():
        row = s.scalars(select(FundingInstrument).order_by(FundingInstrument.id)).first()
        row.themes = [topic]
        row.deadlines = [{"at": at.isoformat(), "tz": "Europe/Amsterdam", "label": "deadline"}]
        row.deadline_model = "single"
        return row.id, row.title


def _settle_bundled_data(engine):
    """The bundled records are stamped with the bot's first start: seconds before the
    digests below. A run's cutoff lags `now` by SETTLE (10 s), so whether they fell into
    the first period or the next depended on the machine's speed; an hour back, they are
    all in the first (each period's content is still sent once: that is what is tested)."""
    back = datetime.now(timezone.utc) - timedelta(hours=1)
    with Session(engine) as s, s.begin():
        for model, column in ((KnowledgeItem, KnowledgeItem.shared_at), (FundingInstrument, FundingInstrument.updated_at),
                              (Lab, Lab.updated_at)):
            s.execute(update(model).where(column > back).values({column.key: back}))


def _make_due(engine, subscriber=None):
    with Session(engine) as s, s.begin():
        query = select(DigestSubscription)
        if subscriber:
            query = query.where(DigestSubscription.subscriber == subscriber)
        for sub in s.scalars(query).all():
            sub.next_due_at = datetime.now(timezone.utc) - timedelta(seconds=1)


def _records(engine, subscriber):
    with Session(engine) as s:
        sub = s.scalar(select(DigestSubscription).where(DigestSubscription.subscriber == subscriber))
        if sub is None:
            return None
        return [(r.period_key, r.items, r.outbox_key) for r in s.scalars(
            select(DigestRecord).where(DigestRecord.subscription_id == sub.id).order_by(DigestRecord.id))]


async def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("bot_options", [FAST])
async def test_digest_once_with_items_deadline_session_then_nothing_then_unsubscribe(alice, bob, bot, room, ask,
                                                                                     bot_options):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    planned = await ask(alice, room, '!session new "Warmtenet review Zwolle" in 3 days --topic energie',
                        bot_id=bot.user_id, timeout=60)
    assert "Planned session 1" in body_of(planned)
    engine = _db(bot)
    fid, ftitle = _deadline_in_10_days(engine, "energy-transition")
    # Shared as members do; the same lesson again under a tracking URL (merged by !share) and
    # through "a feed" under another URL with the same title (dropped by the digest).
    for command in ('!share https://example.org/warmtenet "Warmtenet lessen uit Zwolle" #energietransitie',
                    '!share https://example.org/warmtenet/?utm_source=x "Warmtenet lessen uit Zwolle" #energietransitie',
                    '!share https://example.org/coop "Energiecoöperatie handboek" #energietransitie #wonen'):
        shared = await ask(alice, room, command, bot_id=bot.user_id)
        title = command.split('"')[1]
        assert title in body_of(shared), body_of(shared)
    _share(engine, "Warmtenet lessen uit Zwolle", ["energy-transition"], "https://feed.example.net/item/42")

    # Bob subscribes daily at a wall time a minute or so from now (his zone: the bot's default).
    at = (datetime.now(AMS) + timedelta(seconds=90)).strftime("%H:%M")
    mark = bob.mark()
    confirm = await ask(bob, room, f"!subscribe energy transition daily --at {at}", bot_id=bot.user_id)
    assert "Energy transition" in body_of(confirm) and f"daily at {at}" in body_of(confirm)

    digest = await bob.wait_for(_digest_from(bot.user_id), since=mark, timeout=150)
    assert digest.room_id != room  # a direct message
    text = body_of(digest)
    assert text.count("Warmtenet lessen uit Zwolle") == 1 and "Energiecoöperatie handboek" in text
    assert f"!funding {fid}" in text and "Warmtenet review Zwolle" in text and "!session join 1" in text
    html = digest.source["content"]["formatted_body"]
    assert "<h3>" in html and "<a href=\"https://example.org/coop\">" in html
    # One deadline alert too, in the same direct room.
    await bob.wait_for(lambda e: getattr(e, "sender", None) == bot.user_id and "deadline coming up" in body_of(e),
                       since=mark, timeout=30)
    await quiescent(bot, [bob])
    assert _count(bob, mark, _digest_from(bot.user_id)) == 1

    # Nothing new: the next period is recorded as empty and nothing is sent.
    _make_due(engine, bob.user_id)
    await _wait(lambda: len(_records(engine, bob.user_id) or []) == 2, 30, "the empty period's record")
    assert _records(engine, bob.user_id)[1][1:] == (0, None)
    await quiescent(bot, [bob])
    assert _count(bob, mark, _digest_from(bot.user_id)) == 1
    status = await ask(bob, room, "!subscriptions", bot_id=bot.user_id)
    assert "Last digest" in body_of(status) and "none yet" not in body_of(status)

    # Unsubscribed: new items and a due period bring nothing.
    bye = await ask(bob, room, "!unsubscribe all", bot_id=bot.user_id)
    assert "no more digests" in body_of(bye)
    _share(engine, "Nog een warmtenet les", ["energy-transition"], "https://example.org/later")
    due_at = datetime.now(timezone.utc).replace(tzinfo=None)
    _make_due(engine)
    # A digest run after the due moment has looked at it (and found nobody to send to).
    await until(lambda: (BotDatabase(bot).last_run("digest-run") or due_at) > due_at, 30, "a digest run")
    await quiescent(bot, [bob])
    assert _count(bob, mark, _digest_from(bot.user_id)) == 1
    assert _records(engine, bob.user_id) is None


@pytest.mark.parametrize("bot_options", [FAST])
async def test_kill_9_while_digests_are_due_every_subscriber_gets_exactly_one(alice, bob, bot, room, ask,
                                                                            bot_options):
    await alice.client.room_invite(room, bob.user_id)
    await bob.join(room)
    engine = _db(bot)
    _settle_bundled_data(engine)
    _share(engine, "Hittestress in de binnenstad", ["climate-adaptation"], "https://example.org/hitte")
    # Far-off schedules: only the forced due time below makes them due.
    await ask(alice, room, "!subscribe klimaatadaptatie monthly --day 28", bot_id=bot.user_id)
    await ask(bob, room, "!subscribe climate adaptation monthly --day 28", bot_id=bot.user_id)
    # The room too, subscribed by alice (a facilitator of it: she created it, power 100, three members).
    sub = await ask(alice, room, "!subscribe climate adaptation monthly --day 28 --room", bot_id=bot.user_id)
    assert "in this room" in body_of(sub)
    marks = {"alice": alice.mark(), "bob": bob.mark()}
    for attempt in range(3):
        _make_due(engine)
        await asyncio.sleep(0.2 + 0.6 * attempt)  # somewhere in, before or after the run
        await bot.akill()
        await bot.astart()
    # Proof, not a pause: no digest due, nothing unsent, and both users have seen all of it.
    state = await bot.quiescent(timeout=60)
    await wait_delivered(alice, state, room)
    await wait_delivered(bob, state, room)
    assert _count(bob, marks["bob"], lambda e: _digest_from(bot.user_id)(e) and e.room_id != room) == 1
    assert _count(alice, marks["alice"], _digest_from(bot.user_id, room)) == 1
    assert _count(alice, marks["alice"], lambda e: _digest_from(bot.user_id)(e) and e.room_id != room) == 1
    for who in (alice.user_id, bob.user_id, room):
        sent = [r for r in _records(engine, who) if r[2]]
        assert len(sent) == 1, (who, _records(engine, who))
