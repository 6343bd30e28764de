"""Property tests: no command text crashes the bot, and no reply carries unescaped HTML."""
from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings, strategies as st

from bot.render import md_escape, message_content
from bot.framework.tokens import split

NAMES = ["help", "hulp", "lang", "taal", "tz", "ping", "about", "more", "remindme", "herinner", "reminders",
         "forget", "nope", ""]
FRAGMENTS = st.sampled_from(['"', "'", "<script>alert(1)</script>", "<img src=x onerror=y>", "--", "—",
                             "--level", "[x](javascript:alert(1))", "**", "`", "\\", "\n", "&amp;", "%s", "{0}",
                             "{prefix}", "2m", "999999999999d", "Europe/Amsterdam", "nl", "\u202e", "\x00"])
COMMAND_TEXT = st.builds(
    lambda prefix, name, parts: prefix + name + " " + " ".join(parts),
    st.sampled_from(["!", "", "bot: "]), st.sampled_from(NAMES),
    st.lists(st.one_of(st.text(max_size=30), FRAGMENTS), max_size=8))

# A tag we never produce, an event-handler attribute, or a link to anything but http(s)/mailto/matrix.
DANGEROUS = re.compile(r"<(?!/?(p|a|ul|ol|li|strong|em|code|pre|br|hr|h\d|blockquote|table|thead|tbody|tr|th|td|del|s)\b)"
                       r"|<[^>]*\son\w+\s*=|<a (?!href=\"(https?|mailto|matrix):)")


@given(st.text(max_size=300))
def test_md_escape_makes_any_text_inert(text):
    html = message_content(md_escape(text))["formatted_body"]
    assert not DANGEROUS.search(html), html


@given(st.text(max_size=200))
def test_tokenizer_never_raises(text):
    split(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=COMMAND_TEXT)
async def test_any_command_text_is_answered_safely(chat, text):
    out = await chat.send(text, direct=True)
    for reply in out or []:
        content = message_content(reply.markdown)
        assert not DANGEROUS.search(content["formatted_body"]), (text, content["formatted_body"])
        assert "Traceback" not in content["body"]
        assert "went wrong on my side" not in content["body"], (text, content["body"])
