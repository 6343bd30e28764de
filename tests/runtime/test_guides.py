"""Every example in the guides (docs/**/*.md) is real: chat examples run through the
console's own path (bot.console.Console) with a fixed clock, shell examples through the
CLI, and every command the prose mentions exists. The convention is in
tests/support/guides.py and docs/README.md."""
from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import shlex
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from support.chat import make_settings
from support.guides import DOCS, Guide, Turn, guides, language_of, line_found, missing_lines, parse

# Deadlines, "days left" and "tomorrow" in the guides are as on this (Wednesday) morning.
PRETEND_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
ROOT = Path(__file__).resolve().parents[2]
GUIDES = guides()
_TARGET = re.compile(r"^\[→ (\S+)\] ")
_CLI_LINE = re.compile(r"^(?:\$\s+|ExecStart=)?(?:[A-Z_][A-Z0-9_]*=\S+\s+)*(?:\S*/)?dsih-bot\s+(.*)$")


def _ids(paths):
    return [str(p.relative_to(DOCS)) for p in paths]


def _report(guide: Guide, turn: Turn, problem: str, answer: str = "") -> str:
    shown = answer.strip()
    if len(shown) > 2500:
        shown = shown[:2500] + " […]"
    return (f"{guide.name}:{turn.line}: `{turn.text}`: {problem}" +
            (f"\n    --- the bot answered ---\n    " + shown.replace("\n", "\n    ") if shown else ""))


# ----------------------------------------------------------------------------- chat examples
class _Messages:
    """The console's output stream: the console writes each message in one call."""

    def __init__(self):
        self.messages: list[str] = []

    def write(self, text: str) -> None:
        self.messages.append(text)

    def flush(self) -> None:
        pass


async def _run_chat(guide: Guide, data_dir: Path) -> tuple[int, list[str]]:
    from bot.app import pretend_clock
    from bot.console import Console

    # The bot's default language is the other one, so an answer in the guide's language
    # shows the examples themselves lead there (as they would for a new user).
    other = "en" if guide.lang == "nl" else "nl"
    # The bot started (and loaded its data) an hour before the reader's morning, as a running
    # bot would have: what the data set holds is settled, e.g. for a digest preview, and no
    # answer depends on the real time of the test run.
    settings = make_settings(data_dir, language=other, admins=(), facilitators=(), load_sample_data=True,
                             rate_limit_count=10**6, pretend_now=PRETEND_NOW - timedelta(hours=1))
    for key, value in guide.settings.items():     # e.g. knowledge.moderation=true
        section, name = key.split(".", 1)
        setattr(getattr(settings, section), name, yaml.safe_load(value))
    out = _Messages()
    console = Console(settings, out=out)
    await console.start()
    reader_arrives = time.monotonic()
    console.services.clock = pretend_clock(PRETEND_NOW, reader_arrives)
    console.services.started_monotonic = reader_arrives - 3600
    failures: list[str] = []
    spoken: set[str] = set()
    count = 0
    try:
        for block in guide.examples("chat"):
            for turn in block.turns:
                user = turn.speaker or guide.user
                console.set_role(user, guide.role if turn.speaker is None else "member")
                spoken.add(user)
                first = len(out.messages)
                await console.say(turn.text, user_id=user)
                count += 1
                messages = out.messages[first:]
                answer = "".join(messages)
                if not messages:
                    failures.append(_report(guide, turn, "the bot did not answer"))
                    continue
                for line in missing_lines(turn, answer):
                    failures.append(_report(guide, turn, f"the answer has no line like: {line}", answer))
                    break
                for message in messages:
                    m = _TARGET.match(message)
                    if m and m.group(1) not in spoken:
                        continue   # someone who has not written yet gets their own (default) language
                    lang, clear = language_of(message)
                    if lang is not None and lang != guide.lang and clear:
                        failures.append(_report(guide, turn, f"this answer is in {lang!r}, the guide in "
                                                             f"{guide.lang!r}", message))
    finally:
        await console.stop()
    return count, failures


@pytest.mark.parametrize("path", GUIDES, ids=_ids(GUIDES))
def test_chat_examples_answer_as_shown(path, tmp_path, report_figure):
    guide = parse(path)
    count, failures = asyncio.run(_run_chat(guide, tmp_path / "data"))
    report_figure(f"guides: {guide.name}: {count} chat examples run ({guide.role})")
    assert not failures, "\n\n".join(failures)


