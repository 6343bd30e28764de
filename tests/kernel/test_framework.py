"""The command framework: recognition, parsing, help, the error tree, roles, language."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select

from bot.framework import Cog, Duration, Int, Money, Role, Text, argument, option
from bot.framework.arguments import Choice
from bot.framework.command import Registry
from bot.framework.context import Services
from bot.framework.dispatcher import Dispatcher
from bot.framework.errors import BadArgument
from bot.framework.help import usage
from bot.framework.messages import Incoming
from bot.framework.tokens import split
from bot.framework.i18n import Translator, detect_language
from storage.models.core import HandledEvent, OutboxMessage


def test_tokens_quotes_and_dashes():
    assert [t.text for t in split('a "b c" d')] == ["a", "b c", "d"]
    assert [t.text for t in split('a "unbalanced d')] == ["a", '"unbalanced', "d"]
    assert [t.text for t in split("„klimaat adaptatie” x")] == ["klimaat adaptatie", "x"]
    assert split("") == []


@pytest.mark.parametrize("raw,seconds", [("90s", 90), ("2m", 120), ("1h30m", 5400), ("3d", 259200),
                                         ("10 minuten", 600), ("2u", 7200), ("1w", 604800)])
async def test_duration(raw, seconds):
    assert (await Duration().convert(raw, None)) == timedelta(seconds=seconds)


@pytest.mark.parametrize("raw", ["", "abc", "5", "3 x", "-1m", "2m3"])
async def test_duration_rejects(raw):
    with pytest.raises(BadArgument):
        await Duration().convert(raw, None)


@pytest.mark.parametrize("raw,value", [("100000", 100000), ("100k", 100000), ("€ 100.000", 100000),
                                       ("1,5M", 1500000), ("2 miljoen", 2000000), ("1.5m", 1500000)])
async def test_money(raw, value):
    assert await Money().convert(raw, None) == value


def test_locale_formatting():
    from datetime import datetime, timezone
    nl = Translator("nl", "Europe/Amsterdam")
    assert nl.datetime(datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc)) == "dinsdag 1 december 2026 14:00"
    assert nl.money(4_000_000) == "€ 4.000.000"
    en = Translator("en", "Europe/Amsterdam")
    assert en.datetime(datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc)) == "Tuesday 1 December 2026 14:00"


def test_language_detection():
    assert detect_language("is er subsidie voor klimaatadaptatie voor gemeenten?") == "nl"
    assert detect_language("which EU funding is there for biodiversity in provinces?") == "en"
    assert detect_language("!ping") is None


async def test_ping_help_and_usage(chat):
    assert await chat.text("!ping") == "Pong!"
    help_text = await chat.text("!help")
    assert "!remindme" in help_text and "Reminders" in help_text
    detail = await chat.text("!help remindme")
    assert "!remindme <when> <text…>" in detail and "a delay or a moment: e.g. 10m" in detail


async def test_bad_argument_shows_usage_in_users_language(chat):
    reply = await chat.text("!remindme soon do it")
    assert "could not read" in reply and "Usage: `!remindme <when> <text…>`" in reply
    reply_nl = await chat.text("!herinner straks iets doen")
    assert "niet lezen als datum en tijd" in reply_nl and "Gebruik:" in reply_nl


async def test_missing_argument_and_unknown_option(chat):
    missing = await chat.text("!remindme")
    assert "Missing argument:" in missing and "(`when`)" in missing   # what it is, then its name
    assert "Unknown option" in await chat.text("!ping --loud")


async def test_unknown_command_suggests(chat):
    reply = await chat.text("!remnidme 2m x")
    assert "!remindme" in reply and "don't know" in reply


async def test_message_not_for_the_bot_is_ignored(chat):
    assert await chat.send("just chatting") == []
    assert chat.dispatcher.addressed(Incoming(sender="@a:test", room_id="!r", event_id="$x",
                                              body="just chatting")) is None
    assert await chat.text("ping", direct=True) == "Pong!"


async def test_mention_at_start(chat):
    assert await chat.text("bot: ping") == "Pong!"
    assert await chat.text("@bot:test ping") == "Pong!"
    # m.mentions addresses the bot anywhere in the text: then it is a question, not a command word.
    assert await chat.text("ping", mentions=("@bot:test",)) == "Pong!"
    assert "I did not understand that" in await chat.text("please ping", mentions=("@bot:test",))
    assert await chat.text("please ping") == ""  # not addressed: no answer at all


async def test_language_preference_wins(chat):
    await chat.text("!lang nl")
    assert "Pong" in await chat.text("!ping")
    assert "Toon wat ik kan" in await chat.text("!help")
    await chat.text("!taal en")
    assert "Show what I can do" in await chat.text("!hulp")


async def test_dutch_text_gets_dutch_answer(chat):
    reply = await chat.text("blauwe olifanten dansen vanavond in de tuin", direct=True)
    assert "begreep ik niet" in reply
    reply = await chat.text("hoe werkt dit eigenlijk voor mij?", direct=True)
    assert "Ik help ambtenaren" in reply


async def test_each_event_is_answered_once(chat, services):
    msg = Incoming(sender="@alice:test", room_id="!r:test", event_id="$same", body="!ping")
    first = await chat.dispatcher.handle(msg)
    second = await chat.dispatcher.handle(msg)
    assert len(first) == 1 and second == []
    async with services.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert await s.get(HandledEvent, "$same") is not None


def _test_services(services, cog):
    return Services(settings=services.settings, db=services.db, registry=Registry([cog]),
                    access=services.access, bot_user_id="@bot:test", started_at=services.started_at)


async def test_internal_error_gives_reference_and_rolls_back(services, caplog):
    cog = Cog("t", "Test")

    @cog.command("boom")
    async def boom(ctx):
        """Fail."""
        from storage.models.core import UserPrefs
        ctx.db.add(UserPrefs(user_id="@alice:test", language="nl"))
        raise RuntimeError("secret internals")

    d = Dispatcher(_test_services(services, cog))
    out = await d.handle(Incoming(sender="@alice:test", room_id="!r", event_id="$boom", body="!boom"))
    text = out[0].markdown
    assert "reference" in text and "secret internals" not in text and "Traceback" not in text
    ref = text.split("reference ")[1].split(")")[0]
    assert ref in caplog.text and "secret internals" in caplog.text
    from storage.models.core import UserPrefs
    async with services.db.session() as s:
        assert await s.get(UserPrefs, "@alice:test") is None  # the handler's work was rolled back


async def test_roles_from_config_and_power_level(services):
    cog = Cog("t", "Test")

    @cog.command("secret", role=Role.FACILITATOR)
    async def secret(ctx):
        """Facilitators only (shared data)."""
        await ctx.reply("ok")

    @cog.command("roomwork", role=Role.ROOM_FACILITATOR)
    async def roomwork(ctx):
        """Facilitators of this room."""
        await ctx.reply("ok")

    d = Dispatcher(_test_services(services, cog))

    async def run(sender, body="!secret", pl=0, grants=False, n=[0]):
        n[0] += 1
        out = await d.handle(Incoming(sender=sender, room_id="!r", event_id=f"$r{n[0]}", body=body,
                                      power_level=pl, room_grants_roles=grants))
        return out[0].markdown

    hub_only = "Only a hub facilitator or an admin can use `!secret`."
    assert hub_only in await run("@alice:test")
    # A room's power level never reaches shared data, in any room.
    assert hub_only in await run("@alice:test", pl=100, grants=True)
    assert await run("@facil:test") == "ok"
    assert await run("@admin:test") == "ok"
    # Room work: power >= 50 counts only where the room grants roles (not a DM, not a
    # room of just the user and the bot).
    assert await run("@alice:test", "!roomwork", pl=50, grants=True) == "ok"
    # Where the room grants nothing the refusal says where power levels would count.
    assert "Only a hub facilitator can use `!roomwork` here. In a room with other people, that room's " \
        "facilitators (power level 50 or more) can use it too." in await run("@alice:test", "!roomwork", pl=100)
    assert "Only a facilitator of this room (power level 50 or more) or a hub facilitator can use `!roomwork`." \
        in await run("@alice:test", "!roomwork", pl=49, grants=True)
    assert await run("@facil:test", "!roomwork") == "ok"


async def test_flood_guard_never_drops_a_message_in_silence(services):
    services.settings.bot.rate_limit_count = 3
    chat = Dispatcher(services)
    chat.middlewares[2].notices = 2
    replies = []
    for i in range(8):
        out = await chat.handle(Incoming(sender="@flood:test", room_id="!r", event_id=f"$f{i}", body=f"!about {i}"))
        replies.append(out)
    assert all(len(r) == 1 and "quickly" not in r[0].markdown for r in replies[:3])
    # Every refused message is quoted back until the person is told that nothing more is handled.
    assert "quickly" in replies[3][0].markdown and "about 3”" in replies[3][0].markdown
    assert "Not handled" in replies[4][0].markdown and "about 4”" in replies[4][0].markdown
    assert "about 5”" in replies[5][0].markdown and "will not answer anything else" in replies[5][0].markdown
    assert replies[6] == [] and replies[7] == []


async def test_option_parsing_and_converters(services):
    cog = Cog("t", "Test")
    seen = {}

    @cog.command("opt")
    @argument("words", Text(), rest=True, required=False)
    @option("level", Choice(["eu", "national"], {"nationaal": "national"}), aliases=("niveau",))
    @option("open")
    @option("count", Int(1, 10))
    async def opt(ctx, words, level, open, count):
        """Options."""
        seen.update(words=words, level=level, open=open, count=count)
        await ctx.reply("ok")

    d = Dispatcher(_test_services(services, cog))
    await d.handle(Incoming(sender="@a:test", room_id="!r", event_id="$o1",
                            body="!opt green roofs --niveau nationaal --open —count=3"))
    assert seen == {"words": "green roofs", "level": "national", "open": True, "count": 3}
    out = await d.handle(Incoming(sender="@a:test", room_id="!r", event_id="$o2", body="!opt --count 99"))
    assert "out of range" in out[0].markdown
    assert usage(cog.commands[0], "!", Translator("en")) == \
        "!opt [<words…>] [--level <choice>] [--open] [--count <number>]"


def test_oversized_messages_are_split_below_the_event_limit():
    from bot.framework.render import MAX_CONTENT_BYTES, content_size, message_content, split_markdown
    paragraphs = [f"**item {i}** " + "lorem ipsum dolor " * 40 for i in range(120)]
    parts = split_markdown("\n\n".join(paragraphs))
    assert len(parts) > 1
    assert all(content_size(message_content(p)) <= MAX_CONTENT_BYTES for p in parts)
    assert sum(p.count("**item") for p in parts) == 120  # nothing lost, nothing cut mid-item
    giant = split_markdown("x" * 200_000)
    assert all(content_size(message_content(p)) <= MAX_CONTENT_BYTES for p in giant)
    assert sum(len(p) for p in giant) == 200_000


async def test_huge_input_is_answered_not_crashed(chat):
    reply = await chat.text("!remindme 1m " + "a" * 20_000)
    assert "too long" in reply


def test_db_upgrade_cli(tmp_path):
    import subprocess
    import sys
    env = {"DSIH_BOT__STORAGE__DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], capture_output=True, text=True,
                         env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "dsih-bot.sqlite3").exists()


async def test_admins_are_not_flood_limited(services):
    services.settings.bot.rate_limit_count = 2
    d = Dispatcher(services)
    for i in range(5):
        out = await d.handle(Incoming(sender="@admin:test", room_id="!r", event_id=f"$adm{i}", body="!about"))
        assert "quickly" not in out[0].markdown


async def test_english_command_word_alone_answers_a_new_user_in_english(tmp_path):
    """Default nl: `!help` (not `!hulp`) from a new user is English; a command without a Dutch
    alias (`!ping`) says nothing; after a clear Dutch message the user's last language wins."""
    from support.chat import Chat, make_services
    services = await make_services(tmp_path / "data", modules=["core", "funding"], language="nl")
    try:
        chat = Chat(services)
        assert "Show what I can do" in await chat.text("!help", sender="@new:test")
        assert "community bot" in await chat.text("!about", sender="@new:test")
        assert "Find funding instruments" in await chat.text("!help funding please explain this", sender="@new:test")
        assert "funding instrument" in await chat.text("!funding climate adaptation", sender="@new2:test")
        assert "funding instrument" in await chat.text("!funding digital twins", sender="@new3:test")
        assert "subsidie" in (await chat.text("!funding klimaat voor gemeenten", sender="@nl:test")).lower()
        assert "Toon wat ik kan" in await chat.text("!help", sender="@nl:test")     # last clear choice
        assert "subsidie-instrument" in await chat.text("!funding sbir", sender="@nl:test")
    finally:
        await services.db.dispose()


