"""👍 on a session's announcement through the real dispatcher (no Matrix): the bot's own
reaction is planned once the announcement's event id is known, a reaction joins (and the
waiting list when full), its redaction leaves, the bot's own reaction never counts, and
no reaction or redaction content crashes anything or joins anyone it should not."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, update

from bot.framework.messages import RoomEvent
from commands.sessions.reactions import annotation_of, is_thumbs_up
from storage.models.core import OutboxMessage
from storage.sessions.models import Participant, ReviewSession
from support.chat import Chat, make_services

FACIL = "@facil:test"
ROOM = "!room:test"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
_n = itertools.count()


@pytest.fixture
async def env(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "sessions"], rate_limit_count=10**6, now=NOW)
    yield services, Chat(services)
    await services.db.dispose()


async def _announced(services, chat, capacity=1):
    await chat.send(f'!session new "Klik" 3 december 14:00 --capacity {capacity}', sender=FACIL)
    async with services.db.transaction() as s:  # what the outbox sender does once it is sent
        await s.execute(update(OutboxMessage).where(OutboxMessage.event_id.is_(None))
                        .values(event_id="$announce", status="sent"))
    # The job that adds the bot's 👍 learns the event id; run it as the scheduler would.
    from bot.framework.jobs import job_context
    from storage.models.core import ScheduledJob
    async with services.db.transaction() as s:
        job = (await s.scalars(select(ScheduledJob).where(ScheduledJob.kind == "session-announce-react"))).one()
        assert job.payload["txn"]
        await services.registry.jobs["session-announce-react"](job_context(services, s, job), job)


async def _react(chat, sender, key="👍", target="$announce"):
    eid = f"$r{next(_n)}"
    await chat.dispatcher.handle_event(RoomEvent("m.reaction", sender, ROOM, eid, {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": target, "key": key}}))
    return eid


async def _people(services):
    async with services.db.session() as s:
        return {(p.user_id, p.state) for p in (await s.scalars(select(Participant))).all()}


async def test_thumbs_up_joins_waiting_list_and_redaction_leaves(env):
    services, chat = env
    await _announced(services, chat)
    async with services.db.session() as s:
        assert (await s.scalars(select(ReviewSession))).one().announce_event == "$announce"
    await _react(chat, services.bot_user_id)  # the bot's own: never counted
    bob = await _react(chat, "@bob:test", "👍🏽")
    await _react(chat, "@carol:test")
    await _react(chat, "@dave:test", "👎")
    await _react(chat, "@erin:test", target="$something-else")
    assert await _people(services) == {("@bob:test", "going"), ("@carol:test", "waiting")}
    await chat.dispatcher.handle_event(RoomEvent("m.room.redaction", "@bob:test", ROOM, "$red1", {"redacts": bob}))
    assert await _people(services) == {("@carol:test", "going")}
    # Someone else redacting bob's (a moderator) or a redaction of anything else: no change.
    await chat.dispatcher.handle_event(RoomEvent("m.room.redaction", "@mod:test", ROOM, "$red2", {"redacts": "$x"}))
    assert await _people(services) == {("@carol:test", "going")}


def test_thumbs_up_keys():
    assert all(is_thumbs_up(k) for k in ("👍", "👍️", "👍🏻", "👍🏿", ":+1:"))
    assert not any(is_thumbs_up(k) for k in ("👎", "👍👍", "", None, 1, "ok"))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
                    max_leaves=10))
def test_annotation_of_never_raises(content):
    found = annotation_of({"m.relates_to": content})
    assert found is None or all(isinstance(x, str) for x in found)
    annotation_of(content)
