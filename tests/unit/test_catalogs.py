"""Every user-visible string exists in English and Dutch."""
from __future__ import annotations

import re
import string

from bot.i18n import translations
from support.catalog import all_msgids


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_msgid_has_a_dutch_translation():
    nl = translations("nl")
    missing = {m: places[0] for m, places in all_msgids().items() if nl.gettext(m) == m and not _same_in_dutch(m)}
    assert not missing, "untranslated (add to bot/locale/nl/LC_MESSAGES/*.po):\n" + "\n".join(
        f"{where}: {m!r}" for m, where in sorted(missing.items(), key=lambda kv: kv[1]))


def test_placeholders_match():
    nl = translations("nl")
    wrong = [m for m in all_msgids() if _fields(nl.gettext(m)) != _fields(m)]
    assert not wrong, wrong


def _same_in_dutch(msgid: str) -> bool:
    # Words that are the same in both languages (e.g. "Pong!", "nl") need no entry.
    return msgid in {"Pong!", "nl", "facilitator"} or not re.search(r"[a-zA-Z]{3}", msgid)
