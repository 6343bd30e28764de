"""Small talk and capability questions get a useful answer; asking for regular updates
points to the digest command with the topic the person named (subscribing stays theirs)."""
from __future__ import annotations

import pytest

from support.chat import Chat, make_services


@pytest.fixture
async def chat(tmp_path):
    services = await make_services(tmp_path / "data", rate_limit_count=10**6)
    yield Chat(services)
    await services.db.dispose()


async def test_asking_for_updates_names_the_digest_command(chat):
    nl = await chat.text("stuur me elke maand nieuws over energie", direct=True, sender="@a:test")
    assert "`!abonneer energie maandelijks`" in nl  # the user's own word, in Dutch
    en = await chat.text("send me a weekly update on housing", direct=True, sender="@b:test")
    assert "`!subscribe housing weekly`" in en
    # The suggested command works as written.
    done = await chat.text("!subscribe housing weekly", sender="@b:test")
    assert "Housing" in done and "weekly" in done


async def test_capabilities_list_every_loaded_capability(chat):
    answer = await chat.text("what can you do?", direct=True, sender="@c:test")
    for word in ("Funding", "Living labs", "Peer-review sessions", "Knowledge", "Digests", "Reminders"):
        assert word in answer
