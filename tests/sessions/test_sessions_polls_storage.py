"""Polls and the .ics bookkeeping on SQLite and PostgreSQL: a response finds its open poll
through the outbox row of the start event, votes replace each other per person, and a
session's iCalendar SEQUENCE grows with changes to what an invitation shows."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from storage.models.core import OutboxMessage
from storage.sessions.models import PollVote, ReviewSession, SessionPoll
from commands.sessions.polls import poll_for_event, record_vote, start_event_of, voters_per_slot

T0 = datetime(2027, 3, 30, 12, 0, tzinfo=timezone.utc)


async def test_a_response_finds_its_open_poll_through_the_outbox(db):
    async with db.transaction() as s:
        for n, room in enumerate(("!a:test", "!a:test", "!b:test"), start=1):
            s.add(SessionPoll(id=n, title=f"p{n}", room_id=room, facilitator="@f:test", slots=[T0.isoformat()] * 2,
                              txn_id=f"dsih.x.{n}", status="open", options={}))
            s.add(OutboxMessage(txn_id=f"dsih.x.{n}", room_id=room, content={"body": "poll"}, status="sent",
                                event_type="org.matrix.msc3381.poll.start", event_id=f"$start{n}"))
    async with db.transaction() as s:
        assert (await poll_for_event(s, "!a:test", "$start2")).id == 2
        assert await poll_for_event(s, "!b:test", "$start2") is None      # another room
        assert await poll_for_event(s, "!a:test", "$nothing") is None
        assert await start_event_of(s, await s.get(SessionPoll, 3)) == "$start3"
        poll = await s.get(SessionPoll, 2)
        await record_vote(s, poll, "@bob:test", [0, 1], 100)
        await record_vote(s, poll, "@bob:test", [1], 200)
        await record_vote(s, poll, "@bob:test", [0], 150)   # older, delivered late
        await record_vote(s, poll, "@carol:test", [1], 120)
        poll.status = "closed"
    async with db.session() as s:
        assert await poll_for_event(s, "!a:test", "$start2") is None      # closed polls take no votes
        poll = await s.get(SessionPoll, 2)
        assert await voters_per_slot(s, poll) == [[], ["@carol:test", "@bob:test"]]
        assert (await s.get(PollVote, (2, "@bob:test"))).slots == [1]


async def test_sequence_grows_when_time_place_title_or_status_change(db):
    async with db.transaction() as s:
        s.add(ReviewSession(id=1, title="t", facilitator="@f:test", starts_at=T0, ends_at=T0 + timedelta(hours=1),
                            room_id="!a:test", capacity=8, status="planned", timezone="Europe/Amsterdam", language="nl"))
    steps = [("capacity", 9, 0), ("starts_at", T0 + timedelta(days=7), 1), ("starts_at", T0 + timedelta(days=7), 1),
             ("location", "Zaal 2", 2), ("status", "cancelled", 3)]
    for field, value, expected in steps:
        async with db.transaction() as s:
            setattr(await s.get(ReviewSession, 1), field, value)
        async with db.session() as s:
            assert (await s.get(ReviewSession, 1)).sequence == expected, (field, value)
