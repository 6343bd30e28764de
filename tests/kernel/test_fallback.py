"""The kernel's search fallback (bot.framework.capability.Fallback, issue 18): after the
intents and question handlers, every declared probe is asked; the highest positive one
answers, ties go to capability order, and when every probe says 0.0 the reply stays "I did
not understand". Commands never reach it."""
from __future__ import annotations

import pytest

from bot.framework.capability import Fallback
from bot.framework.command import Registry
from support.chat import Chat, make_services


def fake(name: str, score: float, calls: list):
    async def probe(ctx, text):
        calls.append(("probe", name, text))
        return score

    async def answer(ctx, text):
        calls.append(("answer", name, text))
        await ctx.reply(f"{name} answers")
    return Fallback(probe=probe, answer=answer)


@pytest.fixture
async def services(tmp_path):
    services = await make_services(tmp_path / "data", modules=("core",))
    yield services
    await services.db.dispose()


async def _ask(services, monkeypatch, fallbacks, text):
    monkeypatch.setattr(Registry, "fallbacks", property(lambda self: fallbacks))
    return await Chat(services).text(text, direct=True)


async def test_the_highest_probe_answers(services, monkeypatch):
    calls: list = []
    out = await _ask(services, monkeypatch, [fake("a", 0.8, calls), fake("b", 0.9, calls), fake("c", 0.0, calls)],
                     "blauwe olifanten over de grens")
    assert out == "b answers"
    assert [c[:2] for c in calls] == [("probe", "a"), ("probe", "b"), ("probe", "c"), ("answer", "b")]


async def test_a_tie_goes_to_the_first_capability(services, monkeypatch):
    calls: list = []
    out = await _ask(services, monkeypatch, [fake("a", 0.8, calls), fake("b", 0.8, calls)], "iets over de grens")
    assert out == "a answers"


async def test_no_positive_probe_is_not_understood(services, monkeypatch):
    calls: list = []
    out = await _ask(services, monkeypatch, [fake("a", 0.0, calls)], "blauwe olifanten dansen")
    assert "begreep ik niet" in out or "did not understand" in out
    assert [c[0] for c in calls] == ["probe"]


async def test_small_talk_and_commands_never_reach_the_fallback(services, monkeypatch):
    calls: list = []
    assert "Pong" in await _ask(services, monkeypatch, [fake("a", 1.0, calls)], "!ping")
    assert "a answers" not in await _ask(services, monkeypatch, [fake("a", 1.0, calls)], "dank je wel")
    assert calls == []
