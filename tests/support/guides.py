"""The guides' examples (docs/**/*.md) as data: chat examples run through the console,
shell examples run through the CLI, and every command the prose mentions.

The convention (also in docs/README.md):

- A fenced block marked ``chat`` is a conversation. A line `> text` is what the reader
  types; `@anna:example.org> text` is typed by someone else (a member). The lines after it
  are an excerpt of the bot's answer, exactly as the console prints it: every non-empty
  line must occur in the answer, where `…` stands for any text and a line holding only
  `…` marks an elision for the reader.
- A fenced block marked ``console`` is a shell session: every `$ ` line must be a
  `dsih-bot` command (it is run, optionally after `VAR=value` assignments), and the lines
  after it are an excerpt of its output, matched the same way.
- A fenced block marked ``transcript`` is a shell session shown but not run, for commands the
  test cannot provide for (`dsih-bot demo` starts a Synapse homeserver): every
  `$ dsih-bot …` line must parse; other `$ ` lines and the output are not checked.
- Every `dsih-bot …` line in any other fenced block must parse with the CLI's parser.
- Inline code in prose that starts with `!` must name a real command (or alias), and
  inline `dsih-bot …` a real subcommand; `<!-- pending: !admin, dsih-bot demo -->` lists
  commands a guide announces before they exist (the test fails once they do, so they get
  an example).
- `<!-- examples: role=member user=@you:example.org -->` sets who the reader is; a
  `section.key=value` there sets that configuration key for the guide's bot
  (e.g. `knowledge.moderation=true`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
ELLIPSIS = "…"
_FENCE = re.compile(r"^(```+|~~~+)\s*([\w-]*)")
_SPEAKER = re.compile(r"^(@[\w.=/+-]+:[\w.-]+)?> ?(.*)$")
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_SETTINGS = re.compile(r"<!--\s*examples:(.*?)-->", re.S)
_PENDING = re.compile(r"<!--\s*pending:(.*?)-->", re.S)


@dataclass
class Turn:
    speaker: str | None          # None: the reader
    text: str
    expected: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class Block:
    kind: str                    # chat, console, or another fence's info string
    line: int
    body: list[str]
    turns: list[Turn] = field(default_factory=list)


@dataclass
class Guide:
    path: Path
    lang: str
    role: str
    user: str
    blocks: list[Block]
    inline: list[tuple[int, str]]     # (line, code) of inline code spans in prose
    pending: list[str]
    settings: dict[str, str] = field(default_factory=dict)   # `section.key=value` for this guide's bot

    @property
    def name(self) -> str:
        return str(self.path.relative_to(DOCS.parent))

    def examples(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]


def guides() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if p.parent != DOCS)


def parse(path: Path) -> Guide:
    text = path.read_text(encoding="utf-8")
    lang = path.relative_to(DOCS).parts[0]
    options = dict(kv.split("=", 1) for m in _SETTINGS.finditer(text) for kv in m.group(1).split())
    pending = [p.strip() for m in _PENDING.finditer(text) for p in m.group(1).split(",") if p.strip()]
    blocks: list[Block] = []
    inline: list[tuple[int, str]] = []
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        m = _FENCE.match(line.strip())
        if fence is None and m:
            fence = m.group(1)
            blocks.append(Block(kind=m.group(2) or "", line=number, body=[]))
        elif fence is not None and line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
            fence = None
        elif fence is not None:
            blocks[-1].body.append(line)
        else:
            inline.extend((number, code) for code in _INLINE.findall(line))
    for block in blocks:
        if block.kind == "chat":
            block.turns = _turns(block, _SPEAKER, lambda m: (m.group(1), m.group(2)))
        elif block.kind in ("console", "transcript"):
            block.turns = _turns(block, re.compile(r"^\$ (.*)$"), lambda m: (None, m.group(1)))
    return Guide(path=path, lang=lang, role=options.get("role", "member"),
                 user=options.get("user", "@you:example.org"), blocks=blocks, inline=inline, pending=pending,
                 settings={k: v for k, v in options.items() if "." in k})


def _turns(block: Block, pattern, split) -> list[Turn]:
    turns: list[Turn] = []
    for offset, line in enumerate(block.body, 1):
        m = pattern.match(line)
        if m:
            speaker, said = split(m)
            turns.append(Turn(speaker=speaker, text=said.strip(), line=block.line + offset))
        elif turns and line.strip():
            turns[-1].expected.append(line.strip())
        elif line.strip():
            raise ValueError(f"line {block.line + offset}: an answer before anything was said: {line!r}")
    return turns


# ----------------------------------------------------------------------------- matching
def _norm(text: str) -> str:
    return " ".join(text.split())


def line_found(expected: str, answer: str) -> bool:
    """`expected` (with `…` for any text) occurs within one line of `answer`."""
    pieces = [_norm(p) for p in expected.split(ELLIPSIS)]
    if not any(pieces):
        return True
    pattern = re.compile(".*?".join(re.escape(p) for p in pieces))
    return any(pattern.search(_norm(line)) for line in answer.splitlines())


def missing_lines(turn: Turn, answer: str) -> list[str]:
    return [e for e in turn.expected if e != ELLIPSIS and not line_found(e, answer)]


# ----------------------------------------------------------------------------- language
_URL_TITLE = re.compile(r"[^\n·—]*\(https?://[^)\s]*\)")   # a record's title and its link
_CURLY = re.compile(r"“[^”]*”|‘[^’]*’")
_NOISE = re.compile(r"[@!#]\S+|https?://\S+|\S+\.(?:ics|md|png)\b")


def language_of(message: str) -> tuple[str | None, bool]:
    """The language of the bot's own words in a message: record titles with their links,
    quoted user text, commands, ids and user names are left out (a Dutch lab's name in an
    English answer is not a translation bug)."""
    from bot.framework.i18n import language_signal

    text = _URL_TITLE.sub(" ", message)
    text = _CURLY.sub(" ", text)
    text = _NOISE.sub(" ", text)
    return language_signal(text)