# ----------------------------------------------------------------------------- shell examples
def _run_cli(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    from bot.cli import main

    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved_env = {k: os.environ.get(k) for k in env}
    here = os.getcwd()
    try:
        os.environ.update(env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = main(argv)
            except SystemExit as exc:       # argparse: a usage error
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(here)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, out.getvalue()


@pytest.mark.parametrize("path", GUIDES, ids=_ids(GUIDES))
def test_shell_examples_print_what_is_shown(path, tmp_path, report_figure):
    guide = parse(path)
    blocks = guide.examples("console")
    if not blocks:
        return
    # The reader's working directory: a copy of the example configuration, as the guide says.
    shutil.copy(ROOT / "config" / "example.yaml", tmp_path / "config.yaml")
    failures, count = [], 0
    for block in blocks:
        for turn in block.turns:
            words = shlex.split(turn.text)
            env = {}
            while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                key, value = words.pop(0).split("=", 1)
                env[key] = value
            if not words or words[0] != "dsih-bot":
                failures.append(_report(guide, turn, "a `console` block runs dsih-bot commands only "
                                                     "(put other commands in an `sh` block)"))
                continue
            code, output = _run_cli(words[1:], env, tmp_path)
            count += 1
            for line in missing_lines(turn, output):
                failures.append(_report(guide, turn, f"exit code {code}; the output has no line like: {line}",
                                        output))
                break
    report_figure(f"guides: {guide.name}: {count} shell examples run")
    assert not failures, "\n\n".join(failures)


# ----------------------------------------------------------------------------- mentions
_TEMPLATE = re.compile(r"[<>\[\]|…]|^[A-Z]+$")     # <kind>, [--x], a|b, FILE: a template, not a value


def _cli_words(text: str) -> list[str]:
    words = []
    for word in shlex.split(text, comments=True):
        if word.startswith((">", "2>", "|", "&", ";")):
            break
        words.append(word)
    return words


def _cli_parse(words: list[str]) -> str | None:
    """argparse's complaint about `dsih-bot <words>`, or None."""
    from bot.cli import parser

    out = io.StringIO()
    with contextlib.redirect_stderr(out), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser().parse_args(words)
        except SystemExit as exc:
            if exc.code:
                return out.getvalue().strip().splitlines()[-1]
    return None


def _cli_exists(words: list[str]) -> bool:
    """Whether the (sub)commands named at the start of `words` exist; a mention in prose
    may leave out required arguments (`dsih-bot check-config`)."""
    named = []
    for word in words:
        if word.startswith("-") or _TEMPLATE.search(word):
            break
        named.append(word)
    problem = _cli_parse(named)
    return problem is None or "invalid choice" not in problem


def mention_problems(guide: Guide, registry) -> list[str]:
    failures = []

    def pending(text: str) -> str | None:
        return next((p for p in guide.pending if text == p or text.startswith(p + " ")), None)

    for number, code in guide.inline:
        code = code.strip()
        where = f"{guide.name}:{number}: `{code}`"
        if code.startswith("!") and len(code) > 1:
            name = re.split(r"[\s|]", code[1:], maxsplit=1)[0]
            if re.fullmatch(r"[^:\s]+:[\w.-]+", name):
                continue                  # a room ID (`!abc:example.org`), not a command
            exists = registry.get(name) is not None
            if pending(code) or pending("!" + name):
                if exists:
                    failures.append(f"{where}: !{name} exists now: remove it from the guide's `pending` "
                                    f"list and show it in a chat example")
            elif not exists:
                failures.append(f"{where}: there is no command !{name}")
        elif code.startswith("dsih-bot "):
            exists = _cli_exists(_cli_words(code[len("dsih-bot "):]))
            if pending(code):
                if exists:
                    failures.append(f"{where}: exists now: remove it from the guide's `pending` list and show "
                                    f"it in a `console` example")
            elif not exists:
                failures.append(f"{where}: dsih-bot has no such command")
    for block in guide.blocks:
        if block.kind == "transcript":      # shown, not run: its dsih-bot commands must parse
            for turn in block.turns:
                m = _CLI_LINE.match("$ " + turn.text)
                problem = m and _cli_parse(_cli_words(m.group(1)))
                if problem:
                    failures.append(f"{guide.name}:{turn.line}: `{turn.text}`: {problem}")
            continue
        if block.kind in ("chat", "console"):
            continue
        for offset, line in enumerate(block.body, 1):
            m = _CLI_LINE.match(line.strip())
            if m and not pending("dsih-bot " + m.group(1)):
                problem = _cli_parse(_cli_words(m.group(1)))
                if problem:
                    failures.append(f"{guide.name}:{block.line + offset}: `{line.strip()}`: {problem}")
    return failures


@pytest.mark.parametrize("path", GUIDES, ids=_ids(GUIDES))
def test_mentioned_commands_exist(path):
    from commands import build_registry

    failures = mention_problems(parse(path), build_registry())
    assert not failures, "\n".join(failures)


# ----------------------------------------------------------------------------- the set of guides
def test_every_guide_exists_in_both_languages_and_is_linked():
    by_lang = {lang: [p for p in GUIDES if p.relative_to(DOCS).parts[0] == lang] for lang in ("en", "nl")}
    assert len(by_lang["en"]) >= 3 and len(by_lang["en"]) == len(by_lang["nl"]), by_lang
    assert {p.relative_to(DOCS).parts[0] for p in GUIDES} == {"en", "nl"}
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for p in GUIDES:
        rel = str(p.relative_to(DOCS))
        assert f"]({rel})" in index, f"docs/README.md does not link {rel}"
        assert f"](docs/{rel})" in readme, f"README.md does not link docs/{rel}"
    for lang, paths in by_lang.items():
        # One guide per audience, each run with that audience's role (a user guide run as
        # admin would hide a command members cannot use).
        roles = sorted(parse(p).role for p in paths)
        assert roles == ["admin", "facilitator", "member"], f"docs/{lang}: guides run as {roles}"
    for p in GUIDES:
        assert parse(p).examples("chat"), f"{p} has no chat example"
    for p in by_lang["nl"]:   # the hub addresses people with "je", in the guides as in the bot
        prose = re.sub(r"```.*?```|`[^`]*`", " ", p.read_text(encoding="utf-8"), flags=re.S)
        formal = sorted(set(re.findall(r"\b(?:[Uu]|[Uu]w|[Uu]zelf)\b", prose)))
        assert not formal, f"{p.relative_to(ROOT)} says {formal}: write 'je'/'jouw'"


# ----------------------------------------------------------------------------- the checker itself
def test_the_checker_rejects_what_the_bot_did_not_say():
    answer = "3 funding instruments for “climate adaptation”:\n\n1. City of Rotterdam – Climate adaptation subsidy"
    assert line_found("1. City of Rotterdam – …subsidy", answer)
    assert line_found("…", answer)
    assert not line_found("1. Province of Utrecht – …", answer)
    assert not line_found("3 funding instruments … 1. City", answer), "one expected line is one answer line"
    assert language_of("Je herinneringen: annuleer er een met !vergeet <nummer>.")[0] == "nl"
    assert language_of("Your reminders: cancel one with !forget <number>.")[0] == "en"
    # A Dutch record title with its link does not make an English answer Dutch.
    assert language_of("1. Help! De stresstest en wat moet ik nu? (https://x.nl/a)\n\nlesson learned · "
                       "Climate adaptation\n\nMore: !more (1 more result)")[0] != "nl"


def test_a_wrong_example_fails_naming_file_and_line(tmp_path):
    guide_path = DOCS / "en" / "user-guide.md"
    fake = Guide(path=guide_path, lang="en", role="member", user="@you:example.org", blocks=[],
                 inline=[], pending=[])
    from support.guides import Block, _turns, _SPEAKER

    block = Block(kind="chat", line=10, body=["> !ping", "Pong!", "> !ping", "Ping?"])
    block.turns = _turns(block, _SPEAKER, lambda m: (m.group(1), m.group(2)))
    fake.blocks = [block]
    count, failures = asyncio.run(_run_chat(fake, tmp_path / "data"))
    assert count == 2
    assert len(failures) == 1 and failures[0].startswith("docs/en/user-guide.md:13: `!ping`: "), failures
    assert "no line like: Ping?" in failures[0] and "Pong!" in failures[0]


def test_mentions_of_missing_commands_fail():
    from commands import build_registry

    guide = Guide(path=DOCS / "en" / "operator-guide.md", lang="en", role="admin", user="@ops:example.org",
                  blocks=[], pending=["!teleport", "dsih-bot teleport", "!ping"],
                  inline=[(3, "!fundng climate"), (4, "!funding climate"), (5, "dsih-bot bakup FILE"),
                          (6, "dsih-bot check-config"), (7, "!teleport home"), (8, "dsih-bot teleport"),
                          (9, "!ping"), (10, "!abc:example.org")])
    problems = mention_problems(guide, build_registry())
    assert [p.split(":")[1] for p in problems] == ["3", "5", "9"], problems
    assert "there is no command !fundng" in problems[0]
    assert "!ping exists now" in problems[2]


def test_transcripts_are_not_run_but_their_commands_must_parse():
    from commands import build_registry
    from support.guides import Block, _turns

    block = Block(kind="transcript", line=20, body=[
        "$ pip install 'dsih-bot[demo]'", "$ dsih-bot demo --language en", "dsih-bot demo is running.",
        "$ dsih-bot demo --langauge en", "$ dsih-bot dmeo"])
    block.turns = _turns(block, re.compile(r"^\$ (.*)$"), lambda m: (None, m.group(1)))
    guide = Guide(path=DOCS / "en" / "operator-guide.md", lang="en", role="admin", user="@ops:example.org",
                  blocks=[block], pending=[], inline=[])
    problems = mention_problems(guide, build_registry())
    assert [p.split(":")[1] for p in problems] == ["24", "25"], problems
    assert "--langauge" in problems[0] and "invalid choice" in problems[1]
