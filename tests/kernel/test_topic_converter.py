"""Issue 19, "topics by their everyday names": one topic converter (bot/framework/topics.py) for
every command that takes a topic. Every label and alias in both languages is that topic; a
word that fits several topics gets a choice with the exact command to run, never a silent
pick nor a bare refusal; each command offered works."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from bot.framework.topics import TopicArg, TopicList, command_word, match
from storage import topics
from storage.digests.models import DigestSubscription
from storage.knowledge.models import KnowledgeItem
from support.chat import Chat, make_services

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("topic", topics.all_topics(), ids=lambda t: t.id)
def test_every_name_in_both_languages_is_its_topic(topic):
    for name in (topic.id, *topic.terms):
        for typed in (name, name.upper(), "#" + name.replace(" ", "-"), f"  {name}  "):
            assert match(typed).topic == topic, (typed, [t.id for t in match(typed).topics])
    for lang in ("nl", "en"):
        for one_token in (True, False):
            word = command_word(topic, lang, one_token=one_token)
            assert match(word).topic == topic, (lang, word)
            assert not one_token or " " not in word


@pytest.mark.parametrize("word,expected", [
    ("klimaat", {"climate-adaptation", "climate-neutral-cities"}),
    ("climate", {"climate-adaptation", "climate-neutral-cities"}),
    ("#klimaat", {"climate-adaptation", "climate-neutral-cities"}),
    ("digitaal", {"digital-inclusion", "data-digital-twins", "public-services"}),
])
def test_a_word_of_several_topics_is_a_choice(word, expected):
    found = match(word)
    assert found.topic is None and {t.id for t in found.topics} == expected


@pytest.mark.parametrize("word,expected", [
    ("hittestress", "climate-adaptation"), ("heat stress", "climate-adaptation"), ("water", "climate-adaptation"),
    ("klimaat adaptatie", "climate-adaptation"), ("Klimaatadaptatie", "climate-adaptation"),
    ("energie", "energy-transition"), ("fiets", "mobility"), ("circulair", "circular-economy"),
    ("climate-adaptation", "climate-adaptation"), ("klimaat water", "climate-adaptation"),
])
def test_everyday_words_name_one_topic(word, expected):
    assert match(word).topic == topics.get(expected)


def test_a_typo_or_a_generic_word_is_asked_not_taken():
    typo = match("klimaatadaptie")
    assert typo.topic is None and [t.id for t in typo.close] == ["climate-adaptation"]
    generic = match("duurzaam")
    assert generic.topic is None and {"energy-transition", "mobility"} <= {t.id for t in generic.close}
    assert match("xyzzy").topic is None and not match("xyzzy").topics


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=60))
def test_match_never_fails(raw):
    found = match(raw)
    assert found.topic is None or found.topic in topics.all_topics()


def test_no_capability_parses_topics_itself():
    """Topic-taking options and arguments use the kernel's converter: no command module
    declares a converter of its own that looks topics up."""
    own = []
    for path in (ROOT / "commands").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") == "Converter" for b in node.bases):
                body = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
                if re.search(r"topics?\.(lookup|suggest|get)\(|topic_list\.", body):
                    own.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert not own, own
    from commands import build_registry
    registry = build_registry()
    topical = [(c.qualified_name, o.name, type(o.converter).__name__)
               for c in registry.commands for cmd in (c, *c.subcommands.values()) for o in cmd.options
               if o.name in ("topic", "theme")]
    assert topical and all(kind == "TopicArg" for _, _, kind in topical), topical


# --------------------------------------------------------------------------- through the bot
@pytest.fixture
async def chat(tmp_path):
    services = await make_services(tmp_path / "data", modules=None, language="nl", load_sample_data=True,
                                   rate_limit_count=10**6)
    yield Chat(services)
    await services.db.dispose()


def offered(text: str) -> list[str]:
    return re.findall(r"`(![^`\n]+)`", text.replace("\\", ""))


@pytest.mark.parametrize("message,lang", [
    ("!abonneer klimaat", "nl"), ("!subscribe climate", "en"), ("!proeftuinen --thema klimaat", "nl"),
    ("!funding --theme climate", "en"), ("!kennis --thema klimaat", "nl"), ("!sessies --thema digitaal", "nl"),
    ("!deadlines --theme climate", "en"), ("!interesse klimaat", "nl"), ("!partners climate", "en"),
])
async def test_every_topic_command_offers_a_choice_that_works(chat, message, lang):
    await chat.send("!taal nl" if lang == "nl" else "!lang en")
    out = await chat.text(message)
    commands = offered(out)
    assert "❓" in out and len(commands) >= 2, out
    assert ("bedoel je?" in out) == (lang == "nl"), out
    for command in commands:
        again = await chat.text(command)
        assert "❓" not in again and "⚠️" not in again, (command, again)


async def test_subscribe_takes_everyday_names_and_the_offered_command(chat):
    await chat.send("!lang en")
    out = await chat.text("!subscribe heat stress circular monthly")
    assert "Climate adaptation" in out and "Circular economy" in out, out
    async with chat.services.db.session() as s:
        sub = (await s.scalars(select(DigestSubscription))).one()
    assert set(sub.topics) == {"climate-adaptation", "circular-economy"} and sub.frequency == "monthly"
    out = await chat.text("!unsubscribe klimaat")
    assert "❓" in out and "!unsubscribe klimaat" not in offered(out), out


async def test_share_with_a_tag_of_several_topics_shares_and_asks(chat):
    await chat.send("!taal nl")
    out = await chat.text('!deel https://example.org/plan "Een plan" #klimaat')
    assert "Gedeeld als item" in out and "past bij meer dan één thema" in out, out
    commands = offered(out)
    assert any(c.endswith("#klimaatadaptatie") for c in commands), commands
    await chat.text(next(c for c in commands if c.endswith("#klimaatadaptatie")))
    async with chat.services.db.session() as s:
        item = (await s.scalars(select(KnowledgeItem).where(KnowledgeItem.url.like("%example.org/plan%")))).one()
    assert "climate-adaptation" in item.topics


async def test_the_converters_are_the_kernels():
    class Ctx:   # the converters only need what a reply needs when they ask
        lang = "en"
    assert await TopicArg().convert("hittestress", Ctx()) == "climate-adaptation"
    words = await TopicList(extra={"weekly": "weekly"}).convert("energie, #fiets weekly", Ctx())
    assert words.ids == ["energy-transition", "mobility"] and words.words == ["weekly"]


async def test_a_plain_sentence_with_a_word_of_several_topics_gets_the_same_choice(chat):
    await chat.send("!taal nl")
    out = await chat.text("ik wil graag op de hoogte blijven van klimaat", direct=True)
    commands = offered(out)
    assert "Welk thema wil je volgen?" in out and len(commands) == 2, out
    for command in commands:
        assert command.startswith("!abonneer ") and "Je volgt" in await chat.text(command), command
