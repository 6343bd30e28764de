"""Every user-visible string exists in English and Dutch."""
from __future__ import annotations

import re
import string

from bot.i18n import translations
from support.catalog import all_msgids


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
    return msgid in {"Pong!", "nl", "facilitator", "Impact"} or not re.search(r"[a-zA-Z]{3}", msgid)
