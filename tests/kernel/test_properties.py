"""Property tests: no command text crashes the bot, and no reply carries unescaped HTML."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from bot.framework.render import md_escape, message_content
from support.chat import Chat, make_services
from support.html_safety import html_problems, internal_errors
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
    assert not DANGEROUS.search(html) and not html_problems(html), html


@given(st.text(max_size=200))
def test_tokenizer_never_raises(text):
    split(text)


@pytest.fixture
async def unlimited_chat(tmp_path):
    """Core commands, with the flood guard out of the way so every example reaches a handler."""
    services = await make_services(tmp_path / "data", modules=["core", "reminders"], rate_limit_count=10**6)
    yield Chat(services)
    await services.db.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=COMMAND_TEXT)
async def test_any_command_text_is_answered_safely(unlimited_chat, text):
    out = await unlimited_chat.send(text, direct=True)
    for reply in out or []:
        content = message_content(reply.markdown)
        assert not html_problems(content["formatted_body"]), (text, content["formatted_body"])
        assert "Traceback" not in content["body"]
    assert internal_errors(unlimited_chat.services) == 0, text


ALL_NAMES = NAMES + ["funding", "subsidie", "deadlines", "sluitingsdata", "labs", "proeftuinen", "lab", "proeftuin",
                     "lab request", "lab aanvraag", "request", "request accept", "request decline", "requests",
                     "funding set", "session", "sessie", "sessions", "sessies", "session new", "sessie nieuw",
                     "session join", "session leave", "session move", "session cancel", "session assign",
                     "session 1", "session join 1", "session move 1", "session assign 1", "session poll",
                     "session poll close", "vote 1", "stem", "session ics 1", "review 1", "beoordeel 1",
                     "session report 1", "session action 1", "session format 1", "share", "deel", "knowledge",
                     "kennis", "approve", "reject", "feeds", "topics", "themas", "subscribe", "abonneer",
                     "unsubscribe", "subscriptions", "digest pause", "digest preview", "digest resume",
                     "admin", "beheer", "admin stats", "admin announce", "admin announce here", "admin data reload",
                     "admin user", "admin forget", "mydata", "mijngegevens", "mydata delete", "mydata delete confirm"]
ALL_FRAGMENTS = st.one_of(FRAGMENTS, st.sampled_from([
    "--level", "--niveau", "--theme", "--thema", "--near", "--within", "--province", "--open", "--applicant",
    "--closing-within", "--min-budget", "eu", "klimaatadaptatie", "Zwolle", "Bergen", "50km", "30d", "1",
    "the-green-village", "horizon-mission-cities-2026", "NEAR", "*", "(", ")", "-", "AND", "OR", "DROP TABLE",
    "'; --", "x" * 3000, "morgen 9:00", "dinsdag 14 uur", "next tuesday 2pm", "in 4 minutes", "gisteren",
    "2026-12-03 14:00", "--duration", "--capacity", "--every", "--until", "--as", "reviewer", "@bob:test",
    '"Groene daken"', "6m", "3mnd", "https://example.org/a?utm_source=x", "javascript:alert(1)", "#klimaat",
    "--kind", "event", "weekly", "maandelijks", "--at", "25:99", "--day", "last", "impact", "5", "|", "submit"]))
ANY_COMMAND_TEXT = st.builds(
    lambda prefix, name, parts: prefix + name + " " + " ".join(parts),
    st.sampled_from(["!", "", "bot: "]), st.sampled_from(ALL_NAMES),
    st.lists(st.one_of(st.text(max_size=30), ALL_FRAGMENTS), max_size=8))


@pytest.fixture
async def full_chat(tmp_path):
    services = await make_services(tmp_path / "data", load_sample_data=True, rate_limit_count=10**6)
    yield Chat(services)
    await services.db.dispose()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ANY_COMMAND_TEXT, sender=st.sampled_from(["@alice:test", "@admin:test", "@facil:test"]))
async def test_no_command_of_any_capability_crashes_or_leaks_html(full_chat, text, sender):
    out = await full_chat.send(text, direct=True, sender=sender)
    for reply in out or []:
        content = message_content(reply.markdown)
        assert not html_problems(content["formatted_body"]), (text, content["formatted_body"])
    assert internal_errors(full_chat.services) == 0, text


# A few words around a topic word reach the last-resort topic overview (commands/overview/commands.py),
# which puts record titles, search words and commands together in one answer.
TOPIC_TEXT = st.builds(" ".join, st.lists(st.one_of(
    st.sampled_from(["klimaat", "klimaat?", "energie", "Energy", "heat stress", "biodiversiteit", "circular economy",
                     "wonen", "mobiliteit", "digitale inclusie", "hittestress", "data", "waterstof", "zwolle",
                     "iets over", "info", "in Limburg", "binnen 30 km"]),
    FRAGMENTS, st.text(max_size=12)), min_size=1, max_size=4))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TOPIC_TEXT)
async def test_topic_words_with_anything_around_them_are_answered_safely(full_chat, text):
    out = await full_chat.send(text, direct=True)
    assert len(out) <= 1, text
    event("overview" if out and out[0].markdown.startswith("### ") else "other answer")
    for reply in out:
        content = message_content(reply.markdown)
        assert not html_problems(content["formatted_body"]), (text, content["formatted_body"])
        assert not DANGEROUS.search(content["formatted_body"]), (text, content["formatted_body"])
    assert internal_errors(full_chat.services) == 0, text
