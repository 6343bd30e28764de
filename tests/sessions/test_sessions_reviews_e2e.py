"""Reviews and the report in a real Synapse: the facilitator plans a session and assigns
a presenter and a reviewer; the presenter (not a reviewer) is refused; the reviewer goes
through the guided dialogue in a direct message and submits; the presenter receives the
report by direct message, in Dutch, with the Markdown file and the PNG chart, both
downloaded from the media repository and checked; reviews are frozen afterwards."""
from __future__ import annotations

import uuid
from io import BytesIO

import pytest
from PIL import Image

from support.e2e_helpers import body_of
from support.matrix_user import MatrixUser, content_of
from support.media import download_media
from support.quiescence import quiescent

pytestmark = pytest.mark.e2e

OPTIONS = {"sessions": {"criteria": ["impact", "feasibility"]}, "bot": {"rate_limit_count": 1000}}


def _from_bot(bot_id, needle, not_room=None):
    return lambda ev: (getattr(ev, "sender", None) == bot_id and needle in body_of(ev)
                       and (not_room is None or ev.room_id != not_room))


def _file_from_bot(bot_id, filename):
    return lambda ev: getattr(ev, "sender", None) == bot_id and content_of(ev).get("body") == filename


async def say(user, room_id, text, bot_id, needle, timeout=60):
    """Send text; the bot's first message in that room containing `needle` (other users'
    answers may arrive in between, so the first reply is not necessarily ours)."""
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


@pytest.mark.parametrize("bot_options", [OPTIONS])
async def test_review_dialogue_and_report_to_presenter(alice, bob, carol, bot, room, ask, bot_options):
    for user in (bob, carol):
        await alice.client.room_invite(room, user.user_id)
        await user.join(room)
    b = bot.user_id
    await say(alice, room, "!lang en", b, "English")
    await say(bob, room, "!lang en", b, "English")
    await say(carol, room, "!taal nl", b, "Nederlands")
    await say(alice, room, '!session new "Groene daken Zwolle" tomorrow 14:00 --project "Green roofs"', b,
              "Planned session 1")
    await say(alice, room, f"!session assign 1 {carol.user_id} presenter", b, "as presenter")
    await say(alice, room, f"!session assign 1 {bob.user_id} reviewer", b, "as reviewer")

    # An action: stored, the owner told by direct message; it shows up in the report.
    bob_mark = bob.mark()
    await say(alice, room, f'!session action 1 "Send the budget to Deventer" {bob.user_id} in 10 days', b, "Action 1 for")
    await bob.wait_for(_from_bot(b, "gave you an action", not_room=room), since=bob_mark, timeout=60)

    # Not a reviewer: refused, in the presenter's language.
    refused = await say(carol, room, '!review 1 impact 5 "mijn eigen project"', b, "🔒")
    assert "Alleen de beoordelaars van sessie 1" in body_of(refused)

    # The guided dialogue: asked in the room, answered in a direct message without a prefix.
    mark = bob.mark()
    await say(bob, room, "!review 1", b, "I sent you a direct message")
    first = await bob.wait_for(_from_bot(bot.user_id, "Impact (1/2)", not_room=room), since=mark, timeout=60)
    dm = first.room_id
    for answer, next_question in (("4 strong plan <b>really</b>", "Feasibility (2/2)"), ("3", "Strengths"),
                                  ("Clear *goals*", "Concerns"), ("skip", "Recommendations"),
                                  ("Talk to Deventer", "Submit your review?")):
        await say(bob, dm, answer, b, next_question)
    carol_mark, alice_mark = carol.mark(), alice.mark()
    await say(bob, dm, "yes", b, "submitted (anonymously)")

    # The presenter's report: message, Markdown file and PNG chart, in Dutch, by DM.
    report = await carol.wait_for(_from_bot(bot.user_id, "Beoordelingsrapport", not_room=room), since=carol_mark, timeout=60)
    text = body_of(report)
    assert "Impact: 4,0" in text and "Haalbaarheid: 3,0" in text and "n = 1" in text
    assert "“strong plan <b>really</b>”" in text and "Talk to Deventer" in text
    assert "Send the budget to Deventer" in text  # the action
    # Bob's name (a pill: its plain text is the name) once, as the action's owner, never as the reviewer.
    assert text.count(bob.user_id.split(":")[0].lstrip("@")) == 1 and "anoniem" in text, text
    md_event = await carol.wait_for(_file_from_bot(bot.user_id, "session-1-report.md"), since=carol_mark, timeout=60)
    assert content_of(md_event)["info"]["mimetype"] == "text/markdown" and md_event.room_id == report.room_id
    document = (await download_media(carol, md_event)).decode("utf-8")
    assert "Beoordelingsrapport" in document and "Impact: 4,0" in document
    png_event = await carol.wait_for(_file_from_bot(bot.user_id, "session-1-scores.png"), since=carol_mark, timeout=60)
    assert content_of(png_event)["msgtype"] == "m.image"
    png = await download_media(carol, png_event)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chart = Image.open(BytesIO(png))
    assert chart.size[0] > 400 and "Impact: 4,0" in chart.info["Description"] and "Haalbaarheid: 3,0" in chart.info["Description"]

    # The facilitator gets a copy; the reviewer does not.
    copy = await alice.wait_for(_from_bot(bot.user_id, "Copy of the report", not_room=room), since=alice_mark, timeout=60)
    assert "Impact: 4.0" in body_of(copy)
    # Frozen now.
    await say(bob, room, "!review 1 impact 1", b, "can no longer be changed")
    await say(alice, room, "!session report 1", b, "already sent")


@pytest.mark.parametrize("bot_options", [{"bot": {"rate_limit_count": 1000}}])
async def test_format_rounds_are_posted_in_the_room_as_they_start(alice, bot, room, bot_options):
    b = bot.user_id
    await say(alice, room, "!lang en", b, "English")
    await say(alice, room, '!session new "Intervisie Zwolle" in 60 seconds', b, "Planned session 1")
    shown = await say(alice, room, "!session format 1 peer-review", b, "Presentation")
    assert "Scoring" in body_of(shown) and "Wrap-up" in body_of(shown)
    # The first round starts with the session: posted in the room, once.
    mark = alice.mark()
    first = await alice.wait_for(_from_bot(b, "Round 1 of 5: Presentation"), since=mark, timeout=120)
    assert first.room_id == room and "Next: Questions at" in body_of(first)
    await quiescent(bot, [alice])
    assert len([e for e in alice.events[mark:] if _from_bot(b, "Round 1 of 5")(e)]) == 1
