"""Which English strings the code shows to users, for the catalog tests and for updating
the .po files (python -m support.catalog from tests/, see README)."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "commands", "storage")
KEYWORDS = {
    "_": None, "N_": None, "t": None, "n": (1, 2),
    "BadArgument": None, "TimeParseError": None, "CommandError": None, "UserInputError": None, "CheckFailure": None, "NeedsChoice": None, "__init__": None,
}


def code_msgids(root: Path = ROOT) -> dict[str, list[str]]:
    """msgid (or (singular, plural)) -> places, from `t("…")`, `t.n("…", "…", n)`, `N_("…")`
    and error constructors."""
    found: dict = {}
    for d in SOURCE_DIRS:
        for path in sorted((root / d).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for lineno, message, _comments, _ctx in extract_from_file("python", path, keywords=KEYWORDS):
                # Plurals stay a (singular, plural) pair: they are looked up with ngettext.
                if message and all(message if isinstance(message, tuple) else (message,)):
                    found.setdefault(message, []).append(f"{path.relative_to(root)}:{lineno}")
    return found


def command_msgids() -> dict[str, list[str]]:
    """Help texts from the command declarations (docstrings, argument/option help, cog titles)."""
    from commands import build_registry

    found: dict[str, list[str]] = {}
    registry = build_registry()
    cmds = list(registry.commands)
    for c in list(cmds):
        cmds.extend({id(s): s for s in c.subcommands.values()}.values())
    for cog in registry.cogs:
        found.setdefault(cog.title, []).append(f"cog {cog.name}")
    for c in cmds:
        where = f"command {c.qualified_name}"
        for text in (c.summary, c.details, *(a.help for a in c.arguments), *(o.help for o in c.options),
                     *(a.converter.metavar for a in c.arguments),
                     *(o.converter.metavar for o in c.options if o.converter)):
            if text:
                found.setdefault(text, []).append(where)
    return found


def all_msgids() -> dict[str, list[str]]:
    merged = code_msgids()
    for k, v in command_msgids().items():
        merged.setdefault(k, []).extend(v)
    return merged


if __name__ == "__main__":
    # Print msgids missing from the Dutch catalogs, as .po stubs to paste into the right file.
    from babel.messages.pofile import read_po

    known = set()
    for po in [*ROOT.glob("bot/framework/locale/nl/LC_MESSAGES/*.po"), *ROOT.glob("commands/*/locale/nl/LC_MESSAGES/*.po")]:
        with po.open("rb") as fh:
            known |= {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    for msgid, places in sorted(all_msgids().items(), key=lambda kv: str(kv[0])):
        if isinstance(msgid, tuple):
            msgid = msgid[0]
        if msgid not in known:
            print(f"#: {places[0]}\nmsgid {msgid!r}\nmsgstr \"\"\n".replace("msgid '", 'msgid "').replace("'\nmsgstr", '"\nmsgstr'))