@given(st.lists(st.text(min_size=1, max_size=9000), min_size=0, max_size=12), st.integers(1, 6))
@settings(max_examples=40, deadline=None)
def test_pages_keep_every_item_in_order_and_stay_below_the_limit(items, page_size):
    from bot.framework.context import paginate
    from bot.framework.render import MAX_CONTENT_BYTES, content_size, md_escape, message_content

    escaped = [md_escape(i) for i in items]
    pages = paginate("Header", escaped, "Footer", page_size, "More ({remaining} left)")
    assert all(content_size(message_content(p)) <= MAX_CONTENT_BYTES for p in pages)
    joined = "\n\n".join(pages)
    pos = 0
    for item in escaped:
        found = joined.find(item, pos)
        assert found >= 0
        pos = found + len(item)


@given(st.sampled_from(["@admin:test", "@facil:test", "@member:test"]), st.integers(-10, 10**6), st.booleans())
@settings(max_examples=200, deadline=None)
def test_a_room_never_lends_more_than_room_rights(user, power, grants):
    from bot.framework.roles import Access

    access = Access(admins=["@admin:test"], facilitators=["@facil:test"], allowed_users=[], own_server="test")
    role = access.role_of(user, power, room_grants=grants)
    configured = access.global_role(user)
    # The configured role is never lowered, and a room adds at most ROOM_FACILITATOR.
    assert role >= configured
    assert role == configured or (role == Role.ROOM_FACILITATOR and grants and power >= 50)


