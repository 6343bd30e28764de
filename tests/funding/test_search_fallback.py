"""Issue 18, "never shrugs": a plain question that is no command, matches no intent and is not
small talk, but clearly matches records by the strict rule, gets the search answer of the
capability it matches best (bot.framework.capability.Fallback, declared in the manifests;
the kernel picks the highest probe); nonsense and chit-chat keep "I did not understand"."""
from __future__ import annotations

import pytest

from commands import ENABLED
from bot.framework.capability import Fallback, load
from support.funding_env import FundingChat, funding_services, result_ids


@pytest.fixture
async def chat(tmp_path):
    services = await funding_services(tmp_path, modules=None)   # every capability, as deployed
    yield FundingChat(services)
    await services.db.dispose()


def test_the_searching_capabilities_declare_a_fallback():
    caps = {c.name: c for c in load(ENABLED)}
    for name in ("funding", "labs", "knowledge"):
        assert isinstance(caps[name].fallback, Fallback), name


@pytest.mark.parametrize("question,capability_words,expected", [
    ("hoe meten vrijwilligers op de fiets de luchtkwaliteit in de provincie Utrecht?", ("proeftuinen",),
     "snuffelfiets"),
    ("how did Rotterdam build its 3D digital twin with an open urban platform?", ("living labs",),
     "Digitale Stad Rotterdam"),
])
async def test_a_question_that_matches_another_capability_gets_its_search(chat, question, capability_words, expected):
    text = await chat.text(question)
    assert "did not understand" not in text and "begreep ik niet" not in text, text[:300]
    assert any(w in text for w in capability_words) and expected.lower() in text.lower(), text[:600]


@pytest.mark.parametrize("question,expected", [
    ("kunnen we met Duitse gemeenten over de grens samenwerken aan energie?", {"interreg-deutschland-nederland"}),
    ("hoe kan de gemeente startups uitdagen om een maatschappelijk vraagstuk op te lossen?",
     {"sbir-innovatiecompetitie", "startup-in-residence-intergov"}),
    ("can we work with German municipalities across the border on energy?", {"interreg-deutschland-nederland"}),
])
async def test_a_question_without_a_funding_word_gets_the_funding_search(chat, question, expected):
    text = await chat.text(question)
    assert "did not understand" not in text and "begreep ik niet" not in text, text[:300]
    assert expected & set(result_ids(text)[:3]), text[:600]


@pytest.mark.parametrize("nonsense", [
    "blauwe olifanten dansen vanavond in de tuin",
    "what is the weather like?",
    "ik heb honger",
    "hoe laat is het?",
    "the purple elephants sing loudly tonight",
    "'; DROP TABLE records; -- duitse grens samenwerken energie",
    "qwerty asdf zxcv energie",
])
async def test_nonsense_stays_not_understood(chat, nonsense):
    text = await chat.text(nonsense)
    assert "did not understand" in text or "begreep ik niet" in text, text[:300]
