"""Fuzz the whole path from a raw Matrix event to the replies: nio's parsing, our event
conversion (bot/matrix/events.py) and the dispatcher, with forged fields of every type,
odd Unicode, 64 KB bodies, formatted bodies with markup, forged relations and mentions,
and poll responses for polls that do not exist. Nothing may raise, no reply may be an
internal error, and no reply may carry unescaped HTML."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from nio import Event, RoomMessageText, UnknownEvent

from bot.matrix.events import RoomFacts, incoming_from_message, is_edit, room_event
from bot.framework.render import message_content
from support.chat import make_services
from bot.framework.dispatcher import Dispatcher
from support.html_safety import html_problems, internal_errors

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12)
ODD = st.sampled_from(["\u202e", "\x00", "\ufeff", "🧪", "é", "\u0301", "\n\n", "<", ">", "&", '"', "<script>", "x" * 65536])
BODY = st.one_of(st.text(max_size=200), ODD, st.builds(lambda p, t: p + t, st.sampled_from(["!", "!session ", "!funding ",
                 "!labs ", "!remindme ", "@bot:test: ", "!vote 1 "]), st.text(max_size=100)))
OPTIONAL = {"format": st.sampled_from(["org.matrix.custom.html", 1]),
            "formatted_body": st.one_of(st.text(max_size=100), JSON, st.just(
                '<a href="https://matrix.to/#/@bob:test">Bob</a> <img src=x onerror=alert(1)>')),
            "m.relates_to": st.one_of(JSON, st.fixed_dictionaries({"rel_type": st.sampled_from(
                ["m.thread", "m.replace", "m.reference", 3]), "event_id": st.one_of(st.text(max_size=20), JSON)})),
            "m.mentions": st.one_of(JSON, st.fixed_dictionaries({"user_ids": st.one_of(JSON, st.lists(
                st.sampled_from(["@bot:test", "@alice:test", 7])))}))}
# Mostly well-formed text messages with hostile values (they reach the dispatcher), some wild content.
CONTENT = st.fixed_dictionaries({"msgtype": st.just("m.text"), "body": BODY}, optional=OPTIONAL)
WILD_CONTENT = st.fixed_dictionaries({"msgtype": st.sampled_from(["m.text", "m.notice", 5, None]),
                                      "body": st.one_of(BODY, JSON)}, optional=OPTIONAL)
POLL_CONTENT = st.fixed_dictionaries({
    "m.relates_to": st.one_of(JSON, st.fixed_dictionaries({"rel_type": st.just("m.reference"),
                                                           "event_id": st.text(max_size=20)})),
    "org.matrix.msc3381.poll.response": st.one_of(JSON, st.fixed_dictionaries({"answers": JSON}))})
# type, sender, event_id and origin_server_ts are set by the homeserver; content is anyone's.
_HEAD = {"sender": st.sampled_from(["@alice:test", "@admin:test", "@facil:test"]),
         "event_id": st.builds(lambda n: f"$fuzz{n}", st.integers(0, 10**9)),
         "origin_server_ts": st.integers(0, 2**53)}
EVENT = st.one_of(
    st.fixed_dictionaries({"type": st.just("m.room.message"), "content": CONTENT, **_HEAD}),
    st.fixed_dictionaries({"type": st.just("m.room.message"), "content": st.one_of(WILD_CONTENT, JSON), **_HEAD}),
    st.fixed_dictionaries({"type": st.sampled_from(["org.matrix.msc3381.poll.response", "m.poll.response"]),
                           "content": st.one_of(POLL_CONTENT, JSON), **_HEAD}),
)


@pytest.fixture
async def dispatcher(tmp_path):
    services = await make_services(tmp_path / "data", load_sample_data=True, rate_limit_count=10**6)
    yield Dispatcher(services)
    await services.db.dispose()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(source=EVENT, direct=st.booleans(), members=st.integers(0, 5), power=st.one_of(st.integers(-5, 200), JSON))
async def test_any_event_is_handled_safely(dispatcher, source, direct, members, power):
    facts = RoomFacts(room_id="!fuzz:test", direct_with="@alice:test" if direct else None, joined_count=members,
                      power_level=power)
    try:
        ev = Event.parse_event(source)
    except Exception as exc:  # noqa: BLE001 - nio itself must not be the weak point either
        pytest.fail(f"nio raised on {source!r}: {exc!r}")
    out = []
    if isinstance(ev, RoomMessageText):
        if is_edit(ev.source.get("content")):
            return
        incoming = incoming_from_message(sender=ev.sender, event_id=ev.event_id, body=ev.body,
                                         formatted_body=ev.formatted_body, content=ev.source.get("content"),
                                         timestamp_ms=ev.server_timestamp, room=facts)
        out = await dispatcher.handle(incoming) or []
    elif isinstance(ev, UnknownEvent):
        event = room_event(type_=ev.type, sender=ev.sender, event_id=ev.event_id, content=ev.source.get("content"),
                           timestamp_ms=ev.server_timestamp, room_id=facts.room_id)
        if event is not None:
            out = await dispatcher.handle_event(event)
    for reply in out:
        content = message_content(reply.markdown)
        assert not html_problems(content["formatted_body"]), content["formatted_body"]
    assert internal_errors(dispatcher.services) == 0, source
