"""Forgetting a user on SQLite and PostgreSQL: the registry's queries (LIKE on JSON cast to
text, bulk deletes, the people count) behave the same on both, and afterwards no row in any
table (search indexes included) names the user."""
from __future__ import annotations

import pytest

from bot.scheduler import Scheduler
from support.chat import Chat, Clock, make_services
from support.privacy_fill import ALICE, BOB, NOW, fill_everything_naming, tables_naming


async def test_forget_leaves_no_row_naming_the_user(db, tmp_path):
    url = db.url
    services = await make_services(tmp_path / "data", load_sample_data=True, rate_limit_count=10**6,
                                   facilitators=("@facil:test", ALICE), facilitators_room="!facil:test",
                                   database_url=None if url.startswith("sqlite") else url)
    services.clock = Clock(NOW)
    sched = Scheduler(services, lambda: None)
    services.timers = sched
    await sched.start()
    try:
        chat = Chat(services)
        await fill_everything_naming(services, chat, ALICE)
        await chat.send("!remindme 1h mine", sender=BOB)
        async with services.db.session() as s:
            assert await services.registry.privacy.people_count(s, exclude=("@bot:test",)) >= 3
        assert await tables_naming(services, ALICE)
        await chat.send("!admin forget @alice:test", sender="@admin:test")
        assert (await chat.text("!admin forget @alice:test confirm", sender="@admin:test")).startswith("Done")
        assert await tables_naming(services, ALICE) == {}
        assert "scheduled_jobs" in await tables_naming(services, BOB)   # others' data stays
    finally:
        await sched.shutdown()
        await services.db.dispose()


@pytest.mark.parametrize("target,nl", [
    ("topic:energy-transition", "Energietransitie"),
    ("instrument:noord-holland-klimaatadaptatie-gemeenten", "noord-holland-klimaatadaptatie-gemeenten"),
    ("lab:the-green-village", "the-green-village"),
    ("12", "#12"),
    ("bundled", "bundled"),
    (None, ""),
])
def test_an_audit_target_is_shown_as_people_name_it(target, nl):
    from bot.framework.i18n import Translator
    from storage.privacy import target_text
    assert target_text(Translator("nl"), target) == nl
