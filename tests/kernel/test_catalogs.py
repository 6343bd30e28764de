"""Every user-visible string exists in English and Dutch."""
from __future__ import annotations

import re
import string

from bot.framework.i18n import translations
from commands import build_registry
from support.catalog import all_msgids

# Each capability's catalog joins the kernel's when the capability loads (as at start-up):
# load them all here, so the result does not depend on which test ran first in this worker.
build_registry()


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def _dutch_forms(nl, msgid) -> list[tuple[str, str]]:
    """(English form, Dutch form) pairs: one for a plain msgid, singular and plural for plurals."""
    if isinstance(msgid, tuple):
        return [(msgid[0], nl.ngettext(msgid[0], msgid[1], 1)), (msgid[1], nl.ngettext(msgid[0], msgid[1], 2))]
    return [(msgid, nl.gettext(msgid))]


def test_every_msgid_has_a_dutch_translation():
    nl = translations("nl")
    missing = {str(m): places[0] for m, places in all_msgids().items()
               if any(en == dutch and not _same_in_dutch(en) for en, dutch in _dutch_forms(nl, m))}
    assert not missing, "untranslated (add to bot/locale/nl/LC_MESSAGES/*.po):\n" + "\n".join(
        f"{where}: {m!r}" for m, where in sorted(missing.items(), key=lambda kv: kv[1]))


def test_placeholders_match():
    nl = translations("nl")
    wrong = [m for m in all_msgids() if any(_fields(en) != _fields(dutch) for en, dutch in _dutch_forms(nl, m))]
    assert not wrong, wrong


def _same_in_dutch(msgid: str) -> bool:
    # Words that are the same in both languages (e.g. "Pong!", "nl") need no entry.
    return msgid in {"Pong!", "nl", "facilitator", "Impact", "dataset", "{count} week"} or not re.search(r"[a-zA-Z]{3}", msgid)


def _english_command_names(text: str, registry) -> list[str]:
    """`!funding`, `{prefix}lab request`, `!sessie ics` in a text: commands named by an
    English word where a Dutch name exists (what `!help` lists for Dutch readers)."""
    found = []
    for m in re.finditer(r"(?:\{prefix\}|(?<![\w!])!)([a-z]+)(?: ([a-z]+))?", text):
        cmd = registry.get(m.group(1))
        if cmd is None:
            continue
        if m.group(1) == cmd.name and cmd.dutch:
            found.append(m.group(0))
            continue
        sub = cmd.subcommands.get(m.group(2) or "")
        if sub is not None and m.group(2) == sub.name and sub.dutch:
            found.append(m.group(0))
    return found


def test_dutch_texts_name_commands_in_dutch():
    """A Dutch reply says `!sessie agenda`, not `!sessie ics` or `!lab request`: the
    translation names each command as `!hulp` lists it for Dutch readers."""
    from commands import build_registry

    registry = build_registry()
    nl = translations("nl")
    wrong = {}
    for msgid in all_msgids():
        for _, dutch in _dutch_forms(nl, msgid):
            names = _english_command_names(dutch, registry)
            if names:
                wrong[dutch] = names
    assert not wrong, "\n".join(f"{names}: {text!r}" for text, names in wrong.items())
    assert _english_command_names("zie `{prefix}sessie ics 3` of !funding", registry) == ["{prefix}sessie ics",
                                                                                        "!funding"]