def test_backup_and_restore_cli(tmp_path):
    import subprocess
    import sys

    from pathlib import Path

    import bot

    def run(data_dir, *args):
        # The same code the tests import (installed package in CI, with compiled catalogs).
        env = {"DSIH_BOT__STORAGE__DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin",
               "PYTHONPATH": str(Path(bot.__file__).resolve().parents[1])}
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path)

    assert run(tmp_path / "a", "console", "!ping").returncode == 0  # loads the bundled data
    made = run(tmp_path / "a", "backup", str(tmp_path / "b.jsonl.gz"))
    assert made.returncode == 0 and "backup written" in made.stdout, made.stderr
    back = run(tmp_path / "c", "restore", str(tmp_path / "b.jsonl.gz"))
    assert back.returncode == 0 and "restored" in back.stdout and "restored 0 rows" not in back.stdout, back.stderr
    # Backup and restore count the same tables (empty ones too), and the same rows.
    import re as _re
    written = _re.search(r"(\d+) rows in (\d+) tables", made.stdout).groups()
    assert _re.search(r"restored (\d+) rows in (\d+) tables", back.stdout).groups() == written, (made.stdout, back.stdout)
    # The schema is logged only when a migration ran, not by every command.
    assert "schema upgraded" in back.stderr
    quiet = run(tmp_path / "a", "backup", str(tmp_path / "b2.jsonl.gz"))
    assert quiet.returncode == 0 and "schema" not in quiet.stderr, quiet.stderr
    again = run(tmp_path / "c", "restore", str(tmp_path / "b.jsonl.gz"))
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr
    nowhere = run(tmp_path / "a", "backup", str(tmp_path / "missing" / "b.gz"))
    assert nowhere.returncode == 1 and "does not exist" in nowhere.stderr and "Traceback" not in nowhere.stderr


