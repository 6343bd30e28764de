"""Issue 19, in a real Synapse with the default flood guard (10 commands a minute): two
reviewers go through the guided review at the same time, one at human speed (an answer
every 4 s), one quicker (every 2 s), after several commands of their own in the same
minute. Every answer gets the next question, none is refused, and the stored reviews hold
every answer: the guard protects against floods, never against a person doing what the
bot asked."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from support.e2e_helpers import body_of
from support.matrix_user import MatrixUser

pytestmark = pytest.mark.e2e

CRITERIA = ["impact", "feasibility", "scalability", "interoperability", "public_values"]
OPTIONS = {"sessions": {"criteria": CRITERIA}}  # the default guard: bot.rate_limit_count 10 per 60 s


def _from_bot(bot_id, needle, room=None, not_room=None):
    return lambda ev: (getattr(ev, "sender", None) == bot_id and needle in body_of(ev)
                       and (room is None or ev.room_id == room) and (not_room is None or ev.room_id != not_room))


async def say(user, room_id, text, bot_id, needle, timeout=60):
    mark = user.mark()
    await user.send_text(room_id, text)
    return await user.wait_for_reply(room_id, bot_id, since=mark, timeout=timeout,
                                     predicate=lambda ev: needle in body_of(ev))


@pytest.fixture
async def carol(synapse, tmp_path):
    user_id = synapse.register(f"carol{uuid.uuid4().hex[:10]}", "user-password")
    user = await MatrixUser.create(synapse.url, user_id, "user-password", tmp_path / "carol")
    yield user
    await user.close()


ANSWERS = [("4 sterk plan", "(2/5)"), ("3", "(3/5)"), ("5 schaalbaar", "(4/5)"),
           ("2", "(5/5)"), ("4", "Strengths"), ("Sterk team", "Concerns"), ("Geen budget voor onderhoud", "Recommendations"),
           ("Begin klein in Deventer", "Submit your review?"), ("yes", "submitted")]


async def _review(user, room, bot_id, pause):
    b = bot_id
    await say(user, room, "!lang en", b, "English")
    for _ in range(3):  # commands of their own in the same minute
        await say(user, room, "!about", b, "")
    mark = user.mark()
    await say(user, room, "!review 1", b, "I sent you a direct message")
    first = await user.wait_for(_from_bot(b, "Impact (1/5)", not_room=room), since=mark, timeout=60)
    dm = first.room_id
    replies = []
    for answer, expected in ANSWERS:
        await asyncio.sleep(pause)
        reply = await say(user, dm, answer, b, expected)
        replies.append(body_of(reply))
    return dm, replies


@pytest.mark.parametrize("bot_options", [OPTIONS])
async def test_a_guided_review_at_human_speed_and_at_2s_loses_nothing(alice, bob, carol, bot, room, bot_options):
    b = bot.user_id
    for user in (bob, carol):
        await alice.client.room_invite(room, user.user_id)
        await user.join(room)
    await say(alice, room, "!lang en", b, "English")
    await say(alice, room, '!session new "Groene daken Zwolle" tomorrow 14:00', b, "Planned session 1")
    await say(alice, room, f"!session assign 1 {alice.user_id} presenter", b, "as presenter")
    await say(alice, room, f"!session assign 1 {bob.user_id} reviewer", b, "as reviewer")
    await say(alice, room, f"!session assign 1 {carol.user_id} reviewer", b, "as reviewer")

    (bob_dm, bob_replies), (carol_dm, carol_replies) = await asyncio.gather(
        _review(bob, room, b, 4.0), _review(carol, room, b, 2.0))
    for replies in (bob_replies, carol_replies):
        assert not any("quickly" in r or "Not handled" in r for r in replies), replies
    # Nothing was refused anywhere, and both reviews are complete in the report's numbers.
    for user in (bob, carol):
        assert not [e for e in user.events if _from_bot(b, "did not handle")(e) or _from_bot(b, "Not handled")(e)]
        shown = await say(user, room, "!review 1 show", b, "Your review")
        text = body_of(shown)
        assert "Geen budget voor onderhoud" in text and "Begin klein in Deventer" in text and "Sterk team" in text
        assert "submitted" in text
