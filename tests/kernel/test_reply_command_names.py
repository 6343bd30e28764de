"""A reply names commands in its own language: a Dutch reply says `!subsidie wijzig`,
`!proeftuin aanvraag`, `!beheer vergeet … bevestig`, as `!hulp` lists them, and an English
reply `!funding set`. (The catalogs' Dutch texts are checked in test_catalogs.py; these are
the names the code puts into replies.)"""
from __future__ import annotations

import pytest

from bot.framework.help import command_text
from commands import build_registry
from support.chat import Chat, make_services

ADMIN, MEMBER = "@admin:test", "@kim:test"


@pytest.fixture
async def chat(tmp_path):
    services = await make_services(tmp_path / "data", load_sample_data=True, rate_limit_count=10**6)
    yield Chat(services)
    await services.db.dispose()


def test_command_text_translates_commands_subcommands_and_options_only():
    reg = build_registry()
    assert command_text(reg, "knowledge --topic energy --kind event", "nl") == "kennis --thema energy --soort event"
    assert command_text(reg, "knowledge --topic energy --kind event", "en") == "knowledge --topic energy --kind event"
    assert command_text(reg, "funding set sbir last_checked", "nl") == "subsidie wijzig sbir last_checked"
    assert command_text(reg, "session join 3", "nl") == "sessie aanmelden 3"
    # An argument that happens to be a subcommand's name stays an argument.
    assert command_text(reg, "lab request request", "nl") == "proeftuin aanvraag request"
    assert command_text(reg, "nosuchcommand --topic x", "nl") == "nosuchcommand --topic x"


async def test_refusal_and_usage_name_the_command_in_the_reply_language(chat):
    refused = await chat.text("!subsidie wijzig sbir-innovatiecompetitie last_checked 2026-11-25", sender=MEMBER)
    assert "Alleen een facilitator van de hub of een beheerder kan `!subsidie wijzig` gebruiken." in refused, refused
    refused = await chat.text("!funding set sbir-innovatiecompetitie last_checked 2026-11-25", sender="@en:test")
    assert "Only a hub facilitator or an admin can use `!funding set`." in refused, refused
    usage = await chat.text("!subsidie wijzig sbir-innovatiecompetitie", sender=ADMIN)
    assert "Gebruik: `!subsidie wijzig [<id>]" in usage and "`!hulp subsidie wijzig`" in usage, usage
    assert "!funding" not in usage


async def test_same_as_hints_of_plain_questions_are_in_dutch(chat):
    answer = await chat.text("welke subsidies zijn er voor klimaatadaptatie bij gemeenten?", sender=MEMBER, direct=True)
    assert "(Hetzelfde als `!subsidie" in answer, answer
    answer = await chat.text("welke proeftuinen zijn er voor klimaatadaptatie bij Zwolle?", sender=MEMBER,
                             direct=True)
    assert "(Hetzelfde als `!proeftuinen" in answer and "--bij" in answer, answer
    assert "`!proeftuin " in answer and "!lab " not in answer, answer
    answer = await chat.text("welke subsidies sluiten binnenkort?", sender=MEMBER, direct=True)
    assert "(Hetzelfde als `!sluitingsdata 60d`.)" in answer, answer
    answer = await chat.text("which funding is there for climate adaptation?", sender="@en:test", direct=True)
    assert "(Same as `!funding" in answer, answer


async def test_forget_confirmation_names_the_dutch_command(chat):
    await chat.text("!taal nl", sender=MEMBER)
    asked = await chat.text(f"!beheer vergeet {MEMBER}", sender=ADMIN)
    assert f"`!beheer vergeet {MEMBER} bevestig`" in asked, asked
    assert "klaar" in (await chat.text(f"!beheer vergeet {MEMBER} bevestig", sender=ADMIN)).lower()
    await chat.text("!taal nl", sender=MEMBER)
    asked = await chat.text("!mijngegevens verwijder", sender=MEMBER)
    assert "`!mijngegevens verwijder bevestig`" in asked, asked