async def test_log_lines_carry_the_command_and_never_its_text(services):
    import io
    import json
    import logging

    from bot.framework.logs import ContextFilter, JsonFormatter

    cog = Cog("t", "Test")

    @cog.command("boom")
    async def boom(ctx):
        """Fails."""
        raise RuntimeError("bug")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bot.framework.dispatcher")
    logger.addHandler(handler)
    try:
        d = Dispatcher(_test_services(services, cog))
        out = await d.handle(Incoming(sender="@alice:test", room_id="!r", event_id="$boom", body="!boom"))
        await d.handle(Incoming(sender="@alice:test", room_id="!r", event_id="$boom2", body="!nope"))
        logger.error("after the command")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    ref = out[0].markdown.split("reference ")[1].split(")")[0]
    first = lines[0]
    assert (first["room"], first["sender"], first["command"], first["ref"]) == ("!r", "@alice:test", "boom", ref)
    assert "bug" in first["traceback"]
    assert "room" not in lines[-1]  # outside a command, no stale context


async def test_uptime_comes_from_a_monotonic_start_not_the_pretend_clock(tmp_path):
    """Under bot.pretend_now the bot's clock is years away from the real start time: the
    uptime must still be the process's (0 min here) and "running since" on the bot's clock."""
    from datetime import datetime, timezone
    from support.chat import Chat, make_services
    services = await make_services(tmp_path / "data", modules=["core", "admin"], language="en",
                                   pretend_now=datetime(2020, 1, 1, 11, 0, tzinfo=timezone.utc))
    try:
        chat = Chat(services)
        about = await chat.text("!about", sender="@admin:test")
        assert "Running since Wednesday 1 January 2020 12:00 (0 h 0 min)." in about, about
        stats = await chat.text("!admin stats", sender="@admin:test")
        assert "Running since Wednesday 1 January 2020 12:00 (0 h 0 min)." in stats, stats
        services.started_monotonic -= 2 * 3600 + 5 * 60      # the process has run 2 h 5 min
        assert "(2 h 5 min)" in await chat.text("!about", sender="@admin:test")
    finally:
        await services.db.dispose()


