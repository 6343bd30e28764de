"""English/Dutch messages (Babel catalogs compiled at build time) and locale formatting.

English is the source language: msgids are English, so `en` needs no catalog."""
from __future__ import annotations

import gettext as _gettext
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _fmt_date
from babel.dates import format_datetime as _fmt_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

LANGUAGES = ("nl", "en")
LOCALE_DIR = Path(__file__).parent / "locale"
_BABEL_LOCALE = {"nl": "nl_NL", "en": "en_GB"}


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


# The kernel's catalog, then each loaded capability's (bot.framework.capability.load).
CATALOG_DIRS: list[Path] = [LOCALE_DIR]


def add_catalogs(folder: Path) -> None:
    """Make a capability's catalogs (`folder/<lang>/LC_MESSAGES/*.mo`) part of every language."""
    folder = Path(folder)
    if folder not in CATALOG_DIRS:
        CATALOG_DIRS.append(folder)
        translations.cache_clear()


@lru_cache(maxsize=None)
def translations(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    merged: Translations | None = None
    # Merged in the order of the domain names, whichever folder holds them: a msgid two
    # domains translate takes the same translation however the capabilities are listed.
    files = sorted((mo for folder in CATALOG_DIRS for mo in (folder / lang / "LC_MESSAGES").glob("*.mo")),
                   key=lambda mo: mo.stem)
    for mo in files:
        with mo.open("rb") as fh:
            part = Translations(fh, domain=mo.stem)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    if merged is None:
        raise RuntimeError(
            f"no compiled message catalog for {lang!r} in {LOCALE_DIR}; "
            "install the package (pip install .) so the build compiles the catalogs"
        )
    return merged


class Translator:
    """Everything language- and zone-dependent a reply needs."""

    def __init__(self, lang: str = "en", tz: str = "Europe/Amsterdam"):
        self.lang = lang if lang in LANGUAGES else "en"
        self.tz = ZoneInfo(tz)
        self._t = translations(self.lang)
        self.locale = Locale.parse(_BABEL_LOCALE[self.lang])

    def __call__(self, message: str, /, **params) -> str:
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def n(self, singular: str, plural: str, count: int, /, **params) -> str:
        text = self._t.ngettext(singular, plural, count)
        return text.format(count=count, **params)

    # -- formatting -------------------------------------------------------
    def datetime(self, value: datetime) -> str:
        """`dinsdag 3 december 2026 14:00` / `Tuesday 3 December 2026 14:00` in the user's zone."""
        local = value.astimezone(self.tz)
        return _fmt_datetime(local, "EEEE d MMMM y HH:mm", locale=self.locale)

    def moment(self, value: datetime) -> str:
        """A point in time nobody can misread: weekday, date, time and zone
        (`dinsdag 1 december 2026 14:00 CET`)."""
        local = value.astimezone(self.tz)
        return f"{self.datetime(value)} {local.tzname()}"

    def time(self, value: datetime) -> str:
        return _fmt_datetime(value.astimezone(self.tz), "HH:mm", locale=self.locale)

    def date(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        return _fmt_date(value, "EEEE d MMMM y", locale=self.locale)

    def short_date(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        return _fmt_date(value, "d MMMM y", locale=self.locale)

    def money(self, amount: float | int) -> str:
        """`€ 4.000.000` (nl) / `€4,000,000` (en)."""
        pattern = "¤ #,##0" if self.lang == "nl" else "¤#,##0"
        return format_currency(amount, "EUR", format=pattern, locale=self.locale, currency_digits=False)

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, share: float) -> str:
        return format_percent(share, locale=self.locale)


# --- language detection -------------------------------------------------------
# Small marker lists are enough to tell Dutch from English in chat questions;
# a full language-id model would be overkill for two languages.
_NL = set(
    "de het een en is er zijn voor van welke wat hoe waar wanneer mijn ik jij je wij we "
    "niet wel ook met naar bij op aan om dat dit deze die kan kun kunnen graag hallo hoi "
    "bedankt dank alsjeblieft subsidie gemeente gemeenten provincie provincies "
    "waterschap proeftuin proeftuinen buurt zoek zoeken hulp taal herinner herinnering "
    "tijdzone regeling regelingen onderzoek klimaat duurzaam duurzame over binnen dagen "
    "geef toon laat zien heb hebben moet moeten gaat kijk interessant delen mooi".split()
)
_EN = set(
    "the a an and is are there for of which what how where when my i you we not with to "
    "at on that this these those can could please hello hi thanks thank funding grant "
    "grants municipality municipalities province provinces lab labs near find search help "
    "language remind reminder timezone any about within days show me have has must worth reading look "
    "interesting sharing great".split()
)
# Words both languages use ("subsidies", "data", "set"): they never decide the language.
SHARED = frozenset("subsidies data set app apps hub update updates deadline deadlines budget online team "
                   "workshop open in".split())
_WORD = re.compile(r"[a-zà-ÿ']+")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|(?<!\w)'[^']*'(?!\w)")


def _vocabulary() -> dict[str, frozenset[str]]:
    # The hub's own words (topic aliases, bundled records in both languages): short queries
    # such as "climate adaptation" or "klimaat" have no stop words to go by.
    try:
        from storage.vocabulary import language_words
    except ImportError:   # pragma: no cover - bot without the storage package
        return {"nl": frozenset(), "en": frozenset()}
    return language_words()


def detect_language(text: str) -> str | None:
    """'nl', 'en', or None when the text gives no clear signal."""
    return language_signal(text)[0]


def language_signal(text: str) -> tuple[str | None, bool]:
    """(language or None, whether the signal is clear). Identifiers such as `de-ceuvel` or
    `horizon-2026` are not language (their parts would mislead). Marker words (stop words,
    greetings) count first; the hub vocabulary decides a tie, and is clear only when two or
    more of its words agree (one word such as "set" or "data" may be either)."""
    # Quoted text is a name or title ("Klimaatadaptatie Zwolle"), and --options are the
    # command's own (English) words: neither says which language the user writes in.
    text = _QUOTED.sub(" ", text[:2000])
    plain = " ".join(tok for tok in text.lower().split()
                     if not tok.startswith("-") and not re.search(r"[\w][-_/.:][\w]|\d", tok))
    words = [w for w in _WORD.findall(plain) if w not in SHARED]
    nl = sum(w in _NL for w in words)
    en = sum(w in _EN for w in words)
    if nl != en:
        return ("nl" if nl > en else "en"), True
    vocab = _vocabulary()
    nl = sum(w in vocab["nl"] and w not in _EN for w in words)
    en = sum(w in vocab["en"] and w not in _NL for w in words)
    if nl == en:
        return None, False
    return ("nl" if nl > en else "en"), abs(nl - en) >= 2
