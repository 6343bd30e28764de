"""A deadline moved earlier is an alert of its own (issue 17, section 4), without Matrix:
a facilitator's `!funding set` and a refresh's change both reach each follower once, on
the next pass of the digest run rather than at their digest time; paused followers and
others' topics get nothing; the digest after it lists the change as "alerted" and is not
sent for it alone; a digest that told it first keeps the alert from telling it again.
The real-room proof across kill -9 is test_change_alert_delivery_e2e.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from commands.digests import delivery
from storage.datasets.reload import reload_bundled
from storage.digests.models import ChangeAlert, DigestSubscription
from storage.funding.models import FundingInstrument
from storage.models.core import OutboxMessage
from support.funding_env import FundingChat, funding_services

UTC = timezone.utc
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
FACIL = "@facil:test"


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
async def env(tmp_path):
    services = await funding_services(tmp_path, now=T0, modules=("core", "funding", "digests"))
    clock = Clock(T0)
    services.clock = clock
    yield services, clock, FundingChat(services)
    await services.db.dispose()


async def _followed(db, topic="climate-adaptation", title="A <b>bold</b> & call") -> str:
    async with db.transaction() as s:
        row = (await s.scalars(select(FundingInstrument).order_by(FundingInstrument.id))).first()
        row.themes, row.deadline_model, row.opens_on, row.stale = [topic], "single", None, False
        row.deadlines = [{"at": "2027-03-01T17:00", "tz": "Europe/Brussels", "label": "deadline"}]
        row.title = title
        return row.id


async def _messages(db, origin="change alert"):
    async with db.session() as s:
        return [r for r in (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
                if r.origin.startswith(origin)]


def _body(row) -> str:
    return row.content.get("body", "")


async def _subscribe(chat, clock, sender, text):
    reply = await chat.text(f"!subscribe {text}", sender=sender)
    assert "follow" in reply.lower() or "volg" in reply.lower(), reply


async def _move_earlier(chat, clock, fid: str) -> str:
    """A minute after the subscriptions, a facilitator moves the followed record's deadline
    from 1 March to 1 February 2027 in chat; returns the answer."""
    clock.now = T0 + timedelta(minutes=1)
    return await chat.text(f"!funding set {fid} deadlines 2027-02-01 17:00 Europe/Brussels", sender=FACIL)


async def test_an_earlier_deadline_is_alerted_once_per_follower_soon(env):
    services, clock, chat = env
    db = services.db
    fid = await _followed(db)
    await _subscribe(chat, clock, "@bob:test", "climate adaptation monthly --day 28")
    await _subscribe(chat, clock, "@carla:test", "climate adaptation weekly")
    await _subscribe(chat, clock, "@dirk:test", "energy transition daily")        # another topic
    await _subscribe(chat, clock, "@eva:test", "climate adaptation weekly")
    await chat.text("!digest pause 2w", sender="@eva:test")                        # paused
    assert "Updated" in await _move_earlier(chat, clock, fid)
    assert "Updated" in await chat.text(f"!funding set {fid} budget_total_eur 5000000", sender=FACIL)  # no alert

    clock.now = T0 + timedelta(minutes=2)
    assert await delivery.run_change_alerts(services, clock.now) == 2
    sent = await _messages(db)
    assert sorted(r.to_user for r in sent) == ["@bob:test", "@carla:test"]
    for row in sent:
        body = _body(row)
        assert "Deadline moved earlier" in body and "budget" not in body, body
        assert f"funding {fid}" in body and "source: a facilitator" in body, body
        html = row.content.get("formatted_body", "")
        assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html, html   # escaped
    # Again, and after a restart's re-read: nothing new.
    assert await delivery.run_change_alerts(services, clock.now + timedelta(minutes=5)) == 0
    assert len(await _messages(db)) == 2
    # A second earlier move is a new change: told again, once.
    clock.now = T0 + timedelta(minutes=10)
    await chat.text(f"!funding set {fid} deadlines 2027-01-20 17:00 Europe/Brussels", sender=FACIL)
    assert await delivery.run_change_alerts(services, clock.now) == 2
    assert await delivery.run_change_alerts(services, clock.now) == 0


async def test_the_next_digest_lists_it_as_alerted_and_is_not_sent_for_it_alone(env):
    services, clock, chat = env
    db = services.db
    fid = await _followed(db)
    await _subscribe(chat, clock, "@bob:test", "climate adaptation daily --at 10:00")
    await _move_earlier(chat, clock, fid)
    clock.now = T0 + timedelta(minutes=2)
    assert await delivery.run_change_alerts(services, clock.now) == 1
    # The digest at 10:00 has only the alerted change (and deadlines, not news): not sent.
    clock.now = datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC)
    report = await delivery.run_due(services, clock.now)
    assert report.due == 1 and report.sent == 0 and report.empty == 1, report
    # With news beside it, the digest lists it under "Changed", marked alerted, not as an alert.
    await chat.text(f"!funding set {fid} budget_total_eur 7000000", sender=FACIL)
    async with db.transaction() as s:
        sub = await s.scalar(select(DigestSubscription))
        sub.watermark = T0 + timedelta(seconds=30)
        sub.next_due_at = clock.now
    clock.now += timedelta(minutes=1)
    report = await delivery.run_due(services, clock.now)
    assert report.sent == 1, report
    body = _body((await _messages(db, "digest"))[-1])
    assert "Deadline moved earlier" not in body and "Changed" in body, body
    assert "alerted on" in body and "budget" in body, body


async def test_a_digest_that_tells_it_first_keeps_the_alert_from_telling_it_again(env):
    services, clock, chat = env
    db = services.db
    fid = await _followed(db)
    await _subscribe(chat, clock, "@bob:test", "climate adaptation daily --at 10:00")
    await _move_earlier(chat, clock, fid)
    clock.now = datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC)
    assert (await delivery.run_due(services, clock.now)).sent == 1
    assert "Deadline moved earlier" in _body((await _messages(db, "digest"))[-1])
    assert await delivery.run_change_alerts(services, clock.now + timedelta(minutes=1)) == 0
    async with db.session() as s:
        assert [(a.subscriber, a.via) for a in (await s.scalars(select(ChangeAlert))).all()] == [("@bob:test", "digest")]


async def test_moved_earlier_then_back_later_is_not_alerted_and_old_changes_are_not(env):
    services, clock, chat = env
    db = services.db
    fid = await _followed(db)
    await _subscribe(chat, clock, "@bob:test", "climate adaptation monthly --day 28")
    await _move_earlier(chat, clock, fid)
    await chat.text(f"!funding set {fid} deadlines 2027-04-01 17:00 Europe/Brussels", sender=FACIL)
    assert await delivery.run_change_alerts(services, clock.now) == 0
    # A change older than the look-back (the bot was down for days) waits for the digest.
    await chat.text(f"!funding set {fid} deadlines 2027-02-15 17:00 Europe/Brussels", sender=FACIL)
    assert await delivery.run_change_alerts(services, clock.now + delivery.CHANGE_ALERT_LOOKBACK
                                            + timedelta(minutes=1)) == 0


async def test_dutch_alert(env):
    services, clock, chat = env
    db = services.db
    fid = await _followed(db)
    await chat.text("!language nl", sender="@bob:test")
    await _subscribe(chat, clock, "@bob:test", "klimaatadaptatie maandelijks --day 28")
    await _move_earlier(chat, clock, fid)
    assert await delivery.run_change_alerts(services, clock.now) == 1
    body = _body((await _messages(db))[0])
    assert "Deadline vervroegd" in body and "bron: een facilitator" in body, body


async def test_a_verify_correction_moving_the_deadline_earlier_is_alerted(env):
    services, clock, chat = env
    db = services.db
    fid = await _followed(db)
    await _subscribe(chat, clock, "@bob:test", "climate adaptation monthly --day 28")
    clock.now = T0 + timedelta(minutes=1)
    # A check without corrections changes nothing a follower hears of.
    assert "Thank you" in await chat.text(f"!funding verify {fid}", sender=FACIL)
    assert await delivery.run_change_alerts(services, clock.now) == 0
    out = await chat.text(f"!funding verify {fid} deadlines 2027-02-01 17:00 Europe/Brussels",
                          sender=FACIL)
    assert "corrected" in out, out
    assert await delivery.run_change_alerts(services, clock.now) == 1
    body = _body((await _messages(db))[0])
    assert "Deadline moved earlier" in body and "source: a facilitator" in body, body


def _with(rec, **changes):
    return type(rec).model_validate({**rec.model_dump(), **changes})


async def test_a_data_reload_moving_a_deadline_earlier_is_alerted(env):
    services, clock, chat = env
    db = services.db
    from storage.funding import dataset as funding_dataset
    async with db.session() as s:
        row = (await s.scalars(select(FundingInstrument).order_by(FundingInstrument.id))).first()
        fid = row.id
    real = funding_dataset.DATASET.load_bundled

    def bundled():  # the bundled file with that record followed and dated
        records = real()
        out = []
        for rec in records:
            if rec.id == fid:
                rec = _with(rec, themes=["climate-adaptation"], deadline_model="single", opens_on=None,
                            deadlines=[{"at": "2027-03-01T17:00", "tz": "Europe/Brussels", "label": "deadline"}])
            out.append(rec)
        return out
    # What `!admin data reload` does (commands/admin), with another bundled file.
    from dataclasses import replace

    async def reload(load):
        async with db.transaction() as s:
            return await reload_bundled(s, replace(funding_dataset.DATASET, load_bundled=load), by="@admin:test",
                                        now=clock.now)
    assert (await reload(bundled)).changed == 1
    await _subscribe(chat, clock, "@bob:test", "climate adaptation monthly --day 28")
    clock.now = T0 + timedelta(minutes=1)

    def earlier():
        records = bundled()
        return [_with(r, deadlines=[{"at": "2027-02-01T17:00", "tz": "Europe/Brussels", "label": "deadline"}])
                if r.id == fid else r for r in records]
    assert (await reload(earlier)).changed == 1
    assert await delivery.run_change_alerts(services, clock.now) == 1
    body = _body((await _messages(db))[0])
    assert "Deadline moved earlier" in body and "source: the bundled data" in body, body


async def test_the_preview_after_an_alert_marks_it_alerted_too(env):
    services, clock, chat = env
    db = services.db
    fid = await _followed(db)
    await _subscribe(chat, clock, "@bob:test", "climate adaptation monthly --day 28")
    await _move_earlier(chat, clock, fid)
    before = await chat.text("!digest preview", sender="@bob:test")
    assert "Deadline moved earlier" in before, before
    assert await delivery.run_change_alerts(services, clock.now) == 1
    after = await chat.text("!digest preview", sender="@bob:test")
    assert "Deadline moved earlier" not in after
    assert "alerted on" in after or "Nothing new" in after, after


async def test_a_pass_after_everyone_was_told_reads_no_subscriptions(env, monkeypatch):
    services, clock, chat = env
    fid = await _followed(services.db)
    await _subscribe(chat, clock, "@bob:test", "climate adaptation monthly --day 28")
    await _move_earlier(chat, clock, fid)
    assert await delivery.run_change_alerts(services, clock.now) == 1
    reads = []
    real = delivery.load_alerted

    async def counted(*args):
        reads.append(args)
        return await real(*args)
    monkeypatch.setattr(delivery, "load_alerted", counted)
    for minutes in (5, 10, 15):
        assert await delivery.run_change_alerts(services, clock.now + timedelta(minutes=minutes)) == 0
    assert reads == []
    # A restart forgets that: one pass checks the table (and sends nothing), then quiet again.
    services.extras.pop("digests.change_alerts_done")
    assert await delivery.run_change_alerts(services, clock.now + timedelta(minutes=20)) == 0
    assert await delivery.run_change_alerts(services, clock.now + timedelta(minutes=25)) == 0
    assert len(reads) == 1