def test_the_more_hint_counts_the_items_still_to_come_not_pages():
    from bot.framework.context import paginate

    pages = paginate("Header", [f"item {i}" for i in range(12)], "Footer", 5, lambda n: f"More ({n} more results)")
    assert len(pages) == 3
    assert pages[0].endswith("_More (7 more results)_") and pages[1].endswith("_More (2 more results)_")
    assert pages[2].endswith("Footer")


async def test_the_more_hint_in_both_languages_with_plural_forms(tmp_path):
    from support.chat import Chat, make_services
    services = await make_services(tmp_path / "data", modules=["core", "funding"], language="en",
                                   load_sample_data=True, rate_limit_count=10**6)
    services.settings.bot.page_size = 5
    try:
        chat = Chat(services)
        first = await chat.text("!funding --level eu", sender="@en:test")
        total = int(re.match(r"(\d+) funding instruments", first).group(1))
        shown = len(re.findall(r"^\*\*\d+\. ", first, re.M))
        assert shown == 5 and f"More: `!more` ({total - shown} more results)" in first, first
        nl = await chat.text("!subsidie --niveau eu", sender="@nl:test")
        assert re.search(r"Meer: `!meer` \(nog \d+ resultaten\)", nl), nl
    finally:
        await services.db.dispose()


