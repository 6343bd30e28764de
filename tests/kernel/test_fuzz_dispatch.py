"""The shared fuzz target (support/fuzz_target.py) under hypothesis: raw events with hostile
command text, mentions and formatted bodies of every type, odd Unicode (RTL, zero-width,
combining, lone surrogates, NUL), 64 KB bodies, wrong-typed fields, forged relations and
poll responses for unknown polls, through nio, the runtime's handlers and the dispatcher.
Zero unhandled or logged errors, zero executable HTML in anything sent.
Longer runs: `python bench/fuzz_atheris.py -max_total_time=600`."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from support.fuzz_target import BIG, DM, EVENTS, ROOM, ROOM_IDS, DispatchTarget

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
async def target(tmp_path):
    target = await DispatchTarget.create(tmp_path / "data")
    yield target
    await target.close()


@FUZZ
@given(source=EVENTS, room_id=ROOM_IDS)
async def test_any_event_through_the_whole_path_is_safe(target, source, room_id):
    verdict = await target.feed(source, room_id)
    assert not verdict.failures, (source, verdict.failures)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=BIG, room_id=st.sampled_from([ROOM, DM]))
async def test_64_kb_bodies_are_answered_safely(target, body, room_id):
    verdict = await target.feed({"type": "m.room.message", "sender": "@alice:test", "event_id": "$x",
                                 "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": body}}, room_id)
    assert not verdict.failures, verdict.failures


async def test_the_oracle_sees_an_internal_error(target, monkeypatch):
    """The oracle must fail on the defect it names: make a command raise and see it caught."""
    async def broken(ctx, **kw):
        raise RuntimeError("boom")
    monkeypatch.setattr(target.services.registry.get("ping"), "callback", broken)
    verdict = await target.feed({"type": "m.room.message", "sender": "@alice:test", "event_id": "$x",
                                 "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "!ping"}})
    assert any("internal error" in f for f in verdict.failures), verdict.failures


async def test_the_oracle_sees_unescaped_html(target, monkeypatch):
    async def leaky(ctx, **kw):
        ctx.send_to_user("@bob:test", "x", attachment=None)
        ctx.outgoing[-1].markdown = "hi"  # rendered safely ...
        from bot.framework.messages import Attachment
        ctx.outgoing[-1].attachment = Attachment("r.md", "text/markdown", b"<img src=x onerror=alert(1)>")
    monkeypatch.setattr(target.services.registry.get("ping"), "callback", leaky)
    verdict = await target.feed({"type": "m.room.message", "sender": "@alice:test", "event_id": "$x",
                                 "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "!ping"}})
    assert any("onerror" in f for f in verdict.failures), verdict.failures


async def test_a_user_of_another_homeserver_is_ignored_and_a_power_level_counts_in_its_room_only(target):
    """The target really runs the runtime's checks (not only the dispatcher's)."""
    def msg(sender, body):
        return {"type": "m.room.message", "sender": sender, "event_id": "$x", "origin_server_ts": 1,
                "content": {"msgtype": "m.text", "body": body}}
    assert (await target.feed(msg("@eve:evil.example", "!ping"))).replies == []
    allowed = await target.feed(msg("@mod:test", '!session new "Mod" next friday 10:00'))
    assert "Planned session" in allowed.replies[0].markdown
    owner = await target.feed(msg("@alice:test", '!session new "Own" next friday 10:00'), DM)
    assert "🔒" in owner.replies[0].markdown


@pytest.mark.parametrize("body", ["!tz \udfff", "!remindme 1h \ud800 call", "\ud83d", '!share https://x.org "\udc80"'])
async def test_a_lone_surrogate_is_answered_not_raised(target, body):
    """Found by this fuzzer: JSON may carry half a surrogate pair; the reply echoing it could
    not be encoded, the error reply neither, and the exception escaped the dispatcher."""
    verdict = await target.feed({"type": "m.room.message", "sender": "@alice:test", "event_id": "$x",
                                 "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": body}}, DM)
    assert verdict.replies and not verdict.failures, verdict.failures
