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


# --------------------------------------------------------------------------- no keys in Dutch
def _keys() -> tuple[set[str], set[str]]:
    """(topic ids with a hyphen, log keys: audit-log actions and job kinds), as stored."""
    import ast
    from pathlib import Path

    from commands import build_registry
    from storage import topics
    from storage.privacy import CORE_LABELS

    ids = {t.id for t in topics.all_topics() if "-" in t.id}
    keys = {k for k in CORE_LABELS if not k.startswith("*")}
    for cap in build_registry().capabilities:
        keys |= set(cap.jobs or ()) | set(getattr(cap.privacy, "labels", None) or {})
    root = Path(__file__).resolve().parents[2]
    for path in [*(root / "commands").rglob("*.py"), *(root / "storage").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "action" and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str) and "." in node.value.value:
                keys.add(node.value.value)
    return ids, keys


def test_every_log_key_has_a_label():
    """Each audit-log action the code writes and each job kind a capability declares is named
    by its label in `!mydata`, never shown as the key."""
    from commands import build_registry
    from storage.privacy import Privacy, key_label

    manifests = build_registry().capabilities
    privacy = Privacy([m.privacy for m in manifests if m.privacy is not None])
    labels = privacy.labels
    nl = Translator("nl")
    _, keys = _keys()
    kinds = {k for m in manifests for k in (m.jobs or ())}
    assert "knowledge.share" in keys and "reminder" in kinds, (keys, kinds)
    for key in keys | kinds | {"labs.request.accepted", "labs.request.declined", "funding.import"}:
        shown = key_label(nl, labels, key)
        assert shown != nl("another change") and key not in shown, (key, shown)


@pytest.fixture
async def everyone(tmp_path):
    services = await make_services(tmp_path / "data", modules=None, language="nl", load_sample_data=True,
                                   rate_limit_count=10**6, now=datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc))
    yield Chat(services)
    await services.db.dispose()


DUTCH_WALK = [
    "!themas",
    "!abonneer klimaat",
    "!abonneer hittestress maandelijks",
    "!opzeggen klimaat",
    '!deel https://example.org/hitteplan "Hitteplan van de gemeente" #klimaat',
    '!deel https://example.org/fietsplan "Fietsplan" #fiets',
    "!proeftuinen quantum binnen 5km van Vaals",
    "!proeftuinen --thema klimaat",
    "!proeftuinen xyzzy in Limburg",
    "!subsidie --thema klimaat",
    "!subsidie --thema klimaatadaptie",
    "!sessies --thema digitaal",
    "!kennis --thema klimaat",
    "!interesse hittestress",
    "!herinner morgen 9:00 bel Rotterdam",
    "!proeftuin public-services-lab-heerlen",
    "!subsidie horizon-mission-soil-2027",
    "welke subsidies zijn er voor klimaatadaptatie voor gemeenten?",
    "!mijngegevens",
]


async def test_dutch_replies_show_no_topic_ids_and_no_log_keys(everyone):
    """Walk the topic-taking commands and the record views in Dutch: no English topic id
    (`climate-adaptation`), no log key (`knowledge.share`, `session-reminder`) in any reply,
    and English data in a record view is labelled as such."""
    ids, keys = _keys()
    await everyone.send("!taal nl")
    seen = {}
    for message in DUTCH_WALK:
        out = await everyone.text(message, direct=True)
        seen[message] = out
        plain = re.sub(r"https?://\S+", " ", out)   # an address may hold any word
        leaked = [k for k in ids | keys if re.search(rf"(?<![\w/-]){re.escape(k)}(?![\w-])", plain)]
        assert not leaked, (message, leaked, out)
    assert "(in het Engels)" in seen["!proeftuin public-services-lab-heerlen"]
    assert "(in het Engels)" in seen["!subsidie horizon-mission-soil-2027"]
    assert "item gedeeld" in seen["!mijngegevens"] and "Klimaatadaptatie" in seen["!mijngegevens"]
    assert "Welk bedoel je?" in seen["!abonneer klimaat"]
    same = seen["welke subsidies zijn er voor klimaatadaptatie voor gemeenten?"]
    assert "--thema klimaatadaptatie --aanvrager gemeente" in same, same   # values a Dutch reader types