async def test_an_unprefixed_question_starting_with_a_command_word_is_answered_as_a_question(tmp_path):
    """In a direct chat "proeftuin energie bij groningen" is a question, not a malformed
    `!proeftuin <id>`: when its arguments do not parse, the question handlers answer it;
    with the prefix it stays a command and the parse error is shown."""
    from support.chat import Chat, make_services
    services = await make_services(tmp_path / "data", modules=["core", "labs"], language="nl",
                                   load_sample_data=True, rate_limit_count=10**6)
    try:
        chat = Chat(services)
        answer = await chat.text("proeftuin energie bij groningen", sender="@nl:test", direct=True)
        assert "in de buurt van Groningen" in answer and "begreep ik niet" not in answer, answer
        answer = await chat.text("lab energy near groningen", sender="@en:test", direct=True)
        assert "near Groningen" in answer and "did not understand" not in answer, answer
        answer = await chat.text("!proeftuin energie bij groningen", sender="@nl:test", direct=True)
        assert "Dit deel begreep ik niet: bij groningen" in answer, answer
        # Nothing answers it as a question: the parse error after all.
        answer = await chat.text("tijdzone Mars/Basis", sender="@nl:test", direct=True)
        assert "Mars/Basis is geen tijdzone" in answer, answer
    finally:
        await services.db.dispose()


async def test_sample_data_is_stamped_with_the_bots_clock(tmp_path):
    """Under bot.pretend_now the bundled data became known at the pretend time: with the
    real time in shared_at/updated_at, a digest preview saw "nothing new" (or items from
    the future) depending on when the tests ran."""
    from datetime import datetime, timezone
    from sqlalchemy import func, select
    from storage.funding.models import FundingInstrument
    from storage.knowledge.models import KnowledgeItem
    from storage.labs.models import Lab
    from support.chat import make_services
    pretend = datetime(2020, 1, 1, 11, 0, tzinfo=timezone.utc)
    services = await make_services(tmp_path / "data", modules=["core", "funding", "labs", "knowledge"],
                                   load_sample_data=True, pretend_now=pretend)
    try:
        async with services.db.session() as s:
            for column in (KnowledgeItem.shared_at, FundingInstrument.updated_at, Lab.updated_at):
                newest = await s.scalar(select(func.max(column)))
                oldest = await s.scalar(select(func.min(column)))
                assert oldest.year == newest.year == 2020, (column, oldest, newest)
    finally:
        await services.db.dispose()


async def test_a_long_answer_renders_its_first_page_before_the_reply_and_the_rest_after(tmp_path):
    """reply_pages reads only the first page's items before the reply is queued; the rest
    is rendered and kept for `!more` after the commit, and `!more` walks it to the end."""
    from bot.framework.paging import LazyItems
    from support.chat import Chat, make_services
    from storage.models.core import Pager

    services = await make_services(tmp_path / "data", modules=["core"], rate_limit_count=10**6)
    services.settings.bot.page_size = 5
    rendered: list[int] = []
    seen_at_commit: list[int] = []
    try:
        from commands.core.manifest import MANIFEST as CORE
        cog = Cog("longlist", "Test")

        @cog.command("longlist")
        async def longlist(ctx):
            def render(n, row):
                rendered.append(n)
                return f"item {row}"
            await ctx.reply_pages("Header", LazyItems(list(range(12)), render), "Footer")

            async def note() -> None:
                seen_at_commit.append(len(rendered))
            ctx.after_commit.insert(0, note)   # runs first after the commit: before the rest is kept

        services = Services(settings=services.settings, db=services.db, registry=Registry([CORE, cog]),
                            access=services.access, bot_user_id="@bot:test", started_at=services.started_at)
        chat = Chat(services)
        first = await chat.text("!longlist")
        assert "item 0" in first and "item 4" in first and "item 5" not in first, first
        assert "12 more" not in first and "7 more" in first, first
        assert seen_at_commit == [5], seen_at_commit          # only the first page before the commit
        assert sorted(rendered) == list(range(1, 13))         # the rest after it
        async with services.db.session() as s:
            assert (await s.get(Pager, ("@alice:test", "!room:test"))).total == 2
        second = await chat.text("!more")
        assert "item 5" in second and "item 9" in second and "2 more" in second, second
        third = await chat.text("!more")
        assert "item 11" in third and "Footer" in third, third
        assert "nothing more" in (await chat.text("!more")).lower()
    finally:
        await services.db.dispose()


