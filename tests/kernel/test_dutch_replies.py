"""Issue 19, "English in Dutch replies": usage placeholders, option values in errors and a
series' interval read Dutch in a Dutch reply (and English in an English one)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.framework.arguments import Choice
from bot.framework.help import PLACEHOLDERS, usage
from bot.framework.i18n import Translator
from commands import build_registry
from support.chat import Chat, make_services


@pytest.fixture
async def chat(tmp_path):
    services = await make_services(tmp_path / "data", modules=["core", "funding", "sessions", "reminders"],
                                   rate_limit_count=10**6, facilitators=("@alice:test",),
                                   now=datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc))
    yield Chat(services)
    await services.db.dispose()


def test_no_usage_line_has_an_english_placeholder_in_dutch():
    nl = Translator("nl")
    for cmd in build_registry().commands:
        for sub in [cmd, *cmd.subcommands.values()]:
            line = usage(sub, "!", nl)
            english = [w for w in re.findall(r"<([a-z_]+)…?>", line) if w in PLACEHOLDERS and nl(w) != w]
            assert not english, (line, english)


async def test_dutch_errors_show_dutch_placeholders_and_option_values(chat):
    await chat.send("!taal nl")
    out = await chat.text("!herinner")
    assert "<wanneer> <tekst…>" in out and "(`wanneer`)" in out and "<when>" not in out, out
    out = await chat.text("!sessie verplaats")
    assert "<nummer>" in out and "<number>" not in out, out
    out = await chat.text("!subsidie klimaat --niveau bestuur")
    assert "eu, nationaal, provinciaal, regionaal, lokaal" in out and "national" not in out, out
    assert "⚠️" not in await chat.text("!subsidie klimaat --niveau gemeente")
    await chat.send("!lang en")
    out = await chat.text("!funding climate --level government")
    assert "eu, national, provincial, regional, local" in out, out


async def test_a_series_interval_is_spoken_in_the_readers_language(chat):
    await chat.send("!taal nl")
    out = await chat.text('!sessie nieuw "Reeks" 2026-12-01 14:00 --elke 4w --tot 2027-03-01')
    assert "elke 4 weken" in out and "4w" not in out, out
    await chat.send("!lang en")
    out = await chat.text('!session new "Series" 2026-12-02 14:00 --every 14d --until 2027-01-01')
    assert "every 2 weeks" in out, out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.text(max_size=30), lang=st.sampled_from(["nl", "en"]))
async def test_a_choice_gives_a_value_or_a_clear_error_in_the_readers_language(raw, lang):
    from bot.framework.errors import BadArgument
    choice = Choice(["national", "local"], {"landelijk": "national"}, dutch={"national": "nationaal", "local": "lokaal"})
    ctx = type("Ctx", (), {"lang": lang})()
    try:
        value = await choice.convert(raw, ctx)
    except BadArgument as exc:
        listed = exc.params["choices"]
        assert listed == ("nationaal, lokaal" if lang == "nl" else "national, local")
    else:
        assert value in ("national", "local")