async def test_pages_the_database_could_not_take_are_kept_once_it_is_back(tmp_path, monkeypatch, caplog):
    """The database restarting right after a long answer is sent: its next pages are kept
    by a retry once the database is back (no traceback in the log), and a newer answer
    given meanwhile is never overwritten by the older answer's late retry."""
    import asyncio
    from bot.framework import paging
    from storage.db import DatabaseUnavailable
    from storage.models.core import Pager
    from support.chat import Chat, make_services

    services = await make_services(tmp_path / "data", modules=["core"], rate_limit_count=10**6)
    services.settings.bot.page_size = 5
    monkeypatch.setattr(paging, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    real_store, away = paging._store_now, {"calls": 2}

    async def flaky_store(*args):
        if away["calls"]:
            away["calls"] -= 1
            raise DatabaseUnavailable("the database system is shutting down")
        await real_store(*args)
    monkeypatch.setattr(paging, "_store_now", flaky_store)
    try:
        from commands.core.manifest import MANIFEST as CORE
        cog = Cog("longlist", "Test")

        @cog.command("longlist")
        @argument("count", Int())
        async def longlist(ctx, count):
            await ctx.reply_pages("Header", [f"item {i}" for i in range(count)], "Footer")

        services = Services(settings=services.settings, db=services.db, registry=Registry([CORE, cog]),
                            access=services.access, bot_user_id="@bot:test", started_at=services.started_at)
        chat = Chat(services)
        key = ("@alice:test", "!room:test")
        with caplog.at_level("WARNING"):
            assert "7 more" in await chat.text("!longlist 12")
            assert key in paging._retrying                      # the database was away: retried later
            await asyncio.wait_for(asyncio.shield(paging._retrying[key]), 5)
        assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records]
        async with services.db.session() as s:
            assert (await s.get(Pager, key)).total == 2
        assert "item 5" in await chat.text("!more")

        away["calls"] = 1                                       # away again for the next answer only
        assert "15 more" in await chat.text("!longlist 20")
        old_retry = paging._retrying[key]
        assert "more" not in await chat.text("!longlist 4")     # a newer, short answer: no pages
        await asyncio.sleep(0.1)
        assert old_retry.cancelled() and key not in paging._retrying
        assert "nothing more" in (await chat.text("!more")).lower()
    finally:
        await services.db.dispose()


async def test_pages_an_earlier_process_left_are_forgotten_at_start(tmp_path):
    """A crash between sending an answer and keeping its next pages must not let `!more`
    show an older answer's pages: a new process starts without pages."""
    from bot.framework.paging import forget_all, store
    from support.chat import Chat, make_services

    services = await make_services(tmp_path / "data", modules=["core"], rate_limit_count=10**6)
    try:
        async with services.db.transaction() as s:
            await store(s, "@alice:test", "!room:test", ["old page of an older answer"], services.clock())
        chat = Chat(services)
        assert "old page" in await chat.text("!more")
        async with services.db.transaction() as s:
            await store(s, "@alice:test", "!room:test", ["old page of an older answer"], services.clock())
        await forget_all(services.db)
        assert "nothing more" in (await chat.text("!more")).lower()
    finally:
        await services.db.dispose()


async def test_when_the_rest_cannot_be_kept_more_says_so_and_nothing_breaks(tmp_path, monkeypatch):
    from bot.framework import paging
    from support.chat import Chat, make_services

    services = await make_services(tmp_path / "data", modules=["core", "funding"], language="en",
                                   load_sample_data=True, rate_limit_count=10**6)
    services.settings.bot.page_size = 5
    real_store = paging.store
    try:
        chat = Chat(services)
        async with services.db.transaction() as s:
            await real_store(s, "@alice:test", "!room:test", ["stale page"], services.clock())

        async def failing(session, user_id, room_id, pages, now):
            if pages:
                raise RuntimeError("disk full")
            await real_store(session, user_id, room_id, pages, now)
        monkeypatch.setattr(paging, "store", failing)
        first = await chat.text("!funding --level eu")
        assert "More: `!more`" in first and "Traceback" not in first, first
        monkeypatch.setattr(paging, "store", real_store)
        assert "nothing more" in (await chat.text("!more")).lower()   # not the stale page
    finally:
        await services.db.dispose()
